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
import time

from pigeon.core import sqlite as sqlite3
from pigeon.core.index_db import FLAG_TAGS, IndexDB, db_path, maildir_flags
from pigeon.core.query import compile_query

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path
    from typing import Any

    from pigeon.core.threads import ThreadMessage, ThreadSummary

FLAG_OF_TAG = {tag: (letter, inverse) for letter, tag, inverse in FLAG_TAGS}
#: CPU seconds the date-walking plan may use before the set-building plan takes over (CPU, not
#: wall time, so that a busy machine does not change the plan).
PROBE_BUDGET = 0.001
_SUMMARY_SQL = ("SELECT m.id, m.msgid, m.thread, m.date, d.sender, d.recipients, d.cc, d.subject, m.size,"
                " (SELECT group_concat(f.path || char(31) || f.account || char(31) || f.folder, char(30))"
                "  FROM files f WHERE f.docid=m.id),"
                " (SELECT group_concat(t.tag, char(31)) FROM tags t WHERE t.docid=m.id)"
                " FROM messages m JOIN details d ON d.id=m.id WHERE m.id IN ({marks})")


def _chunks(items: list[int], size: int = 900) -> Iterable[list[int]]:
    """SQLite limits the number of parameters of one statement."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MessageSummary:
    """A search hit at message level (``pigeon search``, ``--json``)."""

    __slots__ = ("docid", "id", "thread", "date", "sender", "to", "cc", "subject", "size", "tags", "files", "folders",
                 "accounts")

    def __init__(self, docid: int, id: str, thread: str, date: int, sender: str, to: str, cc: str,  # noqa: A002
                 subject: str, size: int, *, tags: list[str], files: list[str], folders: list[str],
                 accounts: list[str]) -> None:
        self.docid, self.id, self.thread, self.date, self.sender, self.to, self.cc = docid, id, thread, date, sender, to, cc
        self.subject, self.size, self.tags, self.files = subject, size, tags, files
        self.folders, self.accounts = folders, accounts

    def __repr__(self) -> str:
        return f"MessageSummary({self.id!r}, {self.subject!r})"

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


def _path(p: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(p)


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

    def __init__(self, path: str | os.PathLike[str], accounts: Iterable[tuple[str, Path]] = (), *, saved: dict[str, str] | None = None,
                 readonly: bool = False, pm: Any = None, new_tags: Sequence[str] | None = None,
                 workers: int | None = None) -> None:
        self.db = IndexDB(path, readonly=readonly)
        self.db.pm = pm
        if new_tags is not None:
            self.db.new_tags = tuple(new_tags)
        self.accounts = [(n, _path(r)) for n, r in accounts]
        self.saved = saved or {}
        self.workers = workers
        self._updater: Any = None
        self._lock: Any = None
        if not readonly:  # made here, not on first use, so that two threads never make two
            import threading

            self._lock = threading.RLock()

    @property
    def lock(self) -> Any:
        """One writer at a time across threads (the watcher's, the UI's)."""
        if self._lock is None:
            from pigeon.core.errors import PigeonError

            raise PigeonError("this index was opened read-only")
        return self._lock

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

    def update(self, *, rebuild: bool = False, progress: Any = None, accounts: Iterable[str] | None = None) -> Any:
        """Index what changed in every account's Maildir (``pigeon index``), or in just the
        named ``accounts`` (after a sync of one account)."""
        self.updater.progress = progress
        return self.updater.update(rebuild=rebuild, accounts=accounts)

    def add_file(self, path: str | os.PathLike[str]) -> int | None:
        """Index one new (or rewritten) file: what the sync engine calls after a download."""
        with self.lock:
            return self.updater.add_file(path)

    def remove_file(self, path: str | os.PathLike[str]) -> bool:
        """Forget one deleted file."""
        with self.lock:
            return self.updater.remove_file(path)

    def move_file(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int | None:
        """A file was renamed (flags) or moved to another folder; its tags follow the flags."""
        with self.lock:
            return self.updater.move_file(old, new)

    def on_store_event(self, kind: str, entry: Any, old: Any = None) -> None:
        """A :class:`pigeon.core.watch.MaildirWatcher` callback: keeps the index current while
        pigeon runs (``added``, ``flags``, ``moved``, ``removed``)."""
        if kind == "added":
            self.add_file(entry.path)
        elif kind in ("flags", "moved"):
            self.move_file(old.path if old is not None else entry.path, entry.path)
        elif kind == "removed":
            self.remove_file(entry.path)

    # ------------------------------------------------------------------ reading

    def where(self, query: str, *, probe: bool = False) -> tuple[str, list[Any]]:
        return compile_query(self.db.conn, query, self.saved, probe=probe)

    def _rows(self, query: str, select: str, order: str, limit: int | None, offset: int,
              want: int | None = None) -> Iterator[Sequence[Any]]:
        """Rows of matching messages in date order, streamed.

        First a plan that walks the date index and probes each message (a screenful of a big
        result costs next to nothing). If it has not finished within ``PROBE_BUDGET`` of CPU
        time: when at that pace the ``want``ed rows come within three more budgets the walk
        goes on; otherwise the hits are sparse, and a plan that builds each set once, looks its
        messages up and sorts them takes over where the walk stopped. Close the iterator when
        leaving early.
        """
        conn = self.db.conn
        want = want if want is not None else limit
        cond, params = self.where(query, probe=True)
        walk = f"SELECT {select} FROM messages m WHERE {cond} ORDER BY m.date {order}, m.id {order} LIMIT ? OFFSET ?"
        done = 0
        clock = time.thread_time
        # With no limit every hit is wanted: the walk only pays when hits are dense, which a
        # third of the budget shows as well, and sparse hits are spared two thirds of it.
        deadline = clock() + (PROBE_BUDGET if want is not None else PROBE_BUDGET / 3)
        conn.set_progress_handler(lambda: clock() > deadline, 1000)
        try:
            for row in conn.execute(walk, [*params, -1 if limit is None else limit, offset]):
                yield row
                done += 1
            return
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
        finally:
            conn.set_progress_handler(None, 0)
        rest = -1 if limit is None else limit - done
        if want is not None and done and (want - done) / done <= 3:
            # at this pace the walk ends within three more budgets: cheaper than building sets
            yield from conn.execute(walk, [*params, rest, offset + done])
            return
        cond, params = self.where(query)
        # "+m.date": sort the (few) hits rather than walk the date index again
        sql = f"SELECT {select} FROM messages m WHERE {cond} ORDER BY +m.date {order}, m.id {order} LIMIT ? OFFSET ?"
        yield from conn.execute(sql, [*params, rest, offset + done])

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
        order = "DESC" if sort == "newest" else "ASC"
        return self._summaries([r[0] for r in self._rows(query, "m.id", order, limit, offset)])

    def _summaries(self, ids: list[int]) -> list[MessageSummary]:
        # One statement for the page: rows, files and tags together (separators \x1e \x1f).
        rows: dict[int, Sequence[Any]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows.update((r[0], r) for r in self.db.conn.execute(_SUMMARY_SQL.format(marks=marks), chunk))
        out = []
        for docid in ids:
            r = rows[docid]
            files, folders, accounts = [], [], []
            for entry in sorted((r[9] or "").split("\x1e")) if r[9] else ():
                path, acct, folder = entry.split("\x1f")
                files.append(path)
                if folder not in folders:
                    folders.append(folder)
                if acct not in accounts:
                    accounts.append(acct)
            tags = sorted(r[10].split("\x1f")) if r[10] else []
            out.append(MessageSummary(docid, r[1], thread_hex(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                                      tags=tags, files=files, folders=folders, accounts=accounts))
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
        row = self.db.conn.execute("SELECT id FROM messages WHERE msgid=?", (ident,)).fetchone()
        return self._summaries([row[0]])[0] if row else None

    def thread_messages(self, thread: int, matched: set[int] | None = None) -> list[ThreadMessage]:
        """Every message of a thread, oldest first."""
        return self._thread_messages([thread], matched).get(thread, [])

    def _thread_messages(self, threads: list[int], matched: set[int] | None) -> dict[int, list[ThreadMessage]]:
        from pigeon.core.threads import ThreadMessage

        out: dict[int, list[ThreadMessage]] = {}
        for chunk in _chunks(threads):
            marks = ",".join("?" * len(chunk))
            for docid, thread, msgid, date, subject, sender, replyto, parents, nfiles, tags in self.db.conn.execute(
                    "SELECT m.id, m.thread, m.msgid, m.date, d.subject, d.sender, d.replyto, d.parents,"
                    " (SELECT count(*) FROM files f WHERE f.docid=m.id),"
                    " (SELECT group_concat(t.tag, char(31)) FROM tags t WHERE t.docid=m.id)"
                    " FROM messages m JOIN details d ON d.id=m.id"
                    f" WHERE m.thread IN ({marks}) ORDER BY m.thread, m.date, m.id", chunk):
                out.setdefault(thread, []).append(ThreadMessage(
                    docid, msgid, date, subject, sender, replyto, parents.split() if parents else [],
                    tags=sorted(tags.split("\x1f")) if tags else [], files=nfiles,
                    matched=matched is None or docid in matched))
        return out

    def threads(self, query: str, *, sort: str = "newest", limit: int | None = None, offset: int = 0) -> list[ThreadSummary]:
        """Threads with a message matching ``query``, one page, as notmuch search lists them:
        newest first by their newest matching message (oldest first by their oldest).

        Walking the matching messages in date order, a thread's first appearance is its place
        in the list, so the walk stops as soon as the page is full.
        """
        order = "DESC" if sort == "newest" else "ASC"
        want = None if limit is None else offset + limit
        seen: dict[int, None] = {}
        walked: set[int] = set()
        last: tuple[int, int] | None = None
        rows = self._rows(query, "m.thread, m.id, m.date", order, None, 0, want=want)
        try:
            for thread, docid, date in rows:
                seen.setdefault(thread, None)
                walked.add(docid)
                last = (date, docid)
                if want is not None and len(seen) >= want:
                    break
            else:
                last = None  # the walk saw every match
        finally:
            rows.close()  # type: ignore[attr-defined]
        threads = list(seen)[offset:want]
        matched = None
        if query.strip() not in ("", "*"):
            # Every message on the near side of where the walk stopped was looked at: it
            # matched if the walk met it. Only the far side needs asking.
            matched = set(walked)
            if last is not None:
                cond, params = self.where(query, probe=True)
                op = "<" if order == "DESC" else ">"
                for chunk in _chunks(threads):
                    marks = ",".join("?" * len(chunk))
                    matched.update(r[0] for r in self.db.conn.execute(
                        f"SELECT m.id FROM messages m WHERE m.thread IN ({marks})"
                        f" AND (m.date {op} ? OR (m.date = ? AND m.id {op} ?)) AND ({cond})",
                        [*chunk, last[0], last[0], last[1], *params]))
        from pigeon.core.threads import summarize_rows

        by_thread: dict[int, list[tuple]] = {}
        for chunk in _chunks(threads):
            marks = ",".join("?" * len(chunk))
            # only what the line shows (no reply ids: no tree is built here)
            for docid, thread, msgid, date, subject, sender, nfiles, tags in self.db.conn.execute(
                    "SELECT m.id, m.thread, m.msgid, m.date, d.subject, d.sender,"
                    " (SELECT count(*) FROM files f WHERE f.docid=m.id),"
                    " (SELECT group_concat(t.tag, char(31)) FROM tags t WHERE t.docid=m.id)"
                    " FROM messages m JOIN details d ON d.id=m.id"
                    # the order of the index messages_thread(thread, date), rowid last: no sort
                    f" WHERE m.thread IN ({marks}) ORDER BY m.thread, m.date, m.id", chunk):
                by_thread.setdefault(thread, []).append((msgid, date, subject, sender, nfiles,
                                                         tags.split("\x1f") if tags else (),
                                                         matched is None or docid in matched))
        oldest_first = sort != "newest"
        return [summarize_rows(thread_hex(t), by_thread.get(t, []), oldest_first) for t in threads]

    def thread_tree(self, thread: str | int) -> list[ThreadMessage]:
        """The reply tree of a thread (top-level messages, replies attached)."""
        from pigeon.core.threads import build_tree

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

        with self.lock:
            return apply_tags(self, query, list(add), list(remove), sync_flags=sync_flags)


def message_file(app: Any, ident: str) -> Path | None:
    """The file of the message a search result names (``id:X``, ``X`` or ``<X>``), for
    ``pigeon show ID``; None when there is no index or no such message."""
    path = db_path(app.state_dir)
    if not os.path.exists(path):
        return None
    with Index(path, readonly=True) as index:
        hit = index.get(ident)
    for f in hit.files if hit else []:
        if os.path.isfile(f):
            return _path(f)
    return None


__all__ = ["Index", "MessageSummary", "open_index", "saved_searches", "thread_hex", "maildir_flags"]
