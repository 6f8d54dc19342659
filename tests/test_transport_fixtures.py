"""The shared server fixtures work as documented (other areas' tests rely on them)."""

from __future__ import annotations

import smtplib
import ssl

import pytest


@pytest.mark.dovecot
def test_mail_user_starts_empty_and_append_deliver_fetch(mail_user) -> None:
    assert mail_user.fetch_all() == {}
    uid = mail_user.append(b"Subject: one\r\n\r\nbody one\r\n", flags=["\\Seen"])
    mail_user.deliver(b"Subject: two\r\n\r\nbody two\r\n")
    got = mail_user.fetch_all()
    assert got[uid] == b"Subject: one\r\n\r\nbody one\r\n"
    assert sorted(got.values())[1] == b"Subject: two\r\n\r\nbody two\r\n"
    assert (mail_user.maildir / "cur").is_dir()


@pytest.mark.dovecot
def test_users_do_not_see_each_other(dovecot) -> None:
    a, b = dovecot.add_user(), dovecot.add_user()
    a.append(b"Subject: a\r\n\r\na\r\n")
    assert b.fetch_all() == {}


def test_smtp_fixture_records_bytes_and_requires_tls_for_auth(smtp_inbox, pki) -> None:
    server, user = smtp_inbox
    ctx = ssl.create_default_context(cafile=str(pki.cafile))
    with smtplib.SMTP("localhost", server.ports["starttls"], timeout=10) as c:
        c.ehlo()
        assert not c.has_extn("auth")
        c.starttls(context=ctx)
        c.ehlo()
        c.login(user.name, user.password)
        c.sendmail("a@example.org", ["b@example.org"], b"Subject: s\r\n\r\n..dot\r\n")
    assert server.messages[0].data == b"Subject: s\r\n\r\n..dot\r\n"  # dot-unstuffed
    assert server.messages[0].auth_user == user.name
