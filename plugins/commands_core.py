"""The core commands every UI offers: help, plugins, ... (more arrive with each feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.core.errors import CommandError
from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from pigeon.core.commands import CommandContext
    from pigeon.hooks.types import CommandRegistrar


def list_plugins(ctx: CommandContext) -> None:
    """List every plugin, where it came from and the hooks it implements."""
    from pigeon.core.pluginmanager import plugin_report

    for row in plugin_report(ctx.app.pm):
        ctx.print(f"{row['name']:<20} {row['origin']:<8} {row['status']:<6} {', '.join(row['hooks'])}")


def describe_command(ctx: CommandContext, name: str = "") -> None:
    """Show a command's documentation."""
    name = name or ctx.ask("Describe command: ", kind="command")
    registry = ctx.app.commands
    if name not in registry:
        raise CommandError(f"no command named {name!r}")
    cmd = registry.get(name)
    ctx.print(f"{name} {registry.signature(name)}".rstrip())
    ctx.print(f"  defined by {cmd.source or 'core'}")
    ctx.print("")
    ctx.print(cmd.doc or "(not documented)")


def commands(ctx: CommandContext) -> None:
    """List every command with the first line of its documentation."""
    for cmd in ctx.app.commands.all():
        first = cmd.doc.splitlines()[0] if cmd.doc else ""
        ctx.print(f"{cmd.name:<28} {first}")


@hookimpl(trylast=True)
def pigeon_register_commands(register: CommandRegistrar) -> None:
    register(list_plugins)
    register(describe_command)
    register(commands)
