"""Built-in plugin: where account secrets come from (``pigeon_credentials``, trylast).

In order, for a server with ``auth = "password"``:

1. ``password_command``: run as an argument list (no shell), its first output line is the
   password; a failure is reported with the exit status only, never the output;
2. ``keyring = true``: the system keyring (``keyring`` package), service ``pigeon:<account>``,
   user name the login name. Plaintext or "fail" backends are refused;
3. ``password`` in config.toml (discouraged: ``pigeon doctor`` reports it as severe).

For ``auth = "oauth2" | "oauthbearer" | "xoauth2"``: the ``[accounts.NAME.oauth2]`` table
(``token_endpoint`` or ``provider = "google" | "microsoft"``, ``client_id``, optional
``client_secret`` / ``client_secret_command``, ``scope``, ``refresh_token_command``). The access token is kept in memory until it expires;
the refresh token lives in the keyring (``keyring = true``) or in a 0600 JSON file
``<state>/oauth2/<account>.json``, rotated whenever the endpoint returns a new one. A purpose
ending in ``:refresh`` (the server rejected the last token) forces a refresh. The endpoint
must be https (plain http only to a loopback address).

Errors are ``PigeonError`` lines that name the account and never contain a secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from pigeon.hooks import hookimpl
from pigeon.hooks.types import AccountConfig, Credentials

#: Token endpoints of the providers ``oauth2.provider`` may name.
PROVIDERS = {
    "google": "https://oauth2.googleapis.com/token",
    "microsoft": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
}

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


def save_refresh_token(account: AccountConfig, token: str) -> None:
    """Keep the refresh token: keyring when the account uses it, else a 0600 file."""
    if account.use_keyring:
        keyring_set(f"pigeon:{account.name}:oauth2", account.address, token)
        return
    path = _token_file(account)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"refresh_token": token}, f)
    os.replace(tmp, path)


def oauth2_access_token(account: AccountConfig, *, refresh: bool = False) -> str:
    """A valid access token: cached, or refreshed at the account's token endpoint."""
    from pigeon.core.config import is_loopback

    oauth = dict(account.oauth2 or {})
    endpoint = str(oauth.get("token_endpoint") or PROVIDERS.get(str(oauth.get("provider", "")), ""))
    client_id = str(oauth.get("client_id") or "")
    name = account.name
    if not endpoint or not client_id:
        raise _error(f"account {name}: OAuth2 needs token_endpoint (or provider) and client_id in [accounts.{name}.oauth2]")
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.hostname or "")):
        raise _error(f"account {name}: the OAuth2 token endpoint must use https")
    key = (name, endpoint)
    cached = _access.get(key)
    if cached and not refresh and cached[1] > time.time() + 60:
        return cached[0]
    refresh_token = load_refresh_token(account)
    if not refresh_token:
        raise _error(f"account {name}: no OAuth2 refresh token (set refresh_token_command in [accounts.{name}.oauth2])")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    secret = oauth.get("client_secret")
    if oauth.get("client_secret_command"):
        cmd = oauth["client_secret_command"]
        argv = cmd if isinstance(cmd, list) else __import__("shlex").split(cmd)
        secret = run_password_command(AccountConfig(name, account.address, account.maildir, password_command=[str(a) for a in argv]))
    if secret:
        form["client_secret"] = str(secret)
    if oauth.get("scope"):
        form["scope"] = str(oauth["scope"])
    data = _post_form(endpoint, form, name)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise _error(f"account {name}: the OAuth2 token endpoint returned no access_token")
    try:
        expires = float(data.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires = 3600.0
    _access[key] = (token, time.time() + expires)
    new_refresh = data.get("refresh_token")
    if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh_token:
        save_refresh_token(account, new_refresh)
    elif not account.use_keyring and not _token_file(account).exists():
        save_refresh_token(account, refresh_token)
    return token


def _post_form(endpoint: str, form: dict[str, str], account: str) -> dict[str, Any]:
    import urllib.error
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - scheme checked above
            raw = resp.read(1 << 20)
    except urllib.error.HTTPError as exc:
        reason = ""
        try:
            err = json.loads(exc.read(1 << 16))
            reason = str(err.get("error", ""))[:60] if isinstance(err, dict) else ""
        except Exception:
            pass
        reason = "".join(c for c in reason if c.isalnum() or c in "_-")
        raise _error(f"account {account}: OAuth2 token refresh failed: HTTP {exc.code}{' ' + reason if reason else ''}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _error(f"account {account}: cannot reach the OAuth2 token endpoint: {reason}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise _error(f"account {account}: the OAuth2 token endpoint did not return JSON") from None
    if not isinstance(data, dict):
        raise _error(f"account {account}: the OAuth2 token endpoint returned unexpected data")
    return data


def forget_cached() -> None:
    """Drop in-memory secrets (tests, and ``pigeon`` when it reloads configuration)."""
    _access.clear()
    _passwords.clear()
