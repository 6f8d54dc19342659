"""Message commands of :class:`pigeon.core.imap.ImapSession` (FETCH, SEARCH, STORE, MOVE,
COPY, APPEND, EXPUNGE), kept in a module of their own; the session's module docstring
describes them."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pigeon.core.imap_types import DEFAULT_FETCH, _atoms, _s
from pigeon.core.transport import ProtocolError, TransportError, where

if TYPE_CHECKING:
    from pigeon.core.imap_conn import GuardedIMAP4
    from pigeon.core.imap_values import (
        AppendResult,
        CopyResult,
        FetchedMessage,
        StoreResult,
        UIDSet,
    )


class MessageCommands:
    """The message commands; the session gives ``server``, ``client``, ``imap``, ``has``,
    ``_run``, ``_simple`` and ``_folder_arg``."""

    server: Any
    client: Any
    imap: GuardedIMAP4
    has: Callable[[str], bool]
    _run: Callable[[str, Callable[[], object]], object]
    _simple: Callable[..., tuple[str, list]]
    _folder_arg: Callable[[str], bytes]

    def _to_messages(self, raw: list) -> Iterator[FetchedMessage]:
        from imapclient.response_parser import parse_fetch_response
        from pigeon.core.imap_values import FetchedMessage

        if not raw:
            return
        try:
            parsed = parse_fetch_response(raw, normalise_times=True, uid_is_key=True)
        except Exception as exc:
            raise ProtocolError(f"{where(self.server)}: unparseable FETCH response: {exc}") from None
        for uid, d in parsed.items():
            if not isinstance(uid, int):
                continue
            body = d.get(b"BODY[]", d.get(b"RFC822"))
            modseq = d.get(b"MODSEQ")
            yield FetchedMessage(
                uid=uid,
                flags=tuple(_s(f) for f in d.get(b"FLAGS", ())),
                modseq=int(modseq[0]) if isinstance(modseq, tuple) and modseq else None,
                size=d.get(b"RFC822.SIZE"),
                internaldate=d.get(b"INTERNALDATE"),
                body=bytes(body) if body is not None else None,
                seq=d.get(b"SEQ"),
            )

    def fetch(
        self,
        uids: Iterable[int] | UIDSet | str,
        items: Sequence[str] = DEFAULT_FETCH,
        *,
        batch: int = 200,
        changedsince: int | None = None,
    ) -> Iterator[FetchedMessage]:
        from pigeon.core.imap_values import UIDSet

        items = list(items)
        if changedsince is not None and "MODSEQ" not in items:
            items.append("MODSEQ")
        modifiers = [f"CHANGEDSINCE {int(changedsince)}"] if changedsince is not None else None
        if isinstance(uids, str):
            chunks: Iterable[str] = [uids]
        else:
            ordered = sorted(set(uids))
            chunks = (str(UIDSet.of(ordered[i : i + batch])) for i in range(0, len(ordered), batch))
        for chunk in chunks:
            def go(chunk: str = chunk) -> list:
                typ, data = self.imap.uid("FETCH", chunk, "(" + " ".join(items) + ")" + (f" ({modifiers[0]})" if modifiers else ""))
                if typ != "OK":
                    raise imaplib.IMAP4.error(data[-1] if data else typ)
                return data

            data = self._run("FETCH", go)
            yield from sorted(self._to_messages([d for d in data if d is not None]), key=lambda m: m.uid)  # type: ignore[arg-type]

    def search(self, *criteria: str) -> list[int]:
        result = self._run("SEARCH", lambda: self.client.search(list(criteria) or ["ALL"]))
        return sorted(int(u) for u in result)  # type: ignore[union-attr]

    def store(
        self,
        uids: Iterable[int] | UIDSet | str,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        replace: Iterable[str] | None = None,
        *,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        from pigeon.core.imap_values import StoreResult, UIDSet

        uidset = uids if isinstance(uids, str) else str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        ops = [("FLAGS", list(replace))] if replace is not None else []
        ops += [(op, list(f)) for op, f in (("+FLAGS", add), ("-FLAGS", remove)) if f]
        flags: dict[int, tuple[str, ...]] = {}
        modseq: dict[int, int] = {}
        modified = UIDSet()
        unch = f"(UNCHANGEDSINCE {int(unchangedsince)})" if unchangedsince is not None else None
        for op, fl in ops:
            args = [a for a in (uidset, unch, op, _atoms(fl)) if a is not None]
            self.imap.untagged_responses.pop("MODIFIED", None)

            def go(args: list = args) -> list:
                typ, data = self.imap.uid("STORE", *args)
                if typ != "OK":
                    raise imaplib.IMAP4.error(data[-1] if data else typ)
                return data

            data = self._run("STORE", go)
            for m in self._to_messages([d for d in data if d is not None]):  # type: ignore[union-attr]
                flags[m.uid] = m.flags
                if m.modseq is not None:
                    modseq[m.uid] = m.modseq
            for v in self.imap.untagged_responses.pop("MODIFIED", []):
                modified = UIDSet.from_ranges(modified.ranges + UIDSet.parse(v).ranges)
        return StoreResult(flags, modseq, modified)

    def _copyuid(self) -> CopyResult:
        from pigeon.core.imap_values import CopyResult, UIDSet

        vals = self.imap.untagged_responses.pop("COPYUID", [])
        if not vals:
            return CopyResult(None, {})
        parts = _s(vals[-1]).split()
        if len(parts) != 3 or not parts[0].isdigit():
            raise ProtocolError(f"{where(self.server)}: bad COPYUID {vals[-1]!r}")
        src, dst = list(UIDSet.parse(parts[1])), list(UIDSet.parse(parts[2]))
        return CopyResult(int(parts[0]), dict(zip(src, dst, strict=False)))

    def move(self, uids: Iterable[int] | UIDSet, folder: str) -> CopyResult:
        from pigeon.core.imap_values import UIDSet

        uidset = str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        self.imap.untagged_responses.pop("COPYUID", None)
        dest = self._folder_arg(folder)
        if self.has("MOVE"):
            self._uid_simple("MOVE", uidset, dest)
            return self._copyuid()
        self._uid_simple("COPY", uidset, dest)
        result = self._copyuid()
        self.store(uidset, add=["\\Deleted"])
        self.expunge(UIDSet.parse(uidset))
        return result

    def copy(self, uids: Iterable[int] | UIDSet, folder: str) -> CopyResult:
        from pigeon.core.imap_values import UIDSet

        uidset = str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        self.imap.untagged_responses.pop("COPYUID", None)
        self._uid_simple("COPY", uidset, self._folder_arg(folder))
        return self._copyuid()

    def _uid_simple(self, command: str, *args: str | bytes) -> list:
        def go() -> list:
            typ, data = self.imap.uid(command, *args)
            if typ != "OK":
                raise imaplib.IMAP4.error(data[-1] if data else typ)
            return data

        return self._run(command, go)  # type: ignore[return-value]

    def append(self, folder: str, data: bytes, flags: Iterable[str] = (), when: datetime | None = None) -> AppendResult:
        from pigeon.core.imap_values import AppendResult

        flags = list(flags)
        _atoms(flags)
        self.imap.untagged_responses.pop("APPENDUID", None)
        resp = self._run("APPEND", lambda: self.client.append(folder, data, flags=flags, msg_time=when))
        vals = self.imap.untagged_responses.pop("APPENDUID", [])
        text = _s(vals[-1]) if vals else ""
        if not text:
            m = re.search(rb"\[APPENDUID (\d+ \d+)\]", resp if isinstance(resp, bytes) else b"")
            text = m.group(1).decode() if m else ""
        parts = text.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            return AppendResult(int(parts[0]), int(parts[1]))
        return AppendResult(None, None)

    def expunge(self, uids: Iterable[int] | UIDSet | None = None) -> None:
        """Remove messages marked \\Deleted: only ``uids`` when given (UID EXPUNGE).

        Without UIDPLUS a plain EXPUNGE would also remove other messages the user marked
        \\Deleted; it is refused then unless no such other message exists.
        """
        from pigeon.core.imap_values import UIDSet

        if uids is None:
            self._simple("EXPUNGE", "EXPUNGE")
            return
        wanted = uids if isinstance(uids, UIDSet) else UIDSet.of(uids)
        if self.has("UIDPLUS"):
            self._uid_simple("EXPUNGE", str(wanted))
            return
        others = [u for u in self.search("DELETED") if u not in wanted]
        if others:
            raise TransportError(
                f"{where(self.server)}: the server lacks UIDPLUS and {len(others)} other message(s) are marked \\Deleted; not expunging"
            )
        self._simple("EXPUNGE", "EXPUNGE")
