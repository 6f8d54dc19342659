"""Lifecycle hooks: adding hooks and settings, configuring, starting, the main loop, stopping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookspec

if TYPE_CHECKING:
    from pigeon.hooks.types import SettingsRegistry


@hookspec(historic=True)
def pigeon_addhooks(pluginmanager: Any) -> None:
    """Add new hook specifications, so a plugin can offer hooks of its own.

    Called once, when the plugin manager is built; historic, so a plugin registered later is
    called back too.

    :param pluginmanager: the ``pluggy.PluginManager``; call ``add_hookspecs(module)`` on it.

    Semantics: historic.
    """


@hookspec(historic=True)
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    """Declare typed settings that ``config.toml`` may set.

    Called before config.toml is validated; a key that no plugin declared is an error there.

    :param settings: the registry; call ``settings.add(name, type, default, doc)``.
        A dotted name is a TOML table: ``"notify.quiet_hours"`` is ``[notify] quiet_hours``.

    Semantics: historic.
    """


@hookspec(historic=True)
def pigeon_configure(config: Any) -> None:
    """Adjust the validated configuration in code, the way an Emacs user writes init.el.

    Called after config.toml is loaded and validated, before anything else runs.

    :param config: the ``pigeon.core.config.Config``; ``config.settings`` is a dict of every
        setting's value and may be changed here; ``config.accounts`` maps names to accounts.

    Semantics: historic.
    """


@hookspec
def pigeon_startup(app: Any) -> None:
    """The application has started: configuration, plugins and store are ready.

    :param app: the ``pigeon.core.app.App``.

    Semantics: event (every implementation runs; errors are reported and skipped).
    """


@hookspec
def pigeon_shutdown(app: Any) -> None:
    """The application is about to exit. Release what you hold; keep it quick.

    :param app: the ``pigeon.core.app.App``.

    Semantics: event.
    """


@hookspec(firstresult=True)
def pigeon_main(app: Any) -> int | None:
    """Run the interactive main loop: the built-in ``tui`` plugin answers with the full-screen client.

    Called by ``pigeon`` with no subcommand and by ``pigeon demo``.

    :param app: the ``pigeon.core.app.App``; ``app.options`` holds ``initial_folder`` and the like.
    :return: the process exit status, or None to let another implementation run.

    Semantics: firstresult.
    """
