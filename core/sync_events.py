"""Automation events for mail that a sync brought in: filters first, then "arrived".

For each new message, ``pigeon.core.filtering.filter_arrival`` merges the
``pigeon_filter_message`` verdicts in call order (stopping after one with ``final=True``) and
applies them to the local file, recording each change for ``pigeon why``/``pigeon undo``:
flags added/removed, tags in the index, a move to another folder, deletion as a move to Trash.
The next sync carries those local changes to the server like any other. Then
``pigeon_message_arrived`` fires once for the message, where it now is.

Messages are parsed only when some plugin implements one of those hooks, so a sync with no
automation pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pigeon.hooks.types import MessageRef


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
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    for folder, path in arrived:
        path = Path(path)
        try:
            msg = parser.parsebytes(path.read_bytes())
        except OSError:
            continue  # moved or deleted by another tool already
        ref = MessageRef(path, folder, account.name, str(msg.get("Message-ID", "") or "").strip())
        if want_filter:
            from pigeon.core.filtering import filter_arrival

            ref, _ = filter_arrival(app, msg, ref)
        if want_arrived:
            pm.hook.pigeon_message_arrived(message=msg, ref=ref)

