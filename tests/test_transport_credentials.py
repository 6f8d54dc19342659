"""The built-in credentials provider: password_command, keyring, config password, OAuth2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from pigeon.core.errors import PigeonError
from pigeon.core.pluginmanager import make_plugin_manager
from pigeon.core.transport import AuthError, credential_source
from pigeon.hooks.types import AccountConfig, ServerConfig
from pigeon.plugins import credentials as provider

IMAP = ServerConfig("imap", "localhost", 993, username="alice")


@pytest.fixture(autouse=True)
def fresh_cache():
    provider.forget_cached()
    yield
    provider.forget_cached()


def account(**kw) -> AccountConfig:
    return AccountConfig("acct", "alice@example.org", Path("/nonexistent"), imap=kw.pop("imap", IMAP), **kw)


def ask(acct: AccountConfig, refresh: bool = False):
    pm = make_plugin_manager(load_entrypoints=False, load_user=False)
    return credential_source(pm, acct, acct.imap)(refresh)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_password_command_first_line_no_shell(tmp_path) -> None:
    marker = tmp_path / "ran"
    creds = ask(account(password_command=py(f"open({str(marker)!r}, 'w'); print('pw-first'); print('second')")))
    assert (creds.username, creds.secret, creds.kind) == ("alice", "pw-first", "password")
    assert marker.exists()
    # an argument with shell syntax is passed as it is, never interpreted
    creds = ask(account(password_command=py("import sys; print(sys.argv[1])") + ["$(touch /tmp/x); `id`"]))
    assert creds.secret == "$(touch /tmp/x); `id`"
    assert "pw-first" not in repr(creds) and "pw-first" not in str(creds)


@pytest.mark.parametrize(
    "argv, words",
    [
        (py("import sys; print('leaked-secret'); sys.exit(3)"), "failed with exit status 3"),
        (py("pass"), "printed nothing"),
        (["/nonexistent/pass-helper"], "program not found"),
    ],
)
def test_password_command_failures_do_not_echo_output(argv, words) -> None:
    with pytest.raises(PigeonError) as ei:
        ask(account(password_command=argv))
    assert words in str(ei.value) and "leaked-secret" not in str(ei.value) and "acct" in str(ei.value)


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_keyring(memory_keyring) -> None:
    memory_keyring.set_password("pigeon:acct", "alice", "from-keyring")
    assert ask(account(use_keyring=True)).secret == "from-keyring"
    with pytest.raises(PigeonError, match="no password in the keyring"):
        ask(account(use_keyring=True, imap=ServerConfig("imap", "localhost", 993, username="bob")))


def test_insecure_keyring_backend_refused() -> None:
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(PigeonError, match="not a secure store"):
            ask(account(use_keyring=True))
    finally:
        keyring.set_keyring(before)


def test_config_password_and_nothing_configured() -> None:
    assert ask(account(extra={"password": "in-config"})).secret == "in-config"
    with pytest.raises(AuthError, match="no credentials for account acct"):
        ask(account())


def oauth_account(endpoint: str, **kw) -> AccountConfig:
    imap = ServerConfig("imap", "localhost", 993, username="alice", auth="oauth2")
    oauth = {"token_endpoint": endpoint, "client_id": "pigeon-test", "scope": "mail"} | kw.pop("oauth", {})
    return account(imap=imap, oauth2=oauth, **kw)


def test_oauth2_refresh_flow_file_store(token_endpoint, isolated_env) -> None:
    acct = oauth_account(token_endpoint.url, oauth={"refresh_token_command": py("print('refresh-0')")})
    first = ask(acct)
    assert (first.kind, first.secret) == ("oauth2", "access-1")
    assert token_endpoint.requests[0] == {
        "grant_type": "refresh_token", "refresh_token": "refresh-0", "client_id": "pigeon-test", "scope": "mail"
    }
    path = isolated_env["state"] / "oauth2" / "acct.json"
    assert json.loads(path.read_text()) == {"refresh_token": "refresh-1"}  # rotated, kept
    assert path.stat().st_mode & 0o777 == 0o600
    assert ask(acct).secret == "access-1"  # cached in memory: no second request
    assert len(token_endpoint.requests) == 1
    assert ask(acct, refresh=True).secret == "access-2"  # the server rejected it: refresh
    assert token_endpoint.requests[1]["refresh_token"] == "refresh-1"


def test_oauth2_keyring_store_and_errors(token_endpoint, memory_keyring) -> None:
    memory_keyring.set_password("pigeon:acct:oauth2", "alice@example.org", "refresh-0")
    acct = oauth_account(token_endpoint.url, use_keyring=True)
    assert ask(acct).secret == "access-1"
    assert memory_keyring.get_password("pigeon:acct:oauth2", "alice@example.org") == "refresh-1"
    memory_keyring.set_password("pigeon:acct:oauth2", "alice@example.org", "stolen-or-revoked")
    with pytest.raises(PigeonError) as ei:
        ask(acct, refresh=True)
    assert "revoked or has expired: run `pigeon auth acct`" in str(ei.value) and "stolen-or-revoked" not in str(ei.value)
    with pytest.raises(PigeonError, match="must use https"):
        ask(oauth_account("http://tokens.example.org/token"))
