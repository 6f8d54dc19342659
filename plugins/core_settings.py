"""Declares the settings that the core reads (render width, state directory, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.core.config import core_settings
from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from pigeon.hooks.types import SettingsRegistry


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    core_settings(settings)
    settings.add("sync.guard_share", (int, float), 0.5, "pigeon sync stops before deleting more than this share of a folder (unless --force).")
    settings.add("sync.guard_min", int, 20, "The deletion guard applies to folders with at least this many messages.")
    settings.add("sync.lock_wait", (int, float), 60, "Seconds a sync waits for another sync of the same account (another pigeon sync, pigeon watch) before giving up with exit 1.")
    settings.add("sync.events", bool, True, "Fire pigeon_message_arrived (filters, notifications) for each message a sync brings in.")
    settings.add("sync.events_on_first_sync", bool, False, "Fire filter and message-arrived hooks for mail fetched by a folder's first sync.")
    settings.add("watch.interval", int, 300, "pigeon watch: seconds between full syncs of every account.")
    settings.add("watch.connections", int, 1, "pigeon watch: IMAP connections per account for IDLE (1 = INBOX only; more watch further folders when NOTIFY is missing).")
    settings.add("watch.push_delay", (int, float), 2.0, "pigeon watch: seconds to wait after a local change before pushing it (changes are batched).")
    settings.add("send.undo_seconds", (int, float), 10, "Seconds a sent message waits in the Outbox, during which undo-send (pigeon send --recall) takes it back; 0 sends at once.")
