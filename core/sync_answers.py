"""Reading the server's answers for the sync engine: folder lists with their status, what
SELECT/EXAMINE said (with QRESYNC: the changed flags and the VANISHED UIDs), FETCH answers
as flags, sizes and Message-IDs or as message bodies, and UID sets both ways.

Pure functions over imaplib's collected untagged responses (``{"FETCH": [...], ...}``), so
the same reading serves a command run alone (``Remote``) and pipelined ones
(``Remote.conveyor``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pigeon.core.sync_types import RemoteMsg

UID_IN_FETCH = re.compile(rb"\bUID (\d+)")
FLAGS_IN_FETCH = re.compile(rb"\bFLAGS \(([^)]*)\)")
SIZE_IN_FETCH = re.compile(rb"\bRFC822\.SIZE (\d+)")
BODY_LITERAL = re.compile(rb"BODY\[\] \{\d+\}$")


@dataclass
class FolderInfo:
    name: str  # decoded (UTF-8) server name
    delimiter: str | None
    flags: frozenset[str]
    status: dict[str, int] = field(default_factory=dict)

    @property
    def selectable(self) -> bool:
        return not ({"\\noselect", "\\nonexistent"} & self.flags)


@dataclass
class Selected:
    """What SELECT said, plus (with QRESYNC) the changes since the given modseq."""

    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None
    exists: int
    changed: dict[int, RemoteMsg] = field(default_factory=dict)
    vanished: set[int] = field(default_factory=set)
    qresync: bool = False
    permanent: tuple[str, ...] = ()  # PERMANENTFLAGS; "\\*" there: new keywords may be stored


def uid_set(uids: Iterable[int]) -> str:
    """Compact IMAP sequence set: 1:3,7,9:10."""
    out: list[str] = []
    start = prev = None
    for u in sorted(set(uids)):
        if prev is not None and u == prev + 1:
            prev = u
            continue
        if start is not None:
            out.append(f"{start}:{prev}" if start != prev else str(start))
        start = prev = u
    if start is not None:
        out.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(out)


def parse_uid_set(text: str | bytes) -> list[int]:
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if ":" in part:
            a, b = part.split(":", 1)
            lo, hi = sorted((int(a), int(b)))
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return out


def decode_name(raw: bytes | str) -> str:
    from imapclient.imap_utf7 import decode

    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return decode(raw)


def folders_from(untagged: dict[str, list]) -> dict[str, FolderInfo]:
    from imapclient.response_parser import parse_response

    out: dict[str, FolderInfo] = {}
    for line in untagged.get("LIST", []):
        raw = line if isinstance(line, bytes) else b"".join(p for p in line if isinstance(p, bytes))
        flags, delim, name = parse_response([raw])
        if isinstance(name, int):
            name = str(name).encode()
        dname = decode_name(name)
        out[dname] = FolderInfo(
            dname,
            delim.decode() if isinstance(delim, bytes) else None,
            frozenset(f.decode().lower() for f in flags),
        )
    for line in untagged.get("STATUS", []):
        raw = line if isinstance(line, bytes) else b"".join(p for p in line if isinstance(p, bytes))
        name, values = parse_response([raw])
        if isinstance(name, int):
            name = str(name).encode()
        dname = decode_name(name)
        if dname in out:
            it = iter(values)
            out[dname].status = {k.decode().upper(): int(v) for k, v in zip(it, it, strict=False)}
    return out


def selected_from(untagged: dict[str, list], use_q: bool) -> Selected:
    codes: dict[str, int] = {}
    for line in untagged.get("OK", []):
        m = re.match(rb"\[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\]", line if isinstance(line, bytes) else b"")
        if m:
            codes[m.group(1).decode()] = int(m.group(2))
    if b"NOMODSEQ" in b" ".join(x for x in untagged.get("OK", []) if isinstance(x, bytes)):
        codes.pop("HIGHESTMODSEQ", None)
    exists = int(untagged.get("EXISTS", [b"0"])[-1])
    sel = Selected(codes.get("UIDVALIDITY", 0), codes.get("UIDNEXT"), codes.get("HIGHESTMODSEQ"), exists, qresync=use_q)
    for line in untagged.get("OK", []):
        m = re.match(rb"\[PERMANENTFLAGS \(([^)]*)\)\]", line if isinstance(line, bytes) else b"")
        if m:
            sel.permanent = tuple(m.group(1).decode("utf-8", "replace").split())
    if use_q:
        sel.vanished = vanished_from(untagged)
        sel.changed = flags_from(untagged.get("FETCH", []))
    return sel


def vanished_from(untagged: dict[str, list]) -> set[int]:
    out: set[int] = set()
    for line in untagged.get("VANISHED", []):
        text = line.decode() if isinstance(line, bytes) else str(line)
        text = text.replace("(EARLIER)", "").strip()
        out.update(parse_uid_set(text))
    return out


_SIMPLE_FETCH = re.compile(rb"\d+ \(([^\"{}]*)\)")  # no literal, no quoted string
_FLAGS_ITEM = re.compile(rb"\bFLAGS \(([^)]*)\)")
_UID_ITEM = re.compile(rb"\bUID (\d+)")


_SIZE_ITEM = re.compile(rb"\bRFC822\.SIZE (\d+)")
_ID_HEAD = re.compile(rb"\d+ \(([^\"{}]*)BODY\[HEADER\.FIELDS \(MESSAGE-ID\)\] \{\d+\}")


def _items(items: bytes, size: bool) -> tuple[int, str, frozenset[str], int | None] | None:
    """UID, flag letters, keywords (and RFC822.SIZE when there and ``size``) from the items of
    a simple FETCH answer."""
    from pigeon.core.sync_flags import from_imap

    f = _FLAGS_ITEM.search(items)
    if f is None:
        return None
    rest = items[: f.start()] + items[f.end() :]  # never a keyword named UID
    u = _UID_ITEM.search(rest)
    z = _SIZE_ITEM.search(rest) if size else None
    if u is None:
        return None
    letters, kws = from_imap(f.group(1).split())
    return int(u.group(1)), letters, kws, int(z.group(1)) if z else None


def _flags_fast(lines: list, size: bool = False) -> dict[int, RemoteMsg] | None:
    """``* n FETCH (UID u FLAGS (...) MODSEQ (m))`` lines (or with ``RFC822.SIZE s``) read with
    regular expressions (the general parser tokenises every byte: the bulk of reading a
    QRESYNC answer or a folder's listing). None when a line is anything else: the caller then
    uses the general parser."""
    from pigeon.core.sync_types import RemoteMsg

    out: dict[int, RemoteMsg] = {}
    for line in lines:
        m = _SIMPLE_FETCH.fullmatch(line) if isinstance(line, bytes) else None
        got = _items(m.group(1), size) if m else None
        if got is None:
            return None
        out[got[0]] = RemoteMsg(*got)
    return out


def _ids_fast(lines: list) -> dict[int, RemoteMsg] | None:
    """``UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]`` answers in the layout
    servers send them (the header literal last, then ")"), read with regular expressions.
    None for any other layout."""
    from pigeon.core.sync_local import message_id
    from pigeon.core.sync_types import RemoteMsg

    out: dict[int, RemoteMsg] = {}
    i, n = 0, len(lines)
    while i < n:
        item = lines[i]
        if not (isinstance(item, tuple) and len(item) == 2 and i + 1 < n and lines[i + 1] == b")"):
            return None
        m = _ID_HEAD.fullmatch(item[0])
        got = _items(m.group(1), True) if m else None
        if got is None:
            return None
        out[got[0]] = RemoteMsg(*got, message_id(item[1]))
        i += 2
    return out


def flags_from(lines: list) -> dict[int, RemoteMsg]:
    """FETCH answers carrying UID and FLAGS (a QRESYNC answer's changes) as RemoteMsg by UID."""
    if not lines:
        return {}
    fast = _flags_fast(lines)
    if fast is not None:
        return fast
    from imapclient.response_parser import parse_fetch_response
    from pigeon.core.sync_flags import from_imap
    from pigeon.core.sync_types import RemoteMsg

    out: dict[int, RemoteMsg] = {}
    for _seq, d in parse_fetch_response(lines, False, False).items():
        uid = d.get(b"UID")
        if uid is None or b"FLAGS" not in d:
            continue
        letters, kws = from_imap(d[b"FLAGS"])
        out[uid] = RemoteMsg(uid, letters, kws, d.get(b"RFC822.SIZE"))
    return out


def meta_from(untagged: dict[str, list], ids: bool) -> dict[int, RemoteMsg]:
    """The FETCH answers of :meth:`fetch_meta` as RemoteMsg by UID."""
    from imapclient.response_parser import parse_fetch_response
    from pigeon.core.sync_flags import from_imap
    from pigeon.core.sync_local import message_id
    from pigeon.core.sync_types import RemoteMsg

    out: dict[int, RemoteMsg] = {}
    lines = untagged.get("FETCH", [])
    if lines:
        fast = _ids_fast(lines) if ids else _flags_fast(lines, size=True)
        if fast is not None:
            return fast
        for _seq, d in parse_fetch_response(lines, False, False).items():
            uid = d.get(b"UID")
            if uid is None or b"FLAGS" not in d:
                continue
            letters, kws = from_imap(d[b"FLAGS"])
            mid = None
            if ids:
                hdr = next((v for k, v in d.items() if k.startswith(b"BODY[HEADER")), b"") or b""
                mid = message_id(hdr if isinstance(hdr, bytes) else b"")
            out[uid] = RemoteMsg(uid, letters, kws, d.get(b"RFC822.SIZE"), mid)
    return out


def bodies_from(untagged: dict[str, list]) -> list[tuple[int, bytes]]:
    """The FETCH answers of :meth:`fetch_bodies`: [(uid, bytes)]."""
    lines = untagged.get("FETCH", [])
    out: list[tuple[int, bytes]] = []
    for i, item in enumerate(lines):
        if not isinstance(item, tuple) or len(item) != 2:
            continue
        head, body = item
        m = UID_IN_FETCH.search(head)
        if m is None and i + 1 < len(lines) and isinstance(lines[i + 1], bytes):
            m = UID_IN_FETCH.search(lines[i + 1])
        if m is None or not BODY_LITERAL.search(head):
            return bodies_slow(lines)
        out.append((int(m.group(1)), body))
    return out


def bodies_slow(lines: list) -> list[tuple[int, bytes]]:
    from imapclient.response_parser import parse_fetch_response

    out = []
    for _seq, d in parse_fetch_response(lines, False, False).items():
        uid, body = d.get(b"UID"), d.get(b"BODY[]")
        if uid is not None and isinstance(body, bytes):
            out.append((uid, body))
    return out
