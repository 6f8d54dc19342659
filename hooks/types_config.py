"""The value types of hooks for configuration, settings and credentials (every App uses them).

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations are strings: these are for type checkers only
    from pathlib import Path


@dataclass(frozen=True)
class ServerConfig:
    """One server of an account (IMAP, SMTP or POP3)."""

    protocol: Literal["imap", "smtp", "pop3"]
    host: str
    port: int
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = None
    auth: Literal["password", "oauth2", "xoauth2", "oauthbearer"] = "password"
    cafile: str | None = None
    fingerprint: str | None = None
    timeout: float = 30.0
    verify: bool = True  # turning this off is loud: pigeon doctor reports it as severe


@dataclass(frozen=True)
class AccountConfig:
    """An account as configured under ``[accounts.NAME]`` in config.toml.

    An account may have only a Maildir (local mail, or one kept in sync by another tool).
    """

    name: str
    address: str
    maildir: Path
    real_name: str = ""
    imap: ServerConfig | None = None
    smtp: ServerConfig | None = None
    pop3: ServerConfig | None = None
    password_command: list[str] | None = None
    use_keyring: bool = False
    oauth2: Mapping[str, Any] | None = None
    folders: Mapping[str, str] = field(default_factory=dict)  # role -> folder (sent, drafts, trash, junk, archive, outbox)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def folder(self, role: str) -> str:
        """The folder name for a role such as ``sent`` or ``trash``."""
        defaults = {
            "inbox": "INBOX",
            "sent": "Sent",
            "drafts": "Drafts",
            "trash": "Trash",
            "junk": "Junk",
            "archive": "Archive",
            "outbox": "Outbox",
        }
        return self.folders.get(role, defaults.get(role, role))


@dataclass
class Setting:
    """A typed option that config.toml may set (``[settings]`` or a plugin's own table)."""

    name: str
    type: type | tuple[type, ...]
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None


class SettingsRegistry:
    """Where the core and plugins declare their settings (see ``pigeon_add_settings``).

    Dotted names map to TOML tables: ``"render.html_width"`` is ``[render] html_width``.
    """

    def __init__(self) -> None:
        self._settings: dict[str, Setting] = {}

    def add(
        self,
        name: str,
        type: type | tuple[type, ...],  # noqa: A002 - mirrors the dataclass field
        default: Any,
        doc: str,
        choices: Iterable[Any] | None = None,
    ) -> None:
        if name in self._settings:
            raise ValueError(f"setting {name!r} is declared twice")
        self._settings[name] = Setting(name, type, default, doc, tuple(choices) if choices else None)

    def get(self, name: str) -> Setting | None:
        return self._settings.get(name)

    def __iter__(self):
        return iter(sorted(self._settings.values(), key=lambda s: s.name))

    def __contains__(self, name: str) -> bool:
        return name in self._settings

    def tables(self) -> set[str]:
        """Every table prefix that declared settings live under."""
        out: set[str] = set()
        for name in self._settings:
            parts = name.split(".")
            for i in range(1, len(parts)):
                out.add(".".join(parts[:i]))
        return out


@dataclass(frozen=True)
class Credentials:
    """A secret for one account and purpose. ``repr`` never shows the secret."""

    username: str
    secret: str = field(repr=False)
    kind: Literal["password", "oauth2"] = "password"

    def __str__(self) -> str:  # never leak the secret through formatting
        return f"Credentials(username={self.username!r}, kind={self.kind!r})"
