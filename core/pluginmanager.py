"""The plugin host: one pluggy manager per application, built-ins registered like everyone else.

Load order (pluggy calls the last registered first, so the user's code runs first):
built-in plugins from ``pigeon.plugins``, packages declaring the ``pigeon`` entry-point group
(each loaded on its own), the user's ``plugins/*.py`` in sorted order, then ``init.py``.

A hook implementation of a non-built-in plugin that raises is isolated: the error is reported
with the plugin's and the hook's name and the call goes on as if that plugin had no answer.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from pigeon.hooks import PROJECT, SPEC_MODULES

#: Built-in plugins, registered under these names in this order.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "pigeon.plugins.core_settings",
    "pigeon.plugins.render_plain",
    "pigeon.plugins.render_html",
    "pigeon.plugins.attachments",
    "pigeon.plugins.calendar",
    "pigeon.plugins.identities",
    "pigeon.plugins.credentials",
    "pigeon.plugins.oauth2",
    "pigeon.plugins.pgp",
    "pigeon.plugins.commands_core",
    "pigeon.plugins.search",
    "pigeon.plugins.assess",
    "pigeon.plugins.spam",
    "pigeon.plugins.arrival",
    "pigeon.plugins.notify",
    "pigeon.plugins.vacation",
    "pigeon.plugins.rules",
    "pigeon.plugins.quote",
    "pigeon.plugins.tui",
)

#: Built-ins that cannot be disabled.
ESSENTIAL_PLUGINS: frozenset[str] = frozenset({"core_settings", "commands_core"})

USER_MODULE_PREFIX = "pigeon_user"


@dataclass
class PluginInfo:
    """Where a registered plugin came from."""

    name: str
    origin: str  # "builtin", "package", "user"
    detail: str = ""  # module path, "dist version", or file path
    plugin: Any = None


@dataclass
class PluginError:
    """A plugin that failed to load, or an implementation that raised."""

    plugin: str
    hook: str
    message: str
    traceback: str = ""
    origin: str = ""
    detail: str = ""

    def line(self) -> str:
        where = f" in {self.hook}" if self.hook else ""
        return f"plugin {self.plugin!r} failed{where}: {self.message}"


ErrorReporter = Callable[[PluginError], None]


class PigeonPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and what failed."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: list[PluginError] = []
        self.reporters: list[ErrorReporter] = []
        self.config_dir: Path | None = None

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """pluggy's rule, with a shortcut for plain modules (every built-in plugin)."""
        found, opts = _module_marker(plugin, name, PROJECT + "_impl")
        return opts if found else super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        """pluggy's rule, with the same shortcut for the spec modules."""
        found, opts = _module_marker(module_or_class, name, PROJECT + "_spec")
        return opts if found else super().parse_hookspec_opts(module_or_class, name)

    def report(self, error: PluginError) -> None:
        """Record a plugin failure and tell every reporter (stderr, the client's *Messages*)."""
        self.errors.append(error)
        for reporter in list(self.reporters):
            try:
                reporter(error)
            except Exception:  # a broken reporter must not hide the original error
                pass

    def register_info(self, plugin: Any, info: PluginInfo) -> bool:
        """Register ``plugin`` under ``info.name``; a validation failure is reported, not raised."""
        if self.is_blocked(info.name):
            return False
        try:
            self.register(plugin, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            if info.origin == "builtin":
                raise
            self.report(PluginError(info.name, "", str(exc), origin=info.origin, detail=info.detail))
            return False
        info.plugin = plugin
        self.infos[info.name] = info
        return True

    def hooks_of(self, name: str) -> list[str]:
        """The hook names a registered plugin implements."""
        plugin = self.get_plugin(name)
        if plugin is None:
            return []
        callers = self.get_hookcallers(plugin) or []
        return sorted(c.name for c in callers)


def _format_exc() -> str:
    """``traceback.format_exc()``, imported when a plugin fails: traceback (with textwrap,
    linecache, tokenize) costs ~1 ms that a command whose plugins all load need not pay."""
    import traceback

    return traceback.format_exc()


def _module_marker(obj: Any, name: str, marker: str) -> tuple[bool, Any]:
    """``(True, options or None)`` when ``obj`` is a plain module, else ``(False, None)``.

    pluggy looks up each name of ``dir(plugin)`` with ``inspect.getattr_static`` (~4 µs a name;
    ~3 ms at every start over the ~750 globals of the built-ins and the spec modules). A plain
    module's attributes are its ``__dict__``: a value there that is not a function cannot be a
    hook, and a function carries its marker options as an attribute. Methods, static and class
    methods are left to pluggy.
    """
    if type(obj) is not types.ModuleType:
        return False, None
    value = obj.__dict__.get(name)
    if isinstance(value, types.FunctionType):
        opts = getattr(value, marker, None)
        return True, opts if isinstance(opts, dict) else None
    if isinstance(value, (types.MethodType, staticmethod, classmethod)):
        return False, None
    return True, None


def _isolating_proxy(pm: PigeonPluginManager, plugin: Any, name: str, origin: str, detail: str) -> Any:
    """A namespace whose ``pigeon_*`` functions call the plugin's and turn exceptions into None."""
    proxy = types.SimpleNamespace()
    for attr in dir(plugin):
        if not attr.startswith("pigeon_"):
            continue
        func = getattr(plugin, attr)
        if not callable(func):
            continue
        opts = getattr(func, PROJECT + "_impl", None)
        if opts and (opts.get("wrapper") or opts.get("hookwrapper")):
            setattr(proxy, attr, func)  # wrappers are not proxied (see STYLE.md §3.8)
            continue
        setattr(proxy, attr, _isolate(pm, func, name, attr, origin, detail))
    proxy.__name__ = name
    proxy.__wrapped_plugin__ = plugin
    return proxy


def _isolate(pm: PigeonPluginManager, func: Callable[..., Any], plugin: str, hook: str, origin: str, detail: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            pm.report(
                PluginError(
                    plugin,
                    hook,
                    f"{type(exc).__name__}: {exc}",
                    _format_exc(),
                    origin,
                    detail,
                )
            )
            return None

    return wrapper


def _stderr_reporter(error: PluginError) -> None:
    print(f"pigeon: {error.line()}", file=sys.stderr)


def add_specs(pm: pluggy.PluginManager) -> None:
    for modname in SPEC_MODULES:
        pm.add_hookspecs(importlib.import_module(modname))


def make_plugin_manager(
    *,
    config_dir: Path | None = None,
    disabled: Iterable[str] = (),
    load_entrypoints: bool = True,
    load_user: bool = True,
    builtins: Iterable[str] = BUILTIN_PLUGINS,
    report_to_stderr: bool = True,
) -> PigeonPluginManager:
    """Build a fresh manager: specs, built-ins, entry points, then the user's files."""
    pm = PigeonPluginManager()
    pm.config_dir = config_dir
    if report_to_stderr:
        pm.reporters.append(_stderr_reporter)
    add_specs(pm)
    blocked = set(disabled) | {
        n.strip() for n in os.environ.get("PIGEON_DISABLE_PLUGINS", "").split(",") if n.strip()
    }
    for name in blocked - ESSENTIAL_PLUGINS:
        pm.set_blocked(name)

    for modpath in builtins:
        short = modpath.rsplit(".", 1)[-1]
        if pm.is_blocked(short):
            continue
        module = importlib.import_module(modpath)
        pm.register_info(module, PluginInfo(short, "builtin", modpath))

    if load_entrypoints:
        load_entrypoint_plugins(pm)
    if load_user and config_dir is not None:
        load_user_plugins(pm, config_dir)

    _check_pending(pm)
    if os.environ.get("PIGEON_TRACE_PLUGINS"):
        _install_tracing(pm)
    pm.hook.pigeon_addhooks.call_historic(kwargs={"pluginmanager": pm})
    return pm


def _may_declare_entrypoints(group: str = PROJECT) -> bool:
    """Whether any installed distribution might declare the ``group`` entry points.

    ``importlib.metadata`` costs ~3 ms to import and ~2 ms to read every distribution's
    metadata, paid by every command although almost nobody installs a pigeon plugin package.
    This reads only the ``entry_points.txt`` files of the ``*.dist-info``/``*.egg-info``
    folders on ``sys.path`` for a ``[group]`` section; a path entry that is not a folder (a zip,
    an egg), or an import finder other than the standard one that can list distributions, makes
    it answer True, so the full scan then decides.
    """
    from importlib.machinery import PathFinder

    if any(f is not PathFinder and hasattr(f, "find_distributions") for f in sys.meta_path):
        return True
    header = f"[{group}]".encode()
    for entry in sys.path:
        try:
            scan = os.scandir(entry or ".")
        except NotADirectoryError:
            return True
        except OSError:
            continue
        with scan:
            for item in scan:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), "rb") as fh:
                        text = fh.read()
                except OSError:
                    continue
                if header in text.replace(b" ", b"").replace(b"\t", b""):
                    return True
    return False


def load_entrypoint_plugins(pm: PigeonPluginManager) -> None:
    """Load each ``pigeon`` entry point on its own, so one broken package cannot stop the rest."""
    if not _may_declare_entrypoints():
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group=PROJECT):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        dist = getattr(ep, "dist", None)
        detail = f"{dist.name} {dist.version}" if dist is not None else ep.value
        try:
            plugin = ep.load()
        except Exception as exc:
            pm.report(
                PluginError(ep.name, "", f"cannot load: {type(exc).__name__}: {exc}", _format_exc(), "package", detail)
            )
            continue
        proxy = _isolating_proxy(pm, plugin, ep.name, "package", detail)
        pm.register_info(proxy, PluginInfo(ep.name, "package", detail))


def user_plugin_files(config_dir: Path) -> list[Path]:
    """The user's plugin files in load order: ``plugins/*.py`` sorted, then ``init.py``."""
    files = sorted((config_dir / "plugins").glob("*.py")) if (config_dir / "plugins").is_dir() else []
    init = config_dir / "init.py"
    if init.is_file():
        files.append(init)
    return files


def user_plugin_name(path: Path, config_dir: Path) -> str:
    return "init" if path == config_dir / "init.py" else f"user.{path.stem}"


def load_user_file(pm: PigeonPluginManager, path: Path, config_dir: Path) -> bool:
    """Import one user file under a unique module name and register it, isolated."""
    name = user_plugin_name(path, config_dir)
    if pm.is_blocked(name) or pm.is_blocked(path.stem):
        return False
    modname = f"{USER_MODULE_PREFIX}.{name.replace('.', '_')}"
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # SyntaxError, SystemExit from a user file: report and go on
        sys.modules.pop(modname, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        pm.report(
            PluginError(name, "", f"cannot load {path.name}: {type(exc).__name__}: {exc}", _format_exc(), "user", str(path))
        )
        return False
    proxy = _isolating_proxy(pm, module, name, "user", str(path))
    return pm.register_info(proxy, PluginInfo(name, "user", str(path)))


def load_user_plugins(pm: PigeonPluginManager, config_dir: Path) -> None:
    for path in user_plugin_files(config_dir):
        load_user_file(pm, path, config_dir)


def unload_user_plugins(pm: PigeonPluginManager) -> list[str]:
    """Unregister every user plugin; returns their names."""
    names = [n for n, info in pm.infos.items() if info.origin == "user"]
    for name in names:
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
        pm.infos.pop(name, None)
    return names


def reload_user_file(pm: PigeonPluginManager, path: Path) -> bool:
    """Reload one user file. If it fails to load, the previous definitions stay registered."""
    config_dir = pm.config_dir
    if config_dir is None:
        return False
    name = user_plugin_name(path, config_dir)
    old = pm.get_plugin(name)
    old_info = pm.infos.get(name)
    if old is not None:
        pm.unregister(old)
        pm.infos.pop(name, None)
    if not path.exists():
        return True
    before = len(pm.errors)
    if load_user_file(pm, path, config_dir) and len(pm.errors) == before:
        return True
    # keep what worked before
    if old is not None and old_info is not None and not pm.has_plugin(name):
        pm.register(old, name=name)
        pm.infos[name] = old_info
    return False


def _check_pending(pm: PigeonPluginManager) -> None:
    """Implementations of hooks nobody specified: drop the non-built-in offender, loudly."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or "?"
            info = pm.infos.get(name)
            if info is None or info.origin == "builtin":
                raise
            pm.unregister(exc.plugin)
            pm.infos.pop(name, None)
            pm.report(PluginError(name, "", f"unknown hook: {exc}", origin=info.origin, detail=info.detail))


def _install_tracing(pm: PigeonPluginManager) -> None:
    def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        names = ", ".join(i.plugin_name for i in impls)
        print(f"pigeon-trace: {hook_name}({', '.join(kwargs)}) -> [{names}]", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        exc = outcome.exception
        status = f"raised {type(exc).__name__}" if exc else "ok"
        print(f"pigeon-trace: {hook_name} {status}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def plugin_report(pm: PigeonPluginManager) -> list[dict[str, Any]]:
    """Every plugin with its origin and hooks, then every plugin that failed to load."""
    rows: list[dict[str, Any]] = []
    for name, info in pm.infos.items():
        rows.append(
            {
                "name": name,
                "origin": info.origin,
                "source": info.detail,
                "hooks": pm.hooks_of(name),
                "errors": [e.line() for e in pm.errors if e.plugin == name],
                "status": "ok",
            }
        )
    loaded = set(pm.infos)
    for err in pm.errors:
        if err.plugin not in loaded:
            rows.append(
                {
                    "name": err.plugin,
                    "origin": err.origin,
                    "source": err.detail,
                    "hooks": [],
                    "errors": [err.line()],
                    "status": "broken",
                }
            )
            loaded.add(err.plugin)
    return rows


def call_isolated(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """Call a hook, turning an exception from a built-in into a reported error and no result.

    Non-built-in plugins are already isolated by their proxies; this guards the core against
    its own plugins on hostile input.
    """
    hook = getattr(pm.hook, hook_name)
    try:
        result = hook(**kwargs)
    except Exception as exc:
        if isinstance(pm, PigeonPluginManager):
            pm.report(PluginError("?", hook_name, f"{type(exc).__name__}: {exc}", _format_exc()))
        return []
    if result is None:
        return []
    return result if isinstance(result, list) and not hook.spec.opts.get("firstresult") else [result]


def signature_of(func: Callable[..., Any]) -> str:
    return str(inspect.signature(func))
