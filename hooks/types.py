"""Value types that hooks receive and return.

These are plain dataclasses and protocols; nothing here imports ``pigeon.core``, so a plugin
can depend on this module alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

# Annotations are strings here (``from __future__ import annotations``): the email package costs
# ~7 ms to import and pathlib ~2 ms, paid by every command, so they are for type checkers only.
if TYPE_CHECKING:
    from email.message import EmailMessage
    from pathlib import Path

Severity = Literal["info", "ok", "notice", "warning", "danger"]
SEVERITY_ORDER: dict[str, int] = {"ok": 0, "info": 0, "notice": 1, "warning": 2, "danger": 3}


# --------------------------------------------------------------------------- configuration


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


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Credentials:
    """A secret for one account and purpose. ``repr`` never shows the secret."""

    username: str
    secret: str = field(repr=False)
    kind: Literal["password", "oauth2"] = "password"

    def __str__(self) -> str:  # never leak the secret through formatting
        return f"Credentials(username={self.username!r}, kind={self.kind!r})"


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class MessageRef:
    """Where a message lives: a file in a Maildir folder of an account."""

    path: Path
    folder: str = ""
    account: str = ""
    message_id: str = ""


@dataclass
class Link:
    """A link found while rendering: its number in the view, its text and its real target."""

    number: int
    text: str
    target: str
    mismatch: bool = False  # the text names another host than the target


@dataclass
class Rendered:
    """What a part renderer returns: terminal text plus the links it found."""

    text: str
    links: list[Link] = field(default_factory=list)
    kind: str = "text"  # "text", "html", "calendar", "encrypted", ...
    notes: list[str] = field(default_factory=list)  # short remarks shown above the part


@dataclass
class RenderContext:
    """Passed to every rendering hook for one message being shown.

    ``purpose`` is "view" (the client or ``pigeon show``), "index" (text for the search index;
    no decorations) or "quote" (text for a reply).
    """

    width: int = 80
    purpose: Literal["view", "index", "quote"] = "view"
    prefer_html: bool = False
    account: AccountConfig | None = None
    ref: MessageRef | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    link_start: int = 1  # the number the next link found will get
    state: dict[str, Any] = field(default_factory=dict)  # scratch space shared by plugins for one message

    def next_link_number(self) -> int:
        n = self.link_start
        self.link_start += 1
        return n


@dataclass
class Attachment:
    """A part shown as an attachment: its (sanitised) name, type, size and any warning."""

    name: str
    content_type: str
    size: int
    index: int = 0
    warnings: list[str] = field(default_factory=list)
    part: EmailMessage | None = field(default=None, repr=False, compare=False)
    raw_name: str = field(default="", repr=False)  # the name as the message gave it: may hold bidi or control characters


@dataclass
class Banner:
    """A status line drawn by pigeon above the body: signature state, phishing warning, ..."""

    severity: Severity
    text: str
    source: str = ""


@dataclass
class Finding:
    """One risk signal found by an assessment plugin."""

    severity: Severity
    code: str
    reason: str
    source: str = ""


@dataclass
class Verdict:
    """What a filter decides for a message. Verdicts merge in call order; ``final`` stops the rest."""

    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    move_to: str | None = None
    flags_add: str = ""  # Maildir flag letters
    flags_remove: str = ""
    delete: bool = False
    final: bool = False
    reason: str = ""
    source: str = ""


# --------------------------------------------------------------------------- crypto


@dataclass
class SignatureStatus:
    """The result of verifying one signature."""

    valid: bool
    fingerprint: str = ""
    uids: list[str] = field(default_factory=list)
    trust: str = ""
    signer_matches_from: bool | None = None
    covers_whole_message: bool = False
    problems: list[str] = field(default_factory=list)
    summary: str = ""
    # The key id or fingerprint the signature names when no public key for it is at hand:
    # the signature could not be checked (not valid, but not shown to be forged either).
    # Empty otherwise. Never set together with ``valid``.
    missing_key: str = ""


@dataclass
class DecryptResult:
    """The result of decrypting a part. ``message`` is None unless decryption fully succeeded."""

    ok: bool
    message: EmailMessage | None = None
    error: str = ""
    signatures: list[SignatureStatus] = field(default_factory=list)
    protected_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class KeyInfo:
    """A key pigeon knows for an address, where it came from, and whether pigeon would use it."""

    address: str
    fingerprint: str
    uids: list[str] = field(default_factory=list)
    source: str = ""  # "keyring", "autocrypt", "wkd", ...
    usable: bool = False  # pigeon would encrypt to (or sign with) it
    chosen: bool = False  # the one pigeon uses for this address
    secret: bool = False  # the user's own key (a secret key is in the keyring)
    trust: str = ""
    expires: str = ""  # ISO date or ""
    reason: str = ""  # why it is (not) used, in words
    warnings: list[str] = field(default_factory=list)  # key changes, expiry soon, ...


@dataclass
class SendPolicy:
    """What the user asked for when sending: sign, encrypt, or leave it to the account policy."""

    sign: bool | None = None
    encrypt: bool | None = None
    draft: bool = False  # a draft being stored: encrypt to the user's own key only, never sign


# --------------------------------------------------------------------------- automation


@dataclass
class Notification:
    """Something to tell the user outside the message view."""

    title: str
    body: str = ""
    urgency: Literal["low", "normal", "critical"] = "normal"


@dataclass
class SyncReport:
    """Counts of what a sync did, per direction."""

    account: str
    downloaded: int = 0
    uploaded: int = 0
    flags_down: int = 0
    flags_up: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    moved: int = 0
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- ui


@dataclass
class Command:
    """A named command: what M-x, key bindings and ``pigeon shell`` run."""

    name: str
    func: Callable[..., Any]
    doc: str = ""
    modes: tuple[str, ...] = ("global",)
    source: str = ""


class CommandRegistrar(Protocol):
    """Handed to ``pigeon_register_commands``."""

    def __call__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        modes: Iterable[str] = ("global",),
    ) -> Callable[..., Any]: ...


class KeymapRegistrar(Protocol):
    """Handed to ``pigeon_register_keymaps``: binds key sequences (Emacs notation) to command names."""

    def bind(self, mode: str, keys: str, command: str) -> None: ...

    def unbind(self, mode: str, keys: str) -> None: ...


@dataclass(frozen=True)
class Completion:
    """A completion candidate offered by ``pigeon_complete``."""

    text: str
    display: str = ""
    meta: str = ""


@dataclass(frozen=True)
class StatusSegment:
    """A piece of the mode line."""

    text: str
    style: str = ""
