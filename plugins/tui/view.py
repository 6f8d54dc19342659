"""A message as the message view shows it: rendered through the core's renderer and hooks.

No prompt_toolkit here, so ``pigeon shell``, the tests and the full-screen view share one path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core.sanitize import sanitize_line, sanitize_text
from pigeon.hooks.types import SEVERITY_ORDER, Attachment, MessageRef, RenderContext


@dataclass
class View:
    """The lines of a rendered message and what the view acts on."""

    lines: list[str]
    header_lines: int = 0
    attachments: list[Attachment] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)
    warning: bool = False
    message: Any = None


def _clean_lines(text: str) -> list[str]:
    return sanitize_text(text).expandtabs(8).split("\n")


def render_view(app: Any, path: Path, width: int = 80, account: Any = None, folder: str = "") -> View:
    """Parse and render ``path`` at ``width`` columns; plugins' failures never escape."""
    from pigeon.plugins.tui.compose import parse_file

    msg = parse_file(path)
    ref = MessageRef(path=path, folder=folder, account=getattr(account, "name", "") or "")
    try:
        from pigeon.core.render import render_message
    except ImportError:
        render_message = None  # type: ignore[assignment]
    if render_message is not None:
        ctx = RenderContext(width=width, purpose="view", account=account, ref=ref, settings=app.config.settings)
        rm = render_message(app, msg, ctx)
        lines = _clean_lines(rm.as_text(width))
        warning = any(SEVERITY_ORDER.get(b.severity, 0) >= 2 for b in rm.banners)
        return View(lines, len(rm.header_lines(width)), list(rm.attachments), list(rm.links), warning, msg)
    return _fallback_view(app, msg, width)


def _fallback_view(app: Any, msg: Any, width: int) -> View:
    """Headers, the first text part, and the attachment list, until the core renderer lands."""
    from pigeon.plugins.tui.compose import header

    shown = app.config.get("render.show_headers") or ["Date", "From", "To", "Cc", "Subject"]
    head = [f"{name}: {header(msg, name)}" for name in shown if header(msg, name)]
    body = ""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is not None:
            body = part.get_content()
            if part.get_content_type() == "text/html":
                import html
                import re

                body = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"(?is)<(script|style).*?</\1>", "", body)))
    except Exception as exc:  # undecodable parts: say so rather than fail
        body = f"[this part cannot be shown: {type(exc).__name__}]"
    attachments: list[Attachment] = []
    try:
        for n, part in enumerate(msg.iter_attachments(), 1):
            name = sanitize_line(part.get_filename() or f"part-{n}")
            try:
                size = len(part.get_payload(decode=True) or b"")
            except Exception:
                size = 0
            attachments.append(Attachment(name, part.get_content_type(), size, n, part=part))
    except Exception:
        pass
    lines = [sanitize_line(h) for h in head]
    lines.append("")
    lines.extend(_clean_lines(body))
    if attachments:
        lines.append("")
        lines.extend(f"[{a.index}] {a.name} ({a.content_type}, {a.size} bytes)" for a in attachments)
    return View(lines, len(head), attachments, [], False, msg)


def safe_file_name(name: str, default: str = "attachment") -> str:
    """A name from a message reduced to a plain file name that cannot leave its directory."""
    name = sanitize_line(name).replace("\\", "/").split("/")[-1].strip().lstrip(".")
    name = "".join(c for c in name if c.isprintable())
    return name[:200] or default
