"""The local side of sync, read-only and quick: list a Maildir folder by file names only,
stamp its directories, and describe a file's content for matching.

Writing (delivery, renames, moves, deletions) goes through ``pigeon.core.maildir``; this module
only reads, with ``os.scandir`` and no ``stat`` per message, because a no-change sync of a large
Maildir must cost almost nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pigeon.core.sync_types import LocalMsg

_UID_RE = re.compile(r",U=(\d+)")
_MSGID_RE = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def split_name(name: str) -> tuple[str, str]:
    """A Maildir file name -> (unique name, flag letters)."""
    key, sep, info = name.partition(":2,")
    if not sep:
        key, sep, info = name.partition("!2,")  # the separator some tools use where ':' is invalid
    return key, info if sep else ""


def scan(folder_dir: Path) -> list[LocalMsg]:
    """Every message file in ``cur/`` and ``new/``: names only, no stat per file."""
    from pigeon.core.sync_types import LocalMsg

    out: list[LocalMsg] = []
    for sub in ("new", "cur"):
        try:
            it = os.scandir(os.path.join(folder_dir, sub))
        except FileNotFoundError:
            continue
        with it:
            for e in it:
                name = e.name
                # No message: a dot file, or a directory some tool left (from the entry's type,
                # which the listing gives without a stat on the usual file systems).
                if name.startswith(".") or e.is_dir(follow_symlinks=False):
                    continue
                key, info = split_name(name)
                m = _UID_RE.search(key)
                out.append(LocalMsg(key, "".join(sorted(info)), name, sub, int(m.group(1)) if m else None))
    return out


def scan_names(folder_dir: Path) -> set[str]:
    """The file names in ``cur/`` and ``new/`` (for checking that the folder is as we left it)."""
    names: set[str] = set()
    for sub in ("new", "cur"):
        try:
            names.update(n for n in os.listdir(os.path.join(folder_dir, sub)) if not n.startswith("."))
        except FileNotFoundError:
            pass
    return names


def listing_is(folder_dir: Path, names: set[str]) -> bool:
    """Whether ``cur/`` and ``new/`` hold exactly ``names`` (each ``<unique name>:2,<flags>``;
    a file in ``new/`` may lack the ``:2,``), and nothing else: the quick check that a
    folder is as the state says, with no Python loop over ``cur/``."""
    try:
        cur = os.listdir(os.path.join(folder_dir, "cur"))
        new = os.listdir(os.path.join(folder_dir, "new"))
    except FileNotFoundError:
        return False
    if len(cur) + len(new) != len(names):
        return False
    listed = set(cur)
    listed.update(n if ":2," in n else n + ":2," for n in new)
    return listed == names


def stamp(folder_dir: Path) -> str | None:
    """The modification times of ``cur/`` and ``new/``: any file added, removed or renamed in a
    folder changes one of them, so an equal stamp means an unchanged folder."""
    try:
        a = os.stat(os.path.join(folder_dir, "cur")).st_mtime_ns
        b = os.stat(os.path.join(folder_dir, "new")).st_mtime_ns
    except FileNotFoundError:
        return None
    return f"{a}:{b}"


#: How far apart two changes of a directory must be for its mtime to tell them apart: file
#: systems with nanosecond timestamps take them from the kernel's coarse clock, which
#: advances once per tick (1/HZ: at most 10 ms, HZ being at least 100), plus a margin; others
#: (and FAT, 2 s) by whole seconds.
FINE_GRANULARITY_NS = 11_000_000
COARSE_GRANULARITY_NS = 2_000_000_000


_fine_by_device: dict[int, bool] = {}


def fine_mtimes(folder_dir: Path) -> bool:
    """Whether the file system of ``folder_dir`` gives a directory a new mtime for every change
    made after its mtime was read, however close together (Linux 6.13 and later on ext4, xfs,
    btrfs and tmpfs: "multigrain" timestamps). Then a stamp read before a listing vouches for
    that listing at once, with no clock tick to wait out.

    Probed once per device in the folder's ``tmp/`` (which no stamp covers): a file is created
    and removed twice, the directory's mtime read after each step. A coarse clock gives the
    steps one mtime, or mtimes a whole tick (a millisecond at least) apart."""
    tmp = os.path.join(folder_dir, "tmp")
    try:
        dev = os.stat(tmp).st_dev
    except OSError:
        return False
    known = _fine_by_device.get(dev)
    if known is not None:
        return known
    probe = os.path.join(tmp, f".pigeon-mtime-probe.{os.getpid()}")
    fine = True
    try:
        before = os.stat(tmp).st_mtime_ns
        for _ in range(2):
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            made = os.stat(tmp).st_mtime_ns
            os.unlink(probe)
            gone = os.stat(tmp).st_mtime_ns
            if not (before < made < gone and gone - made < 500_000):
                fine = False
                break
            before = gone
    except OSError:
        fine = False
        try:
            os.unlink(probe)
        except OSError:
            pass
    _fine_by_device[dev] = fine
    return fine


def stamp_settled(stamp: str | None, listed_at: float | None, *, fine: bool = False) -> bool:
    """Whether ``stamp`` (recorded with a listing that began at ``listed_at``, a ``time.time()``)
    can vouch for that listing: its newest mtime must lie more than a clock tick before the
    listing began. Otherwise a file added or renamed just after the listing, in the same tick
    as an earlier change, would leave the directory's mtime as recorded and go unseen (notmuch
    guards its directory mtimes the same way). An unsettled stamp means: list again.

    ``fine``: the file system has :func:`fine_mtimes`, so a change after the stamp was read
    has a later mtime whatever the tick; the stamp only has to predate the listing."""
    if not stamp or listed_at is None:
        return False
    try:
        times = [int(x) for x in stamp.split(":")]
    except ValueError:
        return False
    listed = int(listed_at * 1_000_000_000)
    if all(t % 1_000_000_000 == 0 for t in times):  # whole seconds: FAT, some network file systems
        return max(times) + COARSE_GRANULARITY_NS < listed
    if fine:
        return max(times) <= listed
    return max(times) + FINE_GRANULARITY_NS < listed


def normalise(data: bytes) -> bytes:
    """Line ends to LF, as a Maildir keeps them."""
    return data.replace(b"\r\n", b"\n")


def wire(data: bytes) -> bytes:
    """Line ends to CRLF, as IMAP wants them."""
    return normalise(data).replace(b"\n", b"\r\n")


def wire_size(data: bytes) -> int:
    """RFC822.SIZE of a message stored with LF (or CRLF) line ends."""
    lf = normalise(data)
    return len(lf) + lf.count(b"\n")


def digest(data: bytes) -> str:
    """Content digest, independent of line ends."""
    return hashlib.blake2b(normalise(data), digest_size=16).hexdigest()


def message_id(data: bytes) -> str | None:
    """The Message-ID from a message's header (or a HEADER.FIELDS answer), without brackets."""
    end = data.find(b"\n\n")
    if end < 0:
        end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[: end + 1]
    m = _MSGID_RE.search(head)
    if not m:
        return None
    value = re.sub(rb"\s+", b"", m.group(1)).decode("utf-8", "replace")
    value = value.strip()
    if value.startswith("<") and ">" in value:
        value = value[1 : value.index(">")]
    return value or None


def describe(data: bytes) -> tuple[int, str, str | None]:
    """(wire size, digest, Message-ID) of a message's bytes."""
    return wire_size(data), digest(data), message_id(data)


def with_facts(msg: LocalMsg, folder_dir: Path) -> LocalMsg:
    """``msg`` with its size, digest and Message-ID read from its file (unchanged if it vanished)."""
    if msg.name is None:
        return msg
    try:
        with open(os.path.join(folder_dir, msg.subdir, msg.name), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return msg
    size, dg, mid = describe(data)
    return msg._replace(size=size, digest=dg, msgid=mid)
