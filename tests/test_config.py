"""config.toml: validation with file, line and key; every command refuses a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.errors import ConfigError


def write_config(config_dir: Path, text: str) -> Path:
    path = config_dir / "config.toml"
    path.write_text(text)
    return path


GOOD = """
default_account = "work"

[render]
width = 72

[accounts.work]
address = "me@example.org"
maildir = "~/Mail/work"
imap = { host = "imap.example.org", port = 993, security = "tls", username = "me" }
smtp = { host = "smtp.example.org", security = "starttls", username = "me" }
password_command = "pass show mail/work"

[accounts.local]
address = "me@localhost"
maildir = "local-mail"
"""


def test_good_config_parses_accounts(config_dir: Path) -> None:
    write_config(config_dir, GOOD)
    app = App.create(load_entrypoints=False)
    work = app.account()
    assert work.name == "work" and work.imap.port == 993 and work.smtp.port == 587
    assert work.password_command == ["pass", "show", "mail/work"]
    assert work.maildir == Path("~/Mail/work").expanduser()
    local = app.account("local")
    assert local.imap is None and local.maildir == config_dir / "local-mail"
    assert app.config.get("render.width") == 72


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[render]\nwidth = 'wide'\n", ":2: render.width: expected an integer"),
        ("[render]\nwidht = 3\n", ":2: render.widht: unknown setting (did you mean 'render.width'?)"),
        ("colour = 1\n", ":1: colour: unknown setting"),
        ("[accounts.a]\naddress = 'a@b.c'\nmaildir = 'm'\nimap = { host = 'x', security = 'none' }\n", ":4: accounts.a.imap.security: \"none\" (plaintext) is allowed only to a loopback address"),
        ("[accounts.a]\naddress = 'a@b.c'\nmaildir = 'm'\nimap = { host = 'x', prot = 1 }\n", ":4: accounts.a.imap.prot: unknown key"),
        ("[accounts.a]\nmaildir = 'm'\n", "accounts.a.address: required"),
        ("[accounts.a]\naddress = 'a@b.c'\nmaildir = 'm'\nsmtp = { host = 'x', fingerprint = 'abc' }\n", "accounts.a.smtp.fingerprint: expected a SHA-256"),
        ("[plugins]\ndisabled = 'x'\n", ":2: plugins.disabled: expected a list"),
    ],
)
def test_bad_values_name_file_line_and_key(config_dir: Path, text: str, expected: str) -> None:
    path = write_config(config_dir, text)
    with pytest.raises(ConfigError) as info:
        App.create(load_entrypoints=False)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_two_accounts_cannot_share_a_maildir(config_dir: Path, tmp_path: Path) -> None:
    """The same Maildir, one inside the other, or the same through a symlink: a sync of one
    account would take the other's mail for its own and upload it to its own server."""
    (tmp_path / "Mail").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "Mail")

    def two(a: str, b: str) -> str:
        return "".join(f'[accounts.{n}]\naddress = "{n}@example.org"\nmaildir = "{m}"\n' for n, m in (("home", a), ("work", b)))

    mail = tmp_path / "Mail"
    for b, why in ((f"{mail}/", f"the same Maildir as account 'home' ({mail})"),
                   (f"{tmp_path}/link", f"the same Maildir as account 'home' ({mail})"),
                   (f"{mail}/work", f"nested with the Maildir of account 'home' ({mail}/work lies inside {mail})")):
        path = write_config(config_dir, two(str(mail), b))
        with pytest.raises(ConfigError) as info:
            App.create(load_entrypoints=False)
        assert str(info.value) == (f"{path}:6: accounts.work.maildir: {why}: each account needs a Maildir of its own,"
                                   " or a sync of one takes the other's mail for its own")
    write_config(config_dir, two(str(mail / "home"), str(mail / "home-work")))  # side by side: fine
    assert set(App.create(load_entrypoints=False).config.accounts) == {"home", "work"}


def test_syntax_error_names_line(config_dir: Path) -> None:
    path = write_config(config_dir, "[render]\nwidth = 72\nthis is not toml\n")
    with pytest.raises(ConfigError) as info:
        App.create(load_entrypoints=False)
    assert str(info.value).startswith(f"{path}:3: TOML syntax error")


# (pigeon doctor does not refuse a bad config.toml: it lists it among its findings, once;
# tests/test_doctor.py holds what it prints)
@pytest.mark.parametrize("command", [["plugins"], ["doctor", "--json"], ["show", "-"], ["demo", "--print"]])
def test_every_command_refuses_bad_config(config_dir: Path, command: list[str]) -> None:
    write_config(config_dir, "[render]\nwidht = 3\n")
    result = run_pigeon(*command, input=b"Subject: x\n\nbody\n")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert "config.toml:2: render.widht: unknown setting" in err
    assert "Traceback" not in err


def test_plugin_declared_setting_is_accepted(config_dir: Path) -> None:
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "opt.py").write_text(
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl\n"
        "def pigeon_add_settings(settings):\n"
        "    settings.add('mine.level', int, 1, 'how much')\n"
    )
    write_config(config_dir, "[mine]\nlevel = 5\n")
    app = App.create(load_entrypoints=False)
    assert app.config.get("mine.level") == 5


def test_configure_hook_adjusts_settings_in_code(config_dir: Path) -> None:
    (config_dir / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n"
        "@hookimpl\n"
        "def pigeon_configure(config):\n"
        "    config.settings['render.width'] = 60\n"
    )
    app = App.create(load_entrypoints=False)
    assert app.config.get("render.width") == 60
