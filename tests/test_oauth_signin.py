"""OAuth2 end to end on loopback: ``pigeon auth`` against the stand-in authorization server, then
IMAP (OAUTHBEARER, XOAUTH2) against Dovecot's ``oauth2`` passdb, SMTP XOAUTH2 against aiosmtpd,
refresh, revocation, and no token in any output."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from fixtures.dovecot import MailUser
from helpers import run_pigeon

pytestmark = pytest.mark.dovecot


def oauth_user(dovecot) -> MailUser:  # noqa: ANN001
    """A Dovecot user that exists only at the authorization server (no password anywhere)."""
    return MailUser(dovecot, f"oauth{secrets.token_hex(4)}", "")


def write_config(config_dir: Path, user: MailUser, auth_server, tmp_path: Path, *, imap_auth: str = "oauthbearer",
                 smtp: str = "", pop3: bool = False, oauth_extra: str = "") -> None:  # noqa: ANN001
    srv = user.server
    if pop3:
        server = (f'pop3 = {{ host = "localhost", port = {srv.ports["pop3s"]}, username = "{user.name}", '
                  f'cafile = "{srv.pki.cafile}", auth = "{imap_auth}", timeout = 10 }}')
    else:
        server = (f'imap = {{ host = "localhost", port = {srv.ports["imaps"]}, username = "{user.name}", '
                  f'cafile = "{srv.pki.cafile}", auth = "{imap_auth}", timeout = 10 }}')
    (config_dir / "config.toml").write_text(
        f"""[accounts.work]
address = "{user.name}@example.org"
maildir = "{tmp_path / 'Mail'}"
{server}
{smtp}
oauth2 = {auth_server.endpoints_toml(**dict(x.split("=", 1) for x in oauth_extra.split(",") if x))}
"""
    )


def append(user: MailUser, auth_server, data: bytes) -> None:  # noqa: ANN001
    """Put a message in the OAuth-only user's INBOX (doveadm cannot look such a user up)."""
    import ssl

    import imapclient

    ctx = ssl.create_default_context(cafile=str(user.server.pki.cafile))
    client = imapclient.IMAPClient("localhost", user.server.ports["imaps"], ssl_context=ctx, timeout=10)
    client.oauth2_login(user.name, auth_server.access_token_for(user.name))
    client.append("INBOX", data)
    client.logout()


class Running:
    """``pigeon auth`` running in a subprocess, its output read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pigeon.core.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode()
                self.lines.append(line)
                if text in line:
                    found.append(line)
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        assert found, f"no {text!r} in {self.lines!r}"
        return found[0]

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, "".join(self.lines) + out.decode(), err.decode()


def no_secret_in(text: str, tokens: list[str], user: str, srv) -> None:  # noqa: ANN001
    for token in tokens:
        assert token not in text
        for blob in (f"user={user}\x01auth=Bearer {token}\x01\x01",
                     f"n,a={user},\x01host=localhost\x01port={srv.ports['imaps']}\x01auth=Bearer {token}\x01\x01"):
            assert base64.b64encode(blob.encode()).decode() not in text


def test_device_grant_then_imap_oauthbearer_and_debug_shows_no_token(dovecot, oauth_server, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    user = oauth_user(dovecot)
    write_config(config_dir, user, oauth_server, tmp_path)
    before = len(oauth_server.issued)
    run = Running("auth", "work", "--method", "device")
    line = run.wait_for("enter the code")
    assert f"open {oauth_server.base}/device/verify and enter the code" in line
    oauth_server.approve(line.split()[-1], user.name)
    code, out, err = run.finish()
    assert code == 0, err
    assert "Signed in: account work; the refresh token is kept in" in out and "(mode 0600)" in out
    token_file = isolated_env["state"] / "oauth2" / "work.json"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(token_file.read_text())["refresh_token"] in oauth_server.refresh_tokens_of(user.name)

    append(user, oauth_server, b"From: a@example.org\r\nTo: b@example.org\r\nSubject: via OAuth\r\n\r\nbody\r\n")
    p = run_pigeon("--debug", "sync", "work")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    debug = p.stdout.decode() + p.stderr.decode()
    assert "AUTHENTICATE OAUTHBEARER" in debug and "<redacted>" in debug
    issued = oauth_server.issued[before:]
    assert len(issued) >= 3  # sign-in pair, then the sync's refresh
    no_secret_in(out + err + debug, issued, user.name, dovecot)
    mail = list((tmp_path / "Mail" / "INBOX").glob("*/*"))
    assert len(mail) == 1 and b"via OAuth" in mail[0].read_bytes()


def test_browser_pkce_then_imap_xoauth2_and_smtp_xoauth2(dovecot, oauth_server, smtp_server, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    user = oauth_user(dovecot)
    smtp = (f'smtp = {{ host = "localhost", port = {smtp_server.ports["tls"]}, username = "{user.name}", '
            f'cafile = "{smtp_server.pki.cafile}", auth = "xoauth2", timeout = 10 }}')
    write_config(config_dir, user, oauth_server, tmp_path, imap_auth="xoauth2", smtp=smtp)
    before = len(oauth_server.issued)
    oauth_server.browser_user = user.name
    run = Running("auth", "work", "--method", "browser", "--no-browser")
    url = run.wait_for(f"{oauth_server.base}/authorize?").strip()
    assert "code_challenge_method=S256" in url and "state=" in url and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url
    with urllib.request.urlopen(url, timeout=10) as resp:  # the test is the browser: approve, follow the redirect
        page = resp.read().decode()
    assert "Signed in to pigeon" in page
    code, out, err = run.finish()
    assert code == 0, err
    assert "Signed in: account work" in out

    p = run_pigeon("sync", "work")
    assert p.returncode == 0, p.stderr.decode()

    smtp_server.reset()
    smtp_server.token_check = oauth_server.check
    try:
        p = run_pigeon("compose", "--account", "work", "--to", "bob@example.org", "--subject", "token mail", input=b"sent with XOAUTH2\n")
        assert p.returncode == 0, p.stderr.decode()
        p = run_pigeon("--debug", "send", "work")
        assert p.returncode == 0, p.stderr.decode()
        assert [m.auth_user for m in smtp_server.messages] == [user.name]
        assert ("XOAUTH2", user.name) in smtp_server.auth_attempts
        debug = p.stdout.decode() + p.stderr.decode()
        assert "AUTH XOAUTH2" in debug
        no_secret_in(out + err + debug, oauth_server.issued[before:], user.name, dovecot)
    finally:
        smtp_server.reset()


def test_browser_redirect_with_wrong_state_is_refused(dovecot, oauth_server, config_dir, tmp_path) -> None:  # noqa: ANN001
    user = oauth_user(dovecot)
    write_config(config_dir, user, oauth_server, tmp_path)
    run = Running("auth", "work", "--method", "browser", "--no-browser")
    url = run.wait_for(f"{oauth_server.base}/authorize?").strip()
    redirect = urllib.parse.unquote(url.split("redirect_uri=")[1].split("&")[0])
    forged = redirect + "?code=attacker-code&state=not-the-state"
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(forged, timeout=10)
    assert ei.value.code == 400
    code, out, err = run.finish()
    assert code == 1
    assert "wrong state" in err and "run `pigeon auth work` again" in err and "Traceback" not in err


def test_expired_access_token_is_refreshed_once_and_revocation_says_what_to_do(dovecot, oauth_server, tmp_path) -> None:  # noqa: ANN001
    from pigeon.core.errors import PigeonError
    from pigeon.core.imap import ImapSession
    from pigeon.core.pluginmanager import make_plugin_manager
    from pigeon.core.transport import AuthError, credential_source
    from pigeon.hooks.types import AccountConfig
    from pigeon.plugins import credentials

    credentials.forget_cached()
    user = oauth_user(dovecot)
    oauth_server.refresh[f"seed-{user.name}"] = user.name
    server = user.server_config("imap", "tls", auth="oauthbearer")
    account = AccountConfig("work", f"{user.name}@example.org", tmp_path / "Mail", imap=server,
                            oauth2={"client_id": "pigeon-test", "token_endpoint": oauth_server.url})
    credentials.save_refresh_token(account, f"seed-{user.name}")
    pm = make_plugin_manager(load_entrypoints=False, load_user=False)
    source = credential_source(pm, account, server)
    try:
        with ImapSession(server, source) as s:
            assert s.mechanism == "OAUTHBEARER"
        grants = len(oauth_server.requests)
        with ImapSession(server, source):  # the cached token is still good: no new grant
            pass
        assert len(oauth_server.requests) == grants
        oauth_server.expire_access()  # the provider expired it early: Dovecot refuses, pigeon refreshes once
        with ImapSession(server, source) as s:
            assert s.mechanism == "OAUTHBEARER"
        assert len(oauth_server.requests) == grants + 1
        assert oauth_server.requests[-1]["grant_type"] == "refresh_token"

        oauth_server.revoke(user.name)
        with pytest.raises(PigeonError) as ei:
            ImapSession(server, source).connect()
        assert "the OAuth2 refresh token was revoked or has expired: run `pigeon auth work` to sign in again" in str(ei.value)
        assert not isinstance(ei.value, AuthError) or "password" not in str(ei.value)
    finally:
        credentials.forget_cached()


def seed_signed_in(oauth_server, user: MailUser, state: Path) -> None:  # noqa: ANN001
    """As if ``pigeon auth work`` had run: a live refresh token in the 0600 token file."""
    oauth_server.refresh[f"seed-{user.name}"] = user.name
    path = state / "oauth2"
    path.mkdir(parents=True, mode=0o700, exist_ok=True)
    fd = os.open(path / "work.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps({"refresh_token": f"seed-{user.name}"}).encode())
    os.close(fd)


@pytest.mark.parametrize("mech", ["xoauth2", "oauthbearer"])
def test_pop3_sync_with_a_token(mech, dovecot, oauth_server, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    user = oauth_user(dovecot)
    write_config(config_dir, user, oauth_server, tmp_path, imap_auth=mech, pop3=True)
    seed_signed_in(oauth_server, user, isolated_env["state"])
    append(user, oauth_server, b"Subject: over POP3\r\n\r\nbody\r\n")
    p = run_pigeon("--debug", "sync", "work")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("1 down")
    debug = p.stderr.decode()
    assert f"AUTH {mech.upper()}" in debug
    for token in oauth_server.issued:
        assert token not in debug


def test_revoked_grant_in_the_cli(dovecot, oauth_server, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    user = oauth_user(dovecot)
    write_config(config_dir, user, oauth_server, tmp_path)
    seed_signed_in(oauth_server, user, isolated_env["state"])
    p = run_pigeon("sync", "work")
    assert p.returncode == 0, p.stderr.decode()
    p = run_pigeon("auth", "work", "--check")
    assert p.returncode == 0 and "account work: signed in; a fresh access token was obtained (not shown)" in p.stdout.decode()
    oauth_server.revoke(user.name)
    p = run_pigeon("auth", "work", "--check")
    assert p.returncode == 1 and "revoked or has expired: run `pigeon auth work`" in p.stderr.decode()
    p = run_pigeon("sync", "work")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "the OAuth2 refresh token was revoked or has expired: run `pigeon auth work` to sign in again" in err
    assert f"seed-{user.name}" not in err and "refresh-" not in err


def test_auth_needs_an_oauth2_account(config_dir, tmp_path) -> None:  # noqa: ANN001
    (config_dir / "config.toml").write_text(
        f'[accounts.home]\naddress = "me@example.org"\nmaildir = "{tmp_path}/M"\npassword_command = ["true"]\n'
    )
    p = run_pigeon("auth", "home")
    assert p.returncode == 1
    assert "account home has no [accounts.home.oauth2] table" in p.stderr.decode()
    p = run_pigeon("auth", "nope")
    assert "no account named 'nope'" in p.stderr.decode()


def test_sign_in_keeps_the_refresh_token_in_a_secure_keyring(token_endpoint, tmp_path) -> None:  # noqa: ANN001
    import keyring
    from keyring.backends import fail
    from pigeon.core.errors import PigeonError
    from pigeon.core.pluginmanager import make_plugin_manager
    from pigeon.hooks.types import AccountConfig
    from test_transport_credentials import MemoryKeyring

    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        acct = AccountConfig("work", "me@example.org", tmp_path / "M", use_keyring=True, oauth2={
            "client_id": "pigeon-test", "token_endpoint": token_endpoint.url,
            "device_authorization_endpoint": f"{token_endpoint.base}/device"})
        pm = make_plugin_manager(load_entrypoints=False, load_user=False)

        def say(line: str) -> None:  # the user approves as soon as the code is shown
            if "enter the code" in line:
                token_endpoint.approve(line.split()[-1], "me")

        where = pm.hook.pigeon_sign_in(account=acct, method="device", say=say, open_browser=False, timeout=30)
        assert where == "the system keyring (service pigeon:work:oauth2)"
        assert ring.get_password("pigeon:work:oauth2", "me@example.org") in token_endpoint.refresh_tokens_of("me")
        assert not (tmp_path / "state").exists()
        keyring.set_keyring(fail.Keyring())
        with pytest.raises(PigeonError, match="not a secure store"):
            pm.hook.pigeon_sign_in(account=acct, method="device", say=say, open_browser=False, timeout=30)
    finally:
        keyring.set_keyring(before)
