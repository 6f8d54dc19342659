"""The application object: configuration, plugin manager and stores, free of any UI toolkit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core import paths
from pigeon.core.config import Config, disabled_from_raw, load_config, read_raw
from pigeon.core.pluginmanager import PigeonPluginManager, make_plugin_manager
from pigeon.hooks.types import AccountConfig, SettingsRegistry


@dataclass
class AppOptions:
    """What the command line asked for that outlives parsing."""

    debug: bool = False
    demo: bool = False
    initial_folder: str | None = None
    #: a state directory of its own (the demo keeps its index and journal apart from yours)
    state_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class App:
    """The one object handed around: config, plugins, stores. UIs and commands hang off it."""

    def __init__(self, config: Config, pm: PigeonPluginManager, settings: SettingsRegistry, options: AppOptions | None = None) -> None:
        self.config = config
        self.pm = pm
        self.settings_registry = settings
        self.options = options or AppOptions()
        self._stores: dict[str, Any] = {}
        self._commands: Any = None
        self._keymaps: Any = None
        self.ui: Any = None  # set by a UI plugin while it runs

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        config_dir: str | os.PathLike[str] | None = None,
        *,
        options: AppOptions | None = None,
        load_entrypoints: bool = True,
        load_user: bool = True,
        accounts: dict[str, AccountConfig] | None = None,
        report_to_stderr: bool = True,
        preread: tuple[dict[str, Any], str] | None = None,
    ) -> App:
        """Read config.toml, build the plugin manager, validate, configure.

        Raises ``ConfigError`` before anything runs when config.toml is bad. ``preread``: what
        ``read_raw`` gave for this directory moments ago (``pigeon sync`` reads it first).
        """
        directory = paths.config_dir(config_dir)
        raw, text = preread if preread is not None else read_raw(directory)
        pm = make_plugin_manager(
            config_dir=directory,
            disabled=disabled_from_raw(raw),
            load_entrypoints=load_entrypoints,
            load_user=load_user,
            report_to_stderr=report_to_stderr,
        )
        registry = SettingsRegistry()
        pm.hook.pigeon_add_settings.call_historic(kwargs={"settings": registry})
        config = load_config(directory, registry, raw, text)
        if accounts is not None:
            config.accounts = dict(accounts)
        pm.hook.pigeon_configure.call_historic(kwargs={"config": config})
        return cls(config, pm, registry, options)

    # ------------------------------------------------------------------ places

    @property
    def config_dir(self) -> Path:
        return self.config.directory

    @property
    def state_dir(self) -> Path:
        if self.options.state_dir is not None:
            return paths.ensure_private_dir(self.options.state_dir)
        return paths.ensure_private_dir(paths.state_dir(self.config.get("state_dir") or None))

    def account(self, name: str | None = None) -> AccountConfig:
        return self.config.account(name)

    def store(self, account: str | AccountConfig | None = None) -> Any:
        """The Maildir store of an account (created on first use)."""
        from pigeon.core.maildir import Maildir

        acct = account if isinstance(account, AccountConfig) else self.account(account)
        if acct.name not in self._stores:
            self._stores[acct.name] = Maildir(acct.maildir)
        return self._stores[acct.name]

    # ------------------------------------------------------------------ commands

    @property
    def commands(self) -> Any:
        """The command registry, filled through ``pigeon_register_commands``."""
        if self._commands is None:
            from pigeon.core.commands import CommandRegistry

            self._commands = CommandRegistry.from_plugins(self.pm)
        return self._commands

    def reload_commands(self) -> None:
        self._commands = None
        self._keymaps = None

    @property
    def keymaps(self) -> Any:
        """The key bindings (``pigeon.core.keymap.KeymapRegistry``), filled through ``pigeon_register_keymaps``."""
        if self._keymaps is None:
            from pigeon.core.keymap import KeymapRegistry

            self._keymaps = KeymapRegistry.from_plugins(self.pm)
        return self._keymaps

    # ------------------------------------------------------------------ lifecycle

    def startup(self) -> None:
        """Tell the plugins, then start their periodic jobs (``pigeon_schedule``)."""
        self.pm.hook.pigeon_startup(app=self)
        from pigeon.core.schedule import Scheduler

        self.scheduler = Scheduler(self)
        self.scheduler.start()

    def shutdown(self) -> None:
        scheduler = getattr(self, "scheduler", None)
        if scheduler is not None:
            scheduler.stop()
        self.pm.hook.pigeon_shutdown(app=self)


class RunningApp:
    """The App, for a plugin whose hooks receive none (the automation events).

    A plugin keeps one and takes its three hook implementations as its own::

        current_app = RunningApp()
        pigeon_configure, pigeon_addhooks, pigeon_startup = current_app.hookimpls()

    Calling it then gives the running App (``pigeon watch``, the client), or, in a command that
    never calls ``startup`` (``pigeon sync``), one built from the configuration and plugin
    manager the plugin was given. None before configuration.
    """

    def __init__(self) -> None:
        self.app: App | None = None
        self.config: Config | None = None
        self.pm: PigeonPluginManager | None = None

    def hookimpls(self) -> tuple[Any, Any, Any]:
        """``pigeon_configure``, ``pigeon_addhooks`` and ``pigeon_startup`` that keep this up to date."""
        from pigeon.hooks import hookimpl

        @hookimpl
        def pigeon_configure(config: Config) -> None:
            self.configure(config)

        @hookimpl
        def pigeon_addhooks(pluginmanager: PigeonPluginManager) -> None:
            self.addhooks(pluginmanager)

        @hookimpl
        def pigeon_startup(app: App) -> None:
            self.startup(app)

        return pigeon_configure, pigeon_addhooks, pigeon_startup

    def configure(self, config: Config) -> None:
        self.config = config
        self.app = None

    def addhooks(self, pm: PigeonPluginManager) -> None:
        self.pm = pm

    def startup(self, app: App) -> None:
        self.app = app

    def __call__(self) -> App | None:
        if self.app is None and self.config is not None and self.pm is not None:
            self.app = App(self.config, self.pm, SettingsRegistry())
        return self.app
