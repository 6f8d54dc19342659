"""UI hooks: commands, key bindings, completion, the mode line. Every UI uses these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookspec

if TYPE_CHECKING:
    from pigeon.hooks.types import CommandRegistrar, Completion, KeymapRegistrar, StatusSegment


@hookspec
def pigeon_register_commands(register: CommandRegistrar) -> None:
    """Add named commands, run by M-x, key bindings, ``pigeon shell`` and other commands.

    ``register(func, name=None, modes=("global",))``: the name defaults to the function's name
    with ``_`` as ``-``; the docstring is the help text; ``func(ctx, *args)`` receives a
    ``pigeon.core.commands.CommandContext`` (the app, the current message and folder, a way to
    print and to prompt). Raise ``pigeon.core.errors.CommandError`` for a message without a
    traceback. A later registration of the same name wins, so users override built-ins.

    :param register: the registration callback.

    Semantics: collect (every plugin registers; called again when plugins reload).
    """


@hookspec
def pigeon_register_keymaps(keymaps: KeymapRegistrar) -> None:
    """Bind key sequences, in Emacs notation (``"C-x C-c"``, ``"M-x"``, ``"g"``), to command names.

    Modes: ``global``, ``folders``, ``list``, ``message``, ``compose``. Built-in bindings are
    made first, so the user's bindings replace them.

    :param keymaps: ``keymaps.bind(mode, keys, command_name)`` and ``keymaps.unbind(mode, keys)``.

    Semantics: collect (called again when plugins reload).
    """


@hookspec
def pigeon_complete(kind: str, text: str, app: Any) -> Iterable[Completion] | None:
    """Offer completions for a prompt.

    :param kind: what is being completed: ``"address"``, ``"tag"``, ``"folder"``, ``"command"``,
        ``"query"``, ``"file"``.
    :param text: what the user typed so far.
    :param app: the application.
    :return: completion candidates, or None.

    Semantics: collect.
    """


@hookspec
def pigeon_status_segments(app: Any) -> list[StatusSegment] | None:
    """Contribute segments to the mode line.

    :param app: the application.
    :return: segments, or None.

    Semantics: collect.
    """


@hookspec
def pigeon_post_command(name: str, ctx: Any, error: BaseException | None) -> None:
    """A named command finished, like Emacs's post-command-hook.

    :param name: the command's name.
    :param ctx: the ``CommandContext`` it ran with.
    :param error: the exception it raised, or None.

    Semantics: event.
    """


@hookspec(firstresult=True)
def pigeon_prompt_session(app: Any, ctx: Any) -> int | None:
    """Run ``pigeon shell`` interactively on a terminal: read command lines, run them, print.

    Called by ``pigeon shell`` when standard input is a terminal (a pipe is read line by line
    by the core). The built-in ``tui`` plugin answers with a prompt_toolkit ``PromptSession``
    (Emacs keys, persistent history, completion).

    :param app: the application.
    :param ctx: the ``CommandContext`` every line runs with (``ctx.data`` persists between lines).
    :return: the exit status, or None to let another implementation (or the core's plain
        line reader) run.

    Semantics: firstresult.
    """
