"""Watch a Maildir tree and report message changes, whoever makes them (pigeon, mbsync, mutt).

A watchdog observer turns file-system events into four kinds of message events:

- ``"added"``: a message appeared in a folder's ``cur/`` or ``new/`` (delivered through
  ``tmp/``, linked, or moved in from outside the store);
- ``"flags"``: a message was renamed within its folder with the same unique name (its flags
  changed, or it went from ``new/`` to ``cur/``); ``old`` is the Entry before;
- ``"moved"``: a message was renamed into another folder, or its unique name changed (mbsync
  adding ``,U=``); ``old`` is the Entry before;
- ``"removed"``: a message left ``cur/``/``new/`` (deleted, or moved out of the store).

The callback runs in the watcher's threads: ``callback(kind, entry, old)``.

A message moved into a folder that was not watched a moment before (a folder just created)
reaches us as a file created there plus, half a second later, a removal where it was; such
pairs (same unique name, ``,U=`` aside) are joined into one ``"moved"`` event. To allow that,
new files and removals are reported after a short grace period (``GRACE`` seconds); a
delivery renamed out of ``tmp/`` (mutt, mbsync) and flag changes are reported at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pigeon.core.maildir import (
    UID_RE,
    Entry,
    Maildir,
    check_folder_name,
    entry_for_path,
    parse_name,
)
from watchdog.events import FileSystemEventHandler

log = logging.getLogger(__name__)

Callback = Callable[[str, Entry, "Entry | None"], None]

#: How long a removal waits for its other half (watchdog pairs inotify moves within 0.5 s).
GRACE = 1.0


def _pair_key(entry: Entry) -> str:
    return UID_RE.sub("", entry.key)


def _ghost_entry(store: Maildir, path: Path) -> Entry | None:
    """An Entry for a path that no longer exists (size and mtime unknown)."""
    subdir = path.parent.name
    if subdir not in ("cur", "new") or path.name.startswith("."):
        return None
    try:
        rel = path.parent.parent.relative_to(store.root)
    except ValueError:
        return None
    folder = "/".join(rel.parts)
    try:
        check_folder_name(folder)
    except Exception:
        return None
    key, flags, _sep = parse_name(path.name)
    return Entry(folder, key, path, flags, subdir, 0, 0.0)


class MaildirWatcher:
    """Reports message changes under ``store.root`` to ``callback(kind, entry, old)``."""

    def __init__(self, store: Maildir, callback: Callback, *, grace: float = GRACE) -> None:
        self.store = store
        self.callback = callback
        self.grace = grace
        self._observer: Any = None
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[float, str, Entry]] = {}
        self._recent: dict[Path, float] = {}
        self._flusher: threading.Thread | None = None
        self._stopping = False
        self._ready = threading.Event()
        self._sentinel: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start watching (idempotent)."""
        from watchdog.observers import Observer

        with self._lock:
            if self._observer is not None:
                return
            self._stopping = False
            self._flusher = threading.Thread(target=self._flush_loop, name="maildir-watch-flush", daemon=True)
            self._flusher.start()
            # watchdog 7 warns when a new directory's watch is added twice (scan + event); harmless
            warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
            observer = Observer()
            observer.schedule(_Handler(self), str(self.store.root), recursive=True)
            observer.daemon = True
            observer.start()
            self._observer = observer
        self._wait_ready()

    def _wait_ready(self, timeout: float = 5.0) -> None:
        """Return once the observer sees events, so nothing done after start() is missed.

        watchdog sets up its kernel watches in its own thread after ``start()``; a dot file
        touched in the root (ignored by every Maildir reader) tells us when that is done.
        """
        sentinel = self.store.root / f".pigeon-watch-{os.getpid()}-{id(self)}"
        self._ready = threading.Event()
        self._sentinel = sentinel
        deadline = time.monotonic() + timeout
        try:
            while not self._ready.is_set() and time.monotonic() < deadline:
                sentinel.write_bytes(b"")
                self._ready.wait(0.05)
                sentinel.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only store: nothing of ours will be missed there
        finally:
            try:
                sentinel.unlink(missing_ok=True)
            except OSError:
                pass
            self._sentinel = None
        if not self._ready.is_set():
            log.warning("the Maildir watcher of %s did not confirm it is running", self.store.root)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching, report what is still held back, and wait for the threads."""
        with self._lock:
            observer, self._observer = self._observer, None
            flusher, self._flusher = self._flusher, None
        if observer is not None:
            observer.stop()
            observer.join(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if flusher is not None:
            flusher.join(timeout)

    @property
    def running(self) -> bool:
        return self._observer is not None

    def __enter__(self) -> MaildirWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ events

    def _emit(self, kind: str, entry: Entry, old: Entry | None) -> None:
        try:
            self.callback(kind, entry, old)
        except Exception:  # a broken callback must not stop the observer thread
            log.exception("Maildir watcher callback failed on %s %s", kind, entry.path)

    def _flush_loop(self) -> None:
        while True:
            due: list[tuple[str, Entry]] = []
            with self._cond:
                now = time.monotonic()
                for key, (deadline, kind, entry) in list(self._pending.items()):
                    if deadline <= now or self._stopping:
                        due.append((kind, entry))
                        del self._pending[key]
                stopping = self._stopping
                if not due and not stopping:
                    wait = min((d for d, _k, _e in self._pending.values()), default=now + 3600) - now
                    self._cond.wait(max(wait, 0.01))
                    continue
            for kind, entry in due:
                if kind == "added" and not entry.path.exists():
                    found = self._find(entry)
                    if found is None:
                        continue  # gone again, and its removal was never seen: nothing to say
                    entry = found
                self._emit(kind, entry, None)
            if stopping:
                return

    def _seen_recently(self, path: Path) -> bool:
        """True if ``path`` was just reported as a destination (watchdog can report a file in a
        new directory twice: once from its scan of the directory, once from the kernel)."""
        now = time.monotonic()
        for p, t in list(self._recent.items()):
            if now - t > 2 * self.grace + 1:
                del self._recent[p]
        return path in self._recent

    def _find(self, entry: Entry) -> Entry | None:
        try:
            return self.store.get(entry.folder, entry.key)
        except Exception:
            return None

    def _added(self, entry: Entry, held: bool) -> None:
        key = _pair_key(entry)
        with self._cond:
            if self._seen_recently(entry.path):
                return
            pending = self._pending.get(key)
            if pending is not None and pending[1] == "added" and pending[2].path == entry.path:
                return  # the same file reported twice while held
            old: Entry | None = None
            if pending is not None and pending[1] == "removed":
                if pending[2].path == entry.path:
                    if entry.path.exists():
                        del self._pending[key]  # replaced in place: the message is where it was
                    # else a late report of the file that is gone: the removal stands
                    return
                del self._pending[key]
                old = pending[2]
            elif held:
                self._pending[key] = (time.monotonic() + self.grace, "added", entry)
                self._cond.notify_all()
                return
            self._recent[entry.path] = time.monotonic()
        if old is not None:
            self._emit("moved", entry, old)
        else:
            self._emit("added", entry, None)

    def _removed(self, entry: Entry) -> None:
        key = _pair_key(entry)
        with self._cond:
            self._recent.pop(entry.path, None)
            pending = self._pending.get(key)
            new: Entry | None = None
            if pending is not None and pending[1] == "added":
                del self._pending[key]
                if pending[2].path == entry.path:
                    return  # came and went before it was reported: nothing happened
                if pending[2].path.exists():
                    new = pending[2]
                    self._recent[new.path] = time.monotonic()
            if new is None:
                self._pending[key] = (time.monotonic() + self.grace, "removed", entry)
                self._cond.notify_all()
                return
        self._emit("moved", new, entry)

    def _created(self, path: Path) -> None:
        if path == self._sentinel:
            self._ready.set()
            return
        # Already renamed (read by mutt, flagged by a filter) before we looked: hold it by
        # name; the rename that follows points it at the file's new place.
        entry = entry_for_path(self.store, path) or _ghost_entry(self.store, path)
        if entry is not None:
            self._added(entry, held=True)

    def _deleted(self, path: Path) -> None:
        ghost = _ghost_entry(self.store, path)
        if ghost is not None:
            self._removed(ghost)

    def _moved(self, src: Path, dest: Path) -> None:
        old = _ghost_entry(self.store, src)
        new = entry_for_path(self.store, dest)
        if new is None and dest.parent.name in ("cur", "new") and not dest.exists():
            # renamed again before we looked: report the move with what the name says
            new = _ghost_entry(self.store, dest)
        if old is None and new is None:
            return
        if old is None:  # from tmp/ or from outside the store: a delivery
            assert new is not None
            self._added(new, held=src.parent.name != "tmp")
        elif new is None:
            self._removed(old)
        else:
            with self._cond:
                self._recent[new.path] = time.monotonic()
                self._recent.pop(old.path, None)
                key = _pair_key(old)
                pending = self._pending.get(key)
                if pending is not None and pending[1] == "added" and pending[2].path == old.path:
                    # still a fresh arrival (held back), now with flags or elsewhere: report it there
                    self._pending[_pair_key(new)] = (pending[0], "added", new)
                    if _pair_key(new) != key:
                        del self._pending[key]
                    return
                dup = self._pending.get(_pair_key(new))
                if dup is not None and dup[1] == "added" and dup[2].path == new.path:
                    # the scan of a new directory found the file this move put there
                    del self._pending[_pair_key(new)]
            self._emit("flags" if old.folder == new.folder and old.key == new.key else "moved", new, old)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: MaildirWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def on_created(self, event: Any) -> None:
        if not event.is_directory:
            self.watcher._created(Path(os.fsdecode(event.src_path)))

    def on_deleted(self, event: Any) -> None:
        if not event.is_directory:
            self.watcher._deleted(Path(os.fsdecode(event.src_path)))

    def on_moved(self, event: Any) -> None:
        if not event.is_directory:
            self.watcher._moved(Path(os.fsdecode(event.src_path)), Path(os.fsdecode(event.dest_path)))
