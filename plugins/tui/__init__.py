"""The built-in ``tui`` plugin: the full-screen client (``pigeon``, ``pigeon demo``) and the
prompt session (``pigeon shell``), both over the named commands and the keymap registry.

prompt_toolkit is imported only inside the functions that need it, so other commands stay fast.
"""

from __future__ import annotations

import sys
import tomllib
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from pigeon.hooks.types import CommandRegistrar, KeymapRegistrar


def default_keymap() -> dict[str, dict[str, str]]:
    """The default bindings: mode -> Emacs key sequence -> command name."""
    from importlib import resources  # ~1 ms with tempfile and zipfile: only when keys are wanted

    text = resources.files(__name__).joinpath("default_keys.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@hookimpl
def pigeon_register_keymaps(keymaps: KeymapRegistrar) -> None:
    for mode, table in default_keymap().items():
        for keys, command in table.items():
            keymaps.bind(mode, keys, command)


@hookimpl
def pigeon_register_commands(register: CommandRegistrar) -> None:
    from pigeon.plugins.tui.commands import register_all
    from pigeon.plugins.tui.shell import register_shell_commands

    register_all(register)
    register_shell_commands(register)


@hookimpl(trylast=True)
def pigeon_main(app: Any) -> int | None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        if not getattr(app.options, "demo", False):
            from pigeon.core.errors import PigeonError

            raise PigeonError("the full-screen client needs a terminal (`pigeon shell` reads a pipe)")
        print("pigeon: the full-screen client needs a terminal (`pigeon shell` reads a pipe)", file=sys.stderr)
        return None  # pigeon demo then prints the mailbox
    from pigeon.plugins.tui.ui import TUI

    return TUI(app).run()


@hookimpl(trylast=True)
def pigeon_prompt_session(app: Any, ctx: Any) -> int | None:
    from pigeon.plugins.tui.shell import prompt_session

    return prompt_session(app, ctx)


# ---------------------------------------------------------------------------- events shown live


def _each_client(fn: Any) -> None:
    ui_module = sys.modules.get("pigeon.plugins.tui.ui")
    if ui_module is None:
        return  # no client has run in this process: spare ``pigeon sync`` prompt_toolkit's ~40 ms
    for ui in list(ui_module.RUNNING):
        ui.post(fn, ui)


@hookimpl
def pigeon_sync_started(account: str) -> None:
    def show(ui: Any) -> None:
        ui.sync_state = f"{account}: syncing…"

    _each_client(show)


@hookimpl
def pigeon_sync_finished(account: str, report: Any) -> None:
    def show(ui: Any) -> None:
        if report.errors:
            ui.sync_state = f"{account}: sync failed"
            ui.message(f"sync {account}: {report.errors[0]}", True)
        else:
            ui.sync_state = f"{account}: ↓{report.downloaded} ↑{report.uploaded}"
        ui._load_folders()  # new folders, new counts
        ui.check_new_mail()

    _each_client(show)


@hookimpl
def pigeon_folder_changed(account: str, folder: str) -> None:
    _each_client(lambda ui: ui.check_new_mail())


@hookimpl
def pigeon_notify(note: Any) -> None:
    _each_client(lambda ui: ui.message(f"{note.title}: {note.body}" if note.body else note.title))
