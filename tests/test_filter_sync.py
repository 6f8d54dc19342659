"""Rules and the spam filter on arrival through ``pigeon sync`` against the private Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.maildir import Maildir

pytestmark = pytest.mark.dovecot

RULES = """
[[rules]]
name = "github"
match = "from:notifications@github.com"
actions = ["tag +github -inbox", "move GitHub"]

[[rules]]
name = "boss"
match = "from:boss@ourcorp.com and subject:urgent"
actions = ["flag", "stop"]
"""


def _message(sender: str, subject: str, n: int) -> bytes:
    return (f"From: {sender}\nTo: bob@example.org\nSubject: {subject}\nMessage-ID: <sync{n}@example.com>\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\n\nbody\n").encode()


def test_rules_apply_on_sync_arrival_and_reach_the_server(mail_user, config_dir: Path, tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{maildir}"\n'
        f'{mail_user.toml("imap", "tls")}\npassword_command = ["printf", "%s", "{mail_user.password}"]\n' + RULES
    )
    mail_user.append(b"Subject: folder\n\nx\n", folder="GitHub")
    assert run_pigeon("sync").returncode == 0  # the first sync imports; arrivals start after it
    mail_user.append(_message("GitHub <notifications@github.com>", "PR #9", 1))
    mail_user.append(_message("Boss <boss@ourcorp.com>", "urgent: budget", 2))
    mail_user.append(_message("Alice <alice@example.com>", "lunch", 3))
    res = run_pigeon("sync")
    assert res.returncode == 0, res.stderr.decode()

    store = Maildir(maildir)
    assert sorted(e.key for e in store.list("GitHub") if b"PR #9" in store.read(e)) != []
    inbox = {store.read(e).split(b"Subject: ")[1].split(b"\n")[0]: e.flags for e in store.list("INBOX")}
    assert set(inbox) == {b"urgent: budget", b"lunch"}
    assert "F" in inbox[b"urgent: budget"]
    why = run_pigeon("why", "<sync1@example.com>").stdout.decode()
    assert "rule:github: moved INBOX -> GitHub" in why
    assert "github" in run_pigeon("search", "--json", "tag:github").stdout.decode()

    assert run_pigeon("sync").returncode == 0  # the local move and flag go to the server
    assert any(b"PR #9" in m for m in mail_user.fetch_all("GitHub").values())
    assert not any(b"PR #9" in m for m in mail_user.fetch_all("INBOX").values())
