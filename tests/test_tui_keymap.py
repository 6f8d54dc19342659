"""The keymap registry: Emacs notation, modes falling back to global, where-is, user overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pigeon.core.app import App
from pigeon.core.keymap import KeymapError, KeymapRegistry, format_keys, parse_keys


@pytest.mark.parametrize(
    "text, seq",
    [
        ("C-x C-c", ("c-x", "c-c")),
        ("M-x", ("escape", "x")),
        ("C-h k", ("c-h", "k")),
        ("RET", ("c-m",)),
        ("SPC", (" ",)),
        ("TAB", ("c-i",)),
        ("<up>", ("up",)),
        ("M-<", ("escape", "<")),
        ("C-M-f", ("escape", "c-f")),
        ("<f1> k", ("f1", "k")),
        ("<", ("<",)),
        ("!", ("!",)),
    ],
)
def test_parse_and_format_round_trip(text: str, seq: tuple[str, ...]) -> None:
    assert parse_keys(text) == seq
    assert format_keys(seq) == text


@pytest.mark.parametrize("bad", ["", "C-", "<nosuchkey>", "C-1", "S-a"])
def test_bad_keys_are_refused(bad: str) -> None:
    with pytest.raises(KeymapError):
        parse_keys(bad)


def test_lookup_falls_back_to_global_and_prefixes() -> None:
    km = KeymapRegistry()
    km.bind("global", "C-x C-c", "quit")
    km.bind("global", "n", "next-line")
    km.bind("message", "n", "next-message")
    assert km.lookup("message", "n") == "next-message"
    assert km.lookup("list", "n") == "next-line"
    assert km.lookup("list", "C-x C-c") == "quit"
    assert km.lookup("list", "C-x") is None
    assert km.is_prefix("list", "C-x")
    assert not km.is_prefix("list", "C-x C-c")
    assert km.where_is("next-line", "message") == []  # shadowed by next-message there
    assert km.where_is("next-line", "list") == ["n"]
    km.unbind("message", "n")
    assert km.lookup("message", "n") == "next-line"


def test_binding_a_prefix_replaces_the_longer_keys() -> None:
    km = KeymapRegistry()
    km.bind("global", "C-c C-c", "send")
    km.bind("global", "C-c", "compose")
    assert km.lookup("global", "C-c") == "compose"
    assert km.lookup("global", "C-c C-c") is None


def test_defaults_and_user_init_override(config_dir: Path) -> None:
    (config_dir / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def pigeon_register_keymaps(keymaps):\n"
        "    keymaps.bind('list', 'n', 'previous-line')\n"
        "    keymaps.bind('list', 'C-c t', 'toggle-threads')\n"
    )
    app = App.create()
    km = app.keymaps
    assert km.lookup("list", "n") == "previous-line"  # the user's binding replaced the default
    assert km.lookup("list", "C-c t") == "toggle-threads"
    assert km.lookup("message", "n") == "next-message"
    assert km.lookup("global", "M-x") == "execute-extended-command"
    assert km.source[("list", parse_keys("n"))] == "init"
    # every default binding names a command that exists
    missing = {cmd for _, _, cmd in km.bindings() if cmd not in app.commands}
    assert missing == set()


def test_a_broken_keymap_hook_is_reported(config_dir: Path) -> None:
    (config_dir / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def pigeon_register_keymaps(keymaps):\n"
        "    keymaps.bind('list', 'C-', 'oops')\n"
    )
    app = App.create(report_to_stderr=False)
    assert app.keymaps.lookup("global", "M-x") == "execute-extended-command"
    assert any("pigeon_register_keymaps" in e.line() for e in app.pm.errors)
