"""Built-in plugin: text/html converted to text, locally, with the stdlib's ``html.parser``.

Nothing is ever fetched: this module imports no network code, and images, style sheets,
frames, ``<link>``, ``srcset``, ``background=`` and meta refresh are never followed. Images are
shown as their alt text (``[image: alt]``). Every link is numbered in the text (``text [3]``)
and listed with its real target; a link whose text names one host while it goes to another
(``paypal.com`` linking to ``evil.example``) is marked in the text and raises a warning banner.
CSS is ignored on purpose: text hidden with ``display:none`` is shown, so what is quoted in a
reply is what the reader could see.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import Banner, Link, RenderContext, Rendered

# The converter lives in pigeon.plugins.html_text (html.parser costs ~2.5 ms to import, paid by
# every command that registers this plugin); its names stay reachable from here.
_FORWARDED = ("SKIP", "PARAGRAPH", "BLOCK", "MAX_QUOTE_DEPTH", "named_host", "hosts_differ",
              "link_mismatch", "HTMLToText", "html_to_text")


def __getattr__(name: str) -> Any:
    if name in _FORWARDED:
        from pigeon.plugins import html_text

        return getattr(html_text, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def html_to_text(html: str, ctx: RenderContext) -> tuple[str, list[Link]]:
    """Convert an HTML document to text for ``ctx``; returns the text and the links found."""
    from pigeon.plugins.html_text import html_to_text as convert

    return convert(html, ctx)


_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def _html_source(part: EmailMessage) -> str:
    """The part's HTML as text: its MIME charset, else the document's ``<meta charset>``."""
    from pigeon.core import mime

    if mime.part_charset(part):
        return mime.part_text(part)
    data = mime.part_bytes(part)
    m = _META_CHARSET.search(data[:8192])
    return mime.decode_bytes(data, m.group(1).decode("ascii") if m else None)


@hookimpl
def pigeon_render_part(part: EmailMessage, ctx: RenderContext) -> Rendered | None:
    from pigeon.core import mime
    from pigeon.hooks.types import Rendered

    if mime.content_type(part) != "text/html":
        return None
    text, links = html_to_text(_html_source(part), ctx)
    return Rendered(text, links=links, kind="html")


@hookimpl
def pigeon_message_banners(message: EmailMessage, ctx: RenderContext) -> list[Banner] | None:
    """Warn about links whose text names another host than the one they go to."""
    from pigeon.hooks.types import Banner, Link

    banners = []
    for key, where in (("links", ""), ("hidden_links", "the HTML version (not shown): ")):
        bad = [lk for lk in ctx.state.get(key, []) if isinstance(lk, Link) and lk.mismatch]
        for link in bad[:5]:
            from pigeon.plugins.html_text import link_mismatch

            shown, real = link_mismatch(link.text, link.target) or (link.text, link.target)
            name = f"link [{link.number}]" if not where else "a link"
            banners.append(Banner("warning", f"{where}{name} shows {shown} but goes to {real}", "render_html"))
        if len(bad) > 5:
            banners.append(Banner("warning", f"{where}{len(bad) - 5} more links go elsewhere than their text says", "render_html"))
    return banners or None
