"""POP3: download into a Maildir against Dovecot, and the hostile STLS cases."""

from __future__ import annotations

import pytest
from fixtures.hostile import Scenario
from pigeon.core.maildir import Maildir
from pigeon.core.pop3 import FetchRecord, Pop3Session, download
from pigeon.core.transport import AuthError, CertificateError, ProtocolError, SecurityError
from pigeon.hooks.types import Credentials, ServerConfig

PASSWORD = "S3cret-hunter2-pop3"


def msg(n: int) -> bytes:
    return b"From: a@example.org\r\nSubject: pop %d\r\n\r\nbody %d\r\n..dotted\r\n" % (n, n)


@pytest.mark.dovecot
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_download_once_then_delete(mail_user, tmp_path, security) -> None:
    for n in (1, 2):
        mail_user.deliver(msg(n))
    store = Maildir(tmp_path / "mail")
    sc = mail_user.server_config("pop3", security)
    creds = lambda refresh: Credentials(mail_user.name, mail_user.password)  # noqa: E731
    record = FetchRecord.for_account(tmp_path / "state", "acct", sc)
    with Pop3Session(sc, creds) as s:
        assert s.tls_info().version.startswith("TLSv1.")
        report = download(s, store, "INBOX", record)
    assert (report.fetched, report.skipped) == (2, 0)
    bodies = sorted(store.read(e) for e in store.list("INBOX"))
    assert bodies == [msg(1).replace(b"\r\n", b"\n"), msg(2).replace(b"\r\n", b"\n")]
    assert all(e.subdir == "new" for e in store.list("INBOX"))

    mail_user.deliver(msg(3))
    with Pop3Session(sc, creds) as s:
        report = download(s, store, "INBOX", record)  # second run: only the new one
    assert (report.fetched, report.skipped) == (1, 2)
    assert len(store.list("INBOX")) == 3

    with Pop3Session(sc, creds) as s:
        report = download(s, store, "INBOX", record, leave_on_server=False)
    assert (report.fetched, report.deleted) == (0, 3)
    with Pop3Session(sc, creds) as s:
        assert s.uidl() == {}
    assert len(store.list("INBOX")) == 3
    assert (record.path.stat().st_mode & 0o777) == 0o600


@pytest.mark.dovecot
def test_dot_stuffing_and_wrong_password(mail_user, tmp_path) -> None:
    mail_user.deliver(msg(7))
    sc = mail_user.server_config("pop3", "tls")
    with Pop3Session(sc, lambda r: Credentials(mail_user.name, mail_user.password)) as s:
        [(n, _uid)] = s.uidl().items()
        data = s.retr(n)
    assert data.endswith(b"body 7\n..dotted\n")
    with pytest.raises(AuthError, match="login failed"):
        Pop3Session(sc, lambda r: Credentials(mail_user.name, "wrong")).connect()


# --------------------------------------------------------------------------- hostile


def cfg(srv, pki, security="starttls", **kw) -> ServerConfig:
    kw.setdefault("cafile", str(pki.cafile))
    return ServerConfig("pop3", "localhost", srv.port, security, username="alice", timeout=3.0, **kw)


def fetch(sc: ServerConfig, tmp_path) -> None:
    store = Maildir(tmp_path / "m")
    with Pop3Session(sc, lambda r: Credentials("alice", PASSWORD)) as s:
        download(s, store, "INBOX", FetchRecord(tmp_path / "rec.sqlite"))


def assert_safe(srv, exc) -> None:
    assert "\n" not in str(exc) and str(exc).startswith("pop3 localhost:")
    plain = srv.all_plaintext().upper()
    for word in (b"USER", b"PASS", b"AUTH", b"RETR", b"UIDL"):
        assert word not in plain
    assert not srv.leaked(PASSWORD) and len(srv.sessions) == 1


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("pop3", pre_caps=b"USER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2"),  # ST-01
        Scenario("pop3", overrides={b"CAPA": b"-ERR no CAPA\r\n"}),  # no CAPA at all
        Scenario("pop3", starttls_reply=b"-ERR not now\r\n", switch_to_tls=False),  # ST-02
        Scenario("pop3", starttls_reply=b"", close_after_starttls=True),
        Scenario("pop3", starttls_reply=b"+OK begin\r\n+OK\r\nPLAIN\r\n.\r\n"),  # ST-04
        Scenario("pop3", switch_to_tls=False),  # +OK but no handshake
    ],
    ids=["no-stls", "no-capa", "err", "disconnect", "injection", "no-handshake"],
)
def test_stls_attacks(hostile, pki, tmp_path, scenario) -> None:
    srv = hostile(scenario)
    with pytest.raises(SecurityError) as ei:
        fetch(cfg(srv, pki), tmp_path)
    assert_safe(srv, ei.value)


def test_stls_happy_path_no_pipelining(hostile, pki, tmp_path) -> None:
    srv = hostile(Scenario("pop3"))
    fetch(cfg(srv, pki), tmp_path)
    assert srv.session.pipelined == b"" and srv.session.tls_commands()[0] == b"CAPA"
    assert not srv.leaked(PASSWORD)
    assert len(Maildir(tmp_path / "m").list("INBOX")) == 1


@pytest.mark.parametrize("kind", ["unknown-ca", "wrong-host", "expired", "self-signed"])
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_certificates(hostile, pki, tmp_path, kind, security) -> None:
    srv = hostile(Scenario("pop3", implicit_tls=security == "tls", cert=pki.bad(kind)))
    with pytest.raises(CertificateError) as ei:
        fetch(cfg(srv, pki, security), tmp_path)
    assert ei.value.reason == kind
    assert_safe(srv, ei.value)


def test_hostile_uids_and_sizes(hostile, pki, tmp_path) -> None:
    srv = hostile(Scenario("pop3", implicit_tls=True, overrides={b"UIDL": b"+OK\r\n1 ../../etc/passwd\r\n.\r\n"}))
    fetch(cfg(srv, pki, "tls"), tmp_path)  # the UID is data, never a path
    [entry] = Maildir(tmp_path / "m").list("INBOX")
    assert entry.path.parent == tmp_path / "m" / "INBOX" / "new"
    srv = hostile(Scenario("pop3", implicit_tls=True, overrides={b"UIDL": b"+OK\r\n" + b"x" * 5000 + b"\r\n.\r\n"}))
    with pytest.raises(ProtocolError, match="longer than"):
        fetch(cfg(srv, pki, "tls"), tmp_path)


def test_huge_message_is_capped(hostile, pki) -> None:
    def endless(conn, tag, line) -> None:
        conn.send(b"+OK\r\n")
        try:
            for _ in range(2000):
                conn.send(b"y" * 1000 + b"\r\n")
        except OSError:
            pass

    srv = hostile(Scenario("pop3", implicit_tls=True, overrides={b"RETR": endless}))
    with Pop3Session(cfg(srv, pki, "tls"), lambda r: Credentials("alice", PASSWORD)) as s:
        s.max_message = 100_000
        with pytest.raises(ProtocolError, match="larger than"):
            s.retr(1)


@pytest.mark.dovecot
def test_fetch_account_through_the_app(config_dir, tmp_path, mail_user) -> None:
    import sys

    from pigeon.core.app import App
    from pigeon.core.pop3 import fetch_account

    (config_dir / "config.toml").write_text(
        f"""
[accounts.pop]
address = "alice@example.org"
maildir = "{tmp_path / 'Mail'}"
{mail_user.toml("pop3", "tls")}
password_command = ["{sys.executable}", "-c", "print('{mail_user.password}')"]
sync = {{ leave_on_server = false }}
"""
    )
    mail_user.deliver(msg(1))
    app = App.create(config_dir, load_entrypoints=False)
    report = fetch_account(app, app.account("pop"))
    assert (report.fetched, report.deleted) == (1, 1)
    assert [e.folder for e in app.store("pop").list("INBOX")] == ["INBOX"]
    assert fetch_account(app, app.account("pop")).fetched == 0


def test_user_pass_is_redacted_in_the_trace(hostile, pki) -> None:
    import io

    from pigeon.core.transport import ProtocolTrace

    srv = hostile(Scenario("pop3", implicit_tls=True, post_caps=b"USER\r\nUIDL"))
    out = io.StringIO()
    with Pop3Session(cfg(srv, pki, "tls"), lambda r: Credentials("alice", PASSWORD), trace=ProtocolTrace(True, out)) as s:
        assert s.mechanism == "USER"
    assert "PASS <redacted>" in out.getvalue() and PASSWORD not in out.getvalue()


def test_lines_injected_after_the_greeting_never_count(hostile, pki, tmp_path) -> None:
    srv = hostile(Scenario("pop3", after_greeting=b"+OK\r\nSASL PLAIN\r\n.\r\n", post_caps=b"USER\r\nUIDL\r\nX-POST"))
    try:
        with Pop3Session(cfg(srv, pki), lambda r: Credentials("alice", PASSWORD)) as s:
            assert "X-POST" in s.capabilities and "SASL" not in s.capabilities
    except SecurityError as exc:
        assert "\n" not in str(exc)
    assert not srv.leaked(PASSWORD)


@pytest.mark.dovecot
def test_a_download_keeps_its_commands_in_flight(mail_user, tmp_path) -> None:
    """Dovecot offers PIPELINING: 40 new messages go out as 32 RETR commands before the first
    answer is read, then one more per answer, so the download waits about two round trips
    instead of 40. The deletions (leave_on_server = false) go the same way, after every
    message is stored and recorded; the Maildir holds each message once."""
    import io

    from pigeon.core.transport import ProtocolTrace

    for n in range(40):
        mail_user.deliver(msg(n))
    store = Maildir(tmp_path / "mail")
    sc = mail_user.server_config("pop3", "tls")
    record = FetchRecord.for_account(tmp_path / "state", "acct", sc)
    out = io.StringIO()
    shown: list[tuple[str, str, int, int]] = []

    class Shown:  # what a terminal's progress line would draw
        def folder(self, name: str, messages: int, nbytes: int) -> None:
            shown.append(("folder", name, messages, nbytes))

        def advance(self, name: str, messages: int, nbytes: int) -> None:
            shown.append(("advance", name, messages, nbytes))

    with Pop3Session(sc, lambda refresh: Credentials(mail_user.name, mail_user.password), trace=ProtocolTrace(True, out)) as s:
        assert "PIPELINING" in s.capabilities
        report = download(s, store, "INBOX", record, leave_on_server=False, progress=Shown())
    assert (report.fetched, report.deleted) == (40, 40)
    assert shown[0] == ("folder", "INBOX", 40, 0) and sum(m for kind, _n, m, _b in shown if kind == "advance") == 40
    lines = [ln.split("pop3 ", 1)[1] for ln in out.getvalue().splitlines() if "pop3 " in ln]
    first_answer = next(i for i, ln in enumerate(lines) if ln.startswith("S: <message"))
    assert sum(ln.startswith("C: RETR") for ln in lines[:first_answer]) == 32, lines[:first_answer]
    first_dele = next(i for i, ln in enumerate(lines) if ln.startswith("C: DELE"))
    after = lines[first_dele:]
    assert sum(ln.startswith("C: DELE") for ln in after[: next(i for i, ln in enumerate(after) if ln.startswith("S:"))]) == 32
    assert first_dele > max(i for i, ln in enumerate(lines) if ln.startswith("S: <message"))  # all stored first
    bodies = sorted(store.read(e) for e in store.list("INBOX"))
    assert bodies == sorted(msg(n).replace(b"\r\n", b"\n") for n in range(40))
    with Pop3Session(sc, lambda refresh: Credentials(mail_user.name, mail_user.password)) as s:
        assert s.uidl() == {}


@pytest.mark.dovecot
def test_a_download_cut_short_by_a_full_disk_loses_nothing(mail_user, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The Maildir's disk fills up while RETR answers are still in flight (batches of 5
    messages stored together): the download fails with the full disk, the connection (out of
    step) is dropped without QUIT, so the server deletes nothing; the batches stored before
    are recorded. With room again the next download brings the rest, each message once, and
    deletes them all."""
    import subprocess

    from helpers import small_tmpfs
    from pigeon.core import pop3
    from pigeon.core.errors import StoreError

    monkeypatch.setattr(pop3, "BATCH_MESSAGES", 5)

    big = [msg(n) + b"x" * 20_000 + b"\r\n" for n in range(40)]
    for data in big:
        mail_user.deliver(data)
    sc = mail_user.server_config("pop3", "tls")
    creds = lambda refresh: Credentials(mail_user.name, mail_user.password)  # noqa: E731
    record = FetchRecord.for_account(tmp_path / "state", "acct", sc)
    with small_tmpfs(tmp_path / "small", "320k") as mnt:
        store = Maildir(mnt / "mail")
        with Pop3Session(sc, creds) as s, pytest.raises(StoreError, match="disk is full"):
            download(s, store, "INBOX", record, leave_on_server=False)
        with Pop3Session(sc, creds) as s:
            assert len(s.uidl()) == 40
        kept = len(store.list("INBOX"))
        assert 0 < kept < 40 and kept % 5 == 0, kept
        assert record.db.execute("SELECT count(*) FROM fetched WHERE pending = 0").fetchone() == (kept,)
        subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], check=True)
        with Pop3Session(sc, creds) as s:
            report = download(s, store, "INBOX", record, leave_on_server=False)
        assert (report.fetched, report.skipped, report.deleted) == (40 - kept, kept, 40)
        assert sorted(store.read(e) for e in store.list("INBOX")) == sorted(d.replace(b"\r\n", b"\n") for d in big)
    with Pop3Session(sc, creds) as s:
        assert s.uidl() == {}


@pytest.mark.dovecot
@pytest.mark.parametrize("dies", ["after-storing", "before-storing"])
def test_a_crash_inside_a_batch_fetches_nothing_twice_and_loses_nothing(mail_user, tmp_path, monkeypatch, dies: str) -> None:  # noqa: ANN001
    """The process dies after a batch's files are stored but before the record says so, or
    after the record names them but before they exist: the next download finds the first
    case's files (nothing fetched again, no second copy) and fetches the second case's."""
    for n in range(6):
        mail_user.deliver(msg(n))
    store = Maildir(tmp_path / "mail")
    sc = mail_user.server_config("pop3", "tls")
    creds = lambda refresh: Credentials(mail_user.name, mail_user.password)  # noqa: E731
    path = FetchRecord.path_for(tmp_path / "state", "acct", sc)

    def die(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt  # as a kill at that point would

    if dies == "after-storing":
        monkeypatch.setattr(FetchRecord, "confirm", die)
    else:
        monkeypatch.setattr(Maildir, "add_many", die)
    record = FetchRecord(path)
    with Pop3Session(sc, creds) as s, pytest.raises(KeyboardInterrupt):
        download(s, store, "INBOX", record)
    record.close()
    monkeypatch.undo()
    assert len(store.list("INBOX")) == (6 if dies == "after-storing" else 0)
    record = FetchRecord(path)  # the next run
    with Pop3Session(sc, creds) as s:
        report = download(s, store, "INBOX", record)
    assert (report.fetched, report.skipped) == ((0, 6) if dies == "after-storing" else (6, 0))
    assert sorted(store.read(e) for e in store.list("INBOX")) == sorted(msg(n).replace(b"\r\n", b"\n") for n in range(6))


def test_a_record_from_before_pending_batches_is_carried_over(tmp_path) -> None:  # noqa: ANN001
    """A record file written before batches were recorded as pending (no such column) keeps
    what it knows and takes pending batches from then on."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE fetched (uid TEXT PRIMARY KEY, key TEXT, at REAL)")
    db.execute("INSERT INTO fetched VALUES ('u1', 'k1', 0)")
    db.commit()
    db.close()
    record = FetchRecord(path)
    assert "u1" in record and "u2" not in record
    record.reserve([("u2", "k2"), ("u3", "k3")])
    record.settle(lambda key: key == "k2")  # k3's file never came
    assert "u2" in record and "u3" not in record
    record.close()
