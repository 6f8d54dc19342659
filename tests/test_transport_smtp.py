"""SMTP submission: aiosmtpd round trips and the hostile cases of SECURITY.md §1.5."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from fixtures.hostile import Scenario
from pigeon.core.smtp import SendError, SmtpSession, message_bytes, recipients_of
from pigeon.core.transport import (
    AuthError,
    CertificateError,
    ProtocolError,
    ProtocolTrace,
    SecurityError,
)
from pigeon.hooks.types import Credentials, ServerConfig

PASSWORD = "S3cret-hunter2-smtp"


def make_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "Bob <bob@example.org>, carol@example.org"
    msg["Bcc"] = "hidden@example.org"
    msg["Subject"] = "Grüße – a test"
    msg.set_content("Hello Bob,\n.\nA line with a leading dot:\n.hidden\nUnicode: ünïcödé ✓\n")
    return msg


def body_of(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


# --------------------------------------------------------------------------- aiosmtpd


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_send_through_aiosmtpd_byte_identical(smtp_inbox, security) -> None:
    server, user = smtp_inbox
    sc = server.server_config(user, security)
    msg = make_message()
    out = io.StringIO()
    with SmtpSession(sc, lambda r: Credentials(user.name, user.password), trace=ProtocolTrace(True, out)) as s:
        assert s.mechanism == "PLAIN" and s.tls_info().version.startswith("TLSv1.")
        refused = s.send(msg, "alice@example.org", recipients_of(msg))
    assert refused == {}
    [got] = server.messages
    assert got.rcpt_tos == ["bob@example.org", "carol@example.org", "hidden@example.org"]
    assert got.auth_user == user.name and got.port == security
    sent = message_bytes(msg)
    assert got.data == sent and body_of(got.data) == body_of(sent)
    assert b"Bcc" not in got.data and b"hidden@" not in got.data
    trace = out.getvalue()
    assert "AUTH PLAIN <redacted>" in trace and user.password not in trace


def test_login_mechanism_and_refused_recipient(smtp_inbox) -> None:
    server, user = smtp_inbox
    server.reject_rcpt.add("nobody@example.org")
    sc = server.server_config(user, "tls")
    with SmtpSession(sc, lambda r: Credentials(user.name, user.password)) as s:
        refused = s.send(make_message(), "alice@example.org", ["bob@example.org", "nobody@example.org"])
        assert list(refused) == ["nobody@example.org"] and "550" in refused["nobody@example.org"]
        with pytest.raises(SendError, match="every recipient was refused"):
            s.send(make_message(), "alice@example.org", ["nobody@example.org"])
        with pytest.raises(SendError, match="invalid address"):
            s.send(make_message(), "alice@example.org", ["bob@example.org\r\nRCPT TO:<evil@x>"])


def test_wrong_password(smtp_inbox) -> None:
    server, user = smtp_inbox
    with pytest.raises(AuthError, match="authentication failed"):
        SmtpSession(server.server_config(user, "starttls"), lambda r: Credentials(user.name, "nope")).connect()


def test_header_values_cannot_inject_headers() -> None:
    msg = EmailMessage()
    with pytest.raises(ValueError):
        msg["Subject"] = "hi\r\nBcc: evil@example.org"


# --------------------------------------------------------------------------- hostile


def cfg(srv, pki, security="starttls", **kw) -> ServerConfig:
    kw.setdefault("cafile", str(pki.cafile))
    return ServerConfig("smtp", "localhost", srv.port, security, username="alice", timeout=3.0, **kw)


def send_one(sc: ServerConfig) -> None:
    """What ``pigeon send`` does: connect, authenticate, submit (ST-13)."""
    with SmtpSession(sc, lambda r: Credentials("alice", PASSWORD)) as s:
        s.send(make_message(), "alice@example.org", ["bob@example.org"])


def assert_nothing_leaked(srv, exc: BaseException) -> None:
    assert "\n" not in str(exc) and str(exc).startswith("smtp localhost:")
    plain = srv.all_plaintext().upper()
    for word in (b"AUTH", b"MAIL FROM", b"RCPT", b"DATA"):
        assert word not in plain
    assert not srv.leaked(PASSWORD) and b"Hello Bob" not in srv.all_plaintext()
    assert len(srv.sessions) == 1


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("smtp", pre_caps=b"AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n8BITMIME"),  # ST-01
        Scenario("smtp", overrides={b"EHLO": b"500 5.5.1 what\r\n"}),  # ST-01 D_1: EHLO refused, HELO bait
    ],
    ids=["no-starttls", "ehlo-500"],
)
def test_st01_stripping(hostile, pki, scenario) -> None:
    srv = hostile(scenario)
    with pytest.raises(SecurityError) as ei:
        send_one(cfg(srv, pki))
    assert_nothing_leaked(srv, ei.value)
    assert b"HELO" not in srv.all_plaintext().replace(b"EHLO", b"")


@pytest.mark.parametrize("code", [b"454", b"500", b"501", b"502", b"530", b"221", b"421", b"354"])
def test_st02_starttls_refused(hostile, pki, code) -> None:
    srv = hostile(Scenario("smtp", starttls_reply=code + b" no TLS for you\r\n", switch_to_tls=False))
    with pytest.raises(SecurityError) as ei:
        send_one(cfg(srv, pki))
    assert "refused STARTTLS (" + code.decode() + ")" in str(ei.value)
    assert_nothing_leaked(srv, ei.value)


def test_st02_disconnect(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", starttls_reply=b"", close_after_starttls=True))
    with pytest.raises(SecurityError, match="connection closed in answer to STARTTLS") as ei:
        send_one(cfg(srv, pki))
    assert_nothing_leaked(srv, ei.value)


def test_st02_220_without_handshake(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", switch_to_tls=False))
    with pytest.raises(SecurityError) as ei:
        send_one(cfg(srv, pki))
    assert_nothing_leaked(srv, ei.value)


def test_st04_injection_after_220(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", starttls_reply=b"220 ready\r\n250-example.org\r\n250 AUTH LOGIN\r\n"))
    with pytest.raises(SecurityError, match="response injection") as ei:
        send_one(cfg(srv, pki))
    assert_nothing_leaked(srv, ei.value)


def test_st04_st10_features_after_tls_and_no_pipelining(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", pre_caps=b"STARTTLS\r\nX-PRE-TLS", post_caps=b"AUTH PLAIN\r\nX-POST-TLS"))
    with SmtpSession(cfg(srv, pki), lambda r: Credentials("alice", PASSWORD)) as s:
        assert "x-post-tls" in s.features and "x-pre-tls" not in s.features
    assert srv.session.pipelined == b""
    assert srv.session.tls_commands()[0].upper().startswith(b"EHLO")
    assert not srv.leaked(PASSWORD)


@pytest.mark.parametrize("kind", ["unknown-ca", "wrong-host", "expired", "self-signed"])
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_st09_certificates(hostile, pki, kind, security) -> None:
    srv = hostile(Scenario("smtp", implicit_tls=security == "tls", cert=pki.bad(kind)))
    with pytest.raises(CertificateError) as ei:
        send_one(cfg(srv, pki, security))
    assert ei.value.reason == kind
    assert_nothing_leaked(srv, ei.value)


def test_st09_pin_mismatch(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", implicit_tls=True))
    with pytest.raises(CertificateError, match="does not match the pinned"):
        send_one(cfg(srv, pki, "tls", fingerprint="11" * 32))


def test_st12_long_line_and_endless_reply(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", implicit_tls=True, overrides={b"MAIL": b"250-" + b"x" * 20000 + b"\r\n250 ok\r\n"}))
    with pytest.raises(ProtocolError, match="longer than"):
        send_one(cfg(srv, pki, "tls"))
    srv = hostile(Scenario("smtp", implicit_tls=True, overrides={b"MAIL": b"250-more\r\n" * 2000 + b"250 ok\r\n"}))
    with pytest.raises(ProtocolError, match="more than"):
        send_one(cfg(srv, pki, "tls"))


def test_oauth_xoauth2_and_no_password_fallback(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", implicit_tls=True, post_caps=b"AUTH XOAUTH2 PLAIN"))
    tokens = lambda refresh: Credentials("alice", "tok-abc-123", kind="oauth2")  # noqa: E731
    with SmtpSession(cfg(srv, pki, "tls", auth="xoauth2"), tokens) as s:
        assert s.mechanism == "XOAUTH2"
    srv = hostile(Scenario("smtp", implicit_tls=True, post_caps=b"AUTH PLAIN LOGIN"))
    with pytest.raises(AuthError, match="refusing to fall back"):
        SmtpSession(cfg(srv, pki, "tls", auth="oauth2"), tokens).connect()
    assert not any(c.startswith(b"AUTH") for c in srv.session.tls_commands())


def test_auth_login_and_its_redaction(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", implicit_tls=True, post_caps=b"AUTH LOGIN"))
    out = io.StringIO()
    with SmtpSession(cfg(srv, pki, "tls"), lambda r: Credentials("alice", PASSWORD), trace=ProtocolTrace(True, out)) as s:
        assert s.mechanism == "LOGIN"
        s.send(make_message(), "alice@example.org", ["bob@example.org"])
    text = out.getvalue()
    assert "C: <redacted>" in text and PASSWORD not in text
    import base64

    assert base64.b64encode(PASSWORD.encode()).decode() not in text
    assert base64.b64encode(PASSWORD.encode()) in bytes(srv.session.tls)  # sent, over TLS only


def test_lines_injected_after_the_greeting_never_count(hostile, pki) -> None:
    srv = hostile(Scenario("smtp", after_greeting=b"250-evil\r\n250 AUTH PLAIN\r\n", post_caps=b"AUTH PLAIN\r\nX-POST"))
    try:
        with SmtpSession(cfg(srv, pki), lambda r: Credentials("alice", PASSWORD)) as s:
            assert "x-post" in s.features
    except SecurityError as exc:
        assert "\n" not in str(exc)
    assert not srv.leaked(PASSWORD)
    assert b"AUTH" not in srv.all_plaintext().upper().replace(b"250 AUTH", b"")
