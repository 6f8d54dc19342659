"""IMAP session API against the private Dovecot, in both TLS modes."""

from __future__ import annotations

import threading

import pytest
from pigeon.core.imap import ImapSession, UIDSet, decode_folder, encode_folder
from pigeon.core.transport import AuthError, CertificateError
from pigeon.hooks.types import Credentials

pytestmark = pytest.mark.dovecot

MSG = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nbody line\r\n"


def session(user, security: str, **kw) -> ImapSession:
    return ImapSession(user.server_config("imap", security, **kw), lambda refresh: Credentials(user.name, user.password))


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_connect_list_append_fetch_store_move_expunge(mail_user, security) -> None:
    with session(mail_user, security) as s:
        assert s.mechanism == "PLAIN"
        assert {"CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "IDLE"} <= s.capabilities  # post-login set
        info = s.tls_info()
        assert info and info.version in ("TLSv1.2", "TLSv1.3") and "localhost" in info.subject
        roles = {f.role: f.name for f in s.list_folders()}
        assert roles["inbox"] == "INBOX" and roles["sent"] == "Sent" and roles["trash"] == "Trash"

        appended = s.append("INBOX", MSG, flags=["\\Seen", "$Work"])
        assert appended.uid == 1 and appended.uidvalidity

        sel = s.select("INBOX", condstore=True)
        assert (sel.uidvalidity, sel.exists, sel.uidnext) == (appended.uidvalidity, 1, 2)
        assert sel.highestmodseq and "$Work" in sel.flags

        [m] = list(s.fetch([1]))
        assert m.body == MSG and set(m.flags) >= {"\\Seen", "$Work"} and m.size == len(MSG)

        res = s.store([1], add=["\\Flagged"], remove=["$Work"])
        assert "\\Flagged" in res.flags[1] and "$Work" not in res.flags[1]
        stale = s.store([1], add=["\\Answered"], unchangedsince=1)
        assert 1 in stale.modified

        with pytest.raises(ValueError):
            s.store([1], add=["bad flag)"])  # no injection through keywords

        s.create_folder("Archiv/Ünïcode")
        assert "Archiv/Ünïcode" in [f.name for f in s.list_folders()]
        moved = s.move([1], "Archiv/Ünïcode")
        assert moved.mapping == {1: 1}
        assert s.select("INBOX").exists == 0

        s.append("INBOX", MSG)
        s.append("INBOX", MSG)
        s.select("INBOX")
        s.store([2], add=["\\Deleted"])
        s.store([3], add=["\\Deleted"])
        s.expunge([2])  # UID EXPUNGE: 3 stays
        assert [m.uid for m in s.fetch("1:*", ["UID", "FLAGS"])] == [3]


def test_qresync_reports_vanished_and_changed(mail_user) -> None:
    for _ in range(3):
        mail_user.append(MSG)
    with session(mail_user, "tls") as s:
        first = s.select("INBOX", condstore=True)
        s.store([2], add=["\\Seen"])
        s.store([1], add=["\\Deleted"])
        s.expunge([1])
        same = s.select("INBOX", qresync=(first.uidvalidity, first.highestmodseq, None))  # UNSELECT, ENABLE
        assert same.qresync and 1 in same.vanished
    with session(mail_user, "tls") as s:
        again = s.select("INBOX", qresync=(first.uidvalidity, first.highestmodseq, None))
        assert again.qresync and 1 in again.vanished
        assert [(m.uid, "\\Seen" in m.flags) for m in again.changed] == [(2, True)]
        changed = list(s.fetch("1:*", ["UID", "FLAGS"], changedsince=first.highestmodseq))
        assert [m.uid for m in changed] == [2] and changed[0].modseq


def test_fetch_in_batches(mail_user) -> None:
    for i in range(7):
        mail_user.append(MSG.replace(b"hello", b"hello %d" % i))
    with session(mail_user, "starttls") as s:
        s.select("INBOX", readonly=True)
        got = list(s.fetch(range(1, 8), batch=3))
        assert [m.uid for m in got] == list(range(1, 8))
        assert got[6].body.endswith(b"body line\r\n") and b"hello 6" in got[6].body
        assert s.search("ALL") == list(range(1, 8))


def test_idle_sees_new_mail(mail_user) -> None:
    with session(mail_user, "tls") as s:
        s.select("INBOX")
        t = threading.Timer(0.3, lambda: mail_user.append(MSG))
        t.start()
        events = s.idle(10)
        t.join()
        assert any(e.kind == "exists" and e.number == 1 for e in events)
        assert s.idle(0.2) == []  # nothing more: returns after the timeout
        s.noop()


def test_wrong_password_and_pin(mail_user) -> None:
    bad = ImapSession(mail_user.server_config("imap", "tls"), lambda r: Credentials(mail_user.name, "wrong"))
    with pytest.raises(AuthError, match="login failed"):
        bad.connect()
    with pytest.raises(CertificateError, match="pinned"):
        session(mail_user, "starttls", fingerprint="ab" * 32).connect()
    fp = mail_user.server.pki.server.fingerprint
    with session(mail_user, "tls", fingerprint=fp) as s:
        assert s.tls_info().fingerprint == fp


def test_reconnect_reselects(mail_user) -> None:
    mail_user.append(MSG)
    with session(mail_user, "tls") as s:
        s.select("INBOX")
        s.imap.sock.close()  # the connection drops under us
        s.reconnect()
        assert s.selected == "INBOX" and [m.uid for m in s.fetch([1], ["UID"])] == [1]


def test_modified_utf7_round_trip() -> None:
    for name in ["INBOX", "Entwürfe", "日本語/フォルダ", "a&b", "~peter/mail/台北/日本語"]:
        assert decode_folder(encode_folder(name)) == name
    assert encode_folder("a&b") == b"a&-b"
    assert str(UIDSet.parse("5,1:3,4")) == "1:5" and len(UIDSet.parse("1:4294967295")) == 4294967295


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_commands_are_not_held_back_by_nagle(mail_user, security) -> None:
    """imapclient sends a command's CRLF in a write of its own; with Nagle's algorithm on, that
    write waits for the ACK of the first, which the server delays while it has nothing to answer
    (up to 40 ms a command over a real network, measured with bench/delay_proxy.py at 10 ms each
    way: a first sync of 10,000 messages took 8.7 s instead of 5.7 s)."""
    import socket

    with session(mail_user, security) as s:
        assert s.imap.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
