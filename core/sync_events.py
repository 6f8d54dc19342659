"""Automation events for mail that a sync brought in: filters first, then "arrived".

For each new message, ``pigeon_filter_message`` verdicts are merged in call order (stopping
after one with ``final=True``) and applied to the local file: flags added/removed, a move to
another folder, deletion as the ``T`` (trashed) flag. The next sync carries those local changes
to the server like any other. Then ``pigeon_message_arrived`` fires once for the message.

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


def merge_verdicts(verdicts: list[Any]) -> dict[str, Any]:
    """Merge verdicts in call order; stop after the first ``final`` one."""
    out: dict[str, Any] = {"add": set(), "remove": set(), "move_to": None, "flags_add": set(), "flags_remove": set(), "delete": False}
    for v in verdicts:
        if v is None:
            continue
        out["add"] |= set(v.add_tags)
        out["remove"] |= set(v.remove_tags)
        out["move_to"] = v.move_to or out["move_to"]
        out["flags_add"] |= set(v.flags_add)
        out["flags_remove"] |= set(v.flags_remove)
        out["delete"] = out["delete"] or v.delete
        if v.final:
            break
    return out


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
    store = app.store(account)
    for folder, path in arrived:
        path = Path(path)
        try:
            msg = parser.parsebytes(path.read_bytes())
        except OSError:
            continue  # moved or deleted by another tool already
        ref = MessageRef(path, folder, account.name, str(msg.get("Message-ID", "") or "").strip())
        if want_filter:
            verdict = merge_verdicts(list(pm.hook.pigeon_filter_message(message=msg, ref=ref)))
            ref = _apply(store, ref, verdict)
        if want_arrived:
            pm.hook.pigeon_message_arrived(message=msg, ref=ref)


def _apply(store: Any, ref: MessageRef, v: dict[str, Any]) -> MessageRef:
    from pigeon.core.maildir import entry_for_path

    entry = entry_for_path(store, ref.path)
    if entry is None:
        return ref
    flags = (set(entry.flags) | v["flags_add"]) - v["flags_remove"]
    if v["delete"]:
        flags.add("T")
    if "".join(sorted(flags)) != entry.flags:
        entry = store.set_flags(entry, "".join(sorted(flags)))
    if v["move_to"] and v["move_to"] != entry.folder:
        entry = store.move(entry, v["move_to"])
    return MessageRef(entry.path, entry.folder, ref.account, ref.message_id)
