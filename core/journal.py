"""The journal of the user's changes: what was done locally and has not reached the server yet.

Every change a user makes through :mod:`pigeon.core.actions` (flag, tag, move, delete, send) is
applied to the Maildir at once and recorded here as an operation. This follows RFC 4549's
disconnected model, with one difference that keeps a single source of truth: the sync engine
already carries local Maildir changes (flags, moves, deletions) to the server, so replaying an
operation *is* the next successful sync of its account. The journal records the intent, orders
it, says what is still pending (``pigeon pending``) and knows how to undo it:

* ``pending``  applied locally, not yet on the server;
* ``synced``   a sync that started after it completed without a failed folder;
* ``undone``   reverted (before it reached the server it is simply dropped: the sync sees
  nothing; after, an inverse operation is recorded and travels with the next sync);
* sends: ``pending`` while in the Outbox (``due`` holds the undo-send delay or the send-later
  time), ``sent`` once submitted, ``recalled`` when taken back.

Conflicts are the sync engine's rules (``docs/sync.md``): a message changed on one side and
deleted on the other is kept, flags merge per flag; the journal never deletes mail itself.

The database is ``<state dir>/journal.sqlite`` (WAL, ``synchronous=FULL``: an operation the
user saw applied is on disk before the call returns).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_FILE = "journal.sqlite"
KEEP_DAYS = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,          -- flags, move, delete, tag, send
    message_id TEXT NOT NULL,
    summary TEXT NOT NULL,       -- subject (for the user)
    data TEXT NOT NULL,          -- JSON: what was done and what undoing needs
    status TEXT NOT NULL,        -- pending, synced, undone, sent, recalled
    due REAL,                    -- send: not before this time
    error TEXT NOT NULL DEFAULT '',
    undo_of INTEGER,             -- the operation this one reverts
    done_at REAL
);
CREATE INDEX IF NOT EXISTS ops_status ON ops(status, account);
"""

PENDING = "pending"
SYNCED = "synced"
UNDONE = "undone"
SENT = "sent"
RECALLED = "recalled"


@dataclass
class Op:
    """One recorded user operation."""

    id: int
    at: float
    account: str
    kind: str
    message_id: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    status: str = PENDING
    due: float | None = None
    error: str = ""
    undo_of: int | None = None
    done_at: float | None = None

    def describe(self) -> str:
        """One line for the user, e.g. ``move INBOX -> Archive``."""
        d = self.data
        if self.kind == "flags":
            parts = [f"+{c}" for c in d.get("add", "")] + [f"-{c}" for c in d.get("remove", "")]
            what = "flags " + " ".join(_flag_word(p) for p in parts)
        elif self.kind == "move":
            what = f"move {d.get('folder', '?')} -> {d.get('dest', '?')}"
        elif self.kind == "delete":
            what = f"delete (move {d.get('folder', '?')} -> {d.get('dest', '?')})"
        elif self.kind == "tag":
            what = "tag " + " ".join([f"+{t}" for t in d.get("add", [])] + [f"-{t}" for t in d.get("remove", [])])
        elif self.kind == "send":
            what = f"send to {', '.join(d.get('to', [])) or '?'}"
        else:
            what = self.kind
        if self.undo_of:
            what += f" (undoes #{self.undo_of})"
        return what

    def when(self, now: float | None = None) -> str:
        """What the operation waits for, for a pending one."""
        if self.status != PENDING:
            return self.status
        if self.kind == "send":
            now = time.time() if now is None else now
            if self.due and self.due > now:
                left = self.due - now
                if left < 120:
                    return f"sending in {left:.0f}s"
                return "sending at " + time.strftime("%Y-%m-%d %H:%M", time.localtime(self.due))
            return "waiting to be sent" + (f" (last error: {self.error})" if self.error else "")
        return "waiting for the next sync"

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["description"] = self.describe()
        return out


_FLAG_WORDS = {"S": "seen", "F": "flagged", "R": "answered", "T": "trashed", "D": "draft", "P": "passed"}


def _flag_word(change: str) -> str:
    return change[0] + _FLAG_WORDS.get(change[1:], change[1:])


class Journal:
    """The journal database; use as a context manager."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def record(self, account: str, kind: str, message_id: str, summary: str, data: dict[str, Any], *,
               due: float | None = None, undo_of: int | None = None) -> Op:
        import json  # here, not at the top: a sync only asks the journal for its newest id (~1.5 ms)

        # Finished operations are kept KEEP_DAYS for undo and pending --all, then forgotten.
        self.db.execute("DELETE FROM ops WHERE status<>? AND done_at<?", (PENDING, time.time() - KEEP_DAYS * 86400))
        cur = self.db.execute(
            "INSERT INTO ops(at, account, kind, message_id, summary, data, status, due, undo_of) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), account, kind, message_id or "", summary or "", json.dumps(data), PENDING, due, undo_of),
        )
        op = self.get(int(cur.lastrowid or 0))
        assert op is not None
        return op

    def set_status(self, op_id: int, status: str, *, error: str = "") -> None:
        self.db.execute("UPDATE ops SET status=?, done_at=?, error=? WHERE id=?", (status, time.time(), error, op_id))

    def set_error(self, op_id: int, error: str) -> None:
        self.db.execute("UPDATE ops SET error=? WHERE id=?", (error, op_id))

    def update_data(self, op_id: int, data: dict[str, Any]) -> None:
        import json

        self.db.execute("UPDATE ops SET data=? WHERE id=?", (json.dumps(data), op_id))

    def mark_synced(self, account: str, up_to: int) -> int:
        """Operations of ``account`` up to id ``up_to`` (not sends) reached the server."""
        cur = self.db.execute(
            "UPDATE ops SET status=?, done_at=? WHERE account=? AND status=? AND kind<>'send' AND id<=?",
            (SYNCED, time.time(), account, PENDING, up_to),
        )
        return cur.rowcount

    # ------------------------------------------------------------------ reading

    def _rows(self, where: str, args: tuple[Any, ...], order: str = "id") -> list[Op]:
        import json

        rows = self.db.execute(
            "SELECT id, at, account, kind, message_id, summary, data, status, due, error, undo_of, done_at "
            f"FROM ops WHERE {where} ORDER BY {order}", args)
        return [Op(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9], r[10], r[11]) for r in rows]

    def get(self, op_id: int) -> Op | None:
        found = self._rows("id=?", (op_id,))
        return found[0] if found else None

    def pending(self, account: str | None = None) -> list[Op]:
        if account is None:
            return self._rows("status=?", (PENDING,))
        return self._rows("status=? AND account=?", (PENDING, account))

    def last_id(self) -> int:
        row = self.db.execute("SELECT coalesce(max(id), 0) FROM ops").fetchone()
        return int(row[0])

    def last_undoable(self) -> Op | None:
        """The newest operation that can still be undone (pending or synced, not itself undone)."""
        found = self._rows("status IN (?, ?)", (PENDING, SYNCED), order="id DESC LIMIT 1")
        return found[0] if found else None

    def send_for(self, account: str, key: str) -> Op | None:
        """The pending send operation of the Outbox message ``key``."""
        for op in self._rows("kind='send' AND status=? AND account=?", (PENDING, account)):
            if op.data.get("key") == key:
                return op
        return None

    def held(self, account: str, now: float | None = None) -> dict[str, float]:
        """Outbox keys that must not leave yet: ``{key: due}``."""
        now = time.time() if now is None else now
        return {op.data.get("key", ""): float(op.due) for op in
                self._rows("kind='send' AND status=? AND account=? AND due>?", (PENDING, account, now))}

    def next_due(self, account: str | None = None) -> float | None:
        """When the next held message of ``account`` (or any) becomes due; None when none waits."""
        where = "kind='send' AND status=? AND due IS NOT NULL" + (" AND account=?" if account else "")
        args: tuple[Any, ...] = (PENDING, account) if account else (PENDING,)
        row = self.db.execute(f"SELECT min(due) FROM ops WHERE {where}", args).fetchone()
        return float(row[0]) if row and row[0] is not None else None


def journal_path(app: Any) -> Path:
    return Path(app.state_dir) / JOURNAL_FILE


def open_journal(app: Any) -> Journal:
    return Journal(journal_path(app))
