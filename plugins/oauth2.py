"""Built-in plugin: OAuth2 sign-in (``pigeon auth ACCOUNT``) and the provider presets.

Two grants, both for public desktop clients:

- **device authorization** (RFC 8628): ask the device endpoint for a user code, show the
  verification URI and the code, poll the token endpoint at the given interval (``slow_down``
  adds 5 s, ``authorization_pending`` waits, ``access_denied`` and ``expired_token`` end with a
  message that says what to do). Works without a browser on this machine.
- **loopback redirect with PKCE** (RFC 8252, RFC 7636 S256): a one-shot HTTP listener on
  ``127.0.0.1`` at a port the system picks, a random ``state`` that the redirect must carry
  back, the browser opened with ``webbrowser`` when possible and the URL printed always.

Endpoints come from ``provider = "google" | "microsoft"`` (Microsoft's ``tenant`` defaults to
``common``) or from the account's own ``*_endpoint`` keys, which override a preset. The refresh
token is kept by ``pigeon.plugins.credentials`` (keyring or a 0600 file); the access token only
in memory. Nothing here prints or logs a token, a code or the PKCE verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pigeon.hooks import hookimpl
from pigeon.hooks.types import AccountConfig

#: Endpoints and default scopes of the providers ``oauth2.provider`` may name.
PRESETS: dict[str, dict[str, Any]] = {
    "google": {
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "device_authorization_endpoint": "https://oauth2.googleapis.com/device/code",
        "scopes": ["https://mail.google.com/"],
        # Google's device flow does not grant the Gmail scope: sign in through the browser
        "device_flow": False,
        # Google returns a refresh token to the browser flow only when asked for consent offline
        "authorization_params": {"access_type": "offline", "prompt": "consent"},
    },
    "microsoft": {
        "authorization_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "device_authorization_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
        "scopes": [
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/POP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
            "offline_access",
        ],
        "authorization_params": {},
    },
}

ENDPOINT_KEYS = ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "introspection_endpoint")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _error(message: str) -> Exception:
    from pigeon.core.errors import PigeonError

    return PigeonError(message)


# --------------------------------------------------------------------------- settings


def settings(account: AccountConfig) -> dict[str, Any]:
    """The account's ``oauth2`` table with the provider preset filled in (endpoints, scopes)."""
    oauth = dict(account.oauth2 or {})
    preset = PRESETS.get(str(oauth.get("provider", "")), {})
    tenant = str(oauth.get("tenant") or "common")
    out: dict[str, Any] = {k: (v.format(tenant=tenant) if isinstance(v, str) else v) for k, v in preset.items()}
    out.update({k: v for k, v in oauth.items() if v not in (None, "")})
    if "scopes" not in oauth and isinstance(oauth.get("scope"), str):
        out["scopes"] = oauth["scope"].split()
    out.setdefault("scopes", [])
    out.setdefault("authorization_params", {})
    return out


def scope_string(conf: dict[str, Any]) -> str:
    return " ".join(str(s) for s in conf.get("scopes") or [])


def client_secret(account: AccountConfig, conf: dict[str, Any]) -> str | None:
    """``client_secret_command``'s first line, or ``client_secret`` (installed apps' are not secret)."""
    cmd = conf.get("client_secret_command")
    if cmd:
        import shlex

        from pigeon.plugins.credentials import run_password_command

        argv = cmd if isinstance(cmd, list) else shlex.split(cmd)
        return run_password_command(AccountConfig(account.name, account.address, account.maildir, password_command=[str(a) for a in argv]))
    secret = conf.get("client_secret")
    return str(secret) if secret else None


def endpoint(account: AccountConfig, conf: dict[str, Any], key: str) -> str:
    """A checked endpoint URL: https, or plain http only to a loopback address."""
    from urllib.parse import urlsplit

    from pigeon.core.config import is_loopback

    url = str(conf.get(key) or "")
    name = account.name
    if not url:
        raise _error(f"account {name}: OAuth2 needs {key} (or provider = \"google\" | \"microsoft\") in [accounts.{name}.oauth2]")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        raise _error(f"account {name}: the OAuth2 {key} must use https")
    return url


# --------------------------------------------------------------------------- HTTP


def post_form(url: str, form: dict[str, str], account: str, what: str) -> tuple[int, dict[str, Any]]:
    """POST ``form``; returns ``(status, JSON object)``. OAuth2 errors come back as 400 with JSON."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - scheme checked by endpoint()
            status, raw = resp.status, resp.read(1 << 20)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(1 << 16)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _error(f"account {account}: cannot reach the OAuth2 {what}: {reason}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _error(f"account {account}: the OAuth2 {what} answered HTTP {status} without a JSON object")
    return status, data


def error_code(data: dict[str, Any]) -> str:
    """The ``error`` field, reduced to characters that are safe to show."""
    return "".join(c for c in str(data.get("error", ""))[:60] if c.isalnum() or c in "_-.")


# --------------------------------------------------------------------------- grants


def device_grant(account: AccountConfig, say: Callable[[str], None], *, timeout: float = 900.0,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """RFC 8628: show the code, poll until the user approved; the token response."""
    conf = settings(account)
    name = account.name
    device_url = endpoint(account, conf, "device_authorization_endpoint")
    token_url = endpoint(account, conf, "token_endpoint")
    client_id = str(conf.get("client_id") or "")
    form = {"client_id": client_id}
    if conf.get("scopes"):
        form["scope"] = scope_string(conf)
    status, data = post_form(device_url, form, name, "device authorization endpoint")
    if status != 200:
        hint = f"check client_id and scopes in [accounts.{name}.oauth2]"
        if conf.get("device_flow") is False:
            hint = f"this provider does not allow mail scopes in the device flow: run `pigeon auth {name} --method browser`"
        raise _error(f"account {name}: the device authorization endpoint refused: HTTP {status} {error_code(data)}".rstrip() + "; " + hint)
    device_code = data.get("device_code")
    user_code = data.get("user_code")
    uri = data.get("verification_uri") or data.get("verification_url")  # Google says "url"
    if not (isinstance(device_code, str) and isinstance(user_code, str) and isinstance(uri, str)):
        raise _error(f"account {name}: the device authorization endpoint's answer lacks device_code, user_code or verification_uri")
    interval = _number(data.get("interval"), 5.0)
    expires = min(_number(data.get("expires_in"), 900.0), timeout)
    say(f"To sign in to account {name}, open {uri} and enter the code {user_code}")
    complete = data.get("verification_uri_complete")
    if isinstance(complete, str) and complete:
        say(f"(or open {complete})")
    say("Waiting for you to approve the sign-in ...")
    poll = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
    secret = client_secret(account, conf)
    if secret:
        poll["client_secret"] = secret
    deadline = time.monotonic() + expires
    while True:
        sleep(interval)
        status, data = post_form(token_url, poll, name, "token endpoint")
        if status == 200 and data.get("access_token"):
            return data
        code = error_code(data)
        if code == "authorization_pending":
            pass
        elif code == "slow_down":
            interval += 5.0  # RFC 8628 §3.5
        elif code == "access_denied":
            raise _error(f"account {name}: the sign-in was declined at the provider; run `pigeon auth {name}` to try again")
        elif code == "expired_token":
            raise _error(f"account {name}: the code expired before the sign-in was approved; run `pigeon auth {name}` again")
        else:
            raise _error(f"account {name}: the token endpoint refused the device code: HTTP {status} {code}".rstrip())
        if time.monotonic() + interval > deadline:
            raise _error(f"account {name}: no approval within {expires:.0f}s; run `pigeon auth {name}` again")


def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, S256 code_challenge)`` per RFC 7636."""
    import base64
    import hashlib  # ~2 ms: imported when signing in, not by every command
    import secrets

    verifier = secrets.token_urlsafe(64)  # 86 unreserved characters (43..128 allowed)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
    return verifier, challenge


def browser_grant(account: AccountConfig, say: Callable[[str], None], *, open_browser: bool = True,
                  timeout: float = 300.0) -> dict[str, Any]:
    """Authorization code with PKCE S256 and a one-shot loopback redirect; the token response."""
    import secrets
    import urllib.parse

    conf = settings(account)
    name = account.name
    auth_url = endpoint(account, conf, "authorization_endpoint")
    token_url = endpoint(account, conf, "token_endpoint")
    client_id = str(conf.get("client_id") or "")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    listener = _Listener(state)
    try:
        redirect_uri = f"http://127.0.0.1:{listener.port}/"
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if conf.get("scopes"):
            params["scope"] = scope_string(conf)
        if account.address:
            params["login_hint"] = account.address
        params.update({str(k): str(v) for k, v in dict(conf.get("authorization_params") or {}).items()})
        url = auth_url + ("&" if "?" in auth_url else "?") + urllib.parse.urlencode(params)
        say(f"To sign in to account {name}, open this address in a browser:")
        say(url)
        if open_browser:
            _open_browser(url)
        say(f"Waiting for the browser to come back to {redirect_uri} ...")
        code = listener.wait(timeout, name)
    finally:
        listener.close()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    secret = client_secret(account, conf)
    if secret:
        form["client_secret"] = secret
    status, data = post_form(token_url, form, name, "token endpoint")
    if status != 200 or not data.get("access_token"):
        raise _error(f"account {name}: the token endpoint refused the authorization code: HTTP {status} {error_code(data)}".rstrip()
                     + f"; run `pigeon auth {name}` again")
    return data


def _open_browser(url: str) -> None:
    import webbrowser

    try:
        webbrowser.open(url, new=1)
    except Exception:  # noqa: BLE001, S110 - the URL is printed anyway
        pass


class _Listener:
    """A one-shot HTTP server on 127.0.0.1:0 waiting for ``?code=...&state=...``."""

    def __init__(self, state: str) -> None:
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.state = state
        self.result: tuple[str, str] | None = None  # ("code", value) or ("error", text)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                import secrets
                import urllib.parse

                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                if parts.path != "/" or not ({"code", "error", "state"} & query.keys()):
                    self._page(404, "Not found.")
                    return
                if not secrets.compare_digest(query.get("state", ""), outer.state):
                    outer.result = ("error", "the browser came back with the wrong state (a forged redirect?); sign-in aborted")
                    self._page(400, "Sign-in aborted: the state did not match. Return to the terminal.")
                elif "error" in query:
                    reason = "".join(c for c in query["error"][:60] if c.isalnum() or c in "_-.")
                    outer.result = ("error", f"the provider refused the sign-in ({reason})")
                    self._page(200, "Sign-in refused. Return to the terminal.")
                elif query.get("code"):
                    outer.result = ("code", query["code"])
                    self._page(200, "Signed in to pigeon. You can close this tab.")
                else:
                    self._page(400, "No code in the redirect.")

            def _page(self, status: int, text: str) -> None:
                body = f"<!doctype html><title>pigeon</title><p>{text}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # the query holds the code: never log it
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]

    def wait(self, timeout: float, account: str) -> str:
        deadline = time.monotonic() + timeout
        while self.result is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _error(f"account {account}: the browser did not come back within {timeout:.0f}s; "
                             f"run `pigeon auth {account}` again (or `--method device` without a browser here)")
            self.httpd.timeout = min(left, 1.0)
            self.httpd.handle_request()
        kind, value = self.result
        if kind == "error":
            raise _error(f"account {account}: {value}; run `pigeon auth {account}` again")
        return value

    def close(self) -> None:
        self.httpd.server_close()


def _number(value: Any, default: float) -> float:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return default
    return n if n >= 0 else default


# --------------------------------------------------------------------------- the hook


def choose_method(account: AccountConfig) -> str:
    """``oauth2.method`` if set; else the browser when there is one and the provider allows it."""
    import os
    import sys

    conf = settings(account)
    if conf.get("method") in ("device", "browser"):
        return str(conf["method"])
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("darwin", "win32")
    device = bool(conf.get("device_authorization_endpoint")) and conf.get("device_flow", True) is not False
    if conf.get("authorization_endpoint") and (has_display or not device):
        return "browser"
    return "device"


@hookimpl(trylast=True)
def pigeon_sign_in(account: AccountConfig, method: str, say: Callable[[str], None], open_browser: bool, timeout: float) -> str | None:
    if not account.oauth2:
        return None
    from pigeon.plugins import credentials

    if account.use_keyring:
        credentials._keyring()  # refuse an insecure backend before the user signs in for nothing
    method = method or choose_method(account)
    if method == "device":
        data = device_grant(account, say, timeout=timeout)
    elif method == "browser":
        data = browser_grant(account, say, open_browser=open_browser, timeout=timeout)
    else:
        raise _error(f"unknown sign-in method {method!r} (device or browser)")
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise _error(f"account {account.name}: the provider gave no refresh token; add the offline scope "
                     f"(\"offline_access\" for Microsoft) to scopes in [accounts.{account.name}.oauth2]")
    where = credentials.save_refresh_token(account, refresh)
    credentials.remember_access_token(account, data)
    return where
