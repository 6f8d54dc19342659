"""The client's named commands: every key runs one of these, and M-x runs any of them.

A command is ``func(ctx, *args)``; its docstring is its help. Commands decorated ``on_ui`` run
on the event loop (they only move state); the others run on the command thread and may prompt.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.core.keymap import format_keys
from pigeon.core.sanitize import sanitize_line
from pigeon.plugins.tui.model import (
    BufferList,
    ComposeBuffer,
    MessageBuffer,
    MessageListBuffer,
    TextBuffer,
)
from pigeon.plugins.tui.ui import ui_of

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


# ====================================================================== help


def _help(ctx: CommandContext, title: str, text: str, wrap: bool = True) -> None:
    """Show help in another window; prose is wrapped to it, tables (``wrap=False``) are not."""
    ui = ui_of(ctx)
    ui.call(ui.show_text, title, text, "help" if wrap else "table")


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
    _help(ctx, "*Help*", _bindings_text(ctx, ctx.app.keymaps.bindings(mode, inherited=True)), wrap=False)


@command()
def describe_bindings(ctx: CommandContext) -> None:
    """Show every key binding of every mode."""
    _help(ctx, "*Help*", _bindings_text(ctx, ctx.app.keymaps.bindings()), wrap=False)


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
    _help(ctx, "*Apropos*", "\n".join(rows) or f"nothing matches {query!r}", wrap=False)


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


def register_all(register: Any) -> None:
    # the other command modules fill COMMANDS as they are imported
    from pigeon.plugins.tui import commands_compose, commands_journal, commands_mail  # noqa: F401

    for func, modes in COMMANDS:
        register(func, modes=modes)


__all__ = ["register_all", "TextBuffer"]
