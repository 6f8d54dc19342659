"""Undo-send and send-later against aiosmtpd: a held message can be recalled and the SMTP server
never sees it; a send-later message leaves at its time, delivered by a `pigeon watch` started
after the command that scheduled it exited; the Outbox lock keeps two senders apart."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_pigeon
from journal_support import wait_for, write_config
from pigeon.core import actions, compose, outbox
from pigeon.core.app import App
from pigeon.core.journal import open_journal
from pigeon.core.maildir import Maildir

pytestmark = pytest.mark.dovecot


def draft(app: App, to: str, subject: str, body: str):  # noqa: ANN201
    return compose.new_message(app, app.account("work"), compose.Draft(to=[to], subject=subject, body=body))


def test_undo_send_recall_and_send_later_by_watch(mail_user, smtp_server, config_dir, isolated_env, tmp_path: Path) -> None:  # noqa: ANN001
    smtp_server.reset()
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, smtp_server, maildir, extra="[send]\nundo_seconds = 30\n")
    p = run_pigeon("compose", "--to", "later@example.org", "--subject", "sent later", "--at", "+3s", input=b"Good morning.\n")
    assert p.returncode == 0 and b"(to be sent at " in p.stdout, p.stderr
    scheduled = time.time() + 3 - 0.5  # the command ran a moment ago

    app = App.create()
    held = actions.send(app, "work", draft(app, "bob@example.org", "oops", "Not this one.\n"))  # the client's send
    assert held.due is not None and held.due - time.time() > 25

    p = run_pigeon("send")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "waiting until" in out and "sent later" in out and "oops" in out
    assert smtp_server.messages == []
    listing = run_pigeon("pending").stdout.decode()
    assert re.search(r"send to bob@example.org  oops  \[sending in \d+s\]", listing), listing

    p = run_pigeon("send", "--recall", str(held.id))
    assert p.returncode == 0 and b"recalled #%d: oops is back in Drafts" % held.id in p.stdout, p.stderr
    [back] = Maildir(maildir).list("Drafts")
    assert back.flags == "D" and b"Not this one." in back.path.read_bytes()
    assert run_pigeon("send", "--recall", str(held.id)).returncode == 1  # once only

    # pigeon watch starts after the scheduling command exited: the schedule survived on disk
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--interval", "600"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(smtp_server.messages) == 1, 20, "the send-later message")
        assert time.time() >= scheduled
        [later] = smtp_server.messages
        assert later.rcpt_tos == ["later@example.org"] and b"Good morning." in later.data
        # while watch runs: one recalled within its delay never leaves; the other leaves after it
        second = actions.send(app, "work", draft(app, "dave@example.org", "oops again", "Not this either.\n"), hold=2.0)
        p = run_pigeon("send", "--recall", str(second.id))
        assert p.returncode == 0, p.stderr
        quick = actions.send(app, "work", draft(app, "carol@example.org", "quick", "Quick one.\n"), hold=1.0)
        wait_for(lambda: len(smtp_server.messages) == 2, 20, "the held message after its delay")
        wait_for(lambda: time.time() > second.due + 1.5, 10, "the recalled message's time to pass")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert [m.rcpt_tos for m in smtp_server.messages] == [["later@example.org"], ["carol@example.org"]]
    assert not any(b"Not this" in m.data for m in smtp_server.messages)
    with open_journal(app) as j:
        assert j.get(quick.id).status == "sent" and j.get(held.id).status == "recalled"
        assert j.pending() == []
    assert outbox.queued(app, app.account("work")) == []


def test_outbox_lock_keeps_a_second_sender_out(mail_user, smtp_server, config_dir, tmp_path: Path) -> None:  # noqa: ANN001
    smtp_server.reset()
    write_config(config_dir, mail_user, smtp_server, tmp_path / "Mail", extra="[send]\nundo_seconds = 0\n")
    app = App.create()
    acct = app.account("work")
    op = actions.send(app, acct, draft(app, "bob@example.org", "once", "Only once.\n"))
    assert op.due is not None and op.due <= time.time()  # undo_seconds = 0: due at once
    with outbox.lock(app, acct) as mine:
        assert mine
        # another process (pigeon send) finds the lock taken and leaves the message alone
        p = run_pigeon("send")
        assert p.returncode == 0 and p.stdout.strip() == b"nothing to send", p.stdout
    assert smtp_server.messages == []
    [out] = outbox.send_queued(app, acct)
    assert out.sent and len(smtp_server.messages) == 1
    p = run_pigeon("send", "--recall", str(op.id))
    assert p.returncode == 1 and b"already sent" in p.stderr

