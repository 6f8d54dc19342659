"""The result values of the IMAP session API (``pigeon.core.imap``): ``UIDSet`` (sequence sets
kept as ranges, so a hostile ``1:4294967295`` costs nothing until iterated, and iteration is
capped) and the result type of each session call.

Their own module because building them (dataclasses, compiled at import) costs ~3 ms that
``pigeon sync``, which only connects through the session, does not need: ``pigeon.core.imap``
imports them where it makes them, and answers ``from pigeon.core.imap import UIDSet`` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pigeon.core.imap_types import MAX_UIDS
from pigeon.core.transport import ProtocolError

if TYPE_CHECKING:
    from datetime import datetime


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
