"""The value types of hooks for automation: notifications and sync reports.

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class Notification:
    """Something to tell the user outside the message view."""

    title: str
    body: str = ""
    urgency: Literal["low", "normal", "critical"] = "normal"


@dataclass
class SyncReport:
    """Counts of what a sync did, per direction."""

    account: str
    downloaded: int = 0
    uploaded: int = 0
    flags_down: int = 0
    flags_up: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    moved: int = 0
    errors: list[str] = field(default_factory=list)
