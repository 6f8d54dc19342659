"""The offline scenario: with the servers unreachable, flag, move, delete and send from the CLI;
bring them back; one sync later the server shows every change and the message was sent; undo of
each kind before and after the changes reached the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_pigeon
from journal_support import server_flags, write_config
from pigeon.core.maildir import Maildir
from sync_support import find_local, message

pytestmark = pytest.mark.dovecot


def ok(*args: str, input: bytes | None = None) -> str:
    p = run_pigeon(*args, input=input)
    assert p.returncode == 0, (args, p.stdout.decode(), p.stderr.decode())
    return p.stdout.decode()


def pending(*extra: str) -> list[dict]:
    return json.loads(ok("pending", "--json", *extra))


def test_offline_changes_replayed_by_one_sync_and_undone(mail_user, smtp_server, config_dir, tmp_path: Path) -> None:  # noqa: ANN001
    smtp_server.reset()
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, smtp_server, maildir)
    for i in range(1, 6):
        mail_user.append(message(i, tag="jo"), "INBOX")
    assert ok("sync").startswith("5 down")
    store = Maildir(maildir)

    # ------------------------------------------------------------------ offline
    write_config(config_dir, mail_user, smtp_server, maildir, online=False)
    ok("flag", "+flagged", str(find_local(maildir, "INBOX", b"Hello 1.")))
    ok("move", str(find_local(maildir, "INBOX", b"Hello 2.")), "--to", "Archive")
    ok("delete", str(find_local(maildir, "INBOX", b"Hello 3.")))
    out = ok("compose", "--to", "bob@example.org", "--subject", "written on a train", input=b"Hello from the train.\n")
    assert "queued in Outbox of work" in out
    p = run_pigeon("send")
    assert p.returncode == 1 and b"kept in the Outbox: written on a train" in p.stderr
    assert smtp_server.messages == []
    assert run_pigeon("sync").returncode == 1  # the server is unreachable: nothing is marked done

    # every change is visible locally at once, and pending
    assert [e.flags for e in store.list("INBOX") if b"Hello 1." in e.path.read_bytes()] == ["F"]
    assert find_local(maildir, "Archive", b"Hello 2.") and find_local(maildir, "Trash", b"Hello 3.")
    ops = pending()
    assert [o["kind"] for o in ops] == ["flags", "move", "delete", "send"]
    assert all(o["status"] == "pending" for o in ops)
    listing = ok("pending")
    assert "flags +flagged  message 1  [waiting for the next sync]" in listing
    assert "move INBOX -> Archive  message 2" in listing and "delete (move INBOX -> Trash)  message 3" in listing
    assert "send to bob@example.org  written on a train  [waiting to be sent (last error:" in listing

    # undo of each kind before it reached the server: reverted here, the server never hears of it
    m4 = str(find_local(maildir, "INBOX", b"Hello 4."))
    ok("flag", "+flagged", "-seen", m4)
    assert "before it reached the server" in ok("undo")
    ok("move", str(find_local(maildir, "INBOX", b"Hello 4.")), "--to", "Archive")
    assert "moved back to INBOX" in ok("undo")
    ok("delete", str(find_local(maildir, "INBOX", b"Hello 4.")))
    assert "moved back to INBOX" in ok("undo", "--mine")
    ok("compose", "--to", "carol@example.org", "--subject", "never mind", input=b"Scrap that.\n")
    out = ok("undo")
    assert "recalled" in out and "never mind" in out and "Drafts" in out
    assert find_local(maildir, "Drafts", b"Scrap that.")
    assert [e.flags for e in store.list("INBOX") if b"Hello 4." in e.path.read_bytes()] == [""]
    assert [o["kind"] for o in pending()] == ["flags", "move", "delete", "send"]

    # ------------------------------------------------------------------ back online: one sync
    write_config(config_dir, mail_user, smtp_server, maildir)
    out = ok("sync")
    assert "work: sent: written on a train to bob@example.org" in out
    assert pending() == []
    assert ok("pending").startswith("nothing pending")
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ["bob@example.org"] and b"Hello from the train." in sent.data
    inbox = server_flags(mail_user, "INBOX")
    assert inbox[b"<jo-1@example.org>"] >= {b"\\Flagged"}
    assert b"\\Flagged" not in inbox[b"<jo-4@example.org>"]
    assert b"<jo-2@example.org>" not in inbox and b"<jo-3@example.org>" not in inbox
    assert set(server_flags(mail_user, "Archive")) == {b"<jo-2@example.org>"}
    assert set(server_flags(mail_user, "Trash")) == {b"<jo-3@example.org>"}
    assert any(b"Hello from the train." in d for d in mail_user.fetch_all("Sent").values())
    assert not any(b"Scrap that." in d for d in mail_user.fetch_all("Sent").values())
    done = {o["kind"]: o for o in pending("--all") if o["status"] in ("synced", "sent")}
    assert set(done) == {"flags", "move", "delete", "send"}

    # ------------------------------------------------------------------ undo after replay
    assert "takes it to the server at the next sync" in ok("undo", "--op", str(done["delete"]["id"]))
    ok("undo", "--op", str(done["move"]["id"]))
    ok("undo", "--op", str(done["flags"]["id"]))
    p = run_pigeon("undo", "--op", str(done["send"]["id"]))
    assert p.returncode == 1 and b"already sent" in p.stderr
    assert [o["undo_of"] for o in pending()] == [done["delete"]["id"], done["move"]["id"], done["flags"]["id"]]
    ok("sync")
    assert pending() == []
    inbox = server_flags(mail_user, "INBOX")
    assert len(inbox) == 5 and not any(b"\\Flagged" in f for f in inbox.values())
    assert server_flags(mail_user, "Archive") == {} and server_flags(mail_user, "Trash") == {}
    assert len(smtp_server.messages) == 1


def test_offline_changes_against_server_changes_keep_mail(mail_user, smtp_server, config_dir, tmp_path: Path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, smtp_server, maildir)
    uids = [mail_user.append(message(i, tag="cf"), "INBOX") for i in (1, 2)]
    ok("sync")
    write_config(config_dir, mail_user, smtp_server, maildir, online=False)
    ok("move", str(find_local(maildir, "INBOX", b"Hello 1.")), "--to", "Archive")
    ok("flag", "+flagged", str(find_local(maildir, "INBOX", b"Hello 2.")))
    # meanwhile another client reads message 1 and deletes message 2 on the server
    client = mail_user.imap()
    try:
        client.select_folder("INBOX")
        client.add_flags([uids[0]], [b"\\Seen"])
        client.delete_messages([uids[1]])
        client.expunge()
    finally:
        client.logout()
    write_config(config_dir, mail_user, smtp_server, maildir)
    ok("sync")
    assert pending() == []
    assert server_flags(mail_user, "Archive") == {b"<cf-1@example.org>": {b"\\Seen"}}
    inbox = server_flags(mail_user, "INBOX")
    assert list(inbox) == [b"<cf-2@example.org>"] and b"\\Flagged" in inbox[b"<cf-2@example.org>"]  # kept
