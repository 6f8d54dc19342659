"""``pigeon search``, ``count`` and ``sync`` start without argparse, tomllib or re: the quick command-line
reader agrees with argparse on every line it answers, the settings cache follows config.toml,
and the hand-written query lexing agrees with the regular expressions it replaced."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, run_pigeon
from index_helpers import deliver, message_bytes
from pigeon.core import cli_count, cli_fast, cli_search, cli_sync
from pigeon.core.cli_index_common import light_settings
from pigeon.core.cli_parser import build_parser
from pigeon.core.query import is_address, prefix_at

PLAIN = [
    ["search", "subject:release"],
    ["search", "--threads", "from:alice@example.com", "and", "tag:inbox"],
    ["search", "--json", "--limit", "5", "--offset", "10", "--sort", "oldest", "word"],
    ["search", "--limit=5", "--sort=newest", "x", "y"],
    ["search", "x", "y", "--json", "--threads"],
    ["search"],
    ["search", "-"],
    ["search", ""],
    ["--debug", "search", "x"],
    ["--config-dir", "/tmp/c", "search", "--config-dir", "/tmp/d", "x"],
    ["search", "--debug", "--config-dir=/tmp/e", "x"],
    ["search", "--limit", "3", "--limit", "4", "x"],
    ["count", "*"],
    ["count", "--threads", "tag:unread"],
    ["count", "--output", "files", "x"],
    ["count", "--output=threads", "--threads", "x"],
    ["count"],
    ["sync"],
    ["sync", "work", "home"],
    ["sync", "--dry-run", "--force", "--json", "work"],
    ["sync", "work", "--folder", "INBOX", "--folder=Sent", "--dry-run"],
    ["--config-dir", "/tmp/c", "sync", "--folder", "lists.dev"],
    ["sync", "--folder", ""],
    ["sync", "--folder", "INBOX", "work", "--folder=Sent"],
    ["--debug", "sync", "--force"],
]

#: lines argparse must see: help, abbreviations, '--', split words, values that are options,
#: bad numbers and choices (its errors, not ours)
ODD = [
    ["search", "-h"],
    ["search", "--help"],
    ["search", "--lim", "5", "x"],
    ["search", "--", "-tag:spam"],
    ["search", "x", "--json", "y"],
    ["search", "--limit", "-1", "x"],
    ["search", "--limit", "five", "x"],
    ["search", "--sort", "sideways", "x"],
    ["search", "--json=yes", "x"],
    ["search", "--limit"],
    ["search", "-tag:spam"],
    ["--version", "search"],
    ["x", "search"],
    ["count", "--output", "bytes"],
    ["count", "--threads=1"],
    ["count", "--json"],
    ["sync", "--help"],
    ["sync", "--folder"],
    ["sync", "--folder", "-x"],
    ["sync", "--dry"],
    ["sync", "a", "--force", "b"],
    ["sync", "--force=1"],
    ["sync", "--", "work"],
    ["sync", "--limit", "3"],
]


MODULES = {"search": cli_search, "count": cli_count, "sync": cli_sync}


def _command(argv: list[str]) -> str:
    return next(a for a in argv if a in MODULES)


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    command = _command(argv)
    fast = cli_fast.parse(argv, command, MODULES[command])
    assert fast is not None
    assert vars(fast) == vars(build_parser(command).parse_args(argv))


@pytest.mark.parametrize("argv", ODD, ids=" ".join)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    command = _command(argv)
    assert cli_fast.parse(argv, command, MODULES[command]) is None


def test_argparse_still_phrases_the_errors(config_dir: Path) -> None:
    result = run_pigeon("search", "x", "--json", "y")
    assert result.returncode == 2 and b"unrecognized arguments: y" in result.stderr
    result = run_pigeon("search", "--sort", "sideways", "x")
    assert result.returncode == 2 and b"invalid choice: 'sideways'" in result.stderr
    result = run_pigeon("search", "--help")
    assert result.returncode == 0 and b"--threads" in result.stdout
    result = run_pigeon("sync", "--folder")
    assert result.returncode == 2 and b"expected one argument" in result.stderr
    result = run_pigeon("sync", "--help")
    assert result.returncode == 0 and b"--dry-run" in result.stdout


def test_fast_options_match_the_parser() -> None:
    """Every option argparse knows for search, count and sync is one the quick reader knows, with
    the same default (so neither can change without the other)."""
    for command, module in MODULES.items():
        sub = build_parser(command)._subparsers._group_actions[0].choices[command]  # noqa: SLF001
        options = {s for a in sub._actions for s in a.option_strings if s.startswith("--")}  # noqa: SLF001
        assert options - {"--help"} == set(module.FAST_OPTIONS) | set(cli_fast.COMMON)
        defaults = vars(sub.parse_args([]))
        assert {k: v for k, v in defaults.items() if k in module.FAST_DEFAULTS} == module.FAST_DEFAULTS


def _index_with_searches(config_dir: Path, tmp_path: Path, saved: str) -> None:
    root = tmp_path / "mail"
    deliver(root, "INBOX", "1", message_bytes("a@x", subject="alpha news"))
    deliver(root, "INBOX", "2", message_bytes("b@x", subject="beta news"))
    (config_dir / "config.toml").write_text(
        f'[accounts.me]\naddress = "me@example.org"\nmaildir = "{root}"\n[searches]\nmine = "{saved}"\n')
    assert run_pigeon("index").returncode == 0


def _age(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


# ``import pigeon`` first: an editable install's import finder brings re (fnmatch) of its own
PROBE = ("import sys, io, contextlib, pigeon\nbefore = set(sys.modules)\nfrom pigeon.core.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()) as out:\n    main(['search', 'search:mine'])\n"
         "print(out.getvalue().count('id:'), sorted(m for m in ('argparse', 'tomllib', 're', 'typing') "
         "if m in set(sys.modules) - before))")


def _probe() -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_warm_search_imports_neither_argparse_tomllib_nor_re(config_dir: Path, tmp_path: Path) -> None:
    _index_with_searches(config_dir, tmp_path, "subject:alpha")
    _age(config_dir / "config.toml")
    assert _probe().endswith("'tomllib', 'typing']")  # the first run reads config.toml
    assert _probe() == "1 []"  # then the cache answers


def test_the_cache_follows_every_change_to_the_config(config_dir: Path, tmp_path: Path) -> None:
    _index_with_searches(config_dir, tmp_path, "subject:alpha")
    config = config_dir / "config.toml"
    _age(config)
    assert _probe().startswith("1 ")
    assert _probe() == "1 []"
    # an edit of the same length, a second later or in the same instant: seen at once
    config.write_text(config.read_text().replace("subject:alpha", "subject:news "))
    assert _probe().startswith("2 ")
    # a file edited just now is not cached (its next edit might keep the same time stamp)
    assert _probe().endswith("'tomllib', 'typing']")
    config.write_text(config.read_text().replace("subject:news ", "subject:beta "))
    assert _probe().startswith("1 ")
    hits = json.loads(run_pigeon("search", "--json", "search:mine").stdout)
    assert [h["subject"] for h in hits] == ["beta news"]


def test_a_broken_or_unwritable_cache_only_costs_the_parse(config_dir: Path, tmp_path: Path) -> None:
    _index_with_searches(config_dir, tmp_path, "subject:alpha")
    _age(config_dir / "config.toml")
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "pigeon" / "settings.marshal"
    assert _probe().startswith("1 ") and cache.exists()
    for junk in (b"", b"\x00garbage", b"\xe9\x01\x00\x00\x00", json.dumps({"x": 1}).encode()):
        cache.write_bytes(junk)
        assert _probe().startswith("1 ")
    cache.unlink()
    cache.parent.chmod(0o500)
    try:
        if os.access(cache.parent, os.W_OK):  # root writes anyway: then the cache is simply used
            assert _probe().startswith("1 ")
        else:
            assert _probe() == _probe() != "1 []"
    finally:
        cache.parent.chmod(0o700)


def test_a_config_error_is_still_reported_with_file_and_line(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text('[searches]\nmine = "unclosed\n')
    result = run_pigeon("search", "x")
    assert result.returncode == 1
    assert re.search(rb"config\.toml:2", result.stderr), result.stderr


def test_default_directories_are_the_ones_pigeon_uses_elsewhere(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from pigeon.core import paths

    for name in ("PIGEON_CONFIG_DIR", "PIGEON_STATE_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = cli_fast.parse(["search", "x"], "search", cli_search)
    path, _ = light_settings(args)
    assert path == str(paths.state_dir(None) / "index.sqlite")
    (paths.config_dir(None)).mkdir(parents=True)
    (paths.config_dir(None) / "config.toml").write_text('state_dir = "/srv/st"\n[searches]\na = "tag:a"\n')
    assert light_settings(args) == ("/srv/st/index.sqlite", {"a": "tag:a"})


PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):")
# \Z, not $: the value is stripped before the test, and a newline is no part of an address
ADDRESS = re.compile(r"^[^@\s\"]+@[^@\s\"]+\.[^@\s\"]+\Z")


def test_hand_written_lexing_agrees_with_the_regular_expressions() -> None:
    samples = ["from:x", "x", ":x", "a:", "a.b-c_d:e", "1a:b", "é:x", "ab cd:x", "a\u00a0b:x", "Z9:", "a:b:c",
               "", "-x:y", "a-:b", "mime.type:x/y", "ṡ:x", "a", "aé:x"]
    for text in samples:
        for i in range(len(text) + 1):
            m = PREFIX.match(text, i)
            assert prefix_at(text, i) == (m.group(1) if m else None), (text, i)
    addresses = ["a@b.c", "a@b", "@b.c", "a@.c", "a@b.", "a@@b.c", "a b@c.d", 'a"@b.c', "a@b..", "a@..b",
                 "a@b.c\u2003", "ü@bü.de", "a@b.c.d", "a.b@c", "a@b@c.d", "", "@", "a@.", "x@y.z\n"]
    for text in addresses:
        assert is_address(text) == bool(ADDRESS.match(text)), text
