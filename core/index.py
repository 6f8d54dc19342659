"""The search index as the rest of pigeon uses it: open, update, search, count, thread, tag.

    idx = open_index(app)                       # state_dir/index.sqlite, every account
    idx.update()                                # what changed in the Maildirs (pigeon index)
    idx.add_file(path); idx.remove_file(path); idx.move_file(old, new)   # watcher, sync engine
    idx.search("from:alice and date:7d..", limit=50)      # one screen, newest first
    idx.threads("tag:inbox", limit=50)
    idx.tag("id:abc@x", add=["work"], remove=["inbox"])   # renames files for flag tags

Storage: :mod:`index_db`; updates: :mod:`index_update`; the language: :mod:`query`; thread
lines and reply trees: :mod:`threads`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core.index_db import FLAG_TAGS, IndexDB, db_path, maildir_flags
from pigeon.core.query import compile_query
from pigeon.core.threads import ThreadMessage, ThreadSummary, build_tree, summarize

FLAG_OF_TAG = {tag: (letter, inverse) for letter, tag, inverse in FLAG_TAGS}
_SUMMARY_COLS = "m.id, m.msgid, m.thread, m.date, m.sender, m.recipients, m.cc, m.subject, m.size"


def _chunks(items: list[int], size: int = 900) -> Iterable[list[int]]:
    """SQLite limits the number of parameters of one statement."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class MessageSummary:
    """A search hit at message level (``pigeon search``, ``--json``)."""

    docid: int
    id: str
    thread: str
    date: int
    sender: str
    to: str
    cc: str
    subject: str
    size: int
    tags: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        return {
            "id": self.id,
            "thread": self.thread,
            "date": datetime.fromtimestamp(self.date, UTC).isoformat(),
            "timestamp": self.date,
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "folder": self.folders[0] if self.folders else "",
            "folders": self.folders,
            "account": self.accounts[0] if self.accounts else "",
            "tags": self.tags,
            "files": self.files,
            "size": self.size,
        }


def thread_hex(n: int) -> str:
    return f"{n:016x}"


def saved_searches(config: Any) -> dict[str, str]:
    """The ``[searches]`` table of the configuration (name -> query)."""
    value = config.get("searches") if config is not None else None
    return {str(k): str(v) for k, v in (value or {}).items()}


def open_index(app: Any, *, readonly: bool = False) -> Index:
    """The index of an App: every account's Maildir, the saved searches, the plugin hooks."""
    accounts = [(name, acct.maildir) for name, acct in app.config.accounts.items()]
    new_tags = app.config.get("index.new_tags") or None
    return Index(db_path(app.state_dir), accounts, saved=saved_searches(app.config), readonly=readonly,
                 pm=app.pm, new_tags=new_tags)


class Index:
    """One open index (see the module docstring)."""

    def __init__(self, path: Path, accounts: Iterable[tuple[str, Path]] = (), *, saved: dict[str, str] | None = None,
                 readonly: bool = False, pm: Any = None, new_tags: Sequence[str] | None = None,
                 workers: int | None = None) -> None:
        self.db = IndexDB(path, readonly=readonly)
        self.db.pm = pm
        if new_tags is not None:
            self.db.new_tags = tuple(new_tags)
        self.accounts = [(n, Path(r)) for n, r in accounts]
        self.saved = saved or {}
        self.workers = workers
        self._updater: Any = None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ updates

    @property
    def updater(self) -> Any:
        if self._updater is None:
            from pigeon.core.index_update import Updater

            self._updater = Updater(self.db, self.accounts, workers=self.workers)
        return self._updater

    def update(self, *, rebuild: bool = False, progress: Any = None) -> Any:
        """Index what changed in every account's Maildir (``pigeon index``)."""
        self.updater.progress = progress
        return self.updater.update(rebuild=rebuild)

    def add_file(self, path: str | os.PathLike[str]) -> int | None:
        return self.updater.add_file(path)

    def remove_file(self, path: str | os.PathLike[str]) -> bool:
        return self.updater.remove_file(path)

    def move_file(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int | None:
        return self.updater.move_file(old, new)

    # ------------------------------------------------------------------ reading

    def where(self, query: str) -> tuple[str, list[Any]]:
        return compile_query(self.db.conn, query, self.saved)

    def count(self, query: str) -> int:
        cond, params = self.where(query)
        return self.db.conn.execute(f"SELECT count(*) FROM messages m WHERE {cond}", params).fetchone()[0]

    def count_threads(self, query: str) -> int:
        cond, params = self.where(query)
        return self.db.conn.execute(f"SELECT count(DISTINCT m.thread) FROM messages m WHERE {cond}", params).fetchone()[0]

    def count_files(self, query: str) -> int:
        cond, params = self.where(query)
        return self.db.conn.execute(
            f"SELECT count(*) FROM files f JOIN messages m ON m.id=f.docid WHERE {cond}", params
        ).fetchone()[0]

    def docids(self, query: str) -> list[int]:
        cond, params = self.where(query)
        return [r[0] for r in self.db.conn.execute(f"SELECT m.id FROM messages m WHERE {cond}", params)]

    def search(self, query: str, *, sort: str = "newest", limit: int | None = None, offset: int = 0) -> list[MessageSummary]:
        """Messages matching ``query``, one page (only that page is read)."""
        cond, params = self.where(query)
        order = "DESC" if sort == "newest" else "ASC"
        sql = (f"SELECT {_SUMMARY_COLS} FROM messages m WHERE {cond}"
               f" ORDER BY m.date {order}, m.id {order} LIMIT ? OFFSET ?")
        rows = self.db.conn.execute(sql, [*params, -1 if limit is None else limit, offset]).fetchall()
        return self._summaries(rows)

    def _summaries(self, rows: list[Sequence[Any]]) -> list[MessageSummary]:
        ids = [r[0] for r in rows]
        tags = self._tags_for(ids)
        files: dict[int, list[tuple[str, str, str]]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for docid, path, acct, folder in self.db.conn.execute(
                    f"SELECT docid, path, account, folder FROM files WHERE docid IN ({marks}) ORDER BY path", chunk):
                files.setdefault(docid, []).append((path, acct, folder))
        out = []
        for r in rows:
            fl = files.get(r[0], [])
            folders = list(dict.fromkeys(f[2] for f in fl))
            accounts = list(dict.fromkeys(f[1] for f in fl))
            out.append(MessageSummary(r[0], r[1], thread_hex(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                                      tags=tags.get(r[0], []), files=[f[0] for f in fl], folders=folders,
                                      accounts=accounts))
        return out

    def _tags_for(self, ids: list[int]) -> dict[int, list[str]]:
        tags: dict[int, list[str]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for docid, tag in self.db.conn.execute(
                    f"SELECT docid, tag FROM tags WHERE docid IN ({marks}) ORDER BY tag", chunk):
                tags.setdefault(docid, []).append(tag)
        return tags

    def get(self, ident: str) -> MessageSummary | None:
        """A message by Message-ID (``id:`` optional, ``<>`` optional)."""
        ident = ident[3:] if ident.startswith("id:") else ident
        if ident.startswith("<") and ident.endswith(">"):
            ident = ident[1:-1]
        rows = self.db.conn.execute(f"SELECT {_SUMMARY_COLS} FROM messages m WHERE m.msgid=?", (ident,)).fetchall()
        return self._summaries(rows)[0] if rows else None

    def thread_messages(self, thread: int, matched: set[int] | None = None) -> list[ThreadMessage]:
        """Every message of a thread, oldest first."""
        return self._thread_messages([thread], matched).get(thread, [])

    def _thread_messages(self, threads: list[int], matched: set[int] | None) -> dict[int, list[ThreadMessage]]:
        out: dict[int, list[ThreadMessage]] = {}
        rows = []
        for chunk in _chunks(threads):
            marks = ",".join("?" * len(chunk))
            rows += self.db.conn.execute(
                "SELECT id, thread, msgid, date, subject, sender, replyto, parents,"
                " (SELECT count(*) FROM files f WHERE f.docid=m.id) FROM messages m"
                f" WHERE thread IN ({marks}) ORDER BY date, id", chunk).fetchall()
        tags = self._tags_for([r[0] for r in rows])
        for docid, thread, msgid, date, subject, sender, replyto, parents, nfiles in rows:
            out.setdefault(thread, []).append(ThreadMessage(
                docid, msgid, date, subject, sender, replyto, parents.split() if parents else [],
                tags=tags.get(docid, []), files=nfiles, matched=matched is None or docid in matched))
        return out

    def threads(self, query: str, *, sort: str = "newest", limit: int | None = None, offset: int = 0) -> list[ThreadSummary]:
        """Threads with a message matching ``query``, one page, as notmuch search lists them."""
        cond, params = self.where(query)
        agg, order = ("MAX", "DESC") if sort == "newest" else ("MIN", "ASC")
        rows = self.db.conn.execute(
            f"SELECT m.thread, {agg}(m.date) AS d FROM messages m WHERE {cond}"
            f" GROUP BY m.thread ORDER BY d {order}, m.thread {order} LIMIT ? OFFSET ?",
            [*params, -1 if limit is None else limit, offset]).fetchall()
        threads = [r[0] for r in rows]
        matched = None
        if query.strip() not in ("", "*"):
            matched = set()
            for chunk in _chunks(threads):
                marks = ",".join("?" * len(chunk))
                matched.update(r[0] for r in self.db.conn.execute(
                    f"SELECT m.id FROM messages m WHERE m.thread IN ({marks}) AND ({cond})", [*chunk, *params]))
        by_thread = self._thread_messages(threads, matched)
        return [summarize(thread_hex(t), by_thread.get(t, []), oldest_first=sort != "newest") for t in threads]

    def thread_tree(self, thread: str | int) -> list[ThreadMessage]:
        """The reply tree of a thread (top-level messages, replies attached)."""
        n = int(thread, 16) if isinstance(thread, str) else thread
        return build_tree(self.thread_messages(n))

    def all_threads(self) -> list[int]:
        return [r[0] for r in self.db.conn.execute("SELECT DISTINCT thread FROM messages ORDER BY thread")]

    # ------------------------------------------------------------------ tags

    def tag(self, query: str, add: Iterable[str] = (), remove: Iterable[str] = (), *, sync_flags: bool = True) -> int:
        """Add and remove tags on every message matching ``query``; the flag tags rename the
        message's files (Maildir flags) as notmuch's ``synchronize_flags``. Returns how many
        messages changed."""
        from pigeon.core.index_tags import apply_tags

        return apply_tags(self, query, list(add), list(remove), sync_flags=sync_flags)


__all__ = ["Index", "MessageSummary", "open_index", "saved_searches", "thread_hex", "maildir_flags"]
