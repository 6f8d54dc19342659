"""Automation events for mail that a sync brought in.

``pigeon_message_arrived`` fires once per new message, the same event the Maildir watcher's
bridge (``pigeon.core.events``) fires for mail another tool delivers. The built-in ``arrival``
plugin answers it by running the filters (``pigeon_filter_message`` verdicts merged and applied
by ``pigeon.core.filtering``, journalled for ``pigeon why``/``pigeon undo``); the next sync
carries the changes it makes (flags, moves) to the server like any other local change.

Messages are parsed only when some plugin listens, so a sync with no automation pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def fire_arrivals(app: Any, account: Any, result: Any) -> None:
    pm = app.pm
    arrived = list(getattr(result, "arrived", ()))
    hook = getattr(pm.hook, "pigeon_message_arrived", None)
    if not arrived or hook is None or not hook.get_hookimpls():
        return
    from pigeon.core.events import parse_message_file
    from pigeon.core.pluginmanager import call_isolated
    from pigeon.hooks.types import MessageRef

    for folder, path in arrived:
        path = Path(path)
        try:
            msg = parse_message_file(path)
        except OSError:
            continue  # moved or deleted by another tool already
        try:
            mid = str(msg.get("Message-ID", "") or "").strip()
        except Exception:  # noqa: BLE001 - a malformed header must not stop the event
            mid = ""
        call_isolated(pm, "pigeon_message_arrived", message=msg, ref=MessageRef(path, folder, account.name, mid))
