"""IDLE for :class:`pigeon.core.imap.ImapSession`: wait for the server to say something
changed, and read what it said as ``IdleEvent`` values."""

from __future__ import annotations

import imaplib
import re
import select as _select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pigeon.core.transport import has_buffered

if TYPE_CHECKING:
    from pigeon.core.imap_conn import GuardedIMAP4
    from pigeon.core.imap_values import IdleEvent


class Idling:
    """IDLE; the session gives ``imap``, ``has``, ``noop`` and ``_run``."""

    imap: GuardedIMAP4
    has: Callable[[str], bool]
    noop: Callable[[], None]
    _run: Callable[[str, Callable[[], object]], object]

    def idle(self, timeout: float, *, settle: float = 0.1) -> list[IdleEvent]:
        """Wait in IDLE up to ``timeout`` seconds; return the events (empty when nothing came).

        Without the IDLE capability this is a NOOP after waiting ``timeout``.
        """
        if not self.has("IDLE"):
            time.sleep(timeout)
            self.imap.untagged_responses.clear()
            self.noop()
            return self._events_from_untagged()
        imap = self.imap

        def go() -> list[IdleEvent]:
            tag = imap._new_tag()
            imap.tagged_commands.pop(tag, None)
            imap.send(tag + b" IDLE\r\n")
            line = imap.readline()
            if not line.startswith(b"+"):
                raise imaplib.IMAP4.error(f"IDLE refused: {line.strip()!r}")
            events: list[IdleEvent] = []
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if not self._readable(min(left, 1.0)):
                    continue
                events.append(self._event(imap.readline()))
                if events[-1].kind == "bye":
                    raise imaplib.IMAP4.abort("server said BYE during IDLE")
                deadline = min(deadline, time.monotonic() + settle)  # collect a burst, then return
            imap.send(b"DONE\r\n")
            while True:
                line = imap.readline()
                if not line:
                    raise imaplib.IMAP4.abort("EOF during IDLE")
                if line.startswith(tag + b" "):
                    if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                        raise imaplib.IMAP4.error(f"IDLE ended with {line.strip()!r}")
                    return events
                events.append(self._event(line))

        return self._run("IDLE", go)  # type: ignore[return-value]

    def _readable(self, timeout: float) -> bool:
        imap = self.imap
        if has_buffered(imap.file, imap.sock):
            return True
        r, _, _ = _select.select([imap.sock], [], [], timeout)
        return bool(r)

    @staticmethod
    def _event(line: bytes) -> IdleEvent:
        from pigeon.core.imap_values import IdleEvent

        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b ?(.*)", line.rstrip(b"\r\n"), re.IGNORECASE)
        if m:
            return IdleEvent(m.group(2).decode().lower(), int(m.group(1)), m.group(3))
        if re.match(rb"\* VANISHED", line, re.IGNORECASE):
            return IdleEvent("vanished", None, line[10:].strip())
        if re.match(rb"\* BYE", line, re.IGNORECASE):
            return IdleEvent("bye", None, line[5:].strip())
        return IdleEvent("other", None, line.strip())

    def _events_from_untagged(self) -> list[IdleEvent]:
        from pigeon.core.imap_values import IdleEvent

        out = []
        for key in ("EXISTS", "RECENT", "EXPUNGE"):
            for v in self.imap.untagged_responses.pop(key, []):
                if isinstance(v, bytes) and v.isdigit():
                    out.append(IdleEvent(key.lower(), int(v)))
        return out
