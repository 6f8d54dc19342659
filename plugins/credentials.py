"""Built-in plugin: where account secrets come from (``pigeon_credentials``, trylast).

In order, for a server with ``auth = "password"``:

1. ``password_command``: run as an argument list (no shell), its first output line is the
   password; a failure is reported with the exit status only, never the output;
2. ``keyring = true``: the system keyring (``keyring`` package), service ``pigeon:<account>``,
   user name the login name. Plaintext or "fail" backends are refused;
3. ``password`` in config.toml (discouraged: ``pigeon doctor`` reports it as severe).

For ``auth = "oauth2" | "oauthbearer" | "xoauth2"``: the ``[accounts.NAME.oauth2]`` table
(``token_endpoint`` or ``provider = "google" | "microsoft"``, ``client_id``, optional
``client_secret`` / ``client_secret_command``, ``scopes``, ``refresh_token_command``; presets and
sign-in in ``pigeon.plugins.oauth2``). ``pigeon auth NAME`` stores the first refresh token.
The access token is kept in memory until it expires;
the refresh token lives in the keyring (``keyring = true``) or in a 0600 JSON file
``<state>/oauth2/<account>.json``, rotated whenever the endpoint returns a new one. A purpose
ending in ``:refresh`` (the server rejected the last token) forces a refresh. The endpoint
must be https (plain http only to a loopback address).

Errors are ``PigeonError`` lines that name the account and never contain a secret.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pigeon.hooks import hookimpl
from pigeon.hooks.types import AccountConfig, Credentials

_state_dir_setting: str | None = None
_access: dict[tuple[str, str], tuple[str, float]] = {}  # (account, endpoint) -> (token, expires)
_passwords: dict[tuple[str, tuple[str, ...]], str] = {}


@hookimpl
def pigeon_configure(config: Any) -> None:
    global _state_dir_setting
    _state_dir_setting = config.get("state_dir") or None


@hookimpl(trylast=True)
def pigeon_credentials(account: AccountConfig, purpose: str, username: str) -> Credentials | None:
    proto, _, flag = purpose.partition(":")
    refresh = flag == "refresh"
    server = getattr(account, proto, None)
    auth = getattr(server, "auth", "password")
    if auth != "password":
        return Credentials(username, oauth2_access_token(account, refresh=refresh), kind="oauth2")
    if account.password_command:
        return Credentials(username, run_password_command(account, refresh=refresh))
    if account.use_keyring:
        secret = keyring_get(f"pigeon:{account.name}", username)
        if secret is None:
            raise _error(f"account {account.name}: no password in the keyring for {username} (service pigeon:{account.name})")
        return Credentials(username, secret)
    password = account.extra.get("password")
    if isinstance(password, str) and password:
        return Credentials(username, password)
    return None


def _error(message: str) -> Exception:
    from pigeon.core.errors import PigeonError

    return PigeonError(message)


# --------------------------------------------------------------------------- password_command


def run_password_command(account: AccountConfig, *, refresh: bool = False) -> str:
    """The first line printed by ``password_command`` (cached for this process)."""
    argv = tuple(account.password_command or ())
    key = (account.name, argv)
    if not refresh and key in _passwords:
        return _passwords[key]
    what = f"account {account.name}: password_command ({argv[0] if argv else '?'})"
    import subprocess  # here, not at the top: every command imports this plugin

    try:
        proc = subprocess.run(list(argv), capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    except FileNotFoundError:
        raise _error(f"{what}: program not found") from None
    except PermissionError:
        raise _error(f"{what}: not executable") from None
    except subprocess.TimeoutExpired:
        raise _error(f"{what}: gave no answer within 60s") from None
    if proc.returncode != 0:
        raise _error(f"{what}: failed with exit status {proc.returncode}")
    first = proc.stdout.decode("utf-8", "replace").splitlines()[:1]
    if not first or not first[0]:
        raise _error(f"{what}: printed nothing")
    _passwords[key] = first[0]
    return first[0]


# --------------------------------------------------------------------------- keyring


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        raise _error("keyring = true but the keyring package is not installed (pip install 'pigeon-mail[keyring]')") from None
    backend = keyring.get_keyring()
    module = type(backend).__module__
    if module.startswith(("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")):
        raise _error(f"the keyring backend {module} is not a secure store; refusing to use it")
    return keyring


def keyring_get(service: str, user: str) -> str | None:
    try:
        return _keyring().get_password(service, user)
    except Exception as exc:
        if type(exc).__name__ == "PigeonError":
            raise
        raise _error(f"keyring lookup for {service} failed: {type(exc).__name__}") from None


def keyring_set(service: str, user: str, secret: str) -> None:
    _keyring().set_password(service, user, secret)


# --------------------------------------------------------------------------- OAuth2


def _token_file(account: AccountConfig) -> Path:
    from pigeon.core import paths

    directory = paths.ensure_private_dir(paths.state_dir(_state_dir_setting) / "oauth2")
    return directory / f"{account.name}.json"


def load_refresh_token(account: AccountConfig) -> str | None:
    oauth = account.oauth2 or {}
    if account.use_keyring:
        token = keyring_get(f"pigeon:{account.name}:oauth2", account.address)
        if token:
            return token
    path = _token_file(account)
    if path.exists():
        import json

        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise _error(f"account {account.name}: cannot read the OAuth2 token file {path}") from None
        if data.get("refresh_token"):
            return str(data["refresh_token"])
    cmd = oauth.get("refresh_token_command")
    if cmd:
        argv = cmd if isinstance(cmd, list) else __import__("shlex").split(cmd)
        fake = AccountConfig(account.name, account.address, account.maildir, password_command=[str(a) for a in argv])
        return run_password_command(fake)
    return None


def save_refresh_token(account: AccountConfig, token: str) -> str:
    """Keep the refresh token: keyring when the account uses it, else a 0600 file. Says where."""
    if account.use_keyring:
        keyring_set(f"pigeon:{account.name}:oauth2", account.address, token)
        return f"the system keyring (service pigeon:{account.name}:oauth2)"
    path = _token_file(account)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    import json

    with os.fdopen(fd, "w") as f:
        json.dump({"refresh_token": token}, f)
    os.replace(tmp, path)
    return f"{path} (mode 0600)"


def _cache_key(account: AccountConfig) -> tuple[str, str]:
    from pigeon.plugins.oauth2 import settings

    return (account.name, str(settings(account).get("token_endpoint") or ""))


def remember_access_token(account: AccountConfig, data: dict[str, Any]) -> None:
    """Keep a token response's access token in memory until it expires."""
    token = data.get("access_token")
    if isinstance(token, str) and token:
        _access[_cache_key(account)] = (token, time.time() + _expires_in(data))


def _expires_in(data: dict[str, Any]) -> float:
    try:
        return float(data.get("expires_in", 3600))
    except (TypeError, ValueError):
        return 3600.0


def oauth2_access_token(account: AccountConfig, *, refresh: bool = False) -> str:
    """A valid access token: cached, or refreshed at the account's token endpoint.

    Errors say what to do: a revoked or expired refresh token asks for ``pigeon auth NAME``.
    """
    from pigeon.plugins.oauth2 import (
        client_secret,
        endpoint,
        error_code,
        post_form,
        scope_string,
        settings,
    )

    conf = settings(account)
    name = account.name
    if not conf.get("client_id"):
        raise _error(f"account {name}: OAuth2 needs client_id in [accounts.{name}.oauth2]")
    url = endpoint(account, conf, "token_endpoint")
    key = (name, url)
    cached = _access.get(key)
    # a minute's margin: a token that expires during a long command is not worth the retry
    if cached and not refresh and cached[1] > time.time() + 60:
        return cached[0]
    refresh_token = load_refresh_token(account)
    if not refresh_token:
        raise _error(f"account {name}: not signed in to OAuth2 yet: run `pigeon auth {name}`")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": str(conf["client_id"])}
    secret = client_secret(account, conf)
    if secret:
        form["client_secret"] = secret
    if conf.get("scopes"):
        form["scope"] = scope_string(conf)
    status, data = post_form(url, form, name, "token endpoint")
    if status != 200:
        code = error_code(data)
        if code == "invalid_grant":
            raise _error(f"account {name}: the OAuth2 refresh token was revoked or has expired: run `pigeon auth {name}` to sign in again")
        if code in ("invalid_client", "unauthorized_client"):
            raise _error(f"account {name}: the OAuth2 provider does not accept client_id (HTTP {status} {code}); check [accounts.{name}.oauth2]")
        raise _error(f"account {name}: OAuth2 token refresh failed: HTTP {status}{' ' + code if code else ''}")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise _error(f"account {name}: the OAuth2 token endpoint returned no access_token")
    _access[key] = (token, time.time() + _expires_in(data))
    new_refresh = data.get("refresh_token")
    if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh_token:
        save_refresh_token(account, new_refresh)
    elif not account.use_keyring and not _token_file(account).exists():
        save_refresh_token(account, refresh_token)
    return token


def forget_cached() -> None:
    """Drop in-memory secrets (tests, and ``pigeon`` when it reloads configuration)."""
    _access.clear()
    _passwords.clear()
