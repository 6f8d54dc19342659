"""The value types of hooks for messages and their rendering.

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations are strings: these are for type checkers only
    from email.message import EmailMessage
    from pathlib import Path

    from pigeon.hooks.types import AccountConfig, Severity


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
