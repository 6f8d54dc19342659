"""The shipped user-config/ examples: loaded into a temporary config directory, each one does
what its comment says; a broken init.py is reported by name and the rest keeps working."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import REPO, run_pigeon
from pigeon.core.app import App
from pigeon.core.commands import CommandContext
from pigeon.core.demo import ensure_demo
from pigeon.core.events import watch_store
from pigeon.core.maildir import Maildir
from pigeon.hooks.types import Banner, MessageRef, RenderContext, Verdict

USER_CONFIG = REPO / "user-config"


@pytest.fixture
def user_config(config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """user-config/ copied into the test's config directory; ~ is a temporary home."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    shutil.copytree(USER_CONFIG, config_dir, dirs_exist_ok=True)
    (config_dir / "config.toml").chmod(0o600)
    return config_dir


@pytest.fixture
def app(user_config: Path) -> App:
    return App.create(load_entrypoints=False)


@pytest.fixture(scope="module")
def demo_messages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EmailMessage]:
    """The demo mailbox's messages by Message-ID (a newsletter, a list thread, a phish, ...)."""
    store = ensure_demo(tmp_path_factory.mktemp("demo") / "demo")
    out = {}
    for folder in store.folders():
        for e in store.list(folder):
            msg = email.message_from_bytes(store.read(e), policy=email.policy.default)
            out[msg["Message-ID"].strip("<>").split("@")[0]] = msg
    return out


def msg(**headers: str) -> EmailMessage:
    m = EmailMessage()
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content("Hello.\n")
    return m


def test_everything_loads_without_errors(app: App) -> None:
    assert app.pm.errors == []
    user = {n for n, i in app.pm.infos.items() if i.origin == "user"}
    assert user == {"user.newsletters", "user.vip", "user.rot13", "user.payments", "init"}
    # config.toml: the core settings and the plugins' own settings it sets
    assert app.config.get("default_account") == "personal"
    assert set(app.config.accounts) == {"personal", "lists"}
    assert app.account().imap is not None and app.account().imap.security == "tls"
    assert app.account("lists").imap is None
    assert app.config.get("newsletters.lists") == ["weekly.news.example.com"]
    # init.py's pigeon_configure: List-Id joins the headers shown
    assert app.config.get("render.show_headers")[-1] == "List-Id"


def test_config_toml_documents_every_core_setting_and_account_key() -> None:
    from pigeon.core.config import ACCOUNT_KEYS, SERVER_KEYS
    from pigeon.core.pluginmanager import make_plugin_manager
    from pigeon.hooks.types import SettingsRegistry

    text = (USER_CONFIG / "config.toml").read_text()
    registry = SettingsRegistry()
    pm = make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)
    pm.hook.pigeon_add_settings.call_historic(kwargs={"settings": registry})
    for setting in registry:
        assert setting.name.rsplit(".", 1)[-1] in text, f"{setting.name} is not documented"
    import re

    for key in ACCOUNT_KEYS | SERVER_KEYS:
        assert re.search(rf"(?m)^#   (\w+, )*{key}\b", text), f"account/server key {key} is not documented"


def test_newsletters_plugin_tags_by_list_id(app: App, demo_messages: dict[str, EmailMessage]) -> None:
    def verdicts(m: EmailMessage) -> list[Verdict]:
        ref = MessageRef(path=Path("/x"), folder="INBOX", account="personal")
        return [v for v in app.pm.hook.pigeon_filter_message(message=m, ref=ref) if v.source == "newsletters"]

    # a newsletter named in [newsletters] lists
    (v,) = verdicts(demo_messages["weekly-41"])
    assert v.add_tags == ["newsletter", "list/weekly.news.example.com"]
    # a discussion list (it has List-Post): only the list tag
    (v,) = verdicts(demo_messages["reload-1"])
    assert v.add_tags == ["list/pigeon-dev.lists.example.org"]
    # an announce-only list not named in config.toml is a newsletter too
    announce = msg(From="shop@example.com", Subject="Sale", List_Id="Deals <deals.example.com>", List_Unsubscribe="<mailto:u@example.com>")
    assert verdicts(announce)[0].add_tags == ["newsletter", "list/deals.example.com"]
    # personal mail: no verdict
    assert verdicts(demo_messages["hike-1"]) == []


def test_vip_plugin_adds_a_banner(app: App, demo_messages: dict[str, EmailMessage]) -> None:
    def banners(m: EmailMessage) -> list[Banner]:
        return [b for bs in app.pm.hook.pigeon_message_banners(message=m, ctx=RenderContext()) if bs for b in bs if b.source == "vip"]

    (b,) = banners(demo_messages["hike-1"])  # from Alice, who is in [vip] senders
    assert b.text == "VIP: Alice Martin" and b.severity == "info"
    assert banners(demo_messages["hike-2"]) == []  # Bob is not
    # naming a VIP's address in the display name is not enough
    assert banners(msg(From='"alice@example.net" <alice@evil.example>')) == []
    assert banners(msg(From="MUM@Example.NET")) != []


def test_rot13_command(app: App, tmp_path: Path) -> None:
    out: list[str] = []
    ctx = CommandContext(app=app, output=out.append)
    app.commands.run("rot13", ctx, "Hello,", "world")
    assert out == ["Uryyb, jbeyq"]
    path = tmp_path / "m.eml"
    path.write_bytes(msg(From="a@b.c", Subject="spoiler").as_bytes())
    out.clear()
    app.commands.run("rot13", CommandContext(app=app, output=out.append, message=MessageRef(path=path)))
    assert out == ["Uryyb.\n"]
    from pigeon.core.errors import CommandError

    with pytest.raises(CommandError, match="give some text"):
        app.commands.run("rot13", CommandContext(app=app, output=out.append))


def test_init_adds_a_command_and_binds_a_key(app: App, tmp_path: Path) -> None:
    store = app.store("personal")  # ~/Mail/personal, ~ being the test's home
    assert store.root == tmp_path / "home" / "Mail" / "personal"
    store.add("INBOX", b"Subject: a\r\n\r\nx\r\n")
    store.add("INBOX", b"Subject: b\r\n\r\nx\r\n", "S")
    store.add("Lists/Debian", b"Subject: c\r\n\r\nx\r\n")
    out: list[str] = []
    app.commands.run("count-unread", CommandContext(app=app, output=out.append, account="personal"))
    assert out == ["INBOX: 1 unread", "Lists/Debian: 1 unread"]
    assert "Print how many unread" in app.commands.get("count-unread").doc

    class Keymaps:  # what pigeon_register_keymaps is handed: bind(mode, keys, command)
        def __init__(self) -> None:
            self.bound: dict[tuple[str, str], str] = {}

        def bind(self, mode: str, keys: str, command: str) -> None:
            self.bound[(mode, keys)] = command

        def unbind(self, mode: str, keys: str) -> None:
            self.bound.pop((mode, keys), None)

    keymaps = Keymaps()
    app.pm.hook.pigeon_register_keymaps(keymaps=keymaps)
    assert keymaps.bound[("list", "C-c v")] == "count-unread"
    assert app.pm.errors == []


def test_init_logs_arrivals(app: App, isolated_env: dict[str, Path], tmp_path: Path) -> None:
    """init.py reacts to pigeon_message_arrived: a new message in the Maildir adds a log line."""
    store = Maildir(tmp_path / "watched")
    store.create_folder("INBOX")
    watcher = watch_store(app.pm, store, "personal")
    try:
        store.add("INBOX", b"From: Alice <alice@example.net>\r\nSubject: Tea at 4?\r\n\r\nx\r\n", subdir="new")
        log = isolated_env["state"] / "arrivals.log"
        deadline = time.monotonic() + 5
        while not (log.exists() and log.read_text()):
            assert time.monotonic() < deadline, "no arrival logged"
            time.sleep(0.05)
    finally:
        watcher.stop()
    (line,) = log.read_text().splitlines()
    assert line.split("\t")[1:] == ["INBOX", "Alice <alice@example.net>", "Tea at 4?"]


BROKEN = {
    "syntax": "from pigeon.hooks import hookimpl\ndef broken(:\n",
    "exception": "raise RuntimeError('init.py blew up on purpose')\n",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_init_is_reported_and_the_rest_works(kind: str, user_config: Path, demo_messages: dict[str, EmailMessage]) -> None:
    (user_config / "init.py").write_text(BROKEN[kind])
    app = App.create(load_entrypoints=False, report_to_stderr=False)
    (err,) = app.pm.errors
    assert err.plugin == "init" and "init.py" in err.message
    assert ("SyntaxError" if kind == "syntax" else "init.py blew up on purpose") in err.message
    # the other personal plugins still work
    assert "rot13" in app.commands and "count-unread" not in app.commands
    banners = app.pm.hook.pigeon_message_banners(message=demo_messages["hike-1"], ctx=RenderContext())
    assert any(b.text == "VIP: Alice Martin" for bs in banners if bs for b in bs)
    # and on the command line: exit 0, the broken file named
    res = run_pigeon("plugins")
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert "init  [user]" in out and "error: plugin 'init' failed" in out
    assert "user.vip  [user]" in out
    rows = {r["name"]: r for r in json.loads(run_pigeon("plugins", "--json").stdout)}
    assert rows["init"]["status"] == "broken" and rows["user.newsletters"]["status"] == "ok"


def test_an_init_hook_that_raises_is_isolated(user_config: Path) -> None:
    (user_config / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n\n@hookimpl\ndef pigeon_message_arrived(message, ref):\n    raise ValueError('oops')\n"
    )
    (user_config / "plugins" / "zz_recorder.py").write_text(
        "from pigeon.hooks import hookimpl\nSEEN = []\n\n@hookimpl\ndef pigeon_message_arrived(message, ref):\n    SEEN.append(ref.folder)\n"
    )
    app = App.create(load_entrypoints=False, report_to_stderr=False)
    app.pm.hook.pigeon_message_arrived(message=msg(Subject="x"), ref=MessageRef(path=Path("/x"), folder="INBOX"))
    assert sys.modules["pigeon_user.user_zz_recorder"].SEEN == ["INBOX"]
    (err,) = app.pm.errors
    assert (err.plugin, err.hook) == ("init", "pigeon_message_arrived") and "ValueError: oops" in err.message


def test_the_example_config_passes_doctor(user_config: Path) -> None:
    res = run_pigeon("doctor")
    assert res.returncode == 0, res.stdout + res.stderr


def test_payments_plugin_warns_in_the_assessment(app: App) -> None:
    outsider = msg(From="Supplier <billing@supplier.example>", To="robin@example.org", Subject="Updated bank details for invoice 42")
    insider = msg(From="Boss <boss@example.org>", To="robin@example.org", Subject="Updated bank details for invoice 42")
    found = [f for r in app.pm.hook.pigeon_assess_message(message=outsider, ref=None) for f in (r or [])]
    assert any(f.code == "payment-request" and f.severity == "warning" and f.source == "payments" for f in found)
    found = [f for r in app.pm.hook.pigeon_assess_message(message=insider, ref=None) for f in (r or [])]
    assert not [f for f in found if f.code == "payment-request"]
    banners = [b.text for r in app.pm.hook.pigeon_message_banners(message=outsider, ctx=RenderContext()) for b in (r or [])]
    assert banners[0] == "Be careful with this message:"
    assert any("confirm by phone" in b for b in banners)
