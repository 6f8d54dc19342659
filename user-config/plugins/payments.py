"""Warn about requests to pay or to change bank details (business e-mail compromise).

An assessment plugin: it adds a finding to what the built-in ``assess`` plugin computes, so the
message view shows it in the warning banner, ``pigeon assess FILE`` prints it, and a new
message gets the ``suspicious`` tag. Mail from ``[payments] own_domains`` is trusted.
"""

from __future__ import annotations

import re

from pigeon.hooks import hookimpl
from pigeon.hooks.types import Finding

PATTERNS = re.compile(
    r"\b(new|updated|changed?)\s+(bank|banking|account|payment)\s+(details|information|number)\b"
    r"|\b(wire|transfer)\s+(the\s+)?(funds|money|payment)\b|\biban\b",
    re.I,
)
SETTINGS = {"own": []}


@hookimpl
def pigeon_add_settings(settings):
    settings.add("payments.own_domains", list, [], "Domains whose payment requests are trusted (your own).")


@hookimpl
def pigeon_configure(config):
    SETTINGS["own"] = [str(d).lower() for d in config.get("payments.own_domains", [])]


def _text(message) -> str:
    parts = [str(message.get("subject", "") or "")]
    body = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() or message.get_content_type().startswith("text/") else None
    if body is not None:
        try:
            parts.append(body.get_content())
        except (LookupError, ValueError):
            pass
    return "\n".join(parts)


def _sender_domain(message) -> str:
    sender = message["from"]
    try:
        return sender.addresses[0].domain.lower() if sender and sender.addresses else ""
    except (AttributeError, IndexError):
        return ""


@hookimpl
def pigeon_assess_message(message, ref):
    if _sender_domain(message) in SETTINGS["own"]:
        return None
    m = PATTERNS.search(_text(message))
    if not m:
        return None
    return [Finding("warning", "payment-request", f"The message asks about payments ({m.group(0)!r}): confirm by phone before paying", "payments")]

