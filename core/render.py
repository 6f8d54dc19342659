"""The render pipeline: a parsed message becomes terminal text by asking the rendering hooks.

The core walks the MIME tree and decides structure: which alternative (``pigeon_choose_alternative``),
what is shown inline (``pigeon_render_part``) and what is an attachment
(``pigeon_attachment_warnings``), where decrypted content begins and ends (``pigeon_decrypt``),
which parts are signed (``pigeon_verify``), and what banners go above the body
(``pigeon_message_banners``). Plugins answer; the core never converts HTML or touches gpg.

Every hook call is guarded: a plugin that raises, or returns something odd, makes the core fall
back to the part's raw decoded text. After all plugins have run, the core sanitises everything
bound for the terminal (headers, body, banners, file names, link texts and targets).

Purposes (``RenderContext.purpose``): "view" (the client, ``pigeon show``), "index" (search
text: no decorations, no signatures checked, nothing decrypted unless the crypto plugin says the
user opted in), "quote" (reply text: encrypted
parts that are not the whole message are left out, so a reply cannot leak them).

The walk of the MIME tree (the hook calls per part, the frames and separators) lives in
``pigeon.core.render_walk``; this module drives it and sanitises what it collected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from pigeon.core import mime
from pigeon.core.render_walk import _PGP_MESSAGE, MAX_PARTS, _join, _Walker
from pigeon.core.sanitize import sanitize_line, sanitize_text
from pigeon.hooks.types import (
    SEVERITY_ORDER,
    Attachment,
    Banner,
    Link,
    RenderContext,
)

DEFAULT_HEADERS = ("Date", "From", "To", "Cc", "Reply-To", "Subject")


@dataclass
class RenderedMessage:
    """A message as the terminal shows it. Every string here is already sanitised."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    banners: list[Banner] = field(default_factory=list)
    body: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    width: int = 80

    def as_text(self, width: int | None = None) -> str:
        """What ``pigeon show`` prints: headers, banners, a rule, body, links, attachments."""
        width = max(20, width or self.width)
        lines = self.header_lines(width)
        for b in self.banners:  # wrapped, not left to the terminal to clip or break mid-word
            lines += _wrap(f"[{b.severity}] {b.text}", width)
        lines.append("─" * min(width, 78))
        lines.append(self.body.rstrip("\n") or "(this message has no text)")
        if self.links:
            lines += ["", "Links:"]
            for link in self.links:
                extra = f"  (the text shows {_host_hint(link.text)})" if link.mismatch else ""
                lines.append(f"[{link.number}] {link.target}{extra}")
        if self.attachments:
            lines += ["", "Attachments:"]
            for att in self.attachments:
                name = att.name or "(no name)"
                lines.append(f"[{att.index}] {name}  ({att.content_type}, {human_size(att.size)})")
                lines += [f"    [warning] {w}" for w in att.warnings]
        return "\n".join(lines) + "\n"


    def header_lines(self, width: int) -> list[str]:
        """The header block as ``as_text`` prints it: long values (a To: of 40 addresses) wrap
        at ``width`` with indented continuation lines, as mutt and aerc show them."""
        lines: list[str] = []
        for name, value in self.headers:
            lines += _wrap(f"{name}: {value}", max(20, width))
        return lines


def _wrap(text: str, width: int) -> list[str]:
    """``text`` wrapped at ``width``, continuation lines indented; long words are not cut."""
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(
        text, width, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False
    ) or [text]


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _host_hint(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _pm_and_settings(app_or_pm: Any) -> tuple[Any, dict[str, Any]]:
    config = getattr(app_or_pm, "config", None)
    pm = getattr(app_or_pm, "pm", app_or_pm)
    settings = dict(getattr(config, "settings", {}) or {})
    return pm, settings


def render_message(app_or_pm: Any, msg: Message, ctx: RenderContext | None = None) -> RenderedMessage:
    """Render ``msg`` through the hooks; the result is sanitised and ready for the terminal."""
    pm, settings = _pm_and_settings(app_or_pm)
    ctx = ctx or RenderContext()
    if settings and not ctx.settings:
        ctx.settings = settings
        ctx.prefer_html = ctx.prefer_html or bool(settings.get("render.prefer_html"))
    from_addrs = mime.addresses(msg, "From")
    ctx.state.setdefault("from", from_addrs[0][1] if len(from_addrs) == 1 else "")
    ctx.state.setdefault("root", msg)
    ctx.state.setdefault("links", [])
    walker = _Walker(pm, ctx, msg)
    try:
        body = _join(walker.entity(msg, "", 0) if mime.is_multipart(msg) else walker.entity(msg, "1", 0))
    except RecursionError:
        body = "[this message is nested too deeply to show]\n\n" + mime.part_text(msg)
    if walker.leaves >= MAX_PARTS:
        body += f"\n\n[only the first {MAX_PARTS} parts are shown]"

    banners = list(walker.banners)
    if ctx.purpose == "view":
        banners += [b for b in walker._collect("pigeon_message_banners", message=msg, ctx=ctx) if isinstance(b, Banner)]
    for banner in banners:  # a plugin's banner may hold anything: make it two plain strings
        banner.severity = banner.severity if isinstance(banner.severity, str) and banner.severity in SEVERITY_ORDER else "info"
        banner.text = sanitize_line(str(banner.text))
    banners.sort(key=lambda b: -SEVERITY_ORDER[b.severity])

    names = ctx.settings.get("render.show_headers") or DEFAULT_HEADERS
    headers: list[tuple[str, str]] = []
    for name in names:
        protected = walker.protected_headers.get(name) or walker.protected_headers.get(name.lower())
        values = [protected] if protected else mime.header_strs(msg, name)
        headers += [(name, v) for v in values]

    for link in walker.links:
        link.text = sanitize_line(str(link.text))
        link.target = sanitize_line(str(link.target))
    for att in walker.attachments:
        att.warnings = [sanitize_line(w) for w in att.warnings]
    return RenderedMessage(
        headers=[(sanitize_line(n), sanitize_line(v)) for n, v in headers],
        banners=banners,
        body=sanitize_text(body),
        attachments=walker.attachments,
        links=walker.links,
        width=ctx.width,
    )


def message_text_for_index(pm: Any, msg: Message) -> str:
    """The body text of a message for the search index: no decorations; encrypted parts only
    when the crypto plugin says the user opted in (``pgp.index_encrypted``)."""
    return render_message(pm, msg, RenderContext(width=1000, purpose="index")).body


def quote_text(pm: Any, msg: Message, width: int = 72) -> str:
    """The body text to quote in a reply: what the user saw, minus encrypted parts that are not
    the whole message (so a reply never leaks them)."""
    return render_message(pm, msg, RenderContext(width=width, purpose="quote")).body


def reply_should_encrypt(msg: Message) -> bool:
    """True when the message as a whole is encrypted (its MIME root is ``multipart/encrypted``,
    or its only text is one armored PGP block): a reply or forward to it, and the draft of that
    reply, are then encrypted by default (DESIGN §6.6). A structural check: no gpg involved."""
    if mime.content_type(msg) == "multipart/encrypted":
        return True
    if mime.is_multipart(msg) or mime.content_type(msg) != "text/plain":
        return False
    text = mime.part_text(msg)
    m = _PGP_MESSAGE.search(text)
    return bool(m) and not (text[: m.start()].strip() or text[m.end() :].strip())
