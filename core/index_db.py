"""The search index: one SQLite database (WAL, FTS5) for the mail of every account.

A *message* is one Message-ID; it may have several *files* (the same mail in two folders, Gmail's
All Mail), as in notmuch. Threads are connected components over Message-ID, In-Reply-To and
References, kept incrementally: a message joins the thread of any message it references or that
references it (a referenced id that is not here yet is kept as a *ghost* holding its thread),
and two threads that a new message links are merged into the older id, so thread ids are stable.
Subjects are never used to gather threads (notmuch's default).

Tags live here. The Maildir flags of files in ``cur/``/``new/`` map to the tags ``draft``,
``flagged``, ``passed``, ``replied`` and ``unread`` (no ``S``) exactly as notmuch's
``synchronize_flags`` does (the union over the message's files); ``pigeon tag`` renames the files
the other way (:mod:`pigeon.core.index_tags`).

Writers: :mod:`pigeon.core.index_update` (``pigeon index``, the watcher, the sync engine).
Readers: :mod:`pigeon.core.query`.
"""

from __future__ import annotations

import os

from pigeon.core import sqlite as sqlite3

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

SCHEMA_VERSION = "2"
DB_NAME = "index.sqlite"

#: Maildir flag letter -> tag, inverted (the tag is set when the flag is absent).
FLAG_TAGS: tuple[tuple[str, str, bool], ...] = (
    ("D", "draft", False),
    ("F", "flagged", False),
    ("P", "passed", False),
    ("R", "replied", False),
    ("S", "unread", True),
)
DEFAULT_NEW_TAGS = ("inbox", "unread")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY,
    msgid TEXT NOT NULL UNIQUE,
    thread INTEGER NOT NULL,
    date INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_date ON messages(date);
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread, date);
CREATE TABLE IF NOT EXISTS details(
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    cc TEXT NOT NULL,
    replyto TEXT NOT NULL,
    parents TEXT NOT NULL,
    attachments TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS addresses(addr TEXT NOT NULL, field TEXT NOT NULL, docid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS addresses_addr ON addresses(addr, field);
CREATE INDEX IF NOT EXISTS addresses_docid ON addresses(docid);
CREATE TABLE IF NOT EXISTS mimetypes(type TEXT NOT NULL, docid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mimetypes_type ON mimetypes(type);
CREATE INDEX IF NOT EXISTS mimetypes_docid ON mimetypes(docid);
CREATE TABLE IF NOT EXISTS ghosts(msgid TEXT PRIMARY KEY, thread INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ghosts_thread ON ghosts(thread);
CREATE TABLE IF NOT EXISTS refs(ref TEXT NOT NULL, docid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS refs_ref ON refs(ref);
CREATE INDEX IF NOT EXISTS refs_docid ON refs(docid);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY,
    docid INTEGER,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    dir TEXT NOT NULL,
    mtime REAL NOT NULL,
    size INTEGER NOT NULL,
    flags TEXT
);
CREATE INDEX IF NOT EXISTS files_docid ON files(docid);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE INDEX IF NOT EXISTS files_account ON files(account);
CREATE INDEX IF NOT EXISTS files_dir ON files(dir);
CREATE TABLE IF NOT EXISTS tags(tag TEXT NOT NULL, docid INTEGER NOT NULL, PRIMARY KEY(tag, docid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_docid ON tags(docid);
CREATE TABLE IF NOT EXISTS fields(name TEXT NOT NULL, value TEXT NOT NULL, docid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS fields_name ON fields(name, value);
CREATE INDEX IF NOT EXISTS fields_docid ON fields(docid);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_head USING fts5(
    subject, sender, recipients, cc, attachment, extra,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_body USING fts5(
    body, tokenize = 'porter unicode61 remove_diacritics 2'
);
-- messages whose tags the user changed, in order, for the sync to carry to IMAP keywords
CREATE TABLE IF NOT EXISTS tag_log(docid INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tag_log_seq ON tag_log(seq);
CREATE TABLE IF NOT EXISTS tag_pushed(account TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

#: Every table, for --rebuild and for forgetting a message (table, column holding the id).
TABLES = (("messages", "id"), ("details", "id"), ("addresses", "docid"), ("mimetypes", "docid"),
          ("tags", "docid"), ("refs", "docid"), ("fields", "docid"), ("fts_head", "rowid"), ("fts_body", "rowid"),
          ("tag_log", "docid"))


def db_path(state_dir: str | os.PathLike[str]) -> str:
    """Where the index of a state directory lives."""
    return os.path.join(state_dir, DB_NAME)


def maildir_flags(path: str) -> str | None:
    """The flags of a file for tag sync: its ``:2,`` letters, '' in new/ without info, None
    when it is not in a Maildir ``cur``/``new`` directory or has no info (notmuch's rule)."""
    parent = os.path.basename(os.path.dirname(path))
    if parent not in ("cur", "new"):
        return None
    name = os.path.basename(path)
    for sep in (":2,", "!2,"):
        i = name.rfind(sep)
        if i >= 0:
            return "".join(sorted(set(name[i + 3 :])))
    return "" if parent == "new" else None


def folder_of(rel_dir: str) -> str:
    """The folder of a file's directory relative to the account root (``cur``/``new`` dropped)."""
    parts = [p for p in rel_dir.split("/") if p]
    if parts and parts[-1] in ("cur", "new"):
        parts.pop()
    return "/".join(parts)


def _addr_text(pairs: Iterable[tuple[str, str]]) -> str:
    return " ".join(f"{n} {a}".strip() for n, a in pairs)


def _display(pairs: list[tuple[str, str]]) -> str:
    out = []
    for name, addr in pairs:
        if name and addr:
            out.append(f"{name} <{addr}>")
        else:
            out.append(name or addr)
    return ", ".join(out)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


class IndexDB:
    """The open database. One writer at a time (SQLite's lock); readers never block (WAL)."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        if readonly:
            if not os.path.exists(self.path):
                from pigeon.core.errors import PigeonError

                raise PigeonError(f"no index yet at {self.path}: run 'pigeon index'")
            self.conn = sqlite3.connect(sqlite3.read_only_uri(self.path), uri=True, isolation_level=None,
                                        check_same_thread=False)
            try:
                row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            except sqlite3.DatabaseError:
                row = None
            if row is None or row[0] != SCHEMA_VERSION:
                from pigeon.core.errors import PigeonError

                raise PigeonError(f"the index at {self.path} is from another pigeon version: run 'pigeon index'")
        else:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            # The watcher calls in from its own thread; Index serialises the calls with a lock.
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._ensure_schema()
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.execute("PRAGMA cache_size=-32000")
        self.new_tags: tuple[str, ...] = DEFAULT_NEW_TAGS
        self.pm: Any = None  # a plugin manager for pigeon_index_fields, when there is one

    # ------------------------------------------------------------------ schema

    def _ensure_schema(self) -> None:
        self.conn.executescript(SCHEMA)
        cur = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if cur is None:
            self.conn.execute("INSERT INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('next_thread', '1')")
        elif cur[0] != SCHEMA_VERSION:
            self.reset()

    def reset(self) -> None:
        """Drop everything (``pigeon index --rebuild``)."""
        for table in [t for t, _ in TABLES] + ["ghosts", "files", "fts", "meta", "tag_pushed"]:
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self._ensure_schema()

    def close(self) -> None:
        self.conn.close()

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # ------------------------------------------------------------------ threads

    def _new_thread(self) -> int:
        (n,) = self.conn.execute("SELECT value FROM meta WHERE key='next_thread'").fetchone()
        n = int(n)
        self.conn.execute("UPDATE meta SET value=? WHERE key='next_thread'", (str(n + 1),))
        return n

    def _thread_of(self, msgid: str) -> int | None:
        row = self.conn.execute("SELECT thread FROM messages WHERE msgid=?", (msgid,)).fetchone()
        if row is None:
            row = self.conn.execute("SELECT thread FROM ghosts WHERE msgid=?", (msgid,)).fetchone()
        return row[0] if row else None

    def _link(self, msgid: str, parents: list[str]) -> int:
        """The thread a new message belongs to; merges the threads it links (older id wins)."""
        c = self.conn
        threads: set[int] = set()
        row = c.execute("SELECT thread FROM ghosts WHERE msgid=?", (msgid,)).fetchone()
        if row:
            threads.add(row[0])
            c.execute("DELETE FROM ghosts WHERE msgid=?", (msgid,))
        missing = []
        for p in parents:
            t = self._thread_of(p)
            if t is None:
                missing.append(p)
            else:
                threads.add(t)
        if threads:
            target = min(threads)
            others = sorted(threads - {target})
            if others:
                marks = ",".join("?" * len(others))
                c.execute(f"UPDATE messages SET thread=? WHERE thread IN ({marks})", (target, *others))
                c.execute(f"UPDATE ghosts SET thread=? WHERE thread IN ({marks})", (target, *others))
        else:
            target = self._new_thread()
        c.executemany("INSERT OR IGNORE INTO ghosts VALUES(?, ?)", [(p, target) for p in missing])
        return target

    # ------------------------------------------------------------------ files and messages

    def file_row(self, path: str) -> tuple[Any, ...] | None:
        return self.conn.execute(
            "SELECT path, docid, account, folder, dir, mtime, size, flags FROM files WHERE path=?", (path,)
        ).fetchone()

    def add_record(self, record: Any, path: str, account: str, rel_dir: str, mtime: float, size: int,
                   message: Any = None) -> int | None:
        """Store one parsed file (``record`` from :mod:`index_parse`; None = not mail).

        Returns the message's id, or None for a file that is not mail (remembered so that it
        is not parsed again while unchanged).
        """
        c = self.conn
        flags = maildir_flags(path)
        folder = folder_of(rel_dir)
        if record is None:
            c.execute("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)",
                      (path, None, account, folder, rel_dir, mtime, size, flags))
            return None
        row = c.execute("SELECT id FROM messages WHERE msgid=?", (record.msgid,)).fetchone()
        if row is not None:  # another copy of a known message
            docid = row[0]
            c.execute("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)",
                      (path, docid, account, folder, rel_dir, mtime, size, flags))
            self.sync_flag_tags(docid)
            return docid
        thread = self._link(record.msgid, record.parents)
        sender = _display(record.from_addrs[:1]) if record.from_addrs else ""
        recips = record.to_addrs + record.cc_addrs + record.bcc_addrs
        docid = c.execute("INSERT INTO messages(msgid, thread, date, size) VALUES(?,?,?,?)",
                          (record.msgid, thread, record.date, size)).lastrowid
        c.execute("INSERT INTO details VALUES(?,?,?,?,?,?,?,?)",
                  (docid, record.subject, sender, _display(record.to_addrs), _display(record.cc_addrs),
                   record.replyto, " ".join(record.parents), _json(record.attachments)))
        addrs = {(a.lower(), "from") for _, a in record.from_addrs if a}
        addrs |= {(a.lower(), "to") for _, a in recips if a}
        addrs |= {(a.lower(), "cc") for _, a in record.cc_addrs if a}
        c.executemany("INSERT INTO addresses VALUES(?,?,?)", [(a, f, docid) for a, f in addrs])
        c.executemany("INSERT INTO mimetypes VALUES(?,?)", [(t.lower(), docid) for t in dict.fromkeys(record.mimetypes)])
        c.executemany("INSERT INTO refs VALUES(?, ?)", [(p, docid) for p in record.parents])
        extra = ""
        if self.pm is not None and message is not None:
            extra = self._plugin_fields(docid, message, path, account, folder, record.msgid)
        c.execute("INSERT INTO fts_head(rowid, subject, sender, recipients, cc, attachment, extra) VALUES(?,?,?,?,?,?,?)",
                  (docid, record.subject, _addr_text(record.from_addrs), _addr_text(recips),
                   _addr_text(record.cc_addrs), " ".join(n for n, _ in record.attachments), extra))
        c.execute("INSERT INTO fts_body(rowid, body) VALUES(?,?)", (docid, record.body))
        tags = set(self.new_tags) | set(record.auto_tags)
        if flags is not None:  # the first file of a new message: its flags decide (as sync_flag_tags)
            for letter, tag, inverse in FLAG_TAGS:
                if (letter in flags) != inverse:
                    tags.add(tag)
                else:
                    tags.discard(tag)
        c.executemany("INSERT INTO tags VALUES(?, ?)", [(t, docid) for t in tags])
        c.execute("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)",
                  (path, docid, account, folder, rel_dir, mtime, size, flags))
        return docid

    def _plugin_fields(self, docid: int, message: Any, path: str, account: str, folder: str, msgid: str) -> str:
        from pathlib import Path

        from pigeon.hooks.types import MessageRef

        ref = MessageRef(Path(path), folder, account, msgid)
        texts = []
        for mapping in self.pm.hook.pigeon_index_fields(message=message, ref=ref) or []:
            for name, value in (mapping or {}).items():
                name, value = str(name).lower(), str(value)
                self.conn.execute("INSERT INTO fields VALUES(?,?,?)", (name, value.lower(), docid))
                texts.append(value)
        return " ".join(texts)

    def remove_file(self, path: str) -> bool:
        """Forget a file; the message goes when its last file goes. True if it was known."""
        c = self.conn
        row = c.execute("SELECT docid FROM files WHERE path=?", (path,)).fetchone()
        if row is None:
            return False
        c.execute("DELETE FROM files WHERE path=?", (path,))
        docid = row[0]
        if docid is None:
            return True
        if c.execute("SELECT 1 FROM files WHERE docid=? LIMIT 1", (docid,)).fetchone():
            self.sync_flag_tags(docid)
            return True
        msgid, thread = c.execute("SELECT msgid, thread FROM messages WHERE id=?", (docid,)).fetchone()
        for table, col in TABLES:
            c.execute(f"DELETE FROM {table} WHERE {col}=?", (docid,))
        if c.execute("SELECT 1 FROM refs WHERE ref=? LIMIT 1", (msgid,)).fetchone():
            # still referenced: keep its place so that the thread holds together (as notmuch)
            c.execute("INSERT OR REPLACE INTO ghosts VALUES(?, ?)", (msgid, thread))
        return True

    def rename_file(self, old: str, new: str, account: str, rel_dir: str, mtime: float | None = None) -> bool:
        """A file moved or had its flags changed: same content, new name. False if unknown."""
        row = self.file_row(old)
        if row is None:
            return False
        _, docid, _, _, _, old_mtime, size, _ = row
        self.conn.execute("DELETE FROM files WHERE path=?", (old,))
        self.conn.execute("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)",
                          (new, docid, account, folder_of(rel_dir), rel_dir,
                           old_mtime if mtime is None else mtime, size, maildir_flags(new)))
        if docid is not None:
            self.sync_flag_tags(docid)
        return True

    # ------------------------------------------------------------------ tags

    def tags_of(self, docid: int) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT tag FROM tags WHERE docid=? ORDER BY tag", (docid,))]

    def sync_flag_tags(self, docid: int) -> None:
        """Set the flag tags from the union of the files' Maildir flags (notmuch's rule)."""
        rows = self.conn.execute("SELECT flags FROM files WHERE docid=? AND flags IS NOT NULL", (docid,)).fetchall()
        if not rows:
            return
        union = set("".join(r[0] for r in rows))
        for letter, tag, inverse in FLAG_TAGS:
            if (letter in union) != inverse:
                self.conn.execute("INSERT OR IGNORE INTO tags VALUES(?, ?)", (tag, docid))
            else:
                self.conn.execute("DELETE FROM tags WHERE tag=? AND docid=?", (tag, docid))

    def files_of(self, docid: int) -> list[tuple[str, str, str]]:
        """(path, account, folder) of every file of a message, sorted by path."""
        return self.conn.execute(
            "SELECT path, account, folder FROM files WHERE docid=? ORDER BY path", (docid,)
        ).fetchall()

    def docid_of(self, msgid: str) -> int | None:
        row = self.conn.execute("SELECT id FROM messages WHERE msgid=?", (msgid,)).fetchone()
        return row[0] if row else None
