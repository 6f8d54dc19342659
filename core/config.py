"""config.toml: read, validate against the typed settings registry, and turn into a ``Config``.

Errors name the file, the line where it can be known, and the key, on one line. A bad file stops
pigeon before anything runs: it never starts half-configured. The line numbers come from
``pigeon.core.config_lines``, the ``oauth2`` table's checks from ``pigeon.core.config_oauth2``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core.errors import ConfigError
from pigeon.hooks.types import AccountConfig, ServerConfig, SettingsRegistry

CONFIG_FILE = "config.toml"

#: Top-level tables that the core validates itself.
RESERVED_TABLES = ("accounts", "plugins")

DEFAULT_PORTS = {
    ("imap", "tls"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("smtp", "tls"): 465,
    ("smtp", "starttls"): 587,
    ("smtp", "none"): 25,
    ("pop3", "tls"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
}

SERVER_KEYS = {
    "host",
    "port",
    "security",
    "username",
    "auth",
    "cafile",
    "fingerprint",
    "timeout",
    "verify",
}
ACCOUNT_KEYS = {
    "address",
    "maildir",
    "real_name",
    "imap",
    "smtp",
    "pop3",
    "password_command",
    "password",
    "keyring",
    "oauth2",
    "folders",
    "identities",
    "signature",
    "pgp",
    "sync",
    "sieve",
    "default",
}
IDENTITY_KEYS = {"address", "name", "signature", "pgp"}


def core_settings(settings: SettingsRegistry) -> None:
    """The settings the core itself reads."""
    settings.add("state_dir", str, "", "Where sync state, the index and logs live (default: $XDG_STATE_HOME/pigeon).")
    settings.add("default_account", str, "", "The account used when none is named (default: the first).")
    settings.add("render.width", int, 0, "Wrap rendered text at this width; 0 means the terminal's width.")
    settings.add("render.prefer_html", bool, False, "Show the HTML alternative of a message rather than its plain text.")
    settings.add("render.show_headers", list, ["Date", "From", "To", "Cc", "Reply-To", "Subject"], "Headers shown above a message.")


@dataclass
class Config:
    """The validated configuration: settings by dotted name, accounts by name."""

    path: Path
    directory: Path
    settings: dict[str, Any] = field(default_factory=dict)
    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    disabled_plugins: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def account(self, name: str | None = None) -> AccountConfig:
        """An account by name, or the default one."""
        if not self.accounts:
            raise ConfigError(f"{self.path}: no account is configured (add an [accounts.NAME] table)")
        if name is None:
            name = self.settings.get("default_account") or next(iter(self.accounts))
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(self.accounts) or "none"
            raise ConfigError(f"no account named {name!r} (configured: {known})") from None


# --------------------------------------------------------------------------- reading


def read_raw(directory: Path) -> tuple[dict[str, Any], str]:
    """Parse config.toml in ``directory``; a missing file is an empty config."""
    path = directory / CONFIG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid UTF-8") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = m.group(1) if m else "?"
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise ConfigError(f"{path}:{line}: TOML syntax error: {msg}") from None


def disabled_from_raw(raw: dict[str, Any]) -> list[str]:
    """The plugin names that config.toml disables, read before plugins are loaded."""
    plugins = raw.get("plugins", {})
    if not isinstance(plugins, dict):
        return []
    disabled = plugins.get("disabled", [])
    return [str(x) for x in disabled] if isinstance(disabled, list) else []


class _Validator:
    def __init__(self, path: Path, text: str, registry: SettingsRegistry) -> None:
        self.path = path
        self.text = text
        self.registry = registry

    def fail(self, table: str, key: str, message: str) -> ConfigError:
        from pigeon.core.config_lines import line_of

        line = line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = f"{table}.{key}" if table else key
        return ConfigError(f"{where}: {dotted}: {message}")

    # ---- settings

    def settings(self, raw: dict[str, Any]) -> dict[str, Any]:
        values = {s.name: _copy_default(s.default) for s in self.registry}
        tables = self.registry.tables()

        def walk(table: dict[str, Any], prefix: str) -> None:
            for key, value in table.items():
                name = f"{prefix}.{key}" if prefix else key
                if not prefix and key in RESERVED_TABLES:
                    continue
                setting = self.registry.get(name)
                if setting is not None:
                    values[name] = self.check_type(prefix, key, value, setting.type, setting.choices)
                elif isinstance(value, dict) and name in tables:
                    walk(value, name)
                else:
                    raise self.fail(prefix, key, "unknown setting" + _suggest(name, self.registry))

        walk(raw, "")
        return values

    def check_type(self, table: str, key: str, value: Any, typ: Any, choices: Any = None) -> Any:
        types = typ if isinstance(typ, tuple) else (typ,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = any(
            isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in types
        )
        if not ok:
            names = " or ".join(_type_name(t) for t in types)
            raise self.fail(table, key, f"expected {names}, got {_type_name(type(value))}")
        if choices and value not in choices:
            raise self.fail(table, key, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value

    # ---- plugins

    def plugins(self, raw: Any) -> list[str]:
        if not isinstance(raw, dict):
            raise self.fail("", "plugins", "must be a table")
        for key, value in raw.items():
            if key != "disabled":
                raise self.fail("plugins", key, "unknown key (only 'disabled' is known)")
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise self.fail("plugins", key, "expected a list of plugin names")
        return list(raw.get("disabled", []))

    # ---- accounts

    def accounts(self, raw: Any, config_dir: Path) -> dict[str, AccountConfig]:
        if not isinstance(raw, dict):
            raise self.fail("", "accounts", "must be a table of accounts ([accounts.NAME])")
        out: dict[str, AccountConfig] = {}
        for name, acct in raw.items():
            if not isinstance(acct, dict):
                raise self.fail("accounts", name, "must be a table")
            out[name] = self.account(name, acct, config_dir)
        self.separate_maildirs(out)
        return out

    def separate_maildirs(self, accounts: dict[str, AccountConfig]) -> None:
        """Each account's Maildir apart from every other's: sharing one, or one inside another,
        a sync of one account would take the other's mail for its own (and upload it to its
        own server)."""
        if len(accounts) < 2:
            return
        seen: list[tuple[str, Path]] = []
        for name, acct in accounts.items():
            here = acct.maildir.resolve()  # absolute, "..", "//" and symlinks resolved
            for other, there in seen:
                if here == there:
                    why = f"the same Maildir as account {other!r} ({there})"
                elif there in here.parents or here in there.parents:
                    inner, outer = (here, there) if there in here.parents else (there, here)
                    why = f"nested with the Maildir of account {other!r} ({inner} lies inside {outer})"
                else:
                    continue
                raise self.fail(f"accounts.{name}", "maildir",
                                f"{why}: each account needs a Maildir of its own, or a sync of one takes the other's mail for its own")
            seen.append((name, here))

    def account(self, name: str, raw: dict[str, Any], config_dir: Path) -> AccountConfig:
        table = f"accounts.{name}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise self.fail("accounts", name, "account names may use letters, digits, '-', '_' and '.'")
        for key in raw:
            if key not in ACCOUNT_KEYS:
                raise self.fail(table, key, "unknown key" + _suggest_from(key, ACCOUNT_KEYS))
        address = raw.get("address")
        if not isinstance(address, str) or "@" not in address:
            raise self.fail(table, "address", "required: the account's e-mail address")
        maildir = raw.get("maildir")
        if not isinstance(maildir, str) or not maildir:
            raise self.fail(table, "maildir", "required: the path of the account's Maildir")
        mpath = Path(maildir).expanduser()
        if not mpath.is_absolute():
            mpath = config_dir / mpath
        servers: dict[str, ServerConfig | None] = {}
        for proto in ("imap", "smtp", "pop3"):
            servers[proto] = self.server(table, proto, raw.get(proto)) if proto in raw else None
        pwcmd = raw.get("password_command")
        command: list[str] | None = None
        if pwcmd is not None:
            if isinstance(pwcmd, str):
                import shlex

                try:
                    command = shlex.split(pwcmd)
                except ValueError as exc:
                    raise self.fail(table, "password_command", f"cannot split: {exc}") from None
            elif isinstance(pwcmd, list) and all(isinstance(x, str) for x in pwcmd):
                command = list(pwcmd)
            else:
                raise self.fail(table, "password_command", "expected a string or a list of strings")
            if not command:
                raise self.fail(table, "password_command", "is empty")
        folders = raw.get("folders", {})
        if not isinstance(folders, dict) or not all(isinstance(v, str) for v in folders.values()):
            raise self.fail(table, "folders", "expected a table of role = \"Folder\"")
        from pigeon.core.config_oauth2 import validate_oauth2

        oauth2 = validate_oauth2(self, table, raw.get("oauth2"), servers)
        keyring = raw.get("keyring", False)
        if not isinstance(keyring, bool):
            raise self.fail(table, "keyring", "expected true or false")
        real_name = raw.get("real_name", "")
        if not isinstance(real_name, str):
            raise self.fail(table, "real_name", "expected a string")
        if "signature" in raw and not isinstance(raw["signature"], str):
            raise self.fail(table, "signature", "expected a string (the text after the \"-- \" line)")
        if "pgp" in raw and not isinstance(raw["pgp"], dict):
            raise self.fail(table, "pgp", "expected a table such as { sign = true }")
        extra = {k: raw[k] for k in ("password", "signature", "pgp", "sync", "sieve", "default") if k in raw}
        if "identities" in raw:
            extra["identities"] = self.identities(table, raw["identities"], address)
        return AccountConfig(
            name=name,
            address=address,
            maildir=mpath,
            real_name=real_name,
            imap=servers["imap"],
            smtp=servers["smtp"],
            pop3=servers["pop3"],
            password_command=command,
            use_keyring=keyring,
            oauth2=oauth2,
            folders=dict(folders),
            extra=extra,
        )

    def identities(self, table: str, raw: Any, address: str) -> list[dict[str, Any]]:
        """``identities = [{ address = "...", name = "...", signature = "...", pgp = {...} }]``."""
        if not isinstance(raw, list):
            raise self.fail(table, "identities", 'expected a list of tables such as [{ address = "me@example.org" }]')
        out: list[dict[str, Any]] = []
        seen = {address.lower()}
        for i, item in enumerate(raw):
            def fail(key: str, message: str, i: int = i) -> ConfigError:
                from pigeon.core.config_lines import line_of_item

                line = line_of_item(self.text, table, "identities", i, key)
                where = f"{self.path}:{line}" if line else str(self.path)
                return ConfigError(f"{where}: {table}.identities[{i}].{key}: {message}")

            if isinstance(item, str):
                item = {"address": item}  # the short form: just another address
            if not isinstance(item, dict):
                raise fail("address", "each identity must be an address or a table with at least an address")
            for key in item:
                if key not in IDENTITY_KEYS:
                    raise fail(key, "unknown key" + _suggest_from(key, IDENTITY_KEYS))
            addr = item.get("address")
            if not isinstance(addr, str) or not re.fullmatch(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+", addr):
                raise fail("address", 'required: an e-mail address ("*@example.org" for a whole domain)')
            if addr.lower() in seen:
                raise fail("address", f"{addr} is already an identity of this account")
            seen.add(addr.lower())
            for key in ("name", "signature"):
                if key in item and not isinstance(item[key], str):
                    raise fail(key, "expected a string")
            if re.search(r"[\x00-\x1f\x7f]", item.get("name", "")):
                raise fail("name", "must be one line without control characters")
            if "pgp" in item and not isinstance(item["pgp"], dict):
                raise fail("pgp", "expected a table such as { sign = true }")
            out.append(dict(item))
        return out

    def server(self, table: str, proto: str, raw: Any) -> ServerConfig:
        sub = f"{table}.{proto}"
        if not isinstance(raw, dict):
            raise self.fail(table, proto, "expected a table such as { host = \"...\", port = 993 }")
        for key in raw:
            if key not in SERVER_KEYS:
                raise self.fail(sub, key, "unknown key" + _suggest_from(key, SERVER_KEYS))
        host = raw.get("host")
        if not isinstance(host, str) or not host:
            raise self.fail(sub, "host", "required: the server's host name")
        security = raw.get("security", "tls")
        if security not in ("tls", "starttls", "none"):
            raise self.fail(sub, "security", f"must be \"tls\", \"starttls\" or \"none\", got {security!r}")
        if security == "none" and not is_loopback(host):
            raise self.fail(
                sub, "security", f"\"none\" (plaintext) is allowed only to a loopback address, not {host}"
            )
        port = raw.get("port", DEFAULT_PORTS[(proto, security)])
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise self.fail(sub, "port", "expected a port number (1-65535)")
        auth = raw.get("auth", "password")
        if auth not in ("password", "oauth2", "xoauth2", "oauthbearer"):
            raise self.fail(sub, "auth", "must be \"password\", \"oauth2\", \"xoauth2\" or \"oauthbearer\"")
        for key in ("username", "cafile", "fingerprint"):
            if key in raw and not isinstance(raw[key], str):
                raise self.fail(sub, key, "expected a string")
        fp = raw.get("fingerprint")
        if fp is not None:
            clean = fp.replace(":", "").lower()
            if not re.fullmatch(r"[0-9a-f]{64}", clean):
                raise self.fail(sub, "fingerprint", "expected a SHA-256 fingerprint (64 hex digits)")
            fp = clean
        timeout = raw.get("timeout", 30.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise self.fail(sub, "timeout", "expected a positive number of seconds")
        verify = raw.get("verify", True)
        if not isinstance(verify, bool):
            raise self.fail(sub, "verify", "expected true or false")
        return ServerConfig(
            protocol=proto,  # type: ignore[arg-type]
            host=host,
            port=port,
            security=security,
            username=raw.get("username"),
            auth=auth,
            cafile=str(Path(raw["cafile"]).expanduser()) if raw.get("cafile") else None,
            fingerprint=fp,
            timeout=float(timeout),
            verify=verify,
        )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_accounts(directory: Path, raw: dict[str, Any], text: str) -> dict[str, AccountConfig]:
    """The ``[accounts]`` of a config read with :func:`read_raw`, validated as :func:`load_config`
    does, before any plugin is loaded (``pigeon sync`` connects while its plugins load)."""
    if "accounts" not in raw:
        return {}
    return _Validator(directory / CONFIG_FILE, text, SettingsRegistry()).accounts(raw["accounts"], directory)


def load_config(directory: Path, registry: SettingsRegistry, raw: dict[str, Any] | None = None, text: str | None = None) -> Config:
    """Read and validate ``directory/config.toml`` against ``registry``."""
    if raw is None or text is None:
        raw, text = read_raw(directory)
    path = directory / CONFIG_FILE
    v = _Validator(path, text, registry)
    settings = v.settings(raw)
    accounts = v.accounts(raw.get("accounts", {}), directory) if "accounts" in raw else {}
    disabled = v.plugins(raw["plugins"]) if "plugins" in raw else []
    default = settings.get("default_account")
    if default and default not in accounts:
        raise v.fail("", "default_account", f"no account named {default!r}")
    return Config(
        path=path,
        directory=directory,
        settings=settings,
        accounts=accounts,
        disabled_plugins=disabled,
        raw=raw,
        text=text,
    )


def _copy_default(value: Any) -> Any:
    if isinstance(value, list | dict | set):
        import copy

        return copy.deepcopy(value)
    return value


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}.get(
        t, getattr(t, "__name__", str(t))
    )


def _suggest(name: str, registry: SettingsRegistry) -> str:
    return _suggest_from(name, [s.name for s in registry])


def _suggest_from(name: str, names: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
