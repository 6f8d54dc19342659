"""Commands that write mail: compose, reply, forward, send, drafts, attachments, $EDITOR."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.plugins.tui.commands import _buf, _list_and_key, command, on_ui
from pigeon.plugins.tui.commands_mail import _message_path
from pigeon.plugins.tui.model import (
    ComposeBuffer,
    MessageListBuffer,
)
from pigeon.plugins.tui.ui import TUI, ui_of

# ====================================================================== compose


def _open_compose(ui: TUI, text: str, account: str, kind: str, reply_to: tuple[str, str, str] | None = None) -> None:
    n = sum(1 for b in ui.buffers if isinstance(b, ComposeBuffer)) + 1
    buf = ComposeBuffer(f"*{kind} {n}*" if kind != "new" else f"*mail {n}*", text, account, kind)
    buf.reply_to = reply_to
    ui.show(buf)


@command()
def compose(ctx: CommandContext, to: str = "") -> None:
    """Write a new message (C-c C-c sends, C-c C-d saves a draft, C-c C-e uses $EDITOR)."""
    from pigeon.plugins.tui.compose import draft_to_text, new_draft

    ui = ui_of(ctx)
    acct = ctx.app.account(ctx.account) if ctx.account in ctx.app.config.accounts else ctx.app.account()
    draft = new_draft(ctx.app, acct, "new", None, to)
    ui.call(_open_compose, ui, draft_to_text(draft), acct.name, "new")


def _answer(ctx: CommandContext, kind: str, message: str = "") -> None:
    from pigeon.plugins.tui.compose import draft_to_text, new_draft, parse_file

    if not isinstance(ctx.ui, TUI):
        from pigeon.plugins.tui.shell import answer_in_shell

        answer_in_shell(ctx, message, kind)
        return
    ui = ui_of(ctx)
    lst, key = ui.call(_list_and_key, ctx)
    path = _message_path(ctx)

    def account_of() -> str:
        i = lst.listing.index_of(key, lst.row_index(lst.cursor))
        row = lst.listing.rows[i] if i is not None else None
        return (row.account if row is not None and row.account else "") or lst.account

    acct = ctx.app.account(ui.call(account_of) or None)
    original = parse_file(path)
    draft = new_draft(ctx.app, acct, kind, original)
    ui.call(_open_compose, ui, draft_to_text(draft), acct.name, kind, (lst.account, lst.folder, key))


@command("list", "message")
def reply(ctx: CommandContext, message: str = "") -> None:
    """Reply to the sender, quoting the message (in ``pigeon shell``: message N of the last list)."""
    _answer(ctx, "reply", message)


@command("list", "message")
def reply_all(ctx: CommandContext, message: str = "") -> None:
    """Reply to the sender and every recipient (but you)."""
    _answer(ctx, "reply-all", message)


@command("list", "message")
def forward(ctx: CommandContext, message: str = "") -> None:
    """Forward the message inline."""
    _answer(ctx, "forward", message)


def _compose_buf(ctx: CommandContext) -> ComposeBuffer:
    buf = _buf(ctx)
    if not isinstance(buf, ComposeBuffer):
        raise CommandError("not a compose buffer")
    return buf


@command("compose")
def send(ctx: CommandContext) -> None:
    """Send the message: it waits send.undo_seconds (10) in the outbox, when M-x undo-send
    takes it back, then the client or pigeon watch sends it (queued when offline)."""
    _send(ctx)


@command("compose")
def send_later(ctx: CommandContext, when: str = "") -> None:
    """Send the message at a time ("2026-11-28 09:00", +2h); the client or pigeon watch sends it."""
    from pigeon.core.actions import parse_when

    when = when or ctx.ask("Send at (YYYY-MM-DD HH:MM, or +30m): ")
    _send(ctx, parse_when(when))


def _send(ctx: CommandContext, at: float | None = None) -> None:
    from pigeon.plugins.tui.compose import queue_message, text_to_message

    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    text, atts = ui.call(lambda: (buf.text, list(buf.attachments)))
    msg = text_to_message(text, atts)
    acct = ctx.app.account(buf.account)
    result = queue_message(ctx.app, acct, msg, at=at, attachments=atts)

    def after() -> None:
        buf.sent = True
        if buf.draft_path is not None:
            try:
                buf.draft_path.unlink()
            except OSError:
                pass
        if buf.reply_to is not None:
            a, f, key = buf.reply_to
            for b in ui.buffers:
                if isinstance(b, MessageListBuffer) and b.account == a and b.folder == f and b.listing.index_of(key) is not None:
                    ui.set_flags(b, key, add="P" if buf.compose_kind == "forward" else "R", record=False)
                    break
        ui.kill(buf)
        ui.message(result)

    # The journal holds it for send.undo_seconds (or until its time), then the client or
    # pigeon watch delivers it; offline, it waits in the Outbox.
    ui.call(after)
    if acct.smtp is not None and at is None:
        # Due now (send.undo_seconds = 0): on its way at once; otherwise the client's delivery
        # loop sends it when its delay is over. Offline, it waits in the Outbox either way.
        from pigeon.plugins.tui.commands_journal import deliver_now

        ui.call(deliver_now, ui, acct.name)


@command("compose")
def show_keys(ctx: CommandContext) -> None:
    """Show which key signs this draft and which key each recipient's copy is encrypted to
    (user ID and fingerprint), or whose key is missing (then C-c C-c refuses to send)."""
    from pigeon.plugins.tui.compose import key_choice, text_to_message

    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    msg = text_to_message(ui.call(lambda: buf.text))
    lines, problems = key_choice(ctx.app, ctx.app.account(buf.account), msg)
    if not (lines or problems):
        ui.call(ui.message, "neither signed nor encrypted (add X-Pigeon-Sign: yes or X-Pigeon-Encrypt: yes)")
        return
    text = "\n".join([*lines, *(f"REFUSED: {p}" for p in problems)]) + "\n"
    ui.call(ui.show_text, "*Keys*", text)


@command("compose")
def save_draft(ctx: CommandContext) -> None:
    """Save the message to the Drafts folder."""
    from pigeon.plugins.tui.compose import save_draft as store_draft
    from pigeon.plugins.tui.compose import text_to_message

    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    msg = text_to_message(buf.text, list(buf.attachments))
    acct = ctx.app.account(buf.account)
    buf.draft_path = store_draft(ctx.app, acct, msg, buf.draft_path)
    ui.call(ui.message, f"draft saved in {acct.folder('drafts')}")


@command("compose")
def attach_file(ctx: CommandContext, file: str) -> None:
    """Attach a file (file-name completion)."""
    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    path = Path(file).expanduser()
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    ui.call(buf.attachments.append, path)
    ui.call(ui.message, f"attached {path.name} ({path.stat().st_size} bytes)")


@command("compose")
def edit_in_editor(ctx: CommandContext) -> None:
    """Edit the draft in $VISUAL or $EDITOR; the screen comes back when the editor exits."""
    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    tmpdir = Path(tempfile.mkdtemp(prefix="pigeon-draft-"))
    path = tmpdir / "draft.eml"
    path.write_text(buf.text, encoding="utf-8")
    path.chmod(0o600)

    def run() -> None:
        subprocess.run([*editor, str(path)], check=False)

    ui.in_terminal(run)
    text = path.read_text(encoding="utf-8")
    shutil.rmtree(tmpdir, ignore_errors=True)
    ui.call(buf.set_text, text)


@command("compose")
def kill_compose(ctx: CommandContext) -> None:
    """Throw the draft away (asks first)."""
    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    if ui.ask("Discard this message? (yes or no) ").strip().lower() in ("yes", "y"):
        ui.call(ui.kill, buf)


@command("compose")
@on_ui
def complete_address(ctx: CommandContext) -> None:
    """On a To:/Cc:/Bcc: line, complete an address; in the body, insert a tab."""
    buf = _compose_buf(ctx)
    ed = buf.editor
    if ed is None:
        return
    line = ed.document.current_line_before_cursor.lower()
    in_head = "\n\n" not in ed.document.text_before_cursor
    if in_head and line.startswith(("to:", "cc:", "bcc:")):
        if ed.complete_state:
            ed.complete_next()
        else:
            ed.start_completion(insert_common_part=True)
    else:
        ed.insert_text("\t")
