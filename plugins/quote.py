"""The default quoting of replies and forwards: an attribution line and ``> `` prefixes."""

from __future__ import annotations

from email.message import EmailMessage

from pigeon.hooks import hookimpl


@hookimpl(trylast=True)
def pigeon_quote(original: EmailMessage, text: str, kind: str) -> str | None:
    from pigeon.plugins.tui.compose import default_quote

    return default_quote(original, text, kind)
