"""Typed values of the IMAP session API (``pigeon.core.imap``), and folder-name encoding.

Everything here is plain data: ``UIDSet`` (sequence sets kept as ranges, so a hostile
``1:4294967295`` costs nothing until iterated, and iteration is capped), the result types of
each session call, and modified UTF-7 <-> UTF-8 for folder names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import imap_utf7
from pigeon.core.transport import ProtocolError

SPECIAL_USE_ROLES = {
    "\\SENT": "sent",
    "\\DRAFTS": "drafts",
    "\\TRASH": "trash",
    "\\JUNK": "junk",
    "\\ARCHIVE": "archive",
    "\\ALL": "all",
    "\\FLAGGED": "flagged",
}
DEFAULT_FETCH = ("UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]")
_ATOM = re.compile(r"\\?[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+")
MAX_UIDS = 10_000_000  # a UID set wider than this is a hostile server, not a mailbox


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class UIDSet:
    """An IMAP sequence set as sorted, merged ``(low, high)`` ranges."""

    ranges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, text: str | bytes) -> UIDSet:
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        text = text.strip()
        if not text:
            return cls()
        out = []
        for part in text.split(","):
            lo, sep, hi = part.partition(":")
            if not lo.isdigit() or (sep and not hi.isdigit()):
                raise ProtocolError(f"bad UID set from server: {text[:80]!r}")
            a, b = int(lo), int(hi) if sep else int(lo)
            out.append((min(a, b), max(a, b)))
        return cls.from_ranges(out)

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int]]) -> UIDSet:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return cls(tuple(merged))

    @classmethod
    def of(cls, uids: Iterable[int]) -> UIDSet:
        return cls.from_ranges((u, u) for u in uids)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and any(lo <= uid <= hi for lo, hi in self.ranges)

    def __iter__(self) -> Iterator[int]:
        if len(self) > MAX_UIDS:
            raise ProtocolError(f"UID set too large to expand ({len(self)} UIDs)")
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in self.ranges)


@dataclass(frozen=True)
class FolderInfo:
    name: str  # UTF-8, server's hierarchy delimiter
    delimiter: str
    flags: tuple[str, ...]
    role: str | None = None  # from SPECIAL-USE flags, or "inbox"

    @property
    def selectable(self) -> bool:
        return not any(f.upper() in ("\\NOSELECT", "\\NONEXISTENT") for f in self.flags)


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    flags: tuple[str, ...] = ()
    modseq: int | None = None
    size: int | None = None
    internaldate: datetime | None = None
    body: bytes | None = None
    seq: int | None = None


@dataclass(frozen=True)
class SelectResult:
    folder: str
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None
    flags: tuple[str, ...] = ()
    permanent_flags: tuple[str, ...] = ()
    readonly: bool = False
    vanished: UIDSet = field(default_factory=UIDSet)
    changed: tuple[FetchedMessage, ...] = ()
    qresync: bool = False


@dataclass(frozen=True)
class StoreResult:
    flags: dict[int, tuple[str, ...]]
    modseq: dict[int, int]
    modified: UIDSet  # refused by UNCHANGEDSINCE


@dataclass(frozen=True)
class AppendResult:
    uidvalidity: int | None
    uid: int | None


@dataclass(frozen=True)
class CopyResult:
    uidvalidity: int | None
    mapping: dict[int, int]  # source UID -> UID in the destination (COPYUID)


@dataclass(frozen=True)
class IdleEvent:
    kind: str  # "exists", "expunge", "fetch", "recent", "vanished", "bye", "other"
    number: int | None = None
    data: bytes = b""


def encode_folder(name: str) -> bytes:
    """UTF-8 folder name -> modified UTF-7 (RFC 3501 §5.1.3)."""
    return imap_utf7.encode(name)


def decode_folder(raw: bytes | str) -> str:
    """Modified UTF-7 -> UTF-8; malformed input is returned as is (decoded with replacement)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    try:
        return imap_utf7.decode(raw)
    except Exception:
        return raw.decode("utf-8", "replace")


def _atoms(flags: Iterable[str]) -> str:
    out = []
    for f in flags:
        if not _ATOM.fullmatch(f):
            raise ValueError(f"not a valid IMAP flag or keyword: {f!r}")
        out.append(f)
    return "(" + " ".join(out) + ")"


def _s(v: bytes | str) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
