"""Automation events for mail that a sync brought in: filters first, then "arrived".

For each new message, ``pigeon.core.filtering.filter_arrival`` merges the
``pigeon_filter_message`` verdicts in call order (stopping after one with ``final=True``) and
applies them to the local file, recording each change for ``pigeon why``/``pigeon undo``:
flags added/removed, tags in the index, a move to another folder, deletion as a move to Trash.
The next sync carries those local changes to the server like any other. Then
``pigeon_message_arrived`` fires once for the message, where it now is: the same event the
Maildir watcher's bridge (``pigeon.core.events``) fires for mail another tool delivers (the
built-in ``arrival`` plugin's own filtering sees the message was filtered already).

Messages are parsed only when some plugin listens, so a sync with no automation pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _impls(pm: Any, name: str) -> bool:
    hook = getattr(pm.hook, name, None)
    return bool(hook and hook.get_hookimpls())


def fire_arrivals(app: Any, account: Any, result: Any) -> None:
    pm = app.pm
    arrived = list(getattr(result, "arrived", ()))
    if not arrived:
        return
    want_filter = _impls(pm, "pigeon_filter_message")
    want_arrived = _impls(pm, "pigeon_message_arrived")
    if not (want_filter or want_arrived):
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
        ref = MessageRef(path, folder, account.name, mid)
        if want_filter:
            from pigeon.core.filtering import filter_arrival

            try:
                ref, _ = filter_arrival(app, msg, ref)
            except Exception as exc:  # noqa: BLE001 - one message's filters must not stop the sync
                from pigeon.core.pluginmanager import PluginError

                if hasattr(pm, "report"):
                    pm.report(PluginError("filters", "pigeon_filter_message", f"{type(exc).__name__}: {exc}"))
        if want_arrived:
            call_isolated(pm, "pigeon_message_arrived", message=msg, ref=ref)
