"""The default quoting of replies and forwards: an attribution line and ``> `` prefixes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.hooks import hookimpl

if TYPE_CHECKING:  # the email package costs ~7 ms: for type checkers only
    from email.message import EmailMessage


@hookimpl(trylast=True)
def pigeon_quote(original: EmailMessage, text: str, kind: str) -> str | None:
    from pigeon.plugins.tui.compose import default_quote

    return default_quote(original, text, kind)
