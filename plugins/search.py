"""Built-in plugin: the index settings, and the index kept current by the automation events.

The core reports what changed (a sync finished, a message arrived, flags changed, a file left
its folder: ``pigeon.core.sync``, ``pigeon.core.events.StoreEventBridge``); this plugin applies
it to the search index, so that ``pigeon search`` finds new mail without ``pigeon index``.

Only an index that exists is kept current: a user who never ran ``pigeon index`` (or
``pigeon tag``) gets no index made behind their back by a sync, and the sync prints nothing
more. After a sync that changed the Maildir, the index is brought up to date for that account
only (one directory walk, plus what changed).
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from typing import TYPE_CHECKING, Any

from pigeon.core.app import RunningApp
from pigeon.hooks import hookimpl

# logging and the email package are imported where used: every command imports this plugin
if TYPE_CHECKING:
    import threading
    from email.message import EmailMessage

    from pigeon.hooks.types import MessageRef, SettingsRegistry, SyncReport

current_app = RunningApp()
pigeon_configure, pigeon_addhooks, pigeon_startup = current_app.hookimpls()
#: Seconds a changed folder settles before its account is compared with the index (a sync or
#: another program writing many files costs one update, not one per file).
SETTLE = 0.5
_settling: dict[str, threading.Timer] = {}
_settling_lock = allocate_lock()  # threading.Lock, without importing threading (~0.4 ms) at start


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add(
        "searches",
        dict,
        {},
        "Saved searches, name = \"query\"; each is a virtual folder across accounts and the"
        " query term search:NAME (e.g. inbox = \"tag:inbox and not tag:spam\").",
    )
    settings.add("index.new_tags", list, ["inbox", "unread"],
                 "Tags every newly indexed message gets (unread is then kept in step with the S flag).")


def existing_index() -> Any:
    """The App's index opened for writing, or None when there is none yet (or no App)."""
    app = current_app()
    if app is None:
        return None
    from pigeon.core.index_db import db_path

    if not os.path.exists(db_path(app.state_dir)):
        return None
    from pigeon.core.index import open_index

    return open_index(app)


def _apply(what: str, fn: Any) -> None:
    """Run ``fn(index)`` on the existing index; a failure is logged, never raised into a sync."""
    try:
        index = existing_index()
        if index is None:
            return
        with index:
            fn(index)
    except Exception:  # the mail is safe in the Maildir; the next update catches up
        import logging

        logging.getLogger(__name__).warning("search index: %s failed", what, exc_info=True)


@hookimpl
def pigeon_sync_finished(account: str, report: SyncReport) -> None:
    """Index what the sync changed in this account's Maildir (downloads, flags, deletions, moves;
    an upload may rename its file to carry the UID). A sync that changed nothing here costs
    nothing more."""
    r = report
    if not (r.downloaded or r.flags_down or r.deleted_local or r.moved or r.uploaded):
        return

    def update(index: Any) -> None:
        with index.lock:
            index.update(accounts=[account])

    _apply(f"update after syncing {account}", update)


@hookimpl
def pigeon_message_arrived(message: EmailMessage, ref: MessageRef) -> None:
    _apply(f"adding {ref.path}", lambda index: added(index, str(ref.path)))


def added(index: Any, path: str) -> None:
    """Index a new file, unless it is already (the filters index a message to tag it: adding
    it again would start its tags over)."""
    if index.db.file_row(os.path.abspath(path)) is None:
        index.add_file(path)


@hookimpl
def pigeon_flags_changed(ref: MessageRef, old: str, new: str) -> None:
    _apply(f"renaming {ref.path}", lambda index: renamed(index, str(ref.path), old))


@hookimpl
def pigeon_message_removed(ref: MessageRef) -> None:
    _apply(f"removing {ref.path}", lambda index: index.remove_file(ref.path))


def renamed(index: Any, path: str, old_flags: str) -> None:
    """A file's flags changed: the event names the new path and the old flags; find the old
    path the index knows (``cur/`` or ``new/``) and follow the rename, tags with it."""
    path = os.path.abspath(path)
    db = index.db
    if db.file_row(path) is not None:
        return  # the index renamed it itself (``pigeon tag``), or saw it already
    from pigeon.core.index_tags import renamed_path

    directory, name = os.path.split(path)
    base = name.split(":2,", 1)[0].split("!2,", 1)[0]
    folder_dir = os.path.dirname(directory)
    candidates = [renamed_path(path, old_flags), os.path.join(folder_dir, "new", base),
                  os.path.join(folder_dir, "new", f"{base}:2,{old_flags}")]
    for old in candidates:
        if db.file_row(old) is not None:
            index.move_file(old, path)
            return
    index.add_file(path)


@hookimpl
def pigeon_folder_changed(account: str, folder: str) -> None:
    """Moves between folders and files the other events do not name (mail another program
    delivered while the watcher does not fire arrivals): compare the account with the index
    once the folder has settled."""
    app = current_app()
    if app is None:
        return
    from pigeon.core.index_db import db_path

    if not os.path.exists(db_path(app.state_dir)):
        return
    with _settling_lock:
        if account in _settling:
            return
        import threading

        timer = threading.Timer(SETTLE, _settle, args=(account,))
        timer.daemon = True
        _settling[account] = timer
    timer.start()


def cancel_settling(timeout: float = 5.0) -> None:
    """Drop the index updates still waiting for their folders to settle, and wait for one that
    is running: for whoever ends an App's life in a process that goes on (a test), so that no
    late update reads another App's accounts into the index. The next update catches up."""
    with _settling_lock:
        timers = list(_settling.values())
        _settling.clear()
    for timer in timers:
        timer.cancel()
        timer.join(timeout)


def _settle(account: str) -> None:
    with _settling_lock:
        _settling.pop(account, None)  # changes from now on schedule another pass

    def update(index: Any) -> None:
        with index.lock:
            index.update(accounts=[account])

    _apply(f"update of {account}", update)
