"""The client's mail side: folders, listings, messages, flags and moves, new mail, searches.

A mixin of ``TUI`` (``ui.py``); every method here runs on the event loop unless it says so.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pigeon.core.sanitize import sanitize_line
from pigeon.plugins.tui.model import MessageBuffer, MessageListBuffer
from pigeon.plugins.tui.source import FolderListing, folder_counts, get_store, split_name


class MailMixin:
    """Folders and messages for ``TUI``."""

    app: Any

    # ================================================================== folders

    def accounts(self) -> list[Any]:
        return list(self.app.config.accounts.values())

    def _load_folders(self) -> None:
        entries: list[tuple[str, str]] = []
        for acct in self.accounts():
            try:
                store = get_store(self.app, acct)
                entries.extend((acct.name, f) for f in store.folders())
            except Exception as exc:
                self._log_error(f"account {acct.name}: {type(exc).__name__}: {exc}", traceback.format_exc())
        self.folders.entries = entries
        from pigeon.plugins.tui.indexed import saved_searches

        self.folders.searches = sorted(saved_searches(self.app).items())
        self.spawn(self._count_folders, what="counting folders")

    def _count_folders(self) -> None:
        for acct_name, folder in list(self.folders.entries):
            acct = self.app.config.accounts.get(acct_name)
            if acct is None:
                continue
            counts = folder_counts(get_store(self.app, acct), folder)
            self.folders.counts[(acct_name, folder)] = counts
        if self.folders.searches:
            from pigeon.plugins.tui.indexed import open_index

            index = open_index(self.app)
            if index is None:
                return
            try:
                for name, query in list(self.folders.searches):
                    try:
                        total = index.count(query)
                        unread = index.count(f"({query}) and is:unread")
                    except Exception:  # a saved search the index cannot parse shows no counts
                        continue
                    self.folders.counts[("search", name)] = (total, unread)
            finally:
                index.close()

    def cache_dir(self) -> Path:
        return self.app.state_dir / "tui-cache"

    def open_folder(self, account: str, folder: str) -> MessageListBuffer:
        """Show a folder's message list; it fills in the background."""
        for b in self.buffers:
            if isinstance(b, MessageListBuffer) and b.account == account and b.folder == folder and b.name.endswith("]"):
                self.show(b)
                return b
        acct = self.app.account(account)
        listing = FolderListing(get_store(self.app, acct), acct.name, folder, self.cache_dir())
        buf = MessageListBuffer(listing)
        buf.on_unassessed = self._assess_later
        self.show(buf)
        self.rescan(buf)
        return buf

    def rescan(self, buf: MessageListBuffer, then: Callable[[], None] | None = None) -> None:
        keep = buf.row()
        keep_key = keep.key if keep else None
        hint = buf.row_index(buf.cursor)
        buf.status = "loading…" if not buf.listing.loaded else buf.status

        def work() -> int | None:
            buf.listing.scan()
            # where the cursor's message went (new mail above it shifts it), found off the loop
            return buf.listing.index_of(keep_key, hint) if keep_key else None

        def done(index: int | None) -> None:
            buf.status = ""
            buf.now = time.time()
            if buf.threaded is not None:
                self.thread_view(buf, True)
            elif index is not None:
                buf.goto(index)
            else:
                buf.goto(buf.cursor)
            self._remember_mtimes(buf)
            if then:
                then()

        self.spawn(work, done, what=f"reading {buf.folder}")

    def _assess_later(self, buf: MessageListBuffer, row: Any, summary: Any) -> None:
        """Rows as they are drawn go, off the loop, to the assessment hooks (⚠ marks the risky)
        and to the index (their tags)."""
        work = []
        if not summary.assessed and self.app.pm.hook.pigeon_assess_message.get_hookimpls():
            summary.assessed = True  # queued once
            work.append("assess")
        if not summary.tags_checked:
            summary.tags_checked = True
            if self.tag_index() is not None and summary.message_id:
                work.append("tags")
        if not work:
            return
        with self.lock:
            self._assess_queue.append((buf, row, summary, work))
            if self._assessing:
                return
            self._assessing = True
        self.spawn(self._assess_worker, what="assessing messages")

    def tag_index(self) -> Any:
        """The index, read-only, for the tags column (opened once; None without one)."""
        if self._tag_index is False:
            from pigeon.plugins.tui.indexed import open_index

            self._tag_index = open_index(self.app)
        return self._tag_index

    def _assess_worker(self) -> None:
        from pigeon.core.pluginmanager import call_isolated
        from pigeon.hooks.types import SEVERITY_ORDER, MessageRef
        from pigeon.plugins.tui.compose import parse_file
        from pigeon.plugins.tui.indexed import FLAG_TAGS

        while True:
            with self.lock:
                if not self._assess_queue or self.stopping.is_set():
                    self._assessing = False
                    return
                buf, row, summary, work = self._assess_queue.pop()  # the most recently drawn first
            if "tags" in work:
                try:
                    hit = self.tag_index().get(summary.message_id.strip("<>"))
                except Exception:
                    hit = None
                if hit is not None:
                    summary.tags = [sanitize_line(t) for t in hit.tags if t not in FLAG_TAGS]
                    self.invalidate()
            if "assess" not in work:
                continue
            try:
                path = buf.listing.file(row)
                msg = parse_file(path)
                findings = call_isolated(self.app.pm, "pigeon_assess_message", message=msg, ref=MessageRef(path, buf.folder, buf.account))
            except Exception:
                continue
            flat = [f for group in findings for f in (group or [])]
            if any(SEVERITY_ORDER.get(f.severity, 0) >= 2 for f in flat):
                summary.warning = True
                buf.listing.cache.dirty = True
                self.invalidate()

    def prefetch_summaries(self, buf: MessageListBuffer, start: int, end: int) -> None:
        """Read the headers of rows ``start:end`` in the background, so paging finds them ready."""
        listing = buf.listing
        if not hasattr(listing, "names") or self._prefetching_rows or not listing.loaded:
            return
        end = min(end, len(listing))
        if start >= end:
            return
        from pigeon.plugins.tui.source import FolderListing

        if not isinstance(listing, FolderListing):
            return
        missing = [i for i in range(start, end) if split_name(listing.names[i])[0] not in listing.cache.data]
        if not missing:
            return
        self._prefetching_rows = True

        def work() -> None:
            try:
                for i in missing:
                    if self.stopping.is_set():
                        return
                    try:
                        listing.summary(listing.rows[i])
                    except IndexError:  # the folder changed meanwhile
                        return
            finally:
                self._prefetching_rows = False

        self.spawn(work, what="reading headers")

    def thread_view(self, buf: MessageListBuffer, on: bool) -> None:
        if not on:
            buf.set_threads(None)
            return
        buf.status = "threading…"

        def work() -> Any:
            def progress(done: int, total: int) -> None:
                buf.status = f"threading… {done}/{total}"
                self.invalidate()

            buf.listing.summarize_all(progress, self.stopping)
            if self.stopping.is_set():
                return None
            return buf.listing.threads()

        def done(threads: Any) -> None:
            if threads is None:
                return
            buf.status = ""
            buf.set_threads(threads)
            buf.listing.cache.save()

        self.spawn(work, done, what="threading")

    def _folder_mtimes(self, buf: MessageListBuffer) -> tuple[float, float]:
        out = []
        for sub in ("new", "cur"):
            try:
                out.append((buf.listing.path / sub).stat().st_mtime)
            except OSError:
                out.append(0.0)
        return out[0], out[1]

    def _remember_mtimes(self, buf: MessageListBuffer) -> None:
        try:
            self._dir_mtimes[id(buf)] = self._folder_mtimes(buf)
        except Exception:  # an index listing has no folder of its own
            pass

    def open_search(self, query: str, label: str = "", threads: bool = False) -> MessageListBuffer | None:
        """A search result from the index, paged (by thread when ``threads``); None without an index."""
        from pigeon.plugins.tui.indexed import IndexListing, IndexThreadListing, open_index

        index = open_index(self.app)
        if index is None:
            return None
        name = f"*{sanitize_line(label or 'search: ' + query)[:40]}*"
        old = self.buffer_named(name)
        if isinstance(old, MessageListBuffer):
            self.kill(old)
        if threads:
            listing: Any = IndexThreadListing(self.app, index, query, label or query)
        else:  # a thread reads in the order it was written
            listing = IndexListing(self.app, index, query, label or query, "oldest" if query.startswith("thread:") else "newest")
        buf = MessageListBuffer(listing, name=name)
        self.show(buf)
        self.rescan(buf, then=lambda: self.message(f"{len(buf.listing)} {'thread' if threads else 'message'}(s) match {query}"))
        return buf

    def check_new_mail(self) -> None:
        """Rescan every open folder whose directories changed (new mail, other tools)."""
        for buf in list(self.buffers):
            if isinstance(buf, MessageListBuffer) and buf.listing.loaded and buf.name.endswith("]"):
                try:
                    now = self._folder_mtimes(buf)
                except Exception:
                    continue
                if self._dir_mtimes.get(id(buf)) not in (None, now):
                    self._dir_mtimes[id(buf)] = now
                    self.rescan(buf)

    # ================================================================== messages

    def open_message(self, lst: MessageListBuffer, buf: MessageBuffer | None = None) -> MessageBuffer | None:
        row = lst.row()
        if row is None:
            return None
        if "S" not in row.flags:
            self.set_flags(lst, row.key, add="S", record=False)
            row = lst.row() or row
        path = lst.listing.file(row)
        summary = lst.listing.summary(row)
        name = f"*{(summary.subject or '(no subject)')[:40]}*"
        if buf is None:
            buf = next((b for b in self.buffers if isinstance(b, MessageBuffer) and b.source_list is lst), None)
        if buf is None:
            buf = MessageBuffer(name, path, lst.account, lst.folder, row.key)
        buf.name, buf.path, buf.key = name, path, row.key
        buf.source_list = lst
        buf.set_text("rendering…")
        buf.cursor = buf.top = 0
        panes = self.tree.panes()
        if len(panes) > 1 and self.current is lst:
            # Gnus's way: with the screen split, the message shows in the other window and
            # the list keeps the keyboard
            target = next((p for p in panes if p.buffer is buf), None) or panes[(panes.index(self.tree.current) + 1) % len(panes)]
            pane_width = target.buffer.width
            target.buffer = buf
            self._add(buf)
            self._add(lst)
            self.tree.version += 1
            self.sync_focus()
        else:
            pane_width = self.current.width  # the window it will show in (the list's, now)
            self.show(buf)
        self.render_into(buf, pane_width, summary)
        return buf

    @staticmethod
    def view_width(window_width: int) -> int:
        return max(40, min(window_width, 120) - 1)

    def render_into(self, buf: MessageBuffer, window_width: int, summary: Any = None, keep_place: bool = False) -> None:
        """Render ``buf``'s message in the background at the window's width."""
        width = self.view_width(window_width)
        buf.rendered_width = width
        path = buf.path
        acct = self.app.config.accounts.get(buf.account)

        def work() -> Any:
            from pigeon.plugins.tui.view import render_view

            return render_view(self.app, path, width, acct, buf.folder)

        def done(view: Any) -> None:
            if buf.path != path:  # another message was opened meanwhile
                return
            buf.lines = view.lines
            buf.header_lines = view.header_lines
            buf.attachments = view.attachments
            buf.links = view.links
            if not keep_place:
                buf.cursor = buf.top = 0
            if view.warning and summary is not None:
                summary.warning = True

        self.spawn(work, done, what="rendering")

    def set_flags(self, lst: MessageListBuffer, key: str, add: str = "", remove: str = "", record: bool = True) -> None:
        """Change a message's Maildir flags through the store, and its row. ``record=False`` for
        implicit changes (opened = read, replied = answered): the sync carries them, but they
        are not operations of their own for pending and undo."""
        listing = lst.listing
        i = listing.index_of(key, lst.row_index(lst.cursor))
        if i is None:
            return
        row = listing.rows[i]
        new = "".join(sorted((set(row.flags) | set(add)) - set(remove)))
        if new == row.flags:
            return
        store, folder = listing.locate(row)
        path = listing.file(row)
        if hasattr(store, "set_flags") and hasattr(store, "get"):
            from pigeon.core import actions  # recorded in the journal: undo, pending, replay

            account = row.account or listing.account
            new_path = Path(actions.set_flags(self.app, account, folder, key, add=add, remove=remove, record=record).path)
        else:
            new_path = path.parent.parent / "cur" / f"{key}:2,{new}"
            path.rename(new_path)
        listing.refresh_row(key, new_path, i)
        self._remember_mtimes(lst)
        counts = self.folders.counts.get((listing.account, listing.folder))
        if counts:
            self.folders.counts[(listing.account, listing.folder)] = (len(listing), listing.unread())

    def move_message(self, lst: MessageListBuffer, key: str, dest: str) -> None:
        listing = lst.listing
        i = listing.index_of(key, lst.row_index(lst.cursor))
        if i is None:
            return
        row = listing.rows[i]
        store, folder = listing.locate(row)
        if dest not in store.folders():
            store.create_folder(dest)
        if hasattr(store, "move") and hasattr(store, "get"):
            from pigeon.core import actions

            account = row.account or listing.account
            acct = self.app.account(account)
            actions.move(self.app, acct, folder, key, dest, kind="delete" if dest == acct.folder("trash") else "move")
        else:
            target = Path(store.folder_path(dest)) / "cur" / (row.name if ":2," in row.name else row.name + ":2,")
            listing.file(row).rename(target)
        listing.refresh_row(key, None, i)
        self._remember_mtimes(lst)
