"""``pigeon sync`` and ``pigeon watch`` download POP3 accounts, with the arrival events IMAP fires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.maildir import Maildir

pytestmark = pytest.mark.dovecot

RECORDER = """
import json, os
from pigeon.hooks import hookimpl

@hookimpl
def pigeon_message_arrived(message, ref):
    with open(os.environ["ARRIVALS"], "a") as f:
        f.write(json.dumps([str(message["Subject"]), ref.folder, ref.account]) + "\\n")
"""

RULES = """
[[rules]]
name = "github"
match = "from:notifications@github.com"
actions = ["move GitHub"]
"""


def message(sender: str, subject: str, n: int) -> bytes:
    return (f"From: {sender}\nTo: bob@example.org\nSubject: {subject}\nMessage-ID: <pop{n}@example.com>\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\n\nbody\n").encode()


def setup(config_dir: Path, user, maildir: Path, tmp_path: Path) -> dict[str, str]:  # noqa: ANN001
    (config_dir / "config.toml").write_text(
        f'[accounts.home]\naddress = "{user.name}@example.org"\nmaildir = "{maildir}"\n'
        f'{user.toml("pop3", "tls")}\npassword_command = ["printf", "%s", "{user.password}"]\n' + RULES
    )
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "recorder.py").write_text(RECORDER)
    return {"ARRIVALS": str(tmp_path / "arrivals.jsonl")}


def arrivals(env: dict[str, str]) -> list[list[str]]:
    path = Path(env["ARRIVALS"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sync_downloads_pop3_once_with_filters_and_arrival_events(mail_user, config_dir, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    env = setup(config_dir, mail_user, maildir, tmp_path)
    mail_user.deliver(message("Old <old@example.com>", "already there", 0))
    p = run_pigeon("sync", env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    assert "first download of 1 messages: imported" in p.stderr.decode()
    assert arrivals(env) == []  # the first download imports, like an IMAP folder's first sync

    mail_user.deliver(message("GitHub <notifications@github.com>", "PR #9", 1))
    mail_user.deliver(message("Alice <alice@example.com>", "lunch", 2))
    p = run_pigeon("sync", "home", env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("2 down")
    assert sorted(arrivals(env)) == [["PR #9", "GitHub", "home"], ["lunch", "INBOX", "home"]]
    store = Maildir(maildir)
    assert [b"PR #9" in store.read(e) for e in store.list("GitHub")] == [True]
    assert len(store.list("INBOX")) == 2
    assert "rule:github: moved INBOX -> GitHub" in run_pigeon("why", "<pop1@example.com>").stdout.decode()

    p = run_pigeon("sync", "--json", env=env)  # nothing new: no duplicate, no event
    assert json.loads(p.stdout)["home"]["downloaded"] == 0
    assert len(arrivals(env)) == 2 and len(mail_user.fetch_all("INBOX")) == 3  # left on the server


def test_watch_downloads_pop3(mail_user, config_dir, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    env = setup(config_dir, mail_user, maildir, tmp_path)
    assert run_pigeon("sync", env=env).returncode == 0  # the (empty) first download
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--interval", "0.5"],
                            env=dict(os.environ) | env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        mail_user.deliver(message("Alice <alice@example.com>", "while watching", 3))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not arrivals(env):
            time.sleep(0.2)
        assert arrivals(env) == [["while watching", "INBOX", "home"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
