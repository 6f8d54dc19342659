"""IMAP against the hostile server: SECURITY.md §1.5 ST-01 ... ST-13, certificates, OAuth (§7.4)."""

from __future__ import annotations

import base64
import io

import pytest
from fixtures.hostile import Scenario
from pigeon.core.imap import ImapSession
from pigeon.core.transport import (
    AuthError,
    CertificateError,
    ProtocolError,
    ProtocolTrace,
    SecurityError,
    TransportError,
)
from pigeon.hooks.types import Credentials, ServerConfig

PASSWORD = "S3cret-hunter2-imap"
USER_DATA = b"Subject: draft\r\n\r\nconfidential draft text\r\n"
PLAINTEXT_FORBIDDEN = (b"LOGIN", b"AUTHENTICATE", b"SELECT", b"EXAMINE", b"APPEND", b"LIST", b"IDLE")


def cfg(server, pki, security="starttls", **kw) -> ServerConfig:
    kw.setdefault("cafile", str(pki.cafile))
    kw.setdefault("timeout", 3.0)
    return ServerConfig("imap", "localhost", server.port, security, username="alice", **kw)


def password(refresh: bool = False) -> Credentials:
    return Credentials("alice", PASSWORD)


def save_draft(sc: ServerConfig, trace: ProtocolTrace | None = None) -> None:
    """What a client does with a queued draft: connect, log in, APPEND (ST-13)."""
    with ImapSession(sc, password, trace=trace or ProtocolTrace(False)) as s:
        s.append("Drafts", USER_DATA)


def assert_safe_abort(server, exc: BaseException, *words: str) -> None:
    msg = str(exc)
    assert "\n" not in msg and msg.startswith("imap localhost:")
    for w in words:
        assert w in msg, msg
    for cmd in server.all_plaintext().upper().split(b"\r\n"):
        parts = cmd.split(b" ")
        assert not (len(parts) > 1 and parts[1] in PLAINTEXT_FORBIDDEN), cmd
    assert not server.leaked(PASSWORD)
    assert b"confidential" not in server.all_plaintext()
    assert len(server.sessions) == 1  # no retry loop


# --------------------------------------------------------------------------- ST-01 stripping


@pytest.mark.parametrize(
    "caps",
    [
        b"IMAP4rev1 AUTH=PLAIN AUTH=LOGIN",
        # EAST X_1: every SASL mechanism advertised
        b"IMAP4rev1 AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256 AUTH=XOAUTH2 AUTH=OAUTHBEARER AUTH=DIGEST-MD5 AUTH=NTLM",
    ],
)
def test_st01_stripped_starttls_capability(hostile, pki, caps) -> None:
    srv = hostile(Scenario("imap", greeting=b"* OK [CAPABILITY " + caps + b"] ready\r\n", pre_caps=caps))
    with pytest.raises(SecurityError) as ei:
        save_draft(cfg(srv, pki))
    assert_safe_abort(srv, ei.value, "does not offer STARTTLS")


# --------------------------------------------------------------------------- ST-02 refused


@pytest.mark.parametrize(
    "reply, kw",
    [
        (b"{tag} NO not now\r\n", {}),
        (b"{tag} BAD what\r\n", {}),
        (b"+ continue\r\n", {"switch_to_tls": False}),
        (b"", {"close_after_starttls": True}),
        (b"garbage garbage\r\n", {"switch_to_tls": False}),
        (b"{tag} OK but no handshake follows\r\n", {"switch_to_tls": False}),
    ],
    ids=["NO", "BAD", "continuation", "disconnect", "garbage", "ok-no-tls"],
)
def test_st02_starttls_refused(hostile, pki, reply, kw) -> None:
    srv = hostile(Scenario("imap", starttls_reply=reply, **kw))
    with pytest.raises(SecurityError) as ei:
        save_draft(cfg(srv, pki, timeout=1.0))  # "ok-no-tls" ends on the handshake timeout
    assert_safe_abort(srv, ei.value)


# --------------------------------------------------------------------------- ST-03 PREAUTH


def test_st03_preauth_on_plaintext_connection(hostile, pki) -> None:
    srv = hostile(Scenario("imap", greeting=b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"))
    with pytest.raises(SecurityError) as ei:
        save_draft(cfg(srv, pki))
    assert_safe_abort(srv, ei.value, "skipped authentication on an unencrypted connection")
    assert srv.session.commands == []  # not a single command went out


def test_preauth_over_implicit_tls_is_accepted(hostile, pki) -> None:
    srv = hostile(Scenario("imap", implicit_tls=True, greeting=b"* PREAUTH hi\r\n"))
    with ImapSession(cfg(srv, pki, "tls"), password) as s:
        assert s.mechanism == ""  # nothing to authenticate
        assert [f.name for f in s.list_folders()] == ["INBOX"]


# --------------------------------------------------------------------------- ST-04 buffering


def test_st04_injection_after_begin_tls(hostile, pki) -> None:
    srv = hostile(
        Scenario(
            "imap",
            starttls_reply=b"{tag} OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK done\r\n",
        )
    )
    with pytest.raises(SecurityError) as ei:
        save_draft(cfg(srv, pki))
    assert_safe_abort(srv, ei.value, "response injection")


def test_st04_capabilities_come_from_the_tls_channel(hostile, pki) -> None:
    srv = hostile(
        Scenario(
            "imap",
            pre_caps=b"IMAP4rev1 STARTTLS IDLE X-PRE-TLS",
            post_caps=b"IMAP4rev1 AUTH=PLAIN X-POST-TLS",
        )
    )
    with ImapSession(cfg(srv, pki), password) as s:
        assert "X-POST-TLS" in s.capabilities
        assert "X-PRE-TLS" not in s.capabilities and "IDLE" not in s.capabilities
    assert not srv.leaked(PASSWORD)


# --------------------------------------------------------------------------- ST-05 tampering


INJECTED = {
    "LIST": b'* LIST () "/" X7XiYhgS7\r\n',
    "LSUB": b'* LSUB () "/" X7XiYhgS7\r\n',
    "STATUS": b"* STATUS INBOX (MESSAGES 54321)\r\n",
    "SEARCH": b"* SEARCH 1 2 3\r\n",
    "FLAGS": b"* FLAGS (\\Injected)\r\n",
    "EXISTS": b"* 54321 EXISTS\r\n",
    "RECENT": b"* 54321 RECENT\r\n",
    "EXPUNGE": b"* 1 EXPUNGE\r\n",
    "FETCH": b"* 1 FETCH (BODY[] {28}\r\nFrom: Injected\r\n\r\nInjected\r\n)\r\n",
    "CAPABILITY": b"* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n",
    "ALERT": b"* OK [ALERT] Your mailbox is locked, call +1-555-0100\r\n",
    "REFERRAL": b"* OK [REFERRAL imaps://evil.example:993] go there\r\n",
}


@pytest.mark.parametrize("kind", sorted(INJECTED))
def test_st05_untagged_inside_starttls_exchange_aborts(hostile, pki, kind) -> None:
    srv = hostile(Scenario("imap", starttls_reply=INJECTED[kind] + b"{tag} OK ready for starttls\r\n"))
    with pytest.raises(SecurityError) as ei:
        save_draft(cfg(srv, pki))
    assert_safe_abort(srv, ei.value, "unexpected data in the STARTTLS exchange")


# --------------------------------------------------------------------------- ST-06 / ST-07


def test_st06_untagged_after_greeting_has_no_effect_after_tls(hostile, pki) -> None:
    srv = hostile(
        Scenario(
            "imap",
            after_greeting=b"".join(INJECTED[k] for k in ("EXISTS", "REFERRAL", "LIST", "FETCH", "FLAGS"))
            + b"* CAPABILITY IMAP4rev1 STARTTLS IDLE X-INJECTED\r\n",
        )
    )
    with ImapSession(cfg(srv, pki), password) as s:
        assert "X-INJECTED" not in s.capabilities
        assert [f.name for f in s.list_folders()] == ["INBOX"]
        sel = s.select("INBOX")
        assert sel.exists == 3 and sel.flags == ()
        assert [m.body for m in s.fetch([1])] == [b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hostile\r\n\r\nbody\r\n"]
    assert srv.session.tls_done and not srv.leaked(PASSWORD)


def test_st07_pre_tls_alert_is_never_shown_as_server_text(hostile, pki) -> None:
    srv = hostile(Scenario("imap", greeting=b"* OK [ALERT] Your mailbox is locked, call +1-555-0100\r\n"))
    out = io.StringIO()
    with ImapSession(cfg(srv, pki), password, trace=ProtocolTrace(True, out)) as s:
        s.noop()
    lines = [ln for ln in out.getvalue().splitlines() if "555-0100" in ln]
    assert lines and all(ln.endswith("[pre-TLS, unauthenticated]") for ln in lines)


# --------------------------------------------------------------------------- ST-08 referrals


@pytest.mark.parametrize("cmd", [b"AUTHENTICATE", b"SELECT"])
def test_st08_referral_is_not_followed(hostile, pki, cmd) -> None:
    referral = b"{tag} NO [REFERRAL IMAP://;AUTH=*@attacker.example.org:243/] try another server\r\n"
    srv = hostile(Scenario("imap", implicit_tls=True, overrides={cmd: referral}))
    with pytest.raises(TransportError) as ei, ImapSession(cfg(srv, pki, "tls"), password) as s:
        s.select("INBOX")
    assert "\n" not in str(ei.value)
    assert len(srv.sessions) == 1
    if cmd == b"AUTHENTICATE":
        assert isinstance(ei.value, AuthError)


# --------------------------------------------------------------------------- ST-09 certificates


@pytest.mark.parametrize(
    "kind, words",
    [
        ("unknown-ca", "unknown certificate authority"),
        ("wrong-host", "for another host"),
        ("expired", "expired"),
        ("self-signed", "self-signed"),
    ],
)
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_st09_bad_certificates_refused(hostile, pki, kind, words, security) -> None:
    srv = hostile(Scenario("imap", implicit_tls=security == "tls", cert=pki.bad(kind)))
    with pytest.raises(CertificateError) as ei:
        save_draft(cfg(srv, pki, security))
    assert words in str(ei.value) and "TLS certificate refused" in str(ei.value)
    assert ei.value.reason == kind
    assert_safe_abort(srv, ei.value)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_st09_pinned_fingerprint_mismatch(hostile, pki, security) -> None:
    srv = hostile(Scenario("imap", implicit_tls=security == "tls"))
    with pytest.raises(CertificateError) as ei:
        save_draft(cfg(srv, pki, security, fingerprint="00" * 32))
    assert ei.value.reason == "fingerprint" and "does not match the pinned" in str(ei.value)
    assert not srv.leaked(PASSWORD) and b"confidential" not in b"".join(bytes(s.tls) for s in srv.sessions)


def test_pin_accepts_one_self_signed_certificate(hostile, pki) -> None:
    cert = pki.bad("self-signed")
    srv = hostile(Scenario("imap", implicit_tls=True, cert=cert))
    sc = ServerConfig("imap", "localhost", srv.port, "tls", username="alice", timeout=3.0, verify=False, fingerprint=cert.fingerprint)
    with ImapSession(sc, password) as s:
        info = s.tls_info()
        assert info is not None and info.fingerprint == cert.fingerprint and info.version.startswith("TLSv1.")


# --------------------------------------------------------------------------- ST-10 no pipelining


def test_st10_nothing_sent_between_starttls_and_handshake(hostile, pki) -> None:
    srv = hostile(Scenario("imap"))
    with ImapSession(cfg(srv, pki), password):
        pass
    assert srv.session.pipelined == b""
    assert srv.session.plaintext_commands()[-1].endswith(b"STARTTLS")
    assert srv.session.tls_commands()[0].endswith(b"CAPABILITY")  # asked again over TLS


# --------------------------------------------------------------------------- ST-12 robustness


def _tls_scenario(**kw) -> Scenario:
    return Scenario("imap", implicit_tls=True, **kw)


@pytest.mark.parametrize(
    "overrides, call, words",
    [
        ({b"SELECT": b"* 1 FETCH (BODY[] {4294967296}\r\n"}, "select", "literal"),
        ({b"STATUS": b"* STATUS {4294967296}\r\n"}, "status", "literal"),
        ({b"LIST": b'* LIST () "/" ' + b"A" * 1_100_000 + b"\r\n{tag} OK\r\n"}, "list", "longer than"),
        ({b"UID FETCH": b"* 1 FETCH (UID 1 RFC822.SIZE 99999999999999999999999999 INTERNALDATE \"not a date\")\r\n{tag} OK\r\n"}, "fetch", "FETCH"),
        ({b"SELECT": b"* VANISHED (EARLIER) 1:3,\r\n* OK [UIDVALIDITY 1] x\r\n{tag} OK done\r\n"}, "qresync", "UID set"),
        ({b"UID MOVE": b"* OK [COPYUID 42 1, 5,] moved\r\n{tag} OK done\r\n"}, "move", "UID set"),
        ({b"SELECT": b"{tag} NO\r\n"}, "select", "SELECT INBOX"),
        ({b"CAPABILITY": b"{tag} BAD no\r\n"}, "connect", "CAPABILITY failed"),
    ],
    ids=["huge-literal", "status-literal", "long-line", "bad-fetch", "seqset-comma", "copyuid-comma", "no-without-text", "bad-capability"],
)
def test_st12_hostile_responses_end_cleanly(hostile, pki, overrides, call, words) -> None:
    caps = b"IMAP4rev1 AUTH=PLAIN UIDPLUS MOVE QRESYNC CONDSTORE ENABLE"
    srv = hostile(_tls_scenario(overrides=overrides, post_caps=caps))
    with pytest.raises(TransportError) as ei:
        with ImapSession(cfg(srv, pki, "tls"), password) as s:
            if call == "select":
                s.select("INBOX")
            elif call == "status":
                s.status("INBOX")
            elif call == "list":
                s.list_folders()
            elif call == "fetch":
                s.select("INBOX")
                list(s.fetch([1]))
            elif call == "qresync":
                s.select("INBOX", qresync=(1, 1, None))
            elif call == "move":
                s.select("INBOX")
                s.move([1], "Trash")
    assert words in str(ei.value) and "\n" not in str(ei.value)
    assert len(srv.sessions) == 1


def test_st12_expunge_flood_is_survived(hostile, pki) -> None:
    flood = b"".join(b"* %d EXPUNGE\r\n" % (100_000 - i) for i in range(100_000)) + b"{tag} OK done\r\n"
    srv = hostile(_tls_scenario(overrides={b"NOOP": flood}))
    with ImapSession(cfg(srv, pki, "tls"), password) as s:
        s.noop()
        assert [f.name for f in s.list_folders()] == ["INBOX"]


def test_st12_no_auth_mechanism_and_logindisabled(hostile, pki) -> None:
    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1 LOGINDISABLED"))
    with pytest.raises(AuthError) as ei:
        ImapSession(cfg(srv, pki, "tls"), password).connect()
    assert "no password mechanism" in str(ei.value)


# --------------------------------------------------------------------------- secrets


def test_server_echoing_the_password_does_not_put_it_in_the_error(hostile, pki) -> None:
    srv = hostile(_tls_scenario(overrides={b"AUTHENTICATE": lambda c, tag, line: _echo(c, tag)}))
    with pytest.raises(AuthError) as ei:
        ImapSession(cfg(srv, pki, "tls"), password).connect()
    assert PASSWORD not in str(ei.value) and "<redacted>" in str(ei.value)


def _echo(conn, tag: bytes) -> None:
    conn.send(b"+ \r\n")
    blob = conn.line().strip()
    secret = base64.b64decode(blob).split(b"\0")[-1]
    conn.send(tag + b" NO wrong password " + secret + b"\r\n")


# --------------------------------------------------------------------------- OAuth (CR-03, CR-04)


class Tokens:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, refresh: bool = False) -> Credentials:
        self.calls.append(refresh)
        return Credentials("alice", "token-two" if refresh else "token-one", kind="oauth2")


def test_oauthbearer_error_challenge_then_refresh_once(hostile, pki) -> None:
    seen: list[bytes] = []

    def auth(conn, tag: bytes, line: bytes) -> None:
        conn.send(b"+ \r\n")
        blob = base64.b64decode(conn.line().strip())
        seen.append(blob)
        if b"token-one" in blob:
            conn.send(b"+ " + base64.b64encode(b'{"status":"invalid_token"}') + b"\r\n")
            seen.append(conn.line().strip())
            conn.send(tag + b" NO [AUTHENTICATIONFAILED] bad token\r\n")
        else:
            conn.send(tag + b" OK welcome\r\n")

    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1 AUTH=OAUTHBEARER AUTH=PLAIN", overrides={b"AUTHENTICATE": auth}))
    tokens = Tokens()
    out = io.StringIO()
    with ImapSession(cfg(srv, pki, "tls", auth="oauthbearer"), tokens, trace=ProtocolTrace(True, out)) as s:
        assert s.mechanism == "OAUTHBEARER"
    assert tokens.calls == [False, True]
    assert seen[0].startswith(b"n,a=alice,\x01host=localhost\x01port=") and b"auth=Bearer token-one\x01\x01" in seen[0]
    assert seen[1] == base64.b64encode(b"\x01")  # RFC 7628: %x01 answers the error challenge
    assert b"token-two" in seen[2]
    assert "token-one" not in out.getvalue() and "token-two" not in out.getvalue()
    assert not any(b" AUTHENTICATE PLAIN" in c for c in srv.session.tls_commands())


def test_oauth_never_falls_back_to_password(hostile, pki) -> None:
    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1 AUTH=PLAIN AUTH=LOGIN"))
    with pytest.raises(AuthError) as ei:
        ImapSession(cfg(srv, pki, "tls", auth="oauth2"), Tokens()).connect()
    assert "refusing to fall back to a password" in str(ei.value)
    assert not any(b"AUTHENTICATE" in c or b"LOGIN" in c for c in srv.session.tls_commands())
    with pytest.raises(AuthError, match="refusing to send a password"):
        ImapSession(cfg(srv, pki, "tls", auth="xoauth2"), password).connect()


def test_xoauth2_sends_empty_response_to_error(hostile, pki) -> None:
    answers: list[bytes] = []

    def auth(conn, tag: bytes, line: bytes) -> None:
        conn.send(b"+ \r\n")
        conn.line()
        conn.send(b"+ " + base64.b64encode(b'{"status":"400"}') + b"\r\n")
        answers.append(conn.line())
        conn.send(tag + b" NO no\r\n")

    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1 AUTH=XOAUTH2", overrides={b"AUTHENTICATE": auth}))
    with pytest.raises(AuthError, match="rejected the OAuth2 token"):
        ImapSession(cfg(srv, pki, "tls", auth="xoauth2"), Tokens()).connect()
    assert answers == [b"\r\n", b"\r\n"]  # one failed try, one refresh, no third


def test_plaintext_security_none_only_to_loopback(pki) -> None:
    sc = ServerConfig("imap", "mail.example.org", 143, "none", username="alice", timeout=1.0)
    with pytest.raises(SecurityError, match="loopback"):
        ImapSession(sc, password).connect()


def test_protocol_error_is_transport_error() -> None:
    assert issubclass(ProtocolError, TransportError) and issubclass(SecurityError, TransportError)


def test_backoff_retries_connection_loss_but_never_security_errors() -> None:
    from pigeon.core.transport import Backoff, ConnectionLost

    slept: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionLost("gone")
        return "ok"

    assert Backoff(attempts=5, sleep=slept.append).run(flaky) == "ok"
    assert len(slept) == 2 and 0.8 <= slept[0] <= 1.2 and 1.6 <= slept[1] <= 2.4

    def stripped() -> None:
        calls["n"] += 1
        raise SecurityError("no STARTTLS")

    calls["n"] = 0
    with pytest.raises(SecurityError):
        Backoff(attempts=5, sleep=slept.append).run(stripped)
    assert calls["n"] == 1


def test_login_command_is_redacted_in_the_trace(hostile, pki) -> None:
    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1"))  # no AUTH=PLAIN: LOGIN is used
    out = io.StringIO()
    with ImapSession(cfg(srv, pki, "tls"), password, trace=ProtocolTrace(True, out)) as s:
        assert s.mechanism == "LOGIN"
    text = out.getvalue()
    assert "LOGIN alice <redacted>" in text and PASSWORD not in text
    assert any(PASSWORD.encode() in c for c in srv.session.tls_commands())  # it did go, over TLS


FUZZ_PIECES = [
    b"*", b" ", b"1", b"4294967296", b"FETCH", b"(", b")", b"{5}\r\nabcde", b"{99999999999}", b"\r\n",
    b"\"", b"\\", b"UID", b"FLAGS", b"[", b"]", b"EXISTS", b"NIL", b"\x00", b"\xff", b"BODY[]", b"OK",
    b"NO", b"BAD", b"BYE", b"+", b"VANISHED", b"1:*", b",", b"MODSEQ", b"INTERNALDATE", b"\"x\"",
]


@pytest.mark.parametrize("seed", range(30))
def test_st12_fuzzed_fetch_responses_only_raise_transport_errors(hostile, pki, seed) -> None:
    import random

    rnd = random.Random(seed)
    junk = b"".join(rnd.choice(FUZZ_PIECES) for _ in range(rnd.randint(1, 40)))
    reply = b"* 1 FETCH (UID 1 " + junk + b")\r\n{tag} OK done\r\n" if seed % 2 else junk + b"\r\n{tag} OK done\r\n"
    srv = hostile(_tls_scenario(overrides={b"UID FETCH": reply}))
    try:
        with ImapSession(cfg(srv, pki, "tls", timeout=1.0), password) as s:
            s.select("INBOX")
            for m in s.fetch([1]):
                assert isinstance(m.uid, int)
    except TransportError as exc:
        assert "\n" not in str(exc)


def test_expunge_without_uidplus_never_removes_other_deleted_messages(hostile, pki) -> None:
    srv = hostile(_tls_scenario(post_caps=b"IMAP4rev1 AUTH=PLAIN", overrides={b"UID SEARCH": b"* SEARCH 1 2\r\n{tag} OK done\r\n"}))
    with ImapSession(cfg(srv, pki, "tls"), password) as s:
        s.select("INBOX")
        with pytest.raises(TransportError, match="lacks UIDPLUS"):
            s.expunge([1])
        s.expunge([1, 2])  # every \Deleted message is one we asked for: EXPUNGE is safe
    assert [c.split(b" ", 1)[1] for c in srv.session.tls_commands() if b"EXPUNGE" in c] == [b"EXPUNGE"]
