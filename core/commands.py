"""The UI-agnostic registry of named commands (what M-x, keys and ``pigeon shell`` run)."""

from __future__ import annotations

import inspect
import shlex
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pigeon.core.errors import CommandError
from pigeon.hooks.types import Command


@dataclass
class CommandContext:
    """What a command receives: the app, where the user is, and ways to talk to the user.

    A UI fills in ``output`` (print a line), ``prompt`` (ask for a string) and the current
    selection; ``pigeon shell`` prints to stdout.
    """

    app: Any
    output: Callable[[str], None] = print
    prompt: Callable[..., str] | None = None
    account: str | None = None
    folder: str | None = None
    message: Any = None  # a MessageRef or an index id, whatever the view holds
    ui: Any = None
    data: dict[str, Any] = field(default_factory=dict)

    def print(self, text: str = "") -> None:
        self.output(text)

    def ask(self, question: str, default: str = "", kind: str = "") -> str:
        if self.prompt is None:
            raise CommandError(f"{question.rstrip(': ')}: needs an argument")
        return self.prompt(question, default=default, kind=kind)


def command_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", "command")
    if name.startswith("cmd_"):
        name = name[4:]
    return name.strip("_").replace("_", "-")


class CommandRegistry:
    """Commands by name; a later registration of a name replaces the earlier one."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._source = ""

    @classmethod
    def from_plugins(cls, pm: Any) -> CommandRegistry:
        registry = cls()
        # pluggy calls the last registered first; register built-ins first so users win.
        impls = pm.hook.pigeon_register_commands.get_hookimpls()
        for impl in impls:  # get_hookimpls() is in registration order
            registry._source = impl.plugin_name
            try:
                impl.function(register=registry.register)
            except Exception as exc:
                if hasattr(pm, "report"):
                    from pigeon.core.pluginmanager import PluginError

                    pm.report(PluginError(impl.plugin_name, "pigeon_register_commands", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        registry._source = ""
        return registry

    def register(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        modes: Iterable[str] = ("global",),
    ) -> Callable[..., Any]:
        cmd_name = name or command_name(func)
        doc = inspect.cleandoc(func.__doc__ or "")
        self._commands[cmd_name] = Command(cmd_name, func, doc, tuple(modes), self._source)
        return func

    def __contains__(self, name: str) -> bool:
        return name in self._commands

    def get(self, name: str) -> Command:
        try:
            return self._commands[name]
        except KeyError:
            raise CommandError(f"no command named {name!r}") from None

    def names(self, mode: str | None = None) -> list[str]:
        return sorted(
            n for n, c in self._commands.items() if mode is None or "global" in c.modes or mode in c.modes
        )

    def all(self) -> list[Command]:
        return [self._commands[n] for n in sorted(self._commands)]

    def run(self, name: str, ctx: CommandContext, *args: str) -> Any:
        """Run a command; the post-command hook sees the outcome. Errors propagate to the caller."""
        cmd = self.get(name)
        error: BaseException | None = None
        try:
            return cmd.func(ctx, *args)
        except BaseException as exc:
            error = exc
            raise
        finally:
            try:
                ctx.app.pm.hook.pigeon_post_command(name=name, ctx=ctx, error=error)
            except Exception:
                pass

    def run_line(self, line: str, ctx: CommandContext) -> Any:
        """Run ``name arg1 "arg 2"`` as typed in ``pigeon shell`` or M-x."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise CommandError(f"cannot parse {line!r}: {exc}") from None
        if not words:
            return None
        return self.run(words[0], ctx, *words[1:])

    def signature(self, name: str) -> str:
        """The command's arguments as a user would type them."""
        cmd = self.get(name)
        params = list(inspect.signature(cmd.func).parameters.values())[1:]
        out = []
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                out.append(f"[{p.name.upper()}...]")
            elif p.default is p.empty:
                out.append(p.name.upper())
            else:
                out.append(f"[{p.name.upper()}]")
        return " ".join(out)
