"""``pigeon sync`` as a user runs it: config.toml, password_command, the real transport."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import run_pigeon
from sync_support import assert_agree, find_local, message

pytestmark = pytest.mark.dovecot


def write_config(config_dir: Path, user, maildir: Path, name: str = "work", extra: str = "") -> None:  # noqa: ANN001
    (config_dir / "config.toml").write_text(
        f"""{extra}
[accounts.{name}]
address = "{user.name}@example.org"
maildir = "{maildir}"
{user.toml("imap", "tls")}
password_command = ["printf", "%s", "{user.password}"]
"""
    )


def state_file(isolated_env, name: str = "work") -> Path:  # noqa: ANN001
    return isolated_env["state"] / "sync" / f"{name}.sqlite"


def test_sync_command_both_ways_with_summary(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    for i in range(3):
        mail_user.append(message(i), "INBOX")
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("3 down, 0 up")
    assert_agree(mail_user, maildir, state_file(isolated_env))
    find_local(maildir, "INBOX", b"Hello 1.").unlink()
    p = run_pigeon("sync", "--dry-run")
    assert p.returncode == 0
    out = p.stdout.decode()
    assert "work: INBOX: delete UID 2 on the server" in out and "would do: 0 down" in out
    assert len(mail_user.fetch_all("INBOX")) == 3
    p = run_pigeon("sync", "work", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert data["work"]["deleted_remote"] == 1 and data["work"]["failed"] == {}
    assert_agree(mail_user, maildir, state_file(isolated_env))
    p = run_pigeon("sync", "--json")
    assert json.loads(p.stdout)["work"]["skipped_unchanged"] >= 4  # INBOX, Sent, Drafts, Trash untouched


def test_guard_names_the_folder_and_exit_1(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    for i in range(21):
        mail_user.append(message(i), "INBOX")
    mail_user.append(message(100), "Sent")
    assert run_pigeon("sync").returncode == 0
    for sub in ("cur", "new"):
        for n in os.listdir(maildir / "INBOX" / sub):
            os.unlink(maildir / "INBOX" / sub / n)
    mail_user.append(message(101), "Sent")  # other folders still sync
    p = run_pigeon("sync")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "pigeon: sync work: INBOX: would delete 21 of 21 messages on the server" in err and "--force" in err
    assert len(mail_user.fetch_all("INBOX")) == 21
    assert len(list((maildir / "Sent" / "new").iterdir())) == 2
    p = run_pigeon("sync", "--force")
    assert p.returncode == 0, p.stderr.decode()
    assert mail_user.fetch_all("INBOX") == {}
    assert_agree(mail_user, maildir, state_file(isolated_env))


def test_unknown_account_and_no_server(config_dir, tmp_path) -> None:  # noqa: ANN001
    (config_dir / "config.toml").write_text(f'[accounts.local]\naddress = "a@b.c"\nmaildir = "{tmp_path / "M"}"\n')
    p = run_pigeon("sync", "nope")
    assert p.returncode == 1 and "no account named 'nope'" in p.stderr.decode()
    p = run_pigeon("sync")
    assert p.returncode == 1 and "no account with an IMAP or POP3 server" in p.stderr.decode()


def test_unreachable_server_fails_cleanly(config_dir, tmp_path) -> None:  # noqa: ANN001
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    (config_dir / "config.toml").write_text(
        f'[accounts.w]\naddress = "a@b.c"\nmaildir = "{tmp_path / "M"}"\n'
        f'imap = {{ host = "127.0.0.1", port = {port}, security = "tls", username = "a", timeout = 3 }}\n'
        'password_command = ["printf", "x"]\n'
    )
    p = run_pigeon("sync")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "pigeon: sync w:" in err and "Traceback" not in err


PLUGIN = '''
import json, os
from pigeon.hooks import hookimpl
from pigeon.hooks.types import Verdict

LOG = os.environ["SYNC_EVENTS_LOG"]


def _w(*a):
    with open(LOG, "a") as fh:
        fh.write(json.dumps(a) + "\\n")


@hookimpl
def pigeon_sync_started(account):
    _w("started", account)


@hookimpl
def pigeon_sync_finished(account, report):
    _w("finished", account, report.downloaded)


@hookimpl
def pigeon_filter_message(message, ref):
    if "urgent" in str(message["Subject"]):
        return Verdict(flags_add="F", source="test")


@hookimpl
def pigeon_message_arrived(message, ref):
    _w("arrived", str(message["Subject"]), ref.folder, ref.path.name)
'''


def test_events_and_filter_verdicts(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "events.py").write_text(PLUGIN)
    log = tmp_path / "events.log"
    env = {"SYNC_EVENTS_LOG": str(log)}
    mail_user.append(message(1), "INBOX")
    assert run_pigeon("sync", env=env).returncode == 0
    events = [json.loads(x) for x in log.read_text().splitlines()]
    assert events == [["started", "work"], ["finished", "work", 1]]  # a first sync imports: no arrivals
    mail_user.append(message(2, subject="urgent: read me"), "INBOX")
    mail_user.append(message(3), "INBOX")
    log.unlink()
    assert run_pigeon("sync", env=env).returncode == 0
    events = [json.loads(x) for x in log.read_text().splitlines()]
    arrived = [e for e in events if e[0] == "arrived"]
    assert sorted(e[1] for e in arrived) == ["message 3", "urgent: read me"] and all(e[2] == "INBOX" for e in arrived)
    assert events[0] == ["started", "work"] and events[-1] == ["finished", "work", 2]
    flagged = find_local(maildir, "INBOX", b"Hello 2.")
    assert flagged.name.endswith(":2,F")  # the filter's verdict, applied locally ...
    assert run_pigeon("sync", env=env).returncode == 0  # ... and carried to the server
    assert_agree(mail_user, maildir, state_file(isolated_env))


def test_non_ascii_folder_names_both_ways(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1), "Entwürfe")  # modified UTF-7 on the wire
    from sync_support import put_local

    (maildir / "Réunions" / "cur").mkdir(parents=True)
    for sub in ("new", "tmp"):
        (maildir / "Réunions" / sub).mkdir()
    put_local(maildir, "Réunions", message(2))
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert (maildir / "Entwürfe" / "new").is_dir()
    server = assert_agree(mail_user, maildir, state_file(isolated_env))
    assert len(server["Réunions"]) == 1 and len(server["Entwürfe"]) == 1


def test_a_local_error_in_one_folder_leaves_the_others_syncing(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """A folder whose files cannot be written (its tmp/ points where no file can be made: the
    error a half-made folder gave) fails on its own: the cause is named, exit 1, not taken for
    a lost connection, and every other folder still syncs, then and later."""
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1), "INBOX")
    mail_user.append(message(2), "Archive")
    mail_user.append(message(3), "Sent")
    (maildir / "Archive" / "cur").mkdir(parents=True)
    (maildir / "Archive" / "new").mkdir()
    (maildir / "Archive" / "tmp").symlink_to("/proc/self")  # a directory that takes no file
    p = run_pigeon("sync")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "Archive:" in err and "tmp" in err, err
    assert "(connection)" not in err
    assert len(list((maildir / "INBOX" / "new").iterdir())) == 1  # synced after the failed Archive
    assert len(list((maildir / "Sent" / "new").iterdir())) == 1
    (maildir / "Archive" / "tmp").unlink()
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert_agree(mail_user, maildir, state_file(isolated_env))


REDIRECT_PLUGIN = '''
import dataclasses, os
from pigeon.hooks import hookimpl


@hookimpl
def pigeon_configure(config):
    acct = config.accounts["work"]
    port = int(os.environ["REAL_IMAP_PORT"])
    config.accounts["work"] = dataclasses.replace(acct, imap=dataclasses.replace(acct.imap, port=port))
'''


def test_a_plugin_that_changes_the_server_is_obeyed(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """``pigeon sync`` starts connecting to the server config.toml names before its plugins
    load; when a plugin then changes the account's server, that is the server it syncs with."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    maildir = tmp_path / "Mail"
    real = mail_user.server_config("imap", "tls").port
    write_config(config_dir, mail_user, maildir)
    text = (config_dir / "config.toml").read_text().replace(f"port = {real},", f"port = {closed},")
    (config_dir / "config.toml").write_text(text)
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "redirect.py").write_text(REDIRECT_PLUGIN)
    mail_user.append(message(1), "INBOX")
    p = run_pigeon("sync", env={"REAL_IMAP_PORT": str(real)})
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    assert_agree(mail_user, maildir, state_file(isolated_env))


def test_a_bad_config_is_reported_at_once_while_the_server_is_silent(config_dir, tmp_path) -> None:  # noqa: ANN001
    """The early connection never holds up the command: a config error elsewhere in the file
    is reported (file, line, key) without waiting for a server that accepts and says nothing."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        port = silent.getsockname()[1]
        (config_dir / "config.toml").write_text(
            f'[accounts.w]\naddress = "a@b.c"\nmaildir = "{tmp_path / "M"}"\n'
            f'imap = {{ host = "127.0.0.1", port = {port}, security = "tls", username = "a", timeout = 60 }}\n'
            'password_command = ["printf", "x"]\n\n[sync]\nguard_shares = 0.5\n'
        )
        p = run_pigeon("sync", timeout=30)
        assert p.returncode == 1
        err = p.stderr.decode()
        assert "config.toml:8: sync.guard_shares: unknown setting" in err, err
    finally:
        silent.close()


def test_an_early_connection_hands_over_its_folder_listing_or_its_failure(mail_user, config_dir, isolated_env, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The connecting thread also asks for the folders; the sync uses that answer, and a
    failure there is reported by the sync as a failure of the connection, as if asked then."""
    from pigeon.core.app import App
    from pigeon.core.sync import sync_account
    from pigeon.core.sync_connect import Opening
    from pigeon.core.sync_remote import Remote

    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1), "INBOX")
    app = App.create(config_dir)
    acct = app.account("work")
    opening = Opening(acct.imap, name="work", list_folders=True)
    opening.ready(app, acct)
    res = sync_account(app, acct, opening=opening)
    assert not res.failed and res.report.downloaded == 1
    assert opening.listed is not None and "INBOX" in opening.listed.folders

    def refused(self):  # noqa: ANN001, ANN202
        raise ConnectionResetError("cut while listing")

    monkeypatch.setattr(Remote, "enable_and_list", refused)
    opening = Opening(acct.imap, name="work", list_folders=True)
    opening.ready(app, acct)
    res = sync_account(app, acct, opening=opening)
    assert res.failed == {"(connection)": "cut while listing"}


def test_two_accounts_connect_at_once_and_each_syncs_its_own(dovecot, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """Every account's connection starts while the command loads; each account's mail goes
    to its own Maildir and state, and naming one account syncs only that one."""
    alice, bob = dovecot.add_user(), dovecot.add_user()
    write_config(config_dir, alice, tmp_path / "A", name="alice")
    text = (config_dir / "config.toml").read_text()
    write_config(config_dir, bob, tmp_path / "B", name="bob")
    (config_dir / "config.toml").write_text(text + (config_dir / "config.toml").read_text())
    alice.append(message(1), "INBOX")
    bob.append(message(2), "INBOX")
    bob.append(message(3), "Archive")
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("3 down")
    assert_agree(alice, tmp_path / "A", state_file(isolated_env, "alice"))
    assert_agree(bob, tmp_path / "B", state_file(isolated_env, "bob"))
    bob.append(message(4), "INBOX")
    alice.append(message(5), "INBOX")
    p = run_pigeon("sync", "bob")
    assert p.returncode == 0 and p.stdout.decode().startswith("1 down"), p.stdout.decode()
    assert_agree(bob, tmp_path / "B", state_file(isolated_env, "bob"))
    assert not any(b"Hello 5." in f.read_bytes() for f in (tmp_path / "A").rglob("*") if f.is_file())


def _counting_password_command(tmp_path: Path, password: str) -> tuple[str, Path]:
    """A password_command that notes each run in a file: (its TOML value, that file)."""
    runs = tmp_path / "password-runs"
    script = tmp_path / "password.sh"
    script.write_text(f"#!/bin/sh\necho run >> '{runs}'\nprintf '%s' '{password}'\n")
    script.chmod(0o755)
    return f'["{script}"]', runs


def test_the_password_command_runs_once_while_connecting(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """With nothing but the built-in credentials plugin to answer, the password command runs
    while the connection is made (before the plugins load), once per sync."""
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    command, runs = _counting_password_command(tmp_path, mail_user.password)
    text = (config_dir / "config.toml").read_text()
    (config_dir / "config.toml").write_text(text.replace(f'["printf", "%s", "{mail_user.password}"]', command))
    mail_user.append(message(1), "INBOX")
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    assert runs.read_text().splitlines() == ["run"]
    assert_agree(mail_user, maildir, state_file(isolated_env))


CREDENTIALS_PLUGIN = '''
from pigeon.hooks import hookimpl
from pigeon.hooks.types import Credentials

@hookimpl(tryfirst=True)
def pigeon_credentials(account, purpose, username):
    return Credentials(username, "PASSWORD")
'''


def test_a_plugin_that_gives_credentials_is_asked_instead_of_the_password_command(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """A user's plugin that answers ``pigeon_credentials`` comes first, as the hook orders it:
    the login waits for the plugins, and the password command never runs."""
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    command, runs = _counting_password_command(tmp_path, "wrong")
    text = (config_dir / "config.toml").read_text()
    (config_dir / "config.toml").write_text(text.replace(f'["printf", "%s", "{mail_user.password}"]', command))
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "secrets.py").write_text(CREDENTIALS_PLUGIN.replace("PASSWORD", mail_user.password))
    mail_user.append(message(1), "INBOX")
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    assert not runs.exists()


def test_with_the_credentials_plugin_disabled_no_password_is_sent(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """``[plugins] disabled = ["credentials"]``: nothing answers for the password, so the sync
    says so; the password command is not run behind the user's back."""
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir, extra='[plugins]\ndisabled = ["credentials"]\n')
    command, runs = _counting_password_command(tmp_path, mail_user.password)
    text = (config_dir / "config.toml").read_text()
    (config_dir / "config.toml").write_text(text.replace(f'["printf", "%s", "{mail_user.password}"]', command))
    mail_user.append(message(1), "INBOX")
    p = run_pigeon("sync")
    assert p.returncode == 1
    assert "no credentials for account work" in p.stderr.decode()
    assert not runs.exists()
    assert not maildir.exists() or not any(maildir.rglob("*,U=*"))


def _synced_in_two_folders(user, config_dir: Path, maildir: Path):  # noqa: ANN001, ANN202
    """An account synced once with mail in INBOX and Archive: (App, its account)."""
    from pigeon.core.app import App

    write_config(config_dir, user, maildir)
    for i in range(2):
        user.append(message(i), "INBOX")
        user.append(message(10 + i), "Archive")
    assert run_pigeon("sync").returncode == 0
    app = App.create(config_dir)
    return app, app.account("work")


def _opening_reading_ahead(app, acct):  # noqa: ANN001, ANN202
    """An Opening for ``acct`` that reads the changed folders ahead, as ``open_early`` sets it up."""
    import threading

    from pigeon.core.sync_connect import Opening, _readers_ahead

    prepared = threading.Event()
    opening = Opening(acct.imap, name="work", list_folders=True, prepared=prepared)
    opening.read_ahead(_readers_ahead({}, [acct])["work"])
    prepared.set()
    opening.ready(app, acct)
    return opening


def _changes_in_two_folders(user, n: int) -> None:  # noqa: ANN001
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags(c.search("ALL")[:1], ["\\Flagged"])
    c.logout()
    user.append(message(n), "INBOX")
    user.append(message(n + 1), "Archive")


def test_changed_folders_are_read_ahead_while_the_command_loads(mail_user, config_dir, isolated_env, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The connecting thread reads the folders the server changed (their QRESYNC answers and new
    bodies, written to tmp/) as soon as they are listed; the sync takes those answers when its
    own grounds are the same, and asks again, leaving nothing in tmp/, when they are not."""
    import pigeon.core.sync_gather as gather
    from pigeon.core.sync import sync_account

    maildir = tmp_path / "Mail"
    app, acct = _synced_in_two_folders(mail_user, config_dir, maildir)
    asked: list[int] = []
    real = gather.run_prefetch
    monkeypatch.setattr(gather, "run_prefetch", lambda *a: asked.append(1) or real(*a))

    def sync_reading_ahead() -> object:
        return sync_account(app, acct, opening=_opening_reading_ahead(app, acct))

    _changes_in_two_folders(mail_user, 100)
    res = sync_reading_ahead()
    assert not res.failed and res.report.downloaded == 2 and res.report.flags_down == 1
    assert asked == [1]  # read once, on the connecting thread; the sync took those answers
    assert_agree(mail_user, maildir, state_file(isolated_env))

    asked.clear()
    _changes_in_two_folders(mail_user, 200)
    calls = iter(range(1000))
    monkeypatch.setattr(gather, "grounds", lambda todo: (next(calls), tuple(t[0] for t in todo)))  # never the same twice
    res = sync_reading_ahead()
    assert not res.failed and res.report.downloaded == 2
    assert asked == [1, 1]  # read ahead, found on other grounds, read again by the sync
    assert_agree(mail_user, maildir, state_file(isolated_env))
    assert [p for f in ("INBOX", "Archive") for p in (maildir / f / "tmp").iterdir()] == []


def test_what_an_unused_connection_read_ahead_leaves_nothing_behind(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    """A connection dropped unused (a plugin changed the account's server) takes what it read
    ahead with it: no file is left in tmp/."""
    import time

    maildir = tmp_path / "Mail"
    app, acct = _synced_in_two_folders(mail_user, config_dir, maildir)
    _changes_in_two_folders(mail_user, 100)
    opening = _opening_reading_ahead(app, acct)
    deadline = time.monotonic() + 10
    while (opening.listed is None or opening.listed.ahead is None) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert opening.listed is not None and opening.listed.ahead is not None
    assert any((maildir / f / "tmp").iterdir() for f in ("INBOX", "Archive"))  # the new bodies, written ahead
    opening.discard(wait=5)
    assert [p for f in ("INBOX", "Archive") for p in (maildir / f / "tmp").iterdir()] == []
