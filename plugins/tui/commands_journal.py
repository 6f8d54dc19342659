"""The journal in the client: the *Pending* buffer, undo of your last change, undo-send, and
the delivery of held messages (undo-send delay over, send-later time come)."""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError, PigeonError
from pigeon.plugins.tui.commands import command
from pigeon.plugins.tui.model import MessageListBuffer, TextBuffer
from pigeon.plugins.tui.ui import TUI, ui_of

PENDING_BUFFER = "*Pending*"


def pending_text(app: Any) -> str:
    """What *Pending* shows: what has not reached the server, then the last operations done."""
    from pigeon.core.journal import open_journal

    with open_journal(app) as j:
        waiting = j.pending()
        recent = list(reversed(j._rows("status<>'pending'", (), order="id DESC LIMIT 15")))
    now = time.time()

    def line(o: Any) -> str:
        return f"#{o.id:<4} {o.account or '-'}: {o.describe()}  {o.summary or '(no subject)'}  [{o.when(now)}]"

    out = ["Not yet on the server (M-x undo reverts the last change, M-x undo-send recalls a message):", ""]
    out += [line(o) for o in waiting] or ["  nothing: the server has every change"]
    if recent:
        out += ["", "Done:", ""] + [line(o) for o in recent]
    return "\n".join(out) + "\n"


@command()
def pending(ctx: CommandContext) -> None:
    """Show the *Pending* buffer: your changes and sends not yet on the server (M-x pending
    again refreshes it); in pigeon shell, print it."""
    text = pending_text(ctx.app)
    if not isinstance(ctx.ui, TUI):
        for line in text.rstrip("\n").split("\n"):
            ctx.print(line)
        return
    ui = ctx.ui

    def show() -> None:
        buf = next((b for b in ui.buffers if isinstance(b, TextBuffer) and b.name == PENDING_BUFFER), None)
        if buf is None:
            buf = TextBuffer(PENDING_BUFFER, mode="text")
        buf.set_text(text)
        ui.show(buf)

    ui.call(show)


@command()
def undo(ctx: CommandContext, op: str = "") -> None:
    """Undo your last change (flag, tag, move, delete, a send still waiting), or operation #N."""
    from pigeon.core import actions

    try:
        line = actions.undo(ctx.app, int(op.lstrip("#")) if op.strip() else None)
    except ValueError:
        raise CommandError(f"not an operation number: {op!r}") from None
    except PigeonError as exc:
        raise CommandError(str(exc)) from None
    if not isinstance(ctx.ui, TUI):
        ctx.print(line)
        return
    ui = ctx.ui

    def show() -> None:
        for b in ui.buffers:
            if isinstance(b, MessageListBuffer) and b.listing.loaded:
                ui.rescan(b)
            elif isinstance(b, TextBuffer) and b.name == PENDING_BUFFER:
                b.set_text(pending_text(ctx.app))
        ui.message(line)

    ui.call(show)


@command()
def undo_send(ctx: CommandContext) -> None:
    """Take back the message you sent last while it still waits, into a compose buffer."""
    from pathlib import Path

    from pigeon.core import actions
    from pigeon.plugins.tui.commands_compose import _open_compose
    from pigeon.plugins.tui.compose import draft_to_text

    ui = ui_of(ctx)
    try:
        op, msg = actions.recall(ctx.app)
    except PigeonError as exc:
        raise CommandError(str(exc)) from None
    atts = [Path(p) for p in op.data.get("attachments", []) if Path(p).is_file()]

    def show() -> None:
        _open_compose(ui, draft_to_text(msg), op.account, "new")
        ui.current.attachments = atts
        ui.message(f"recalled: {op.summary or '(no subject)'} was not sent")

    ui.call(show)


# ---------------------------------------------------------------------- delivery


def _busy(ui: TUI) -> set[str]:
    """Accounts whose Outbox this client is sending right now (touched on the loop only)."""
    return ui.__dict__.setdefault("_journal_sending", set())


def deliver_now(ui: TUI, name: str) -> None:
    """On the loop: send the account's due messages in the background, unless already doing so."""
    from pigeon.core.journal import open_journal

    with open_journal(ui.app) as j:
        due = j.next_due(name)
    if due is None or due > time.time():
        return  # held: the delivery loop sends it when the delay is over
    busy = _busy(ui)
    if name in busy:
        return
    busy.add(name)
    ui.spawn(lambda: _deliver(ui, name), lambda outs: _delivered(ui, name, outs), what="sending")


async def deliver_loop(ui: TUI) -> None:
    """Once a second: send what fell due in an Outbox (the lock keeps pigeon watch out)."""
    from pigeon.core.journal import open_journal

    tried: dict[str, tuple[float, float]] = {}
    while True:
        await asyncio.sleep(1.0)
        try:
            with open_journal(ui.app) as j:
                due = {a.name: t for a in ui.accounts()
                       if a.smtp is not None and (t := j.next_due(a.name)) is not None and t <= time.time()}
        except Exception as exc:  # noqa: BLE001 - shown in *Messages*; tried again next second
            ui._log_error(f"reading the journal: {exc}", traceback.format_exc())
            continue
        for name, t in due.items():
            last = tried.get(name)
            if name in _busy(ui) or (last is not None and last[0] == t and time.monotonic() - last[1] < 30):
                continue
            tried[name] = (t, time.monotonic())
            deliver_now(ui, name)


def _deliver(ui: TUI, name: str) -> list[Any]:
    from pigeon.core import outbox

    return outbox.send_queued(ui.app, ui.app.account(name))


def _delivered(ui: TUI, name: str, outcomes: list[Any]) -> None:
    _busy(ui).discard(name)
    for out in outcomes:  # the same words as pigeon send
        if out.sent:
            ui.message(f"sent: {out.subject or '(no subject)'} to {', '.join(out.recipients)}")
        else:
            ui.message(f"not sent: {out.subject or '(no subject)'}: {out.error} (it waits in the Outbox)", True)
