"""The Maildir watcher with a real watchdog observer, and the bridge to the automation hooks."""

from __future__ import annotations

import os
import queue
import shutil
import textwrap
import time
from pathlib import Path

from pigeon.core.app import App
from pigeon.core.events import watch_account
from pigeon.core.maildir import Entry, Maildir
from pigeon.core.watch import MaildirWatcher

MSG = b"From: a@example.org\r\nSubject: watched\r\nMessage-ID: <w1@example.org>\r\n\r\nbody\r\n"
TIMEOUT = 10.0  # generous: CI machines may be loaded


class Recorder:
    def __init__(self) -> None:
        self.q: queue.Queue[tuple[str, Entry, Entry | None]] = queue.Queue()

    def __call__(self, kind: str, entry: Entry, old: Entry | None) -> None:
        self.q.put((kind, entry, old))

    def next(self, kind: str | None = None) -> tuple[str, Entry, Entry | None]:
        """The next event (of ``kind``), waiting a few seconds at most."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind or 'event'} within {TIMEOUT}s"
            try:
                event = self.q.get(timeout=left)
            except queue.Empty:
                raise AssertionError(f"no {kind or 'event'} within {TIMEOUT}s") from None
            if kind is None or event[0] == kind:
                return event

    def quiet(self, seconds: float = 0.3) -> list[tuple[str, Entry, Entry | None]]:
        time.sleep(seconds)
        out = []
        while not self.q.empty():
            out.append(self.q.get_nowait())
        return out


def test_pigeon_own_changes_are_reported(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    store.create_folder("INBOX")
    rec = Recorder()
    with MaildirWatcher(store, rec):
        e = store.add("INBOX", MSG, subdir="new")
        kind, entry, old = rec.next()
        assert (kind, entry.key, entry.folder, entry.subdir, old) == ("added", e.key, "INBOX", "new", None)
        assert entry.size == len(MSG)

        seen = store.set_flags(e, "S")
        kind, entry, old = rec.next()
        assert kind == "flags" and entry.flags == "S" and entry.subdir == "cur"
        assert old is not None and old.flags == "" and old.subdir == "new"

        moved = store.move(seen, "Archive/2024")
        kind, entry, old = rec.next("moved")
        assert entry.folder == "Archive/2024" and old is not None and old.folder == "INBOX"
        assert entry.key == old.key == e.key

        store.delete(moved)
        kind, entry, _ = rec.next("removed")
        assert entry.folder == "Archive/2024" and entry.key == e.key and entry.flags == "S"
        # delivery through tmp/ never shows up as a separate event
        assert [k for k, *_ in rec.quiet()] == []


def test_other_tools_changes_are_reported(tmp_path: Path) -> None:
    """What mutt, mbsync and a shell do: rename tmp->new, rename flags, add ,U=, rm, mv out and in."""
    root = tmp_path / "mail"
    store = Maildir(root)
    inbox = store.create_folder("INBOX")
    rec = Recorder()
    with MaildirWatcher(store, rec):
        (inbox / "tmp" / "1.2_3.host").write_bytes(MSG)
        (inbox / "tmp" / ".junk").write_bytes(b"x")
        os.rename(inbox / "tmp" / "1.2_3.host", inbox / "new" / "1.2_3.host")
        kind, entry, _ = rec.next()
        assert (kind, entry.key, entry.subdir) == ("added", "1.2_3.host", "new")

        os.rename(inbox / "new" / "1.2_3.host", inbox / "cur" / "1.2_3.host:2,RS")
        kind, entry, old = rec.next()
        assert kind == "flags" and entry.flags == "RS" and old is not None and old.flags == ""

        # mbsync gives the file its UID: the unique name changes, the folder does not
        os.rename(inbox / "cur" / "1.2_3.host:2,RS", inbox / "cur" / "1.2_3.host,U=9:2,RS")
        kind, entry, old = rec.next()
        assert kind == "moved" and entry.uid == 9 and old is not None and old.folder == entry.folder

        # moved out of the store: removed; moved back in: added
        shutil.move(str(inbox / "cur" / "1.2_3.host,U=9:2,RS"), str(tmp_path / "outside"))
        kind, entry, _ = rec.next()
        assert kind == "removed" and entry.key == "1.2_3.host,U=9"
        os.rename(tmp_path / "outside", inbox / "cur" / "back:2,S")
        kind, entry, _ = rec.next()
        assert (kind, entry.key, entry.flags) == ("added", "back", "S")

        os.unlink(inbox / "cur" / "back:2,S")
        kind, entry, _ = rec.next()
        assert (kind, entry.key) == ("removed", "back")

        # a folder made after the watcher started is watched too
        store.add("New/Sub", MSG)
        kind, entry, _ = rec.next("added")
        assert entry.folder == "New/Sub"
    assert not any(k for k, e, _ in rec.quiet(0.1) if e.key.startswith("."))


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    store.create_folder("INBOX")
    rec = Recorder()
    calls = []

    def flaky(kind: str, entry: Entry, old: Entry | None) -> None:
        calls.append(kind)
        if len(calls) == 1:
            raise RuntimeError("boom")
        rec(kind, entry, old)

    watcher = MaildirWatcher(store, flaky)
    watcher.start()
    try:
        store.add("INBOX", MSG)
        store.add("INBOX", MSG)
        assert rec.next("added")[0] == "added"
    finally:
        watcher.stop()
    assert not watcher.running


RECORDER_PLUGIN = """
from pigeon.hooks import hookimpl

EVENTS = []

@hookimpl
def pigeon_message_arrived(message, ref):
    EVENTS.append(("arrived", str(message["Subject"]), ref.folder, ref.account, ref.message_id))

@hookimpl
def pigeon_flags_changed(ref, old, new):
    EVENTS.append(("flags", ref.folder, old, new))

@hookimpl
def pigeon_message_removed(ref):
    EVENTS.append(("removed", ref.folder, ref.path.name))

@hookimpl
def pigeon_folder_changed(account, folder):
    EVENTS.append(("folder", account, folder))
"""


def test_bridge_calls_the_automation_hooks(tmp_path: Path, config_dir: Path) -> None:
    maildir = tmp_path / "Mail"
    (config_dir / "config.toml").write_text(
        textwrap.dedent(
            f"""
            [accounts.home]
            address = "me@example.org"
            maildir = "{maildir}"
            """
        )
    )
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "recorder.py").write_text(RECORDER_PLUGIN)
    app = App.create(load_entrypoints=False)
    store = app.store("home")
    store.create_folder("INBOX")
    # Folders exist before the watcher starts: a file deleted within milliseconds of its folder's
    # creation can beat inotify's new watch on that folder.
    store.create_folder("Archive")
    import sys

    events = sys.modules["pigeon_user.user_recorder"].EVENTS

    def wait_for(item: tuple) -> None:
        deadline = time.monotonic() + TIMEOUT
        while item not in events:
            assert time.monotonic() < deadline, f"{item} not seen; got {events}"
            time.sleep(0.02)

    watcher = watch_account(app, "home")
    try:
        e = store.add("INBOX", MSG, subdir="new")
        wait_for(("arrived", "watched", "INBOX", "home", "<w1@example.org>"))
        wait_for(("folder", "home", "INBOX"))
        e = store.set_flags(e, "FS")
        wait_for(("flags", "INBOX", "", "FS"))
        moved = store.move(e, "Archive")
        wait_for(("folder", "home", "Archive"))
        store.delete(moved)
        wait_for(("removed", "Archive", moved.path.name))
    finally:
        watcher.stop()
    # a move is not an arrival: the message arrived exactly once
    assert [x for x in events if x[0] == "arrived"] == [("arrived", "watched", "INBOX", "home", "<w1@example.org>")]


def test_a_fresh_message_flagged_at_once_is_still_one_arrival(tmp_path: Path) -> None:
    """mutt reads a message the moment it arrives: the arrival is reported where the file is."""
    store = Maildir(tmp_path)
    store.create_folder("INBOX")
    rec = Recorder()
    with MaildirWatcher(store, rec):
        e = store.add("INBOX", MSG, subdir="new")
        seen = store.set_flags(e, "S")
        events = [rec.next(), *rec.quiet(1.5)]
        # One arrival, whatever the timing; if the watcher saw the file before it was read,
        # the flag change follows it, so the last event always says where the file is now.
        assert [k for k, _e, _o in events].count("added") == 1, events
        assert events[0][0] == "added"
        kind, entry, _ = events[-1]
        assert kind in ("added", "flags") and (entry.path, entry.flags) == (seen.path, "S")


def test_a_message_renamed_before_the_watcher_looked_is_one_arrival(tmp_path: Path) -> None:
    """Delivery and flag change both happen before the observer thread reads its first event."""
    store = Maildir(tmp_path)
    store.create_folder("INBOX")
    rec = Recorder()
    watcher = MaildirWatcher(store, rec)
    watcher.start()
    try:
        # keep the watcher's handler busy so both changes are on disk before it looks
        import threading

        gate = threading.Event()
        original = watcher._created

        def slow_created(path: Path) -> None:
            gate.wait(5)
            original(path)

        watcher._created = slow_created  # type: ignore[method-assign]
        e = store.add("INBOX", MSG, subdir="new")
        seen = store.set_flags(e, "RS")
        gate.set()
        kind, entry, _ = rec.next()
        assert (kind, entry.path, entry.flags) == ("added", seen.path, "RS")
        assert rec.quiet(1.5) == []
        # delivered and deleted before anyone looked: nothing happened
        gate.clear()
        gone = store.add("INBOX", MSG, subdir="new")
        store.delete(gone)
        gate.set()
        assert rec.quiet(1.5) == []
    finally:
        watcher.stop()


def test_a_late_report_of_a_deleted_file_does_not_cancel_its_removal(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("INBOX", MSG, "S")
    rec = Recorder()
    with MaildirWatcher(store, rec) as watcher:
        store.delete(e)
        time.sleep(0.2)
        watcher._created(e.path)  # what watchdog's scan of a new directory may report late
        kind, entry, _ = rec.next()
        assert (kind, entry.key) == ("removed", e.key)


def test_a_scan_report_before_the_move_is_not_a_second_arrival(tmp_path: Path) -> None:
    """watchdog may report a file found in a new directory before the move that put it there."""
    store = Maildir(tmp_path)
    e = store.add("INBOX", MSG, "S")
    rec = Recorder()
    with MaildirWatcher(store, rec) as watcher:
        # only our own reports for the move (watchdog's may come up to 0.5 s late)
        watcher._created = lambda path: None  # type: ignore[method-assign]
        watcher._moved = lambda src, dest: None  # type: ignore[method-assign]
        watcher._deleted = lambda path: None  # type: ignore[method-assign]
        moved = store.move(e, "Archive")
        time.sleep(0.8)
        del watcher._created, watcher._moved, watcher._deleted
        watcher._created(moved.path)  # the scan's report first ...
        watcher._moved(e.path, moved.path)  # ... then the kernel's move
        kind, entry, old = rec.next()
        assert (kind, entry.folder, old.folder if old else None) == ("moved", "Archive", "INBOX")
        store.delete(moved)
        kind, entry, _ = rec.next()
        assert (kind, entry.folder) == ("removed", "Archive")
        assert rec.quiet(1.2) == []


def test_bridge_without_arrivals_and_tee(tmp_path: Path, config_dir: Path) -> None:
    """Where a sync fires the arrivals itself, the bridge still reports flags and folders."""
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "recorder.py").write_text(RECORDER_PLUGIN)
    app = App.create(load_entrypoints=False)
    import sys

    from pigeon.core.events import StoreEventBridge, tee

    events = sys.modules["pigeon_user.user_recorder"].EVENTS
    store = Maildir(tmp_path / "m")
    store.create_folder("INBOX")
    rec = Recorder()
    with MaildirWatcher(store, tee(StoreEventBridge(app.pm, "acct", arrivals=False), rec)):
        e = store.add("INBOX", MSG, subdir="new")
        rec.next("added")
        store.set_flags(e, "S")
        rec.next("flags")
    assert ("folder", "acct", "INBOX") in events and ("flags", "INBOX", "", "S") in events
    assert not [x for x in events if x[0] == "arrived"]
