"""The plugin host with a real pluggy manager: load order, isolation, blocking, reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.pluginmanager import make_plugin_manager, plugin_report
from pigeon.hooks import hookimpl
from pigeon.hooks.types import SettingsRegistry


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_builtins_validate_and_register() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    names = {row["name"] for row in plugin_report(pm)}
    assert {"core_settings", "commands_core"} <= names
    pm.check_pending()


def test_user_plugin_loaded_last_and_runs_first(config_dir: Path) -> None:
    write(
        config_dir / "plugins" / "mine.py",
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl\n"
        "def pigeon_quote(original, text, kind):\n"
        "    return 'MINE'\n",
    )
    write(
        config_dir / "init.py",
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl\n"
        "def pigeon_quote(original, text, kind):\n"
        "    return 'INIT'\n",
    )
    pm = make_plugin_manager(config_dir=config_dir, load_entrypoints=False)
    assert pm.hook.pigeon_quote(original=None, text="x", kind="reply") == "INIT"
    info = pm.infos["user.mine"]
    assert info.origin == "user" and info.detail.endswith("mine.py")


def test_raising_hook_is_isolated_and_reported(config_dir: Path) -> None:
    write(
        config_dir / "plugins" / "bad.py",
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl(tryfirst=True)\n"
        "def pigeon_quote(original, text, kind):\n"
        "    raise RuntimeError('boom')\n",
    )
    write(
        config_dir / "plugins" / "good.py",
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl\n"
        "def pigeon_quote(original, text, kind):\n"
        "    return 'good'\n",
    )
    seen = []
    pm = make_plugin_manager(config_dir=config_dir, load_entrypoints=False, report_to_stderr=False)
    pm.reporters.append(seen.append)
    assert pm.hook.pigeon_quote(original=None, text="x", kind="reply") == "good"
    assert len(seen) == 1
    assert seen[0].plugin == "user.bad" and seen[0].hook == "pigeon_quote"
    assert "RuntimeError: boom" in seen[0].message
    assert "Traceback" in seen[0].traceback


def test_plugin_that_fails_to_import_is_reported_others_load(config_dir: Path) -> None:
    write(config_dir / "plugins" / "broken.py", "raise ImportError('nope')\n")
    write(config_dir / "plugins" / "syntax.py", "def (:\n")
    write(
        config_dir / "plugins" / "ok.py",
        "from pigeon.hooks import hookimpl\n@hookimpl\ndef pigeon_startup(app):\n    pass\n",
    )
    pm = make_plugin_manager(config_dir=config_dir, load_entrypoints=False, report_to_stderr=False)
    rows = {r["name"]: r for r in plugin_report(pm)}
    assert rows["user.broken"]["status"] == "broken"
    assert "ImportError: nope" in rows["user.broken"]["errors"][0]
    assert rows["user.syntax"]["status"] == "broken"
    assert rows["user.ok"]["status"] == "ok" and rows["user.ok"]["hooks"] == ["pigeon_startup"]


def test_unknown_hook_and_bad_arguments_drop_only_that_plugin(config_dir: Path) -> None:
    write(
        config_dir / "plugins" / "typo.py",
        "from pigeon.hooks import hookimpl\n@hookimpl\ndef pigeon_stratup(app):\n    pass\n",
    )
    write(
        config_dir / "plugins" / "args.py",
        "from pigeon.hooks import hookimpl\n@hookimpl\ndef pigeon_startup(app, nonsense):\n    pass\n",
    )
    pm = make_plugin_manager(config_dir=config_dir, load_entrypoints=False, report_to_stderr=False)
    lines = [e.line() for e in pm.errors]
    assert any("user.typo" in line and "pigeon_stratup" in line for line in lines), lines
    assert any("user.args" in line and "nonsense" in line for line in lines), lines
    assert not pm.has_plugin("user.typo") and not pm.has_plugin("user.args")


def test_blocking_by_env_and_config(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIGEON_DISABLE_PLUGINS", "render_html, user.mine")
    write(config_dir / "plugins" / "mine.py", "x = 1\n")
    pm = make_plugin_manager(config_dir=config_dir, disabled=["attachments", "commands_core"], load_entrypoints=False)
    assert not pm.has_plugin("render_html")
    assert not pm.has_plugin("attachments")
    assert not pm.has_plugin("user.mine")
    assert pm.has_plugin("commands_core")  # essential: cannot be blocked


def test_historic_settings_reach_late_plugin(config_dir: Path) -> None:
    pm = make_plugin_manager(config_dir=config_dir, load_entrypoints=False)
    registry = SettingsRegistry()
    pm.hook.pigeon_add_settings.call_historic(kwargs={"settings": registry})

    class Late:
        @hookimpl
        def pigeon_add_settings(self, settings):
            settings.add("late.option", int, 3, "added late")

    pm.register(Late())
    assert registry.get("late.option").default == 3


def test_trace_env_prints_hook_calls(config_dir: Path) -> None:
    result = run_pigeon("plugins", env={"PIGEON_TRACE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    assert b"pigeon-trace: pigeon_add_settings" in result.stderr


def test_cli_plugins_json_lists_user_plugin_and_broken_one(config_dir: Path) -> None:
    write(
        config_dir / "plugins" / "hello.py",
        "from pigeon.hooks import hookimpl\n@hookimpl\ndef pigeon_startup(app):\n    pass\n",
    )
    write(config_dir / "plugins" / "oops.py", "1/0\n")
    result = run_pigeon("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["user.hello"]["origin"] == "user"
    assert rows["user.hello"]["hooks"] == ["pigeon_startup"]
    assert rows["render_plain"]["origin"] == "builtin"
    assert rows["user.oops"]["status"] == "broken"
    assert b"user.oops" in result.stderr and b"ZeroDivisionError" in result.stderr


def test_entry_point_plugins_load_each_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two installed distributions declaring the ``pigeon`` group: one broken, one fine."""
    import sys

    site = tmp_path / "site"
    for dist, mod, body in (
        ("pigeon_shout", "pigeon_shout", "from pigeon.hooks import hookimpl\n@hookimpl\ndef pigeon_quote(original, text, kind):\n    return text.upper()\n"),
        ("pigeon_broken", "pigeon_broken", "raise RuntimeError('broken package')\n"),
    ):
        write(site / f"{mod}.py", body)
        info = site / f"{dist}-1.0.dist-info"
        write(info / "METADATA", f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 1.0\n")
        write(info / "entry_points.txt", f"[pigeon]\n{dist.replace('_', '-')} = {mod}\n")
    monkeypatch.syspath_prepend(str(site))
    import importlib

    importlib.invalidate_caches()
    pm = make_plugin_manager(load_entrypoints=True, report_to_stderr=False)
    rows = {r["name"]: r for r in plugin_report(pm)}
    assert rows["pigeon-shout"]["origin"] == "package"
    assert rows["pigeon-shout"]["source"] == "pigeon-shout 1.0"
    assert rows["pigeon-broken"]["status"] == "broken"
    assert pm.hook.pigeon_quote(original=None, text="hi", kind="reply") == "HI"
    sys.modules.pop("pigeon_shout", None)
