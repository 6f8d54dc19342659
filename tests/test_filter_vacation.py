"""The vacation responder: one reply per sender and period, never to lists, bulk or robots."""

from __future__ import annotations

from pathlib import Path

import pytest
from assess_helpers import parse
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.maildir import Maildir
from pigeon.hooks.types import MessageRef

BASE = "From: Alice <alice@example.com>\nTo: Bob <bob@ourcorp.com>\nSubject: lunch?\nMessage-ID: <{n}@example.com>\n{extra}\nAre you free?\n"


@pytest.fixture
def app(config_dir: Path, tmp_path: Path) -> App:
    root = tmp_path / "mail"
    store = Maildir(root)
    for folder in ("INBOX", "Outbox", "Junk"):
        store.create_folder(folder)
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "bob@ourcorp.com"\nreal_name = "Bob"\nmaildir = "{root}"\n'
        '[vacation]\nenabled = true\ndays = 7\nbody = "Back on Monday.\\n"\n'
    )
    return App.create(config_dir, load_entrypoints=False)


def _arrive(app: App, raw: str) -> None:
    entry = app.store("work").add("INBOX", raw.encode(), subdir="new")
    app.pm.hook.pigeon_message_arrived(message=parse(raw), ref=MessageRef(entry.path, "INBOX", "work"))


def _outbox(app: App) -> list:
    store = app.store("work")
    return [parse(store.read(e)) for e in store.list("Outbox")]


def test_replies_once_per_sender(app: App) -> None:
    _arrive(app, BASE.format(n=1, extra=""))
    _arrive(app, BASE.format(n=2, extra=""))
    [reply] = _outbox(app)
    assert reply["To"] == "alice@example.com"
    assert reply["Subject"] == "Away: lunch?"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<1@example.com>"
    assert reply.get_content() == "Back on Monday.\n"


@pytest.mark.parametrize(
    "extra",
    [
        "List-Id: <dev.lists.example.org>",
        "Precedence: bulk",
        "Auto-Submitted: auto-generated",
        "Return-Path: <>",
        "X-Auto-Response-Suppress: All",
    ],
)
def test_never_answers_lists_bulk_or_automatic_mail(app: App, extra: str) -> None:
    _arrive(app, BASE.format(n=3, extra=extra + "\n"))
    assert _outbox(app) == []


@pytest.mark.parametrize(
    "headers",
    [
        "From: MAILER-DAEMON@example.com\nTo: bob@ourcorp.com\n",
        "From: noreply@shop.example\nTo: bob@ourcorp.com\n",
        "From: Alice <alice@example.com>\nTo: team@ourcorp.com\n",  # not addressed to Bob directly
        "From: Bob <bob@ourcorp.com>\nTo: bob@ourcorp.com\n",
    ],
)
def test_never_answers_robots_indirect_mail_or_yourself(app: App, headers: str) -> None:
    _arrive(app, f"{headers}Subject: x\nMessage-ID: <4@example.com>\n\nhi\n")
    assert _outbox(app) == []


def test_disabled_outside_the_dates(app: App, config_dir: Path) -> None:
    (config_dir / "config.toml").write_text((config_dir / "config.toml").read_text() + 'start = "2999-01-01"\n')
    app2 = App.create(config_dir, load_entrypoints=False)
    _arrive(app2, BASE.format(n=5, extra=""))
    assert _outbox(app2) == []


def test_suspicious_mail_gets_no_reply_and_undo_withdraws_a_reply(app: App) -> None:
    _arrive(app, "From: PayPal <service@paypaI.com>\nTo: bob@ourcorp.com\nSubject: x\nMessage-ID: <6@x>\n\nhi\n")
    assert _outbox(app) == []
    _arrive(app, BASE.format(n=7, extra=""))
    assert len(_outbox(app)) == 1
    why = run_pigeon("why", "<7@example.com>").stdout.decode()
    assert "vacation: queued a reply to alice@example.com in Outbox" in why
    res = run_pigeon("undo")
    assert res.returncode == 0, res.stderr
    assert _outbox(app) == []
