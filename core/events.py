"""From Maildir changes to automation hooks.

``MaildirWatcher`` reports what changed on disk; ``StoreEventBridge`` turns each report into the
hooks users write automation against:

=========== ==========================================================================
watcher     hooks
=========== ==========================================================================
added       ``pigeon_message_arrived(message, ref)``, ``pigeon_folder_changed``
flags       ``pigeon_flags_changed(ref, old, new)``, ``pigeon_folder_changed``
removed     ``pigeon_message_removed(ref)``, ``pigeon_folder_changed``
moved       ``pigeon_folder_changed`` for both folders (and ``pigeon_flags_changed`` if the
            flags differ); a move is not an arrival, so filters do not run again
=========== ==========================================================================

The hooks run in the watcher's thread; a UI that needs its own loop should hand the work over
(prompt_toolkit: ``app.loop.call_soon_threadsafe``).

Where a sync already fires ``pigeon_message_arrived`` for what it downloads
(``pigeon.core.sync_events``), make the bridge with ``arrivals=False`` so a message does not
arrive twice; the other hooks still fire. ``tee`` lets one watcher feed several callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pigeon.core.maildir import Entry, Maildir
from pigeon.core.pluginmanager import call_isolated
from pigeon.core.watch import MaildirWatcher
from pigeon.hooks.types import MessageRef


def parse_message_file(path: Path) -> EmailMessage:
    """Parse a message file with the core's parser (``pigeon.core.mime`` once it exists)."""
    try:
        from pigeon.core.mime import parse_file  # type: ignore[attr-defined]
    except ImportError:
        import email
        import email.policy

        with open(path, "rb") as fh:
            return email.message_from_binary_file(fh, policy=email.policy.default)  # type: ignore[return-value]
    return parse_file(path)


def _message_id(message: EmailMessage) -> str:
    try:
        return str(message.get("Message-ID", "") or "").strip()
    except Exception:  # a malformed header must not stop the event
        return ""


def message_ref(entry: Entry, account: str, message_id: str = "") -> MessageRef:
    return MessageRef(path=entry.path, folder=entry.folder, account=account, message_id=message_id)


class StoreEventBridge:
    """A ``MaildirWatcher`` callback that calls the automation hooks of a plugin manager."""

    def __init__(self, pm: Any, account: str, *, arrivals: bool = True) -> None:
        self.pm = pm
        self.account = account
        self.arrivals = arrivals

    def __call__(self, kind: str, entry: Entry, old: Entry | None) -> None:
        if kind == "added" and not self.arrivals:
            self._folder_changed(entry.folder)
        elif kind == "added":
            try:
                message = parse_message_file(entry.path)
            except OSError:
                return  # gone again before we could read it; a "removed" follows
            ref = message_ref(entry, self.account, _message_id(message))
            call_isolated(self.pm, "pigeon_message_arrived", message=message, ref=ref)
            self._folder_changed(entry.folder)
        elif kind == "flags" and old is not None:
            if old.flags != entry.flags:
                call_isolated(self.pm, "pigeon_flags_changed", ref=message_ref(entry, self.account), old=old.flags, new=entry.flags)
            self._folder_changed(entry.folder)
        elif kind == "removed":
            call_isolated(self.pm, "pigeon_message_removed", ref=message_ref(entry, self.account))
            self._folder_changed(entry.folder)
        elif kind == "moved" and old is not None:
            if old.flags != entry.flags:
                call_isolated(self.pm, "pigeon_flags_changed", ref=message_ref(entry, self.account), old=old.flags, new=entry.flags)
            self._folder_changed(old.folder)
            if entry.folder != old.folder:
                self._folder_changed(entry.folder)

    def _folder_changed(self, folder: str) -> None:
        call_isolated(self.pm, "pigeon_folder_changed", account=self.account, folder=folder)


def tee(*callbacks: Callable[[str, Entry, Entry | None], None]) -> Callable[[str, Entry, Entry | None], None]:
    """One watcher callback that calls each of ``callbacks`` in turn (one failing does not stop the rest)."""
    import logging

    def call(kind: str, entry: Entry, old: Entry | None) -> None:
        for cb in callbacks:
            try:
                cb(kind, entry, old)
            except Exception:
                logging.getLogger(__name__).exception("Maildir event callback %r failed", cb)

    return call


def watch_store(pm: Any, store: Maildir, account: str, *, arrivals: bool = True) -> MaildirWatcher:
    """Start watching ``store`` and calling the automation hooks; stop it with ``.stop()``."""
    watcher = MaildirWatcher(store, StoreEventBridge(pm, account, arrivals=arrivals))
    watcher.start()
    return watcher


def watch_account(app: Any, account: str | None = None, *, arrivals: bool = True) -> MaildirWatcher:
    """Watch an account's Maildir for the App (``pigeon watch``, the full-screen client)."""
    acct = app.account(account)
    return watch_store(app.pm, app.store(acct), acct.name, arrivals=arrivals)
