"""The client's named commands: every key runs one of these, and M-x runs any of them.

A command is ``func(ctx, *args)``; its docstring is its help. Commands decorated ``on_ui`` run
on the event loop (they only move state); the others run on the command thread and may prompt.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.core.keymap import format_keys
from pigeon.core.sanitize import sanitize_line, sanitize_text
from pigeon.plugins.tui.model import (
    BufferList,
    ComposeBuffer,
    FolderBuffer,
    MessageBuffer,
    MessageListBuffer,
    TextBuffer,
)
from pigeon.plugins.tui.ui import TUI, ui_of

COMMANDS: list[tuple[Callable[..., Any], tuple[str, ...]]] = []


def command(*modes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS.append((func, modes or ("global",)))
        return func

    return deco


def on_ui(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command's body on the event loop (it changes what is on screen)."""

    @functools.wraps(func)
    def wrapper(ctx: CommandContext, *args: Any) -> Any:
        return ui_of(ctx).call(func, ctx, *args)

    return wrapper


def _buf(ctx: CommandContext) -> Any:
    return ui_of(ctx).current


def _list_and_key(ctx: CommandContext) -> tuple[MessageListBuffer, str]:
    buf = _buf(ctx)
    if isinstance(buf, MessageBuffer) and buf.source_list is not None:
        return buf.source_list, buf.key
    if isinstance(buf, MessageListBuffer):
        row = buf.row()
        if row is None:
            raise CommandError("no message here")
        return buf, row.key
    raise CommandError("no message here")


# ====================================================================== the loop, M-x, quitting


@command()
def execute_extended_command(ctx: CommandContext) -> Any:
    """Read a command name (fuzzy completion; arguments may follow) and run it."""
    ui = ui_of(ctx)
    line = ui.ask("M-x ", kind="command").strip()
    if not line:
        return None
    words = shlex.split(line)
    reg = ctx.app.commands
    cmd = reg.get(words[0])
    ctx.data["command"] = words[0]
    args = words[1:] + ui._interactive_args(cmd, len(words) - 1)
    return reg.run(words[0], ctx, *args)


@command()
@on_ui
def keyboard_quit(ctx: CommandContext) -> None:
    """Cancel what is going on (a prompt, a search, a key sequence)."""
    ui = ui_of(ctx)
    ui.current.search_hit = None
    ui.message("Quit")


@command()
def quit(ctx: CommandContext) -> None:  # noqa: A001 - the command's name
    """Leave pigeon (asks first when a draft is unsaved)."""
    ui = ui_of(ctx)
    unsaved = ui.call(lambda: [b.name for b in ui.buffers if isinstance(b, ComposeBuffer) and not b.sent and b.draft_path is None and b.text != b.initial_text])
    if unsaved:
        answer = ui.ask(f"Unsaved draft {unsaved[0]}; quit anyway? (yes or no) ")
        if answer.strip().lower() not in ("yes", "y"):
            return
    ui.call(ui.exit, 0)


@command()
@on_ui
def eval_expression(ctx: CommandContext, expression: str) -> None:
    """Evaluate a Python expression with ``app``, ``ui`` and ``ctx`` at hand; show the value."""
    ui = ui_of(ctx)
    import pigeon

    env = {"app": ctx.app, "ui": ui, "ctx": ctx, "pigeon": pigeon}
    try:
        value = eval(compile(expression, "<M-:>", "eval"), env)  # noqa: S307 - the user's own expression
    except SyntaxError:
        exec(compile(expression, "<M-:>", "exec"), env)  # noqa: S102
        value = None
    except Exception as exc:
        raise CommandError(f"{type(exc).__name__}: {exc}") from None
    ui.message(sanitize_line(repr(value))[:2000])


@command()
def reload_config(ctx: CommandContext) -> None:
    """Reload init.py and every plugins/*.py of the config directory."""
    from pigeon.core.pluginmanager import user_plugin_files

    ui = ui_of(ctx)
    for path in user_plugin_files(Path(ctx.app.config_dir)):
        ui.call(ui.reload_user_file, path)


# ====================================================================== moving


@command()
@on_ui
def next_line(ctx: CommandContext) -> None:
    """Move to the next line (the next message in a list)."""
    _buf(ctx).move(1)


@command()
@on_ui
def previous_line(ctx: CommandContext) -> None:
    """Move to the previous line."""
    _buf(ctx).move(-1)


@command()
@on_ui
def scroll_up_command(ctx: CommandContext) -> None:
    """Show the next screenful."""
    _buf(ctx).page(1)


@command()
@on_ui
def scroll_down_command(ctx: CommandContext) -> None:
    """Show the previous screenful."""
    _buf(ctx).page(-1)


@command()
@on_ui
def beginning_of_buffer(ctx: CommandContext) -> None:
    """Go to the first line."""
    _buf(ctx).goto(0)


@command()
@on_ui
def end_of_buffer(ctx: CommandContext) -> None:
    """Go to the last line."""
    buf = _buf(ctx)
    buf.goto(buf.line_count() - 1)


@command()
@on_ui
def recenter(ctx: CommandContext) -> None:
    """Put the current line in the middle of the window."""
    buf = _buf(ctx)
    buf.top = max(0, buf.cursor - buf.height // 2)


@command()
@on_ui
def isearch_forward(ctx: CommandContext) -> None:
    """Search forward as you type; C-s again for the next match, RET to stop, C-g to go back."""
    ui_of(ctx).start_isearch(False)


@command()
@on_ui
def isearch_backward(ctx: CommandContext) -> None:
    """Search backward as you type; C-r again for the previous match."""
    ui_of(ctx).start_isearch(True)


# ====================================================================== buffers and windows


@command()
def switch_to_buffer(ctx: CommandContext, buffer: str = "") -> None:
    """Show another buffer in this window (default: the most recent other one)."""
    ui = ui_of(ctx)
    default = ui.call(lambda: ui.other_buffer(ui.current).name)
    name = buffer or ui.ask(f"Switch to buffer (default {default}): ", kind="buffer") or default
    buf = ui.call(ui.buffer_named, name)
    if buf is None:
        raise CommandError(f"no buffer named {name!r}")
    ui.call(ui.show, buf)


@command()
@on_ui
def list_buffers(ctx: CommandContext) -> None:
    """List the open buffers; RET on one shows it."""
    ui = ui_of(ctx)
    rows = [(b.name, b.mode, b.modeline_info()) for b in ui.buffers if b.name != "*Buffer List*"]
    ui.show(BufferList(rows))


@command()
@on_ui
def kill_buffer(ctx: CommandContext) -> None:
    """Close the current buffer."""
    ui = ui_of(ctx)
    ui.kill(ui.current)


@command()
@on_ui
def bury_buffer(ctx: CommandContext) -> None:
    """Put this buffer away and show the previous one (the list, after a message)."""
    ui_of(ctx).bury()


@command()
@on_ui
def split_window_below(ctx: CommandContext) -> None:
    """Split the window in two, one above the other."""
    ui = ui_of(ctx)
    ui.tree.split(vertical=False)
    ui.sync_focus()


@command()
@on_ui
def split_window_right(ctx: CommandContext) -> None:
    """Split the window in two, side by side."""
    ui = ui_of(ctx)
    ui.tree.split(vertical=True)
    ui.sync_focus()


@command()
@on_ui
def other_window(ctx: CommandContext) -> None:
    """Move to the next window."""
    ui = ui_of(ctx)
    ui.tree.other()
    ui._add(ui.current)
    ui.sync_focus()


@command()
@on_ui
def delete_other_windows(ctx: CommandContext) -> None:
    """Make this window fill the screen."""
    ui = ui_of(ctx)
    ui.tree.only()
    ui.sync_focus()


@command()
@on_ui
def delete_window(ctx: CommandContext) -> None:
    """Close this window (its buffer stays open)."""
    ui = ui_of(ctx)
    if not ui.tree.delete():
        raise CommandError("cannot delete the only window")
    ui.sync_focus()


# ====================================================================== folders and messages


def _split_folder(ctx: CommandContext, text: str) -> tuple[str, str]:
    accounts = ctx.app.config.accounts
    if ":" in text and text.split(":", 1)[0] in accounts and len(accounts) > 1:
        acct, folder = text.split(":", 1)
        return acct, folder
    return (ctx.account or ctx.app.account().name), text


@command()
def open_folder(ctx: CommandContext, folder: str) -> None:
    """Show a folder's messages (``account:folder`` when there are several accounts)."""
    ui = ui_of(ctx)
    acct, name = _split_folder(ctx, folder)
    store_folders = ui.call(lambda: [f for a, f in ui.folders.entries if a == acct])
    if name not in store_folders:
        raise CommandError(f"no folder {name!r} in account {acct}")
    ui.call(ui.open_folder, acct, name)


@command()
@on_ui
def list_folders(ctx: CommandContext) -> None:
    """Show the folders of every account with their unread and total counts."""
    ui = ui_of(ctx)
    ui._load_folders()
    ui.show(ui.folders)


@command()
@on_ui
def select(ctx: CommandContext) -> None:
    """Open what is at point: a folder, a message, a buffer."""
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, FolderBuffer):
        saved = buf.search_at(buf.cursor)
        if saved is not None:
            if ui.open_search(saved[1], saved[0]) is None:
                raise CommandError("saved searches need the index: run `pigeon index`")
            return
        cur = buf.current()
        if cur:
            ui.open_folder(*cur)
    elif isinstance(buf, MessageListBuffer):
        if buf.threaded is not None and buf.threaded.visible:
            _, depth, size = buf.threaded.visible[buf.cursor]
            if size > 1 and depth == 0 and buf.row_index(buf.cursor) not in buf.threaded.expanded:
                buf.toggle_thread()
                return
        ui.open_message(buf)
    elif isinstance(buf, BufferList):
        if 0 <= buf.cursor < len(buf.targets):
            target = ui.buffer_named(buf.targets[buf.cursor])
            if target is not None:
                ui.show(target)


def _step_message(ctx: CommandContext, n: int) -> None:
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, MessageBuffer) and buf.source_list is not None:
        lst = buf.source_list
        before = lst.cursor
        lst.move(n)
        if lst.cursor == before:
            raise CommandError("no more messages")
        ui.open_message(lst, buf)
    else:
        buf.move(n)


@command("message", "list")
@on_ui
def next_message(ctx: CommandContext) -> None:
    """Show the next message of the list."""
    _step_message(ctx, 1)


@command("message", "list")
@on_ui
def previous_message(ctx: CommandContext) -> None:
    """Show the previous message of the list."""
    _step_message(ctx, -1)


@command("list")
@on_ui
def toggle_threads(ctx: CommandContext) -> None:
    """Show the list by thread (folded) or by message."""
    ui = ui_of(ctx)
    buf = ui.current
    if not isinstance(buf, MessageListBuffer):
        raise CommandError("not a message list")
    ui.thread_view(buf, buf.threaded is None)


@command("list")
@on_ui
def toggle_thread(ctx: CommandContext) -> None:
    """Fold or unfold the thread at point."""
    buf = _buf(ctx)
    if isinstance(buf, MessageListBuffer):
        buf.toggle_thread()


@command()
@on_ui
def refresh(ctx: CommandContext) -> None:
    """Re-read the folder (and the folder counts); sync too when a ``sync`` command exists."""
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, MessageListBuffer):
        ui.rescan(buf)
    ui._load_folders()
    if "sync" in ctx.app.commands:
        ui.sync_state = "syncing…"

        def done(_: Any) -> None:
            ui.sync_state = ""

        sub = CommandContext(ctx.app, output=lambda s: None, ui=ui)
        ui.spawn(lambda: ctx.app.commands.run("sync", sub), done, what="sync")


def _flag(ctx: CommandContext, letter: str, toggle_on_missing: bool = True) -> None:
    ui = ui_of(ctx)
    lst, key = _list_and_key(ctx)
    i = lst.listing.index_of(key, lst.row_index(lst.cursor))
    if i is None:
        raise CommandError("the message is gone")
    row = lst.listing.rows[i]
    if letter in row.flags:
        ui.set_flags(lst, key, remove=letter)
    else:
        ui.set_flags(lst, key, add=letter)


@command("list", "message")
@on_ui
def toggle_flag(ctx: CommandContext) -> None:
    """Flag (star) the message, or unflag it."""
    _flag(ctx, "F")


@command("list", "message")
@on_ui
def toggle_unread(ctx: CommandContext) -> None:
    """Mark the message unread, or read."""
    _flag(ctx, "S")


def _move(ctx: CommandContext, role: str) -> None:
    ui = ui_of(ctx)
    lst, key = _list_and_key(ctx)
    i = lst.listing.index_of(key, lst.row_index(lst.cursor))
    row = lst.listing.rows[i] if i is not None else None
    acct = ctx.app.account((row.account if row is not None and row.account else None) or lst.account)
    dest = acct.folder(role)
    if (row.folder if row is not None and row.folder is not None else lst.folder) == dest:
        if role == "trash":
            ui.set_flags(lst, key, add="T")
            ui.message("marked deleted (T)")
            return
        raise CommandError(f"already in {dest}")
    buf = ui.current
    ui.move_message(lst, key, dest)
    lst.goto(lst.cursor)
    ui.message(f"moved to {dest}")
    if isinstance(buf, MessageBuffer):
        if lst.row() is not None:
            ui.open_message(lst, buf)
        else:
            ui.bury(buf)


@command("list", "message")
@on_ui
def archive(ctx: CommandContext) -> None:
    """Move the message to the account's Archive folder."""
    _move(ctx, "archive")


@command("list", "message")
@on_ui
def delete(ctx: CommandContext) -> None:
    """Move the message to Trash (in Trash: mark it deleted)."""
    _move(ctx, "trash")


def _index() -> Any:
    try:
        from pigeon.core import index  # type: ignore[attr-defined]
    except ImportError:
        return None
    return index


@command("list", "message")
def tag_add(ctx: CommandContext, tag: str) -> None:
    """Add a tag to the message (kept in the index)."""
    _tag(ctx, f"+{tag}")


@command("list", "message")
def tag_remove(ctx: CommandContext, tag: str) -> None:
    """Remove a tag from the message."""
    _tag(ctx, f"-{tag}")


def _tag(ctx: CommandContext, change: str) -> None:
    from pigeon.plugins.tui.indexed import tag_message

    ui = ui_of(ctx)
    lst, key = ui.call(_list_and_key, ctx)

    def summary() -> Any:
        i = lst.listing.index_of(key, lst.row_index(lst.cursor))
        return lst.listing.summary(lst.listing.rows[i]) if i is not None else None

    s = ui.call(summary)
    if s is None or not s.message_id:
        raise CommandError("this message has no Message-ID to tag it by")
    tag = change[1:]
    changed = tag_message(ctx.app, s.message_id, [tag] if change[0] == "+" else [], [tag] if change[0] == "-" else [])

    def show() -> None:
        tags = [t for t in s.tags if t != tag] + ([tag] if change[0] == "+" else [])
        s.tags = tags
        lst.tags[key] = tags
        ui.message(f"{change} ({changed} message(s))")

    ui.call(show)


@command()
def search(ctx: CommandContext, query: str) -> None:
    """Search: the index's query language when it exists, else words in this folder's list."""
    if not isinstance(ctx.ui, TUI):
        from pigeon.plugins.tui.shell import search_text

        search_text(ctx, query)
        return
    ui = ui_of(ctx)
    if ui.call(ui.open_search, query) is not None:
        return
    acct = ctx.account or ctx.app.account().name
    folder = ctx.folder if ctx.folder is not None else ctx.app.account(acct).folder("inbox")
    from pigeon.plugins.tui.search import search_listing

    listing = ui.call(lambda: next((b.listing for b in ui.buffers if isinstance(b, MessageListBuffer) and b.account == acct and b.folder == folder), None))
    result = search_listing(ctx.app, acct, folder, query, listing)
    buf = MessageListBuffer(result, name=f"*search: {sanitize_line(query)[:30]}*")
    ui.call(ui.show, buf)
    ui.call(ui.message, f"{len(result)} message(s) match")


# ====================================================================== the message view


def _message_path(ctx: CommandContext) -> Path:
    if ctx.message is None:
        raise CommandError("no message here")
    return Path(ctx.message)


@command("message", "list")
def view_source(ctx: CommandContext) -> None:
    """Show the message's source (control characters neutralised)."""
    ui = ui_of(ctx)
    data = _message_path(ctx).read_bytes()
    ui.call(ui.show_text, "*Source*", sanitize_text(data.decode("utf-8", "replace")).expandtabs(8), "source")


def _attachments(ctx: CommandContext) -> list[Any]:
    from pigeon.plugins.tui.view import render_view

    acct = ctx.app.config.accounts.get(ctx.account or "")
    return render_view(ctx.app, _message_path(ctx), 80, acct, ctx.folder or "").attachments


def _pick_attachment(ctx: CommandContext) -> Any:
    atts = [a for a in _attachments(ctx) if a.part is not None]
    if not atts:
        raise CommandError("this message has no attachment")
    if len(atts) == 1:
        return atts[0]
    ui = ui_of(ctx)
    listing = ", ".join(f"{n}: {a.name}" for n, a in enumerate(atts, 1))
    answer = ui.ask(f"Attachment ({listing}): ", default="1")
    try:
        return atts[int(answer) - 1]
    except (ValueError, IndexError):
        raise CommandError(f"no attachment {answer!r}") from None


def _payload(att: Any) -> bytes:
    data = att.part.get_payload(decode=True)
    return data if isinstance(data, bytes) else str(att.part.get_payload()).encode()


@command("message", "list")
def save_attachment(ctx: CommandContext) -> None:
    """Save an attachment to a file (file-name completion; nothing is overwritten silently)."""
    from pigeon.plugins.tui.view import safe_file_name

    ui = ui_of(ctx)
    att = _pick_attachment(ctx)
    downloads = Path("~/Downloads").expanduser()
    base = downloads if downloads.is_dir() else Path.cwd()
    default = str(base / safe_file_name(att.name))
    answer = ui.ask("Save attachment to: ", default=default, kind="file")
    target = Path(answer).expanduser()
    if target.is_dir():
        target = target / safe_file_name(att.name)
    if target.exists() and ui.ask(f"{target} exists; overwrite? (yes or no) ").strip().lower() not in ("yes", "y"):
        return
    target.write_bytes(_payload(att))
    ui.call(ui.message, f"saved {target}")


@command("message", "list")
def open_attachment(ctx: CommandContext) -> None:
    """Open an attachment with the desktop's program (xdg-open), from a private temporary copy."""
    from pigeon.plugins.tui.view import safe_file_name

    ui = ui_of(ctx)
    att = _pick_attachment(ctx)
    opener = shutil.which("xdg-open") or shutil.which("open")
    if opener is None:
        raise CommandError("no program to open files with (xdg-open); use S to save it")
    tmp = Path(tempfile.mkdtemp(prefix="pigeon-"))
    path = tmp / safe_file_name(att.name)
    path.write_bytes(_payload(att))
    path.chmod(0o600)
    subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ui.call(ui.message, f"opened {path.name}")


@command("message")
def open_link(ctx: CommandContext, number: str) -> None:
    """Open link NUMBER of the message in the browser (its real target, shown first)."""
    ui = ui_of(ctx)
    buf = ui.call(lambda: ui.current)
    links = getattr(buf, "links", [])
    try:
        link = next(li for li in links if str(li.number) == number.strip())
    except StopIteration:
        raise CommandError(f"no link {number}") from None
    target = sanitize_line(link.target)
    browser = os.environ.get("BROWSER") or shutil.which("xdg-open")
    if not browser:
        ui.call(ui.message, f"[{number}] {target}")
        return
    if ui.ask(f"Open {target}? (yes or no) ").strip().lower() not in ("yes", "y"):
        return
    subprocess.Popen([*shlex.split(browser), target], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


# ====================================================================== help


def _help(ctx: CommandContext, title: str, text: str) -> None:
    ui = ui_of(ctx)
    ui.call(ui.show_text, title, text, "help")


def _function_help(ctx: CommandContext, name: str, mode: str) -> str:
    reg = ctx.app.commands
    cmd = reg.get(name)
    keys = ctx.app.keymaps.where_is(name, mode) or ctx.app.keymaps.where_is(name)
    lines = [f"{name} {reg.signature(name)}".rstrip(), "", f"  defined by: {cmd.source or 'core'}", f"  modes: {', '.join(cmd.modes)}"]
    lines.append(f"  keys: {', '.join(keys)}" if keys else "  keys: none (M-x " + name + ")")
    lines += ["", cmd.doc or "(not documented)"]
    return "\n".join(lines)


@command()
def describe_key(ctx: CommandContext) -> None:
    """Read a key sequence and say which command it runs, with that command's help."""
    ui = ui_of(ctx)
    mode = ui.call(lambda: ui.mode)
    seq = ui.read_key_sequence("Describe key: ")
    keys = format_keys(seq)
    name = ctx.app.keymaps.lookup(mode, seq)
    if name is None:
        ui.call(ui.message, f"{keys} is undefined")
        return
    if name not in ctx.app.commands:
        _help(ctx, "*Help*", f"{keys} runs {name}, which no plugin defines")
        return
    _help(ctx, "*Help*", f"{keys} ({mode}) runs the command {name}\n\n" + _function_help(ctx, name, mode))


@command()
def describe_function(ctx: CommandContext, command: str) -> None:
    """Show a command's documentation, arguments, keys and the plugin that defines it."""
    ui = ui_of(ctx)
    mode = ui.call(lambda: ui.mode)
    _help(ctx, "*Help*", _function_help(ctx, command, mode))


def _bindings_text(ctx: CommandContext, rows: list[tuple[str, str, str]]) -> str:
    out = []
    last = None
    for mode, keys, cmd in rows:
        if mode != last:
            out += ["", f"{mode} mode:"] if out else [f"{mode} mode:"]
            last = mode
        reg = ctx.app.commands
        doc = (reg.get(cmd).doc.splitlines() or [""])[0] if cmd in reg else "(undefined command)"
        out.append(f"  {keys:<14} {cmd:<26} {doc}")
    return "\n".join(out)


@command()
def describe_mode(ctx: CommandContext) -> None:
    """Show the keys of the current buffer's mode (and the global ones it inherits)."""
    ui = ui_of(ctx)
    mode = ui.call(lambda: ui.mode)
    _help(ctx, "*Help*", _bindings_text(ctx, ctx.app.keymaps.bindings(mode, inherited=True)))


@command()
def describe_bindings(ctx: CommandContext) -> None:
    """Show every key binding of every mode."""
    _help(ctx, "*Help*", _bindings_text(ctx, ctx.app.keymaps.bindings()))


@command()
def apropos_command(ctx: CommandContext, query: str) -> None:
    """List the commands whose name or documentation mentions QUERY."""
    q = query.lower()
    rows = []
    for cmd in ctx.app.commands.all():
        if q in cmd.name or q in cmd.doc.lower():
            keys = ", ".join(ctx.app.keymaps.where_is(cmd.name)[:3])
            first = (cmd.doc.splitlines() or [""])[0]
            rows.append(f"{cmd.name:<28} {keys:<16} {first}")
    _help(ctx, "*Apropos*", "\n".join(rows) or f"nothing matches {query!r}")


@command()
def where_is(ctx: CommandContext, command: str) -> None:
    """Say which keys run a command."""
    ui = ui_of(ctx)
    mode = ui.call(lambda: ui.mode)
    keys = ctx.app.keymaps.where_is(command, mode) or ctx.app.keymaps.where_is(command)
    ui.call(ui.message, f"{command} is on {', '.join(keys)}" if keys else f"{command} is not on any key")


@command()
@on_ui
def view_messages(ctx: CommandContext) -> None:
    """Show *Messages*: what was said in the echo area, and plugin and command errors with tracebacks."""
    ui = ui_of(ctx)
    ui.show(ui.messages)
    ui.messages.goto(ui.messages.line_count())


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
    """Send the message (through the outbox: queued when offline)."""
    from pigeon.plugins.tui.compose import queue_message, text_to_message

    ui = ui_of(ctx)
    buf = ui.call(_compose_buf, ctx)
    text, atts = ui.call(lambda: (buf.text, list(buf.attachments)))
    msg = text_to_message(text, atts)
    acct = ctx.app.account(buf.account)
    result = queue_message(ctx.app, acct, msg)

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
                    ui.set_flags(b, key, add="P" if buf.compose_kind == "forward" else "R")
                    break
        ui.kill(buf)
        ui.message(result)

    ui.call(after)


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


def register_all(register: Any) -> None:
    for func, modes in COMMANDS:
        register(func, modes=modes)


__all__ = ["register_all", "TextBuffer"]
