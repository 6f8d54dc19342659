"""The search index kept current by the automation events: ``pigeon sync`` (and the events the
Maildir watcher's bridge fires) update an existing index, so ``pigeon search`` needs no
``pigeon index`` in between."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_pigeon
from sync_support import message

pytestmark = pytest.mark.dovecot


def write_config(config_dir: Path, user, maildir: Path) -> None:  # noqa: ANN001
    (config_dir / "config.toml").write_text(
        f"""
[accounts.work]
address = "{user.name}@example.org"
maildir = "{maildir}"
{user.toml("imap", "tls")}
password_command = ["printf", "%s", "{user.password}"]
"""
    )


def search(*args: str) -> list[dict]:
    p = run_pigeon("search", "--json", *args)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


def subjects(query: str) -> list[str]:
    return sorted(m["subject"] for m in search(query))


def test_sync_keeps_an_existing_index_current(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1, "first words"), "INBOX")
    mail_user.append(message(2, "second words"), "INBOX")
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    # no index yet: a sync makes none behind the user's back, and says nothing about one
    assert not (isolated_env["state"] / "index.sqlite").exists()
    assert run_pigeon("index").returncode == 0
    assert subjects("words") == ["first words", "second words"]

    # new mail, a flag changed and a message deleted on the server; then only `pigeon sync`
    mail_user.append(message(3, "third words"), "INBOX")
    client = mail_user.imap()
    client.select_folder("INBOX")
    uids = {m[b"ENVELOPE"].subject.decode(): uid for uid, m in client.fetch(client.search("ALL"), ["ENVELOPE"]).items()}
    client.add_flags([uids["first words"]], [b"\\Flagged"])
    client.delete_messages([uids["second words"]])
    client.expunge()
    client.logout()
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().count("\n") == 1, p.stdout.decode()  # the summary line only

    assert subjects("words") == ["first words", "third words"]
    assert subjects("tag:flagged") == ["first words"]
    assert subjects("tag:inbox and tag:unread") == ["first words", "third words"]


def test_watch_keeps_the_index_current(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    import os
    import signal
    import subprocess
    import sys

    from helpers import REPO
    from sync_support import find_local, set_local_flags
    from test_sync_watch import wait_for

    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1, "first words"), "INBOX")
    assert run_pigeon("sync").returncode == 0
    assert run_pigeon("index").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--push-delay", "0.3", "--interval", "600"],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        log = isolated_env["state"] / "logs" / "watch.log"
        wait_for(lambda: log.exists() and "watching INBOX" in log.read_text(), 20, "IDLE started")

        # appended on the server: findable within seconds, no `pigeon index`
        mail_user.append(message(2, "second words"), "INBOX")
        wait_for(lambda: subjects("words") == ["first words", "second words"], 15, "server mail in search")

        # a flag set by another program: its tag follows (the watcher's flags event)
        set_local_flags(find_local(maildir, "INBOX", b"Hello 2."), "FS")
        wait_for(lambda: subjects("tag:flagged") == ["second words"], 10, "a local flag as a tag")

        # a file deleted locally: gone from search
        os.unlink(find_local(maildir, "INBOX", b"Hello 1."))
        wait_for(lambda: subjects("words") == ["second words"], 10, "a local deletion in search")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError("pigeon watch did not stop on SIGTERM") from None
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


def test_watcher_events_reach_the_index_without_a_sync(config_dir, tmp_path) -> None:  # noqa: ANN001
    """The watch service's Maildir callback alone (no server, no sync): another program's flag
    change, move and deletion show in search."""
    import time

    from pigeon.core.app import App
    from pigeon.core.index import open_index
    from pigeon.core.sync_watch import WatchService
    from pigeon.core.watch import MaildirWatcher

    maildir = tmp_path / "Mail"
    (config_dir / "config.toml").write_text(f'[accounts.home]\naddress = "me@example.org"\nmaildir = "{maildir}"\n')
    app = App.create(config_dir, load_entrypoints=False)
    store = app.store("home")
    one = store.add("INBOX", message(1, "watched one"))
    two = store.add("INBOX", message(2, "watched two"))
    store.create_folder("Archive")
    with open_index(app) as index:
        index.update()
    app.startup()
    account = WatchService(app, [app.account("home")]).accounts[0]
    watcher = MaildirWatcher(store, account._watch_callback())
    watcher.start()

    def found(query: str) -> list[str]:
        with open_index(app) as index:
            return sorted(m.subject for m in index.search(query))

    def within(query: str, want: list[str]) -> None:
        end = time.monotonic() + 10
        while found(query) != want:
            assert time.monotonic() < end, (query, found(query))
            time.sleep(0.1)

    try:
        store.set_flags(one, "F")
        within("tag:flagged", ["watched one"])
        store.move(two, "Archive")
        within("folder:Archive", ["watched two"])
        store.delete(store.get("INBOX", one.key))
        within("watched", ["watched two"])
    finally:
        watcher.stop()
        app.shutdown()


def server_keywords(user, subject: str) -> set[str]:  # noqa: ANN001
    c = user.imap()
    try:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["HEADER", "Subject", subject])
        flags = c.get_flags(uids)[uids[0]]
        return {f.decode() if isinstance(f, bytes) else f for f in flags if not (f.decode() if isinstance(f, bytes) else f).startswith("\\")}
    finally:
        c.logout()


def test_tags_and_keywords_travel_both_ways(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1, "alpha"), "INBOX")
    mail_user.append(message(2, "beta"), "INBOX", flags=["$Junk", "$MDNSent"])
    assert run_pigeon("sync").returncode == 0
    assert run_pigeon("index").returncode == 0
    assert run_pigeon("sync").returncode == 0  # the index now exists: the keywords come down
    assert subjects("tag:spam") == ["beta"]
    assert subjects("tag:$MDNSent") == ["beta"]

    # local tags go up: a plain tag as itself, spam as $Junk; inbox and unread stay local
    mid = search("alpha")[0]["id"]
    assert run_pigeon("tag", "+work", "+spam", "--", f"id:{mid}").returncode == 0
    assert run_pigeon("tag", "-spam", "--", "subject:beta").returncode == 0
    assert run_pigeon("sync").returncode == 0, "sync"
    assert server_keywords(mail_user, "alpha") == {"work", "$Junk"}
    assert server_keywords(mail_user, "beta") == {"$MDNSent"}  # $Junk removed, the other kept

    # keywords set and removed on the server come down as tags; local tags on other names stay
    assert run_pigeon("tag", "+later", "--", "subject:beta").returncode == 0
    c = mail_user.imap()
    c.select_folder("INBOX")
    uids = {m[b"ENVELOPE"].subject.decode(): u for u, m in c.fetch(c.search("ALL"), ["ENVELOPE"]).items()}
    c.add_flags([uids["beta"]], [b"home"])
    c.remove_flags([uids["alpha"]], [b"work"])
    c.add_flags([uids["alpha"]], [b"$NotJunk"])
    c.remove_flags([uids["alpha"]], [b"$Junk"])
    c.logout()
    assert run_pigeon("sync").returncode == 0
    tags = {m["subject"]: set(m["tags"]) for m in search("*")}
    assert "home" in tags["beta"] and "later" in tags["beta"]
    assert not {"work", "spam", "$NotJunk"} & tags["alpha"]
    assert server_keywords(mail_user, "beta") == {"$MDNSent", "home", "later"}
    assert server_keywords(mail_user, "alpha") == {"$NotJunk"}


def test_a_filter_tag_survives_arrival_and_becomes_a_keyword(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    with open(config_dir / "config.toml", "a") as fh:
        fh.write('\n[[rules]]\nname = "lists"\nmatch = "subject:digest"\nactions = ["tag +lists"]\n')
    mail_user.append(message(1, "hello"), "INBOX")
    assert run_pigeon("sync").returncode == 0  # the first sync imports; arrivals start after it
    assert run_pigeon("index").returncode == 0
    mail_user.append(message(2, "weekly digest"), "INBOX")
    assert run_pigeon("sync").returncode == 0
    assert subjects("tag:lists") == ["weekly digest"]
    assert run_pigeon("sync").returncode == 0
    assert server_keywords(mail_user, "digest") == {"lists"}
