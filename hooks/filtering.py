"""Filtering and assessment hooks: what to do with a new message, and how risky it looks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pigeon.hooks import hookspec

if TYPE_CHECKING:  # the email package costs ~7 ms to import: annotations only
    from email.message import EmailMessage

    from pigeon.hooks.types import Finding, MessageRef, Verdict


@hookspec
def pigeon_filter_message(message: EmailMessage, ref: MessageRef) -> Verdict | None:
    """Classify a newly arrived message into actions (tags, move, flags, delete).

    Called once per new message, after it is stored. The core merges the verdicts in call order
    and stops at the first one with ``final=True``.

    :param message: the parsed message.
    :param ref: where it is stored.
    :return: a ``Verdict`` or None.

    Semantics: collect.
    """


@hookspec
def pigeon_assess_message(message: EmailMessage, ref: MessageRef | None) -> list[Finding] | None:
    """Assess a message for risk: phishing signals, dangerous attachments, spoofed senders.

    :param message: the parsed message.
    :param ref: where it is stored, when it is stored.
    :return: findings, each with a severity and a plain reason, or None.

    Semantics: collect.
    """


@hookspec
def pigeon_index_fields(message: EmailMessage, ref: MessageRef) -> Mapping[str, str] | None:
    """Add searchable fields to the index entry of a message.

    :param message: the parsed message.
    :param ref: where it is stored.
    :return: a mapping of field name to text, or None.

    Semantics: collect.
    """
