"""Built-in plugin: run the filters when a message arrives, and the provenance commands.

On ``pigeon_message_arrived`` (after a sync, a POP3 download, or another tool's delivery seen
by the watcher) in one of the ``filter.folders``, the core's ``run_filters`` asks every
``pigeon_filter_message`` implementation and applies the merged verdict, recording each change
for ``pigeon why`` and ``pigeon undo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.core.app import RunningApp
from pigeon.hooks import hookimpl

if TYPE_CHECKING:  # the email package costs ~7 ms: for type checkers only
    from email.message import EmailMessage

    from pigeon.hooks.types import CommandRegistrar, MessageRef, SettingsRegistry

#: The App for hooks that receive none (``pigeon.core.app.RunningApp``); ``rules`` uses it too.
current_app = RunningApp()
pigeon_configure, pigeon_addhooks, pigeon_startup = current_app.hookimpls()


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add("filter.enabled", bool, True, "Run the filters (rules, spam, assessment) on newly arrived mail.")
    settings.add(
        "filter.folders",
        list,
        ["INBOX"],
        "Folders whose new mail is filtered ('INBOX' means each account's inbox; '*' means every folder).",
    )


@hookimpl(trylast=True)
def pigeon_message_arrived(message: EmailMessage, ref: MessageRef) -> None:
    """Filter the message (unless the sync already did), then notify and answer if away."""
    app = current_app()
    if app is None:
        return
    from pigeon.core.filtering import filter_arrival

    ref, decision = filter_arrival(app, message, ref)
    if decision is None or decision.filed_away():
        return  # not an inbox, or filed away (Junk, a list folder, Trash): no interruption
    tags = decision.tags()
    app.pm.hook.pigeon_notify(note=new_mail_note(message, tags))
    if app.pm.has_plugin("vacation"):
        from pigeon.plugins.vacation import respond

        respond(app, message, ref, tags)


def new_mail_note(message: EmailMessage, tags: list[str]) -> Any:
    """The notification for a new message: who from and about what (tags like suspicious too)."""
    from pigeon.hooks.types import Notification

    try:
        sender = message["from"]
        who = (sender.addresses[0].display_name or sender.addresses[0].addr_spec) if sender and sender.addresses else "unknown sender"
    except Exception:
        who = "unknown sender"
    try:
        subject = str(message.get("subject", "") or "(no subject)")
    except Exception:
        subject = "(no subject)"
    warn = " [suspicious]" if "suspicious" in tags else ""
    return Notification(title=f"New mail from {who}{warn}", body=subject, urgency="normal")


# --------------------------------------------------------------------------- commands


def why(ctx: Any, ident: str = "") -> None:
    """Tell which automated changes (rules, spam filter, plugins) touched a message, and why."""
    from pigeon.core.filtering import open_journal, resolve_message_id

    mid = resolve_message_id(ctx.app, ident or _selected(ctx))
    with open_journal(ctx.app) as journal:
        changes = journal.for_message(mid)
    if not changes:
        ctx.print(f"no automated change recorded for {mid}")
    for line in describe_changes(changes):
        ctx.print(line)


def undo_automation(ctx: Any, change: str = "") -> None:
    """Undo the last automated change (rule, spam filter, plugin), or the numbered one."""
    from pigeon.core.filtering import undo

    for line in undo(ctx.app, change_id=int(change) if change else None):
        ctx.print(line)


def _selected(ctx: Any) -> str:
    from pigeon.core.errors import CommandError
    from pigeon.hooks.types import MessageRef

    ref = ctx.message
    if isinstance(ref, MessageRef):
        return ref.message_id or str(ref.path)
    if ref:
        return str(ref)
    raise CommandError("no message selected")


def describe_changes(changes: list[Any]) -> list[str]:
    import time

    out = []
    for c in changes:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.at))
        undone = "  [undone]" if c.undone else ""
        reason = f": {c.reason}" if c.reason else ""
        out.append(f"#{c.id} {when} {c.source}: {c.describe()}{reason}{undone}")
    return out


@hookimpl
def pigeon_register_commands(register: CommandRegistrar) -> None:
    register(why, modes=("list", "message"))
    register(undo_automation)
