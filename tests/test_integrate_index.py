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
