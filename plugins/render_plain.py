"""Built-in plugin: text/plain, and the default choice among alternatives.

- ``format=flowed`` (RFC 3676) is joined back into paragraphs and wrapped to the view's width,
  honouring ``DelSp=yes`` and space-stuffing; quote levels are kept (``>`` per level).
- Quoted blocks longer than ``render.fold_quotes`` lines are folded in the view (0: never).
- The signature (after a ``-- `` line) is marked in the view and left out of a quote.
- ``pigeon_choose_alternative``: plain text, unless the user prefers HTML, there is no plain
  text, or the plain text is empty.

It runs last (``trylast``), so any plugin that renders text/plain its own way wins.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pigeon.hooks import hookimpl

if TYPE_CHECKING:  # the email package costs ~7 ms: for type checkers only
    from email.message import EmailMessage

    from pigeon.hooks.types import RenderContext, Rendered, SettingsRegistry

SIGNATURE_MARK = "── signature ──"
_QUOTE = re.compile(r"^((?:>[ \t]?)+)")


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add(
        "render.fold_quotes",
        int,
        0,
        "Fold quoted blocks longer than this many lines when viewing a message (0: never fold).",
    )


@hookimpl(trylast=True)
def pigeon_render_part(part: EmailMessage, ctx: RenderContext) -> Rendered | None:
    from pigeon.core import mime
    from pigeon.hooks.types import Rendered

    if mime.content_type(part) != "text/plain":
        return None
    text = mime.part_text(part).replace("\r\n", "\n").replace("\r", "\n")
    params = _params(part)
    if params.get("format", "").lower() == "flowed":
        lines = unflow(text, delsp=params.get("delsp", "").lower() == "yes", width=_width(ctx))
    elif ctx.purpose == "view":
        lines = soft_wrap(text.split("\n"), _width(ctx))
    else:
        lines = text.split("\n")
    lines = _signature(lines, ctx)
    fold = int(ctx.settings.get("render.fold_quotes", 0) or 0) if ctx.purpose == "view" else 0
    if fold > 0:
        lines = fold_quotes(lines, fold)
    return Rendered("\n".join(lines).rstrip("\n") + "\n", kind="text")


def _params(part: EmailMessage) -> dict[str, str]:
    try:
        return {str(k).lower(): str(v) for k, v in (part.get_params() or [])[1:]}
    except Exception:
        return {}


def _width(ctx: RenderContext) -> int:
    return 10**6 if ctx.purpose == "index" else max(20, ctx.width)


def soft_wrap(lines: list[str], width: int) -> list[str]:
    """Lines longer than ``width`` broken at spaces, as mutt's ``wrap`` does on screen.

    Many clients send a whole paragraph of fixed text as one line; left alone the client clips it
    at the window's edge. A quoted line keeps its ``>`` prefix on its continuations; a single
    word longer than the width (a URL) is not cut.
    """
    import textwrap  # here: every command loads this plugin, few render (~0.6 ms)

    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        m = _QUOTE.match(line)
        prefix = m.group(1) if m else ""
        out.extend(
            textwrap.wrap(
                line,
                width,
                subsequent_indent=prefix,
                break_long_words=False,
                break_on_hyphens=False,
                replace_whitespace=False,
                drop_whitespace=True,
            )
            or [line]
        )
    return out


def unflow(text: str, *, delsp: bool = False, width: int = 78) -> list[str]:
    """Decode format=flowed text into display lines (RFC 3676 §4.2), wrapped to ``width``."""
    import textwrap

    out: list[str] = []
    para: list[str] = []
    para_depth = 0

    def flush() -> None:
        nonlocal para
        if not para:
            return
        prefix = (">" * para_depth + " ") if para_depth else ""
        joined = "".join(para)
        if len(para) == 1 or len(prefix) + len(joined) <= width:
            out.append(prefix + joined)
        else:
            wrapped = textwrap.wrap(
                joined,
                width=max(10, width - len(prefix)),
                break_long_words=False,
                break_on_hyphens=False,
                drop_whitespace=True,
            )
            out.extend(prefix + w for w in wrapped or [""])
        para = []

    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        flowed = body.endswith(" ") and body != "-- "
        if para and (depth != para_depth or body == "-- "):
            flush()  # a quote-depth change or a signature line ends a paragraph
        para_depth = depth
        if flowed and delsp:
            body = body[:-1]
        para.append(body)
        if not flowed:
            flush()
    flush()
    return out


def _signature(lines: list[str], ctx: RenderContext) -> list[str]:
    """Mark the signature in the view; leave it out of a quote; keep it for the index."""
    if ctx.purpose == "index":
        return lines
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line == "-- " or (line == "--" and len(lines) - i <= 10):
            if ctx.purpose == "quote":
                return lines[:i]
            return lines[:i] + [SIGNATURE_MARK] + lines[i + 1 :]
    return lines


def quote_depth(line: str) -> int:
    m = _QUOTE.match(line)
    return m.group(1).count(">") if m else 0


def fold_quotes(lines: list[str], limit: int) -> list[str]:
    """Replace the middle of each quoted block longer than ``limit`` lines by one summary line."""
    out: list[str] = []
    i = 0
    keep = max(1, min(3, limit))
    while i < len(lines):
        if quote_depth(lines[i]) == 0:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and quote_depth(lines[j]) > 0:
            j += 1
        block = lines[i:j]
        if len(block) > limit:
            prefix = _QUOTE.match(block[0]).group(1)  # type: ignore[union-attr]
            out += block[:keep]
            out.append(f"{prefix}[... {len(block) - keep} more quoted lines ...]")
        else:
            out += block
        i = j
    return out


def _kind(part: EmailMessage, depth: int = 0) -> str:
    """"plain", "html" or another type: what an alternative would show."""
    from pigeon.core import mime

    ctype = mime.content_type(part)
    if ctype == "text/plain":
        return "plain"
    if ctype == "text/html":
        return "html"
    if ctype.startswith("multipart/") and depth < 5:
        children = mime.subparts(part)
        if children:
            return _kind(children[0], depth + 1)
    return ctype


@hookimpl(trylast=True)
def pigeon_choose_alternative(alternatives: list[EmailMessage], ctx: RenderContext) -> EmailMessage | None:
    from pigeon.core import mime

    if not alternatives:
        return None
    kinds = [_kind(a) for a in alternatives]
    plains = [a for a, k in zip(alternatives, kinds, strict=True) if k == "plain"]
    htmls = [a for a, k in zip(alternatives, kinds, strict=True) if k == "html"]
    if htmls and (ctx.prefer_html or not plains):
        return htmls[-1]
    if plains:
        chosen = plains[-1]
        if htmls and not mime.is_multipart(chosen) and not mime.part_text(chosen).strip():
            return htmls[-1]  # an empty plain-text stand-in for the HTML
        return chosen
    return alternatives[-1]
