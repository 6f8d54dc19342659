"""The value types of hooks for assessment and filtering.

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations are strings: these are for type checkers only
    from pigeon.hooks.types import Severity


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
