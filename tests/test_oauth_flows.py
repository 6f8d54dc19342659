"""OAuth2 pieces without a mail server: the oauth2 table's validation, the device grant's polling
rules (RFC 8628), PKCE (RFC 7636) and the provider presets."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from pigeon.core.app import App
from pigeon.core.errors import ConfigError, PigeonError
from pigeon.hooks.types import AccountConfig
from pigeon.plugins import oauth2

HEAD = "[accounts.w]\naddress = 'me@example.org'\nmaildir = 'm'\nimap = { host = 'imap.example.org', auth = 'oauth2' }\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[accounts.w]\naddress = 'me@example.org'\nmaildir = 'm'\nimap = { host = 'x', auth = 'xoauth2' }\n",
         ":4: accounts.w.imap.auth: \"xoauth2\" needs an oauth2 table in [accounts.w]"),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'yahoo'\nclient_id = 'c'\n", ":6: accounts.w.oauth2.provider: must be \"google\" or \"microsoft\""),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'google'\n", ":5: accounts.w.oauth2.client_id: required"),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'google'\nclient_id = 'c'\nclient_secrets = 'x'\n",
         ":8: accounts.w.oauth2.client_secrets: unknown key (did you mean 'client_secret'?)"),
        (HEAD + "oauth2 = { client_id = 'c', token_endpoint = 'http://idp.example.org/token' }\n",
         ":5: accounts.w.oauth2.token_endpoint: must use https (plain http only to a loopback address"),
        (HEAD + "oauth2 = { client_id = 'c' }\n", ":5: accounts.w.oauth2.token_endpoint: required without a provider"),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'google'\nclient_id = 'c'\nscopes = 'mail'\n", ":8: accounts.w.oauth2.scopes: expected a list"),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'google'\nclient_id = 'c'\ntenant = 'x'\n", ":8: accounts.w.oauth2.tenant: only for provider = \"microsoft\""),
        (HEAD + "[accounts.w.oauth2]\nclient_id = 'c'\ntoken_endpoint = 'https://i/t'\nmethod = 'device'\n",
         "accounts.w.oauth2.device_authorization_endpoint: required for method = \"device\""),
        (HEAD + "[accounts.w.oauth2]\nprovider = 'microsoft'\nclient_id = 'c'\nclient_secret_command = []\n",
         ":8: accounts.w.oauth2.client_secret_command: expected a command"),
    ],
)
def test_oauth2_table_errors_name_file_line_and_key(config_dir: Path, text: str, expected: str) -> None:
    (config_dir / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        App.create(load_entrypoints=False)
    assert str(info.value).startswith(str(config_dir / "config.toml")) and expected in str(info.value), str(info.value)


def test_presets_and_overrides(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text(
        HEAD + "[accounts.w.oauth2]\nprovider = 'microsoft'\ntenant = 'contoso.example'\nclient_id = 'c'\n"
        "client_secret_command = ['printf', 's3']\n"
    )
    acct = App.create(load_entrypoints=False).account("w")
    conf = oauth2.settings(acct)
    assert conf["token_endpoint"] == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    assert "offline_access" in conf["scopes"] and "https://outlook.office.com/SMTP.Send" in conf["scopes"]
    assert oauth2.client_secret(acct, conf) == "s3"
    google = AccountConfig("g", "me@gmail.com", Path("/x"), oauth2={"provider": "google", "client_id": "c", "scopes": ["a"]})
    conf = oauth2.settings(google)
    assert conf["device_authorization_endpoint"] == "https://oauth2.googleapis.com/device/code" and conf["scopes"] == ["a"]
    assert oauth2.choose_method(AccountConfig("g", "a@b", Path("/x"), oauth2={"provider": "google", "client_id": "c", "method": "device"})) == "device"


def test_pkce_pair_is_s256_of_the_verifier() -> None:
    verifier, challenge = oauth2.pkce_pair()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert challenge == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert oauth2.pkce_pair()[0] != verifier


def account_for(ep) -> AccountConfig:  # noqa: ANN001
    return AccountConfig("w", "me@example.org", Path("/x"), oauth2={
        "client_id": "pigeon-test", "token_endpoint": ep.url, "device_authorization_endpoint": f"{ep.base}/device", "scopes": ["mail"]})


def test_device_grant_waits_slows_down_and_succeeds(token_endpoint) -> None:  # noqa: ANN001
    token_endpoint.device_interval = 1
    token_endpoint.slow_down_once = True
    lines: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the user approves after the third wait
        sleeps.append(seconds)
        if len(sleeps) == 3:
            token_endpoint.approve(lines[0].split()[-1], "me")

    data = oauth2.device_grant(account_for(token_endpoint), lines.append, sleep=sleep)
    assert data["access_token"].startswith("access-") and data["refresh_token"].startswith("refresh-")
    assert sleeps == [1, 6, 6]  # slow_down (first poll) adds 5 s to every later wait
    assert lines[0].startswith(f"To sign in to account w, open {token_endpoint.base}/device/verify and enter the code ")
    assert [r["grant_type"] for r in token_endpoint.requests] == ["urn:ietf:params:oauth:grant-type:device_code"] * 3
    assert all(data["access_token"] not in line for line in lines)


@pytest.mark.parametrize(("action", "words"), [
    ("deny", "the sign-in was declined at the provider; run `pigeon auth w` to try again"),
    ("expire_device", "the code expired before the sign-in was approved; run `pigeon auth w` again"),
])
def test_device_grant_denied_or_expired(token_endpoint, action: str, words: str) -> None:  # noqa: ANN001
    lines: list[str] = []

    def sleep(_seconds: float) -> None:
        if action == "deny":
            token_endpoint.deny(lines[0].split()[-1])
        else:
            token_endpoint.expire_device()

    with pytest.raises(PigeonError) as ei:
        oauth2.device_grant(account_for(token_endpoint), lines.append, sleep=sleep)
    assert words in str(ei.value)


def test_not_signed_in_yet_says_run_pigeon_auth(token_endpoint) -> None:  # noqa: ANN001
    from pigeon.plugins import credentials

    credentials.forget_cached()
    acct = account_for(token_endpoint)
    with pytest.raises(PigeonError, match=r"account w: not signed in to OAuth2 yet: run `pigeon auth w`"):
        credentials.oauth2_access_token(acct)
