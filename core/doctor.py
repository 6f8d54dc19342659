"""The checks behind ``pigeon doctor``: unsafe or broken settings, found without connecting.

Each check returns ``Problem`` rows. The checks read config.toml both raw and validated, so a
setting the validator refuses (plaintext to a remote host) is still reported as what it is.
``--connect`` checks (the servers themselves) live with the protocol code.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pigeon.core.config import CONFIG_FILE, is_loopback

SEVERITIES = ("severe", "warning", "notice", "info")
RANK = {s: i for i, s in enumerate(SEVERITIES)}

#: Names of files under the state directory that hold OAuth2 tokens or other secrets.
SECRET_HINTS = ("token", "oauth", "secret", "credential")


@dataclass(frozen=True)
class Problem:
    """One finding: how bad, a stable code, where, and what to do."""

    severity: str  # "severe", "warning", "notice" or "info"
    code: str
    where: str
    message: str

    def line(self) -> str:
        if self.message.startswith(f"{self.where}:"):  # a config error names its file and line itself
            return f"{self.severity:<8} {self.message}"
        return f"{self.severity:<8} {self.where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def check_permissions(path: Path, what: str, *, secret: bool, runs_code: bool = False, readable: str = "warning") -> list[Problem]:
    """Group/other bits on a file or directory.

    Writable is severe where it lets someone change what pigeon runs (config.toml's
    password_command, init.py, plugins, a CA file) or read secrets; readable is severe for
    secrets and ``readable`` (a severity) otherwise.
    """
    mode = _mode(path)
    if mode is None:
        return []
    out: list[Problem] = []
    fix = f"chmod {'700' if path.is_dir() else '600'} {path}"
    if mode & 0o022:
        who = "others" if mode & 0o002 else "its group"
        sev = "severe" if runs_code or secret else "warning"
        out.append(Problem(sev, "perm-writable", str(path), f"{what} is writable by {who} (mode {mode:03o}); {fix}"))
    if mode & 0o044:
        who = "others" if mode & 0o004 else "its group"
        if secret:
            out.append(Problem("severe", "perm-readable-secret", str(path), f"{what} holds secrets and is readable by {who} (mode {mode:03o}); {fix}"))
        else:
            out.append(Problem(readable, "perm-readable", str(path), f"{what} is readable by {who} (mode {mode:03o}); {fix}"))
    return out


def check_files(config_dir: Path, raw: dict[str, Any], state_dir: Path | None) -> list[Problem]:
    out: list[Problem] = []
    config = config_dir / CONFIG_FILE
    has_password = any(isinstance(a, dict) and "password" in a for a in _accounts(raw).values())
    out += check_permissions(config_dir, "the configuration directory", secret=False, runs_code=True, readable="notice")
    out += check_permissions(config, CONFIG_FILE, secret=has_password, runs_code=True)
    init = config_dir / "init.py"
    out += check_permissions(init, "init.py", secret=False, runs_code=True, readable="notice")
    plugins = config_dir / "plugins"
    if plugins.is_dir():
        out += check_permissions(plugins, "the plugins directory", secret=False, runs_code=True, readable="notice")
        for f in sorted(plugins.glob("*.py")):
            out += check_permissions(f, f"plugin {f.name}", secret=False, runs_code=True, readable="notice")
    if state_dir is not None and state_dir.is_dir():
        out += check_permissions(state_dir, "the state directory (sync state, search index, tokens)", secret=False)
        for f in _secret_files(state_dir):
            out += check_permissions(f, "a token file", secret=True)
    return out


def _secret_files(state_dir: Path, limit: int = 200) -> list[Path]:
    """Files under the state directory whose name or folder says they hold tokens."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(state_dir):
        dirnames[:] = [d for d in dirnames if d not in ("demo", "index")]
        in_secret_dir = any(h in Path(dirpath).name.lower() for h in SECRET_HINTS)
        for name in filenames:
            if in_secret_dir or any(h in name.lower() for h in SECRET_HINTS):
                found.append(Path(dirpath) / name)
                if len(found) >= limit:
                    return found
    return found


def _accounts(raw: dict[str, Any]) -> dict[str, Any]:
    accounts = raw.get("accounts", {})
    return accounts if isinstance(accounts, dict) else {}


def check_accounts(raw: dict[str, Any], config_path: Path) -> list[Problem]:
    """Secrets and transports, read from the raw tables so refused settings show up too."""
    out: list[Problem] = []
    accounts = _accounts(raw)
    if not accounts:
        out.append(Problem("info", "no-account", str(config_path), "no account is configured; `pigeon demo` shows a demo mailbox, add an [accounts.NAME] table for your own"))
    for name, acct in accounts.items():
        if not isinstance(acct, dict):
            continue
        where = f"{config_path}: accounts.{name}"
        if "password" in acct:
            out.append(Problem("severe", "plaintext-password", where, "a plaintext password is stored in config.toml; use password_command, keyring or oauth2 instead"))
        if acct.get("keyring") is True and importlib.util.find_spec("keyring") is None:
            out.append(Problem("warning", "keyring-missing", where, "keyring = true but the keyring package is not installed (pip install 'pigeon-mail[keyring]')"))
        maildir = acct.get("maildir")
        if isinstance(maildir, str) and maildir:
            mpath = Path(maildir).expanduser()
            if not mpath.is_absolute():
                mpath = config_path.parent / mpath
            mode = _mode(mpath)
            if mode is not None and mode & 0o077:
                out.append(Problem("warning", "perm-maildir", str(mpath), f"the Maildir of account {name!r} is open to other users (mode {mode:03o}); chmod 700 {mpath}"))
        for proto in ("imap", "smtp", "pop3"):
            server = acct.get(proto)
            if isinstance(server, dict):
                out += _check_server(server, f"{where}.{proto}")
    return out


def _check_server(server: dict[str, Any], where: str) -> list[Problem]:
    out: list[Problem] = []
    host = str(server.get("host", ""))
    security = server.get("security", "tls")
    if server.get("verify") is False:
        out.append(Problem("severe", "verify-off", where, f"certificate verification is turned off for {host}: anyone on the path can read and change your mail; use cafile or fingerprint for a self-signed server"))
    if security == "none":
        if host and is_loopback(host):
            out.append(Problem("notice", "plaintext-loopback", where, f"plaintext to {host}: acceptable only for a local bridge on this machine"))
        else:
            out.append(Problem("severe", "plaintext-remote", where, f"security = \"none\" sends your password and mail in clear text to {host or 'the server'}"))
    elif security == "starttls":
        out.append(Problem("notice", "starttls", where, f"STARTTLS to {host}: implicit TLS (security = \"tls\") leaves no plaintext phase; prefer it if the server offers it"))
    cafile = server.get("cafile")
    if isinstance(cafile, str) and cafile:
        path = Path(cafile).expanduser()
        if not path.is_file():
            out.append(Problem("warning", "cafile-missing", where, f"cafile {path} does not exist: connections will fail"))
        else:
            # a CA certificate is public: only who can replace it matters
            out += [p for p in check_permissions(path, "the CA file", secret=False, runs_code=True) if p.code == "perm-writable"]
    return out


def check_plugins(pm: Any) -> list[Problem]:
    """Plugins that failed to load, so their settings silently do nothing."""
    out: list[Problem] = []
    seen: set[str] = set()
    for err in getattr(pm, "errors", []):
        if err.plugin in seen:
            continue
        seen.add(err.plugin)
        out.append(Problem("warning", "plugin-error", err.detail or err.plugin, err.line()))
    return out


def check_keys(app: Any) -> list[Problem]:
    """Accounts whose PGP policy signs or encrypts, but whose own key is missing or expired.

    Asked through ``pigeon_lookup_keys``: the core itself knows nothing of gpg.
    """
    out: list[Problem] = []
    for name, acct in app.config.accounts.items():
        policy = (acct.extra or {}).get("pgp") or {}
        if not isinstance(policy, dict) or (
            policy.get("sign", "never") == "never" and policy.get("encrypt", "never") == "never"
        ):
            continue
        where = f"accounts.{name}.pgp"
        try:
            answers = app.pm.hook.pigeon_lookup_keys(addresses=[acct.address], network=False) or []
        except Exception as exc:  # a broken keyring must not stop the audit
            out.append(Problem("warning", "pgp-keys", where, f"cannot look up keys: {exc}"))
            continue
        own = [i for answer in answers for i in (answer or []) if getattr(i, "secret", False)]
        if not answers:
            out.append(Problem("warning", "pgp-no-plugin", where, "a PGP policy is set but no plugin handles keys"))
        elif not own:
            out.append(Problem("warning", "pgp-no-key", where, f"no secret key for {acct.address}: signing and encrypting will be refused"))
        elif not any(i.usable for i in own):
            out.append(Problem("warning", "pgp-key-unusable", where, f"your key for {acct.address} is not usable ({own[0].reason})"))
    return out


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (RANK.get(p.severity, 9), p.where, p.code))
