"""The sync engine's memory: what the Maildir and the server last agreed on, per account.

One SQLite file per account under the state directory (``<state>/sync/<account>.sqlite``).
For each folder it keeps the server's UIDVALIDITY, HIGHESTMODSEQ and UIDNEXT as of the last
sync, and a stamp of the local ``cur/`` and ``new/`` directories so that an untouched folder is
skipped without listing it. For each message it keeps the UID, the Maildir unique name, the
flags and keywords both sides last agreed on, the size on the wire, a content digest and the
Message-ID (the last two let a message renamed or moved by another tool, or re-numbered by a
UIDVALIDITY change, be recognised instead of copied again).

Crash safety is the engine's ordering: it writes a message file first and commits the state
row after, so a crash leaves at worst a file the state does not know yet, which the next sync
pairs with its UID by content instead of copying it again. Uploads are journalled in
``pending`` before the APPEND for the same reason.

This module imports only the standard library so ``pigeon sync`` stays quick to start.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    name TEXT PRIMARY KEY,            -- local folder name, UTF-8, "/"-separated
    remote TEXT,                      -- the server's name (decoded), when known
    uidvalidity INTEGER,
    highestmodseq INTEGER,
    uidnext INTEGER,
    local_stamp TEXT,                 -- mtimes of cur/ and new/ when both sides last agreed
    synced REAL                       -- wall-clock time of that agreement
);
CREATE TABLE IF NOT EXISTS messages (
    folder TEXT NOT NULL,
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,                -- Maildir unique name (file name before ":2,")
    flags TEXT NOT NULL DEFAULT '',   -- Maildir letters as last agreed, sorted
    keywords TEXT NOT NULL DEFAULT '',-- IMAP keywords as last agreed, space-separated, sorted
    size INTEGER,                     -- RFC822.SIZE (CRLF line ends)
    digest TEXT,                      -- blake2b of the content with LF line ends
    msgid TEXT,                       -- Message-ID without angle brackets
    PRIMARY KEY (folder, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_key ON messages (key);
CREATE INDEX IF NOT EXISTS messages_digest ON messages (digest);
CREATE TABLE IF NOT EXISTS pending (
    folder TEXT NOT NULL,
    key TEXT NOT NULL,
    digest TEXT,
    started REAL,
    PRIMARY KEY (folder, key)
);
"""


@dataclass(frozen=True)
class FolderState:
    """A folder as both sides last agreed on it."""

    name: str
    remote: str | None = None
    uidvalidity: int | None = None
    highestmodseq: int | None = None
    uidnext: int | None = None
    local_stamp: str | None = None
    synced: float | None = None


class MessageState(NamedTuple):
    """One message as both sides last agreed on it (a tuple: a folder holds many)."""

    uid: int
    key: str
    flags: str = ""
    keywords: frozenset[str] = frozenset()
    size: int | None = None
    digest: str | None = None
    msgid: str | None = None

    def with_(self, **changes) -> MessageState:
        return self._replace(**changes)


def _kw_text(keywords: Iterable[str]) -> str:
    return " ".join(sorted(keywords))


def _kw_set(text: str) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def state_path(state_dir: Path, account: str) -> Path:
    """Where the state file of ``account`` lives. Account names are config keys; keep them tame."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in account) or "_"
    return Path(state_dir) / "sync" / f"{safe.lstrip('.') or '_'}.sqlite"


class StateReader:
    """The state read through a read-only connection of its own, for a thread (the stamp check,
    reading ahead) while the engine's ``SyncState`` may be writing."""

    def __init__(self, path: Path) -> None:
        from pigeon.core.sqlite import read_only_uri

        self.path = Path(path)
        self.db = sqlite3.connect(read_only_uri(str(self.path)), uri=True, timeout=30)

    def close(self) -> None:
        self.db.close()

    def folders(self) -> dict[str, FolderState]:
        rows = self.db.execute(
            "SELECT name, remote, uidvalidity, highestmodseq, uidnext, local_stamp, synced FROM folders"
        )
        return {r[0]: FolderState(*r) for r in rows}

    def file_names(self, folder: str) -> set[str]:
        """``<unique name>:2,<flags>`` of every message of a folder (one string from SQLite,
        split in C: a folder of thousands costs a fraction of a millisecond)."""
        row = self.db.execute("SELECT group_concat(key || ':2,' || flags, '/') FROM messages WHERE folder=?", (folder,)).fetchone()
        return set(row[0].split("/")) if row and row[0] else set()

    def key_flags(self, folder: str) -> set[tuple[str, str]]:
        """(unique name, flags) of every message of a folder: what its files should be."""
        return set(self.db.execute("SELECT key, flags FROM messages WHERE folder=?", (folder,)))



class SyncState(StateReader):
    """The SQLite state of one account. Not thread-safe: one engine owns it at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a commit point is explicit.
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL keeps the database consistent across a crash; a lost last commit is
        # harmless because the next sync re-pairs files with UIDs by content.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self._depth = 0
        self._checkpoint: Any = None  # the thread of checkpoint_soon()

    @classmethod
    def for_account(cls, state_dir: Path, account: str) -> SyncState:
        return cls(state_path(state_dir, account))

    def checkpoint_soon(self) -> None:
        """Start copying the write-ahead log into the database on a thread with a connection
        of its own (a PASSIVE checkpoint, which waits for no writer), so that the checkpoint
        SQLite makes when the last connection closes has little left to copy."""
        import threading

        def run() -> None:
            try:
                db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    db.close()
            except sqlite3.Error:
                pass  # close() checkpoints anyway

        if self._checkpoint is None:
            self._checkpoint = threading.Thread(target=run, name="pigeon-state-checkpoint")
            self._checkpoint.start()

    def close(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.join()
            self._checkpoint = None
        self.db.close()

    def __enter__(self) -> SyncState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ folders

    def folder(self, name: str) -> FolderState | None:
        r = self.db.execute(
            "SELECT name, remote, uidvalidity, highestmodseq, uidnext, local_stamp, synced FROM folders WHERE name=?",
            (name,),
        ).fetchone()
        return FolderState(*r) if r else None

    def set_folder(self, fs: FolderState) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?, ?, ?)",
            (fs.name, fs.remote, fs.uidvalidity, fs.highestmodseq, fs.uidnext, fs.local_stamp,
             fs.synced if fs.synced is not None else time.time()),
        )

    def update_folder(self, name: str, **changes) -> FolderState:
        """Change some fields of a folder's row (created when missing) and return the new row."""
        fs = replace(self.folder(name) or FolderState(name), **changes)
        self.set_folder(fs)
        return fs

    def remove_folder(self, name: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM messages WHERE folder=?", (name,))
            self.db.execute("DELETE FROM pending WHERE folder=?", (name,))
            self.db.execute("DELETE FROM folders WHERE name=?", (name,))

    def rename_folder(self, old: str, new: str, remote: str | None = None) -> None:
        """Everything recorded of ``old`` now belongs to ``new`` (whose server name is ``remote``
        when given)."""
        with self.transaction():
            for table, col in (("messages", "folder"), ("pending", "folder"), ("folders", "name")):
                self.db.execute(f"UPDATE {table} SET {col}=? WHERE {col}=?", (new, old))  # noqa: S608
            if remote is not None:
                self.db.execute("UPDATE folders SET remote=? WHERE name=?", (remote, new))

    # ------------------------------------------------------------------ messages

    def messages(self, folder: str) -> dict[int, MessageState]:
        rows = self.db.execute(
            "SELECT uid, key, flags, keywords, size, digest, msgid FROM messages WHERE folder=?", (folder,)
        )
        empty = frozenset()
        return {r[0]: MessageState(r[0], r[1], r[2], _kw_set(r[3]) if r[3] else empty, r[4], r[5], r[6]) for r in rows}

    def messages_for(self, folder: str, uids: Iterable[int]) -> dict[int, MessageState]:
        """The rows of some UIDs of a folder (a QRESYNC answer names the few that changed)."""
        uids = sorted(set(uids))
        out: dict[int, MessageState] = {}
        for i in range(0, len(uids), 500):
            chunk = uids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT uid, key, flags, keywords, size, digest, msgid FROM messages WHERE folder=? AND uid IN ({marks})",  # noqa: S608
                (folder, *chunk),
            )
            for r in rows:
                out[r[0]] = MessageState(r[0], r[1], r[2], _kw_set(r[3]), r[4], r[5], r[6])
        return out

    def get_many(self, folder: str, uids: Iterable[int]) -> dict[int, MessageState]:
        out: dict[int, MessageState] = {}
        for uid in uids:
            m = self.get(folder, uid)
            if m is not None:
                out[uid] = m
        return out

    def count(self, folder: str | None = None) -> int:
        if folder is None:
            return self.db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM messages WHERE folder=?", (folder,)).fetchone()[0]

    def get(self, folder: str, uid: int) -> MessageState | None:
        r = self.db.execute(
            "SELECT uid, key, flags, keywords, size, digest, msgid FROM messages WHERE folder=? AND uid=?",
            (folder, uid),
        ).fetchone()
        return MessageState(r[0], r[1], r[2], _kw_set(r[3]), r[4], r[5], r[6]) if r else None

    def put(self, folder: str, msg: MessageState) -> None:
        self.put_many(folder, (msg,))

    def replace_folder(self, folder: str, msgs: Iterable[MessageState]) -> None:
        """The folder's messages are now exactly ``msgs`` (after a UIDVALIDITY change)."""
        self.db.execute("DELETE FROM messages WHERE folder=?", (folder,))
        self.put_many(folder, msgs)

    def put_many(self, folder: str, msgs: Iterable[MessageState], *, was: dict[int, MessageState] | None = None) -> None:
        """Record ``msgs``. With ``was`` (the rows as they were), a row whose only change is its
        flags or keywords is updated in place: a REPLACE also rewrites its entries in the key
        and digest indexes, one random page each (~3x the pages written for a flag change)."""
        if was:
            same = []
            other = []
            for m in msgs:
                old = was.get(m.uid)
                if old is not None and (old.key, old.size, old.digest, old.msgid) == (m.key, m.size, m.digest, m.msgid):
                    same.append(m)
                else:
                    other.append(m)
            cur = self.db.executemany(
                "UPDATE messages SET flags=?, keywords=? WHERE folder=? AND uid=?",
                ((m.flags, _kw_text(m.keywords), folder, m.uid) for m in same),
            )
            # ``was`` not being what the table holds would be a bug; a row must never go missing
            msgs = other if cur.rowcount == len(same) else same + other
        self.db.executemany(
            "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((folder, m.uid, m.key, m.flags, _kw_text(m.keywords), m.size, m.digest, m.msgid) for m in msgs),
        )

    def remove(self, folder: str, uid: int) -> None:
        self.remove_many(folder, (uid,))

    def remove_many(self, folder: str, uids: Iterable[int]) -> None:
        self.db.executemany("DELETE FROM messages WHERE folder=? AND uid=?", ((folder, u) for u in uids))

    def find_key(self, key: str) -> list[tuple[str, MessageState]]:
        rows = self.db.execute(
            "SELECT folder, uid, key, flags, keywords, size, digest, msgid FROM messages WHERE key=?", (key,)
        )
        return [(r[0], MessageState(r[1], r[2], r[3], _kw_set(r[4]), r[5], r[6], r[7])) for r in rows]

    def find_digest(self, digest: str) -> list[tuple[str, MessageState]]:
        rows = self.db.execute(
            "SELECT folder, uid, key, flags, keywords, size, digest, msgid FROM messages WHERE digest=?", (digest,)
        )
        return [(r[0], MessageState(r[1], r[2], r[3], _kw_set(r[4]), r[5], r[6], r[7])) for r in rows]

    # ------------------------------------------------------------------ uploads in flight

    def add_pending(self, folder: str, key: str, digest: str | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (folder, key, digest, time.time()))

    def remove_pending(self, folder: str, key: str) -> None:
        self.db.execute("DELETE FROM pending WHERE folder=? AND key=?", (folder, key))

    def pending(self, folder: str | None = None) -> list[tuple[str, str, str | None]]:
        if folder is None:
            return list(self.db.execute("SELECT folder, key, digest FROM pending"))
        return list(self.db.execute("SELECT folder, key, digest FROM pending WHERE folder=?", (folder,)))
