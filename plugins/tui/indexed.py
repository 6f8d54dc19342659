"""Lists from the search index (``pigeon.core.index``), read one page at a time.

A search or saved search of 100,000 hits costs one ``count`` and the pages the window shows.
Everything here degrades to None when the index is not there (not built, or not installed),
and the client then searches the Maildir itself (``search.py``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from pigeon.core.sanitize import sanitize_line
from pigeon.plugins.tui.source import Row, Summary, SummaryCache, get_store, split_name

PAGE = 100

#: Tags that mirror Maildir flags: the list shows those as flags, not as tags.
FLAG_TAGS = frozenset({"unread", "replied", "flagged", "attachment", "passed", "draft", "trashed"})


def open_index(app: Any, readonly: bool = True) -> Any | None:
    """The index, or None when it is not built (or this pigeon has none)."""
    try:
        from pigeon.core.index import open_index as core_open
        from pigeon.core.index_db import db_path
    except ImportError:
        return None
    if not os.path.exists(db_path(app.state_dir)):
        return None
    try:
        return core_open(app, readonly=readonly)
    except Exception:
        return None


def saved_searches(app: Any) -> dict[str, str]:
    try:
        from pigeon.core.index import saved_searches as core_saved
    except ImportError:
        return {}
    try:
        return core_saved(app.config)
    except Exception:
        return {}


def tag_message(app: Any, message_id: str, add: list[str], remove: list[str]) -> int:
    """Change a message's tags in the index; returns how many messages changed."""
    from pigeon.core import actions
    from pigeon.core.errors import CommandError

    index = open_index(app, readonly=False)
    if index is None:
        raise CommandError("tags live in the index: build it with `pigeon index`")
    index.close()
    return actions.tag(app, f"id:{message_id.strip('<>')}", add, remove)  # recorded: undo reverts it


class IndexListing:
    """The hits of a query, newest first, in pages; the same face as ``FolderListing``."""

    def __init__(self, app: Any, index: Any, query: str, label: str, sort: str = "newest") -> None:
        self.app = app
        self.sort = sort
        self.index = index
        self.query = query
        self.account = ""
        self.folder = label
        self.total = 0
        self.unread_count = 0
        self.pages: dict[int, list[Any]] = {}
        self._prefetching: set[int] = set()
        self.lock = threading.Lock()
        self.cache = SummaryCache(None)
        self.loaded = False
        self.names: list[str] = []  # pages seen so far, for the watcher's membership test

    @property
    def path(self) -> Path:
        raise AttributeError("an index listing has no single folder")

    def _count(self, query: str) -> int:
        return self.index.count(query)

    def scan(self) -> None:
        with self.lock:
            self.pages.clear()
            self.total = self._count(self.query)
            try:
                self.unread_count = self._count(f"({self.query}) and is:unread")
            except Exception:
                self.unread_count = 0
            self.loaded = True

    def __len__(self) -> int:
        return self.total

    def _fetch(self, page: int) -> list[Any]:
        """One page of hits (the caller holds the lock). Pages in the older half are read from
        the other end: the index orders by (date, id) both ways, and a deep OFFSET is slow."""
        hits = self.pages.get(page)
        if hits is not None:
            return hits
        other = "oldest" if self.sort == "newest" else "newest"
        if page * PAGE >= self.total // 2:
            lo = max(0, self.total - (page + 1) * PAGE)
            n = self.total - page * PAGE - lo
            hits = list(reversed(self.index.search(self.query, sort=other, limit=n, offset=lo))) if n > 0 else []
        else:
            hits = self.index.search(self.query, sort=self.sort, limit=PAGE, offset=page * PAGE)
        self.pages[page] = hits
        self.names.extend(Path(h.files[0]).name for h in hits if h.files)
        return hits

    def _hit(self, i: int) -> Any:
        page = i // PAGE
        with self.lock:
            hits = self._fetch(page)
        j = i - page * PAGE
        nxt = page + 1 if j >= PAGE // 2 else page - 1
        if 0 <= nxt * PAGE < self.total and nxt not in self.pages and nxt not in self._prefetching:
            # read the neighbouring page before the cursor gets there
            self._prefetching.add(nxt)
            threading.Thread(target=self._prefetch, args=(nxt,), daemon=True).start()
        return hits[j] if j < len(hits) else None

    def _prefetch(self, page: int) -> None:
        try:
            with self.lock:
                self._fetch(page)
        except Exception:
            pass
        finally:
            self._prefetching.discard(page)

    @property
    def rows(self) -> _IndexRows:
        return _IndexRows(self)

    def row_at(self, i: int) -> Row | None:
        hit = self._hit(i)
        if hit is None or not hit.files:
            return None
        path = Path(hit.files[0])
        return Row(split_name(path.name)[0], path.parent.name, path.name, path, hit.accounts[0] if hit.accounts else "", hit.folders[0] if hit.folders else "")

    def summary(self, row: Row) -> Summary:
        s = self.cache.data.get(row.key)
        if s is not None:
            return s
        hit = next((h for hits in self.pages.values() for h in hits if h.files and Path(h.files[0]).name == row.name), None)
        if hit is None:
            from pigeon.plugins.tui.source import summarize

            return summarize(self.file(row))
        import email.utils

        name, addr = email.utils.parseaddr(hit.sender)
        s = Summary(
            date=float(hit.date),
            sender=sanitize_line(name or addr),
            sender_addr=sanitize_line(addr),
            to=sanitize_line(hit.to),
            subject=sanitize_line(hit.subject),
            message_id=f"<{hit.id}>",
            attachment="attachment" in hit.tags,
            tags=[sanitize_line(t) for t in hit.tags if t not in FLAG_TAGS],
            tags_checked=True,
        )
        self.cache.data[row.key] = s
        return s

    def file(self, row: Row) -> Path:
        assert row.path is not None
        return row.path

    def locate(self, row: Row) -> tuple[Any, str]:
        acct = self.app.account(row.account or None)
        return get_store(self.app, acct), row.folder or ""

    def index_of(self, key: str, hint: int | None = None) -> int | None:
        if hint is not None:
            row = self.row_at(hint)
            if row is not None and row.key == key:
                return hint
        for page, hits in self.pages.items():
            for j, h in enumerate(hits):
                if h.files and split_name(Path(h.files[0]).name)[0] == key:
                    return page * PAGE + j
        return None

    def refresh_row(self, key: str, new_path: Path | None, hint: int | None = None) -> None:
        i = self.index_of(key, hint)
        if i is None:
            return
        page = i // PAGE
        hit = self.pages[page][i - page * PAGE]
        if new_path is None:
            self.scan()  # the hits after it move up: read them again
            return
        old = hit.files[0]
        hit.files[0] = str(new_path)
        was = "S" not in split_name(Path(old).name)[1]
        now = "S" not in split_name(new_path.name)[1]
        self.unread_count += now - was

    def unread(self) -> int:
        return self.unread_count


class IndexThreadListing(IndexListing):
    """One row per thread (notmuch's search view): newest activity first, read in pages.

    A row has no file of its own; RET opens the thread's messages (``thread:ID``).
    """

    by_thread = True

    def _count(self, query: str) -> int:
        return self.index.count_threads(query)

    def _fetch(self, page: int) -> list[Any]:
        hits = self.pages.get(page)
        if hits is None:
            hits = self.index.threads(self.query, limit=PAGE, offset=page * PAGE)
            self.pages[page] = hits
        return hits

    def row_at(self, i: int) -> Row | None:
        ts = self._hit(i)
        if ts is None:
            return None
        flags = "" if "unread" in ts.tags else "S"
        return Row(f"thread:{ts.thread}", "cur", f"thread:{ts.thread}:2,{flags}", None, "", None)

    def thread_at(self, i: int) -> Any:
        return self._hit(i)

    def summary(self, row: Row) -> Summary:
        s = self.cache.data.get(row.key)
        if s is not None:
            return s
        ts = next((t for hits in self.pages.values() for t in hits if f"thread:{t.thread}" == row.key), None)
        if ts is None:
            return Summary(subject="(gone)")
        authors = ts.authors if isinstance(ts.authors, str) else ", ".join(ts.authors)
        count = f"[{ts.matched}/{ts.total}]" if ts.matched != ts.total else f"[{ts.total}]"
        s = Summary(
            date=float(ts.newest if isinstance(ts.newest, (int, float)) else ts.date or 0),
            sender=sanitize_line(authors),
            subject=sanitize_line(f"{ts.subject} {count}"),
            tags=[sanitize_line(t) for t in ts.tags if t not in FLAG_TAGS],
            tags_checked=True,
            assessed=True,
        )
        self.cache.data[row.key] = s
        return s

    def file(self, row: Row) -> Path:
        from pigeon.core.errors import CommandError

        raise CommandError("this line is a thread: RET opens its messages")

    def index_of(self, key: str, hint: int | None = None) -> int | None:
        if hint is not None:
            row = self.row_at(hint)
            if row is not None and row.key == key:
                return hint
        for page, hits in self.pages.items():
            for j, t in enumerate(hits):
                if f"thread:{t.thread}" == key:
                    return page * PAGE + j
        return None


class _IndexRows:
    def __init__(self, listing: IndexListing) -> None:
        self.listing = listing

    def __len__(self) -> int:
        return len(self.listing)

    def __getitem__(self, i: int) -> Row:
        row = self.listing.row_at(i)
        if row is None:
            raise IndexError(i)
        return row

    def __iter__(self):  # noqa: ANN204
        return (self[i] for i in range(len(self)))
