"""Validation of an account's ``oauth2`` table (``[accounts.NAME.oauth2]`` or inline).

Each mistake is a ``ConfigError`` naming the file, the line and the key, like the rest of
config.py. The provider presets themselves live in ``pigeon.plugins.oauth2``; the core only
checks shapes and the rules that keep tokens safe (https endpoints, no fallback to passwords).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

OAUTH2_KEYS = {
    "provider",
    "tenant",
    "client_id",
    "client_secret",
    "client_secret_command",
    "scopes",
    "scope",
    "device_authorization_endpoint",
    "authorization_endpoint",
    "token_endpoint",
    "introspection_endpoint",
    "refresh_token_command",
    "method",
}
PROVIDERS = ("google", "microsoft")
ENDPOINTS = ("device_authorization_endpoint", "authorization_endpoint", "token_endpoint", "introspection_endpoint")


def _missing(v: Any, table: str, key: str, message: str) -> Exception:
    """An error about a key that is not there: it points at the oauth2 table itself."""
    import re

    from pigeon.core.config_lines import line_of
    from pigeon.core.errors import ConfigError

    line = None
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(p) for p in f"{table}.oauth2".split(".")) + r"\s*\]")
    for i, text in enumerate(v.text.splitlines()):
        if header.match(text):
            line = i + 1
            break
    line = line or line_of(v.text, table, "oauth2")
    where = f"{v.path}:{line}" if line else str(v.path)
    return ConfigError(f"{where}: {table}.oauth2.{key}: {message}")


def validate_oauth2(v: Any, table: str, raw: Any, servers: dict[str, Any]) -> dict[str, Any] | None:
    """Check ``raw`` (the ``oauth2`` value of account ``table``); ``v`` is config.py's validator.

    An account whose server says ``auth = "oauth2" | "xoauth2" | "oauthbearer"`` must have one.
    """
    from pigeon.core.config import _suggest_from, is_loopback

    token_servers = [p for p, s in servers.items() if s is not None and s.auth != "password"]
    if raw is None:
        if token_servers:
            proto = token_servers[0]
            raise v.fail(f"{table}.{proto}", "auth", f"\"{servers[proto].auth}\" needs an oauth2 table in [{table}] "
                         "(provider = \"google\" | \"microsoft\" or token_endpoint, and client_id)")
        return None
    sub = f"{table}.oauth2"
    if not isinstance(raw, dict):
        raise v.fail(table, "oauth2", "expected a table such as { provider = \"google\", client_id = \"...\" }")
    for key in raw:
        if key not in OAUTH2_KEYS:
            raise v.fail(sub, key, "unknown key" + _suggest_from(key, OAUTH2_KEYS))
    provider = raw.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise v.fail(sub, "provider", f"must be \"google\" or \"microsoft\" (or leave it out and give the endpoints), got {provider!r}")
    for key in ("client_id", "client_secret", "tenant", "scope"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key]):
            raise v.fail(sub, key, "expected a non-empty string")
    if not raw.get("client_id"):
        if "client_id" in raw:
            raise v.fail(sub, "client_id", "required: the OAuth2 client ID registered with the provider")
        raise _missing(v, table, "client_id", "required: the OAuth2 client ID registered with the provider")
    if "tenant" in raw and provider != "microsoft":
        raise v.fail(sub, "tenant", "only for provider = \"microsoft\"")
    for key in ("client_secret_command", "refresh_token_command"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            ok = bool(value.strip())
        else:
            ok = isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)
        if not ok:
            raise v.fail(sub, key, "expected a command: a list of strings (no shell) or a string")
    if "client_secret" in raw and "client_secret_command" in raw:
        raise v.fail(sub, "client_secret", "give client_secret or client_secret_command, not both")
    scopes = raw.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes)):
        raise v.fail(sub, "scopes", "expected a list of scope strings, such as [\"https://mail.google.com/\"]")
    if scopes is not None and "scope" in raw:
        raise v.fail(sub, "scope", "give scopes (a list) or scope (a string), not both")
    for key in ENDPOINTS:
        if key not in raw:
            continue
        url = raw[key]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or not parts.hostname or parts.scheme not in ("https", "http"):
            raise v.fail(sub, key, "expected an https:// URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise v.fail(sub, key, f"must use https (plain http only to a loopback address, not {parts.hostname})")
    if provider is None:
        if "token_endpoint" not in raw:
            raise _missing(v, table, "token_endpoint", "required without a provider (or set provider = \"google\" | \"microsoft\")")
    method = raw.get("method")
    if method is not None and method not in ("device", "browser"):
        raise v.fail(sub, "method", f"must be \"device\" or \"browser\", got {method!r}")
    if method == "device" and provider is None and "device_authorization_endpoint" not in raw:
        raise _missing(v, table, "device_authorization_endpoint", "required for method = \"device\" without a provider")
    if method == "browser" and provider is None and "authorization_endpoint" not in raw:
        raise _missing(v, table, "authorization_endpoint", "required for method = \"browser\" without a provider")
    return dict(raw)
