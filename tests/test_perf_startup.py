"""Start-up stays lean: what building the App imports, the entry-point pre-check, the module
shortcut in plugin registration (same hooks as pluggy's own rule). Times are in bench/."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pluggy
import pytest
from helpers import REPO
from pigeon.core.pluginmanager import (
    BUILTIN_PLUGINS,
    PigeonPluginManager,
    _may_declare_entrypoints,
    make_plugin_manager,
)
from pigeon.hooks import PROJECT, SPEC_MODULES

#: Modules no command should pay for just to build the App (each costs milliseconds to import).
HEAVY = (
    "email", "sqlite3", "html.parser", "hashlib", "subprocess", "importlib.metadata", "json",
    "socket", "ssl", "asyncio", "zoneinfo", "shutil", "tempfile", "importlib.resources",
    "prompt_toolkit", "gnupg", "imapclient", "publicsuffixlist", "wcwidth", "watchdog",
    "logging", "pigeon.plugins.tui.ui", "pigeon.plugins.html_text", "traceback", "textwrap", "shlex", "threading",
    "argparse", "pigeon.hooks.types_render", "pigeon.hooks.types_filter", "pigeon.hooks.types_crypto",
    "pigeon.hooks.types_ui", "pigeon.plugins.spam_classifier",
)

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _imported(body: str) -> list[str]:
    # json is imported by the probe itself, after the code under test ran
    code = PROBE.format(body=body, heavy=tuple(m for m in HEAVY if m != "json"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_building_the_app_imports_nothing_heavy(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text(
        '[accounts.home]\naddress = "me@example.org"\nmaildir = "~/Mail"\n[searches]\ninbox = "tag:inbox"\n'
        '[[rules]]\nname = "lists"\nmatch = "to:list@example.org"\nactions = ["tag +list"]\n'
    )
    body = "from pigeon.core.cli import make_app\nfrom pigeon.core.cli_fast import Namespace\nmake_app(Namespace())"
    assert _imported(body) == []


def test_search_and_count_build_no_app(config_dir: Path) -> None:
    body = ("from pigeon.core.cli import main\nimport io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['count', '*'])\n"
            "assert 'pigeon.core.app' not in sys.modules and 'pluggy' not in sys.modules")
    assert set(_imported(body)) <= {"sqlite3", "json"}


def _dist(site: Path, name: str, entry_points: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_entry_point_precheck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    # a console script named pigeon is not a plugin declaration
    _dist(site, "other", "[console_scripts]\npigeon = pigeon.core.cli:main\n")
    from importlib.machinery import PathFinder

    # only the standard finder lists distributions here (another test may have left one)
    plain = [f for f in sys.meta_path if f is PathFinder or not hasattr(f, "find_distributions")]
    monkeypatch.setattr(sys, "meta_path", plain)
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    assert not _may_declare_entrypoints()
    _dist(site, "plugin", "[ pigeon ]\nshout = pigeon_shout\n")
    assert _may_declare_entrypoints()
    # a zip on sys.path cannot be scanned cheaply: the full scan decides
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x.py", "")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert _may_declare_entrypoints()
    # so does an import finder that lists distributions of its own
    monkeypatch.setattr(sys, "path", [str(site / "missing")])
    assert not _may_declare_entrypoints()

    class Finder:
        def find_spec(self, *args: object) -> None:
            return None

        def find_distributions(self, *args: object) -> list:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert _may_declare_entrypoints()


def test_module_shortcut_agrees_with_pluggy() -> None:
    """For every global of every built-in and spec module: the same options as pluggy's rule."""
    import importlib

    ours, theirs = PigeonPluginManager(), pluggy.PluginManager(PROJECT)
    compared = 0
    for modname in (*BUILTIN_PLUGINS, *SPEC_MODULES, "pigeon.plugins.html_text"):
        module = importlib.import_module(modname)
        for name in dir(module):
            assert ours.parse_hookimpl_opts(module, name) == theirs.parse_hookimpl_opts(module, name), (modname, name)
            assert ours.parse_hookspec_opts(module, name) == theirs.parse_hookspec_opts(module, name), (modname, name)
            compared += 1
    assert compared > 500
    pm = make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)
    assert "pigeon_render_part" in pm.hooks_of("render_html")


def test_render_html_names_still_reachable() -> None:
    from pigeon.hooks.types import RenderContext
    from pigeon.plugins import render_html

    text, links = render_html.html_to_text('<p>Hi <a href="https://evil.example/">paypal.com</a></p>', RenderContext())
    assert "Hi" in text and links[0].mismatch
    assert render_html.link_mismatch("paypal.com", "https://evil.example/") == ("paypal.com", "evil.example")
    assert issubclass(render_html.HTMLToText, object)
    with pytest.raises(AttributeError):
        render_html.no_such_name  # noqa: B018


def test_quick_public_suffix_list_equals_the_librarys() -> None:
    from pigeon.plugins.assess_domains import _psl, _quick_psl
    from publicsuffixlist import PublicSuffixList

    quick, full = _quick_psl(PublicSuffixList), PublicSuffixList(accept_unknown=False)
    assert quick is not None
    assert quick._publicsuffix == full._publicsuffix and quick._maxlabel == full._maxlabel
    assert quick.accept_unknown is full.accept_unknown is False
    for host in ("mail.google.com", "a.b.city.kawasaki.jp", "xn--80ak6aa92e.com", "例え.テスト", "x.github.io"):
        assert quick.privatesuffix(host) == full.privatesuffix(host)
        assert quick.publicsuffix(host) == full.publicsuffix(host)
    assert _psl() is not None
