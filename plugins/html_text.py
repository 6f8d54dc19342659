"""HTML to text for the ``render_html`` plugin: the converter and the link checks.

Kept apart from the plugin module so that merely registering the plugin (every command
does) does not import ``html.parser``; the hooks import this module when they run.
"""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from pigeon.hooks.types import Link, RenderContext

SKIP = frozenset({"script", "style", "title", "template", "noframes", "iframe", "frameset", "select"})
PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
     "figure", "form", "fieldset", "hr", "address", "center"}
)
BLOCK = PARAGRAPH | frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "nav", "aside",
     "main", "caption", "tbody", "thead", "tfoot", "body", "html", "figcaption", "legend", "details", "summary"}
)
_COMMON_TLDS = frozenset(
    "com net org edu gov mil int info biz name pro aero coop museum io co app dev xyz online site top "
    "shop club store tech live life world email link click help support services account bank finance "
    "money today news blog cloud website page space agency company business solutions global".split()
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_DOMAIN = re.compile(r"^(?:[\w-]+\.)+([a-z]{2,24})\.?(?:[/:?#]\S*)?$", re.I)
MAX_QUOTE_DEPTH = 20


def named_host(text: str) -> str | None:
    """The host a link's text names, when the whole text reads as a URL or a domain."""
    t = text.strip().strip("<>()[]\"'").rstrip(".,;:!?")
    if not t or any(ch.isspace() for ch in t) or "@" in t.split("/", 1)[0] and not _SCHEME.match(t):
        return None
    try:
        if _SCHEME.match(t):
            return urlsplit(t).hostname
        m = _DOMAIN.match(t)
        if t.lower().startswith("www.") or (m and (len(m.group(1)) == 2 or m.group(1).lower() in _COMMON_TLDS)):
            return urlsplit("http://" + t).hostname
    except ValueError:
        return None
    return None


def _norm_host(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return host[4:] if host.startswith("www.") else host


def hosts_differ(text_host: str, target_host: str) -> bool:
    """True unless one host is the other or a subdomain of it (``www.`` ignored)."""
    a, b = _norm_host(text_host), _norm_host(target_host)
    return not (a == b or a.endswith("." + b) or b.endswith("." + a))


def link_mismatch(text: str, target: str) -> tuple[str, str] | None:
    """``(named host, real host)`` when the link text names another host than the target."""
    shown = named_host(text)
    if not shown:
        return None
    try:
        real = urlsplit(target.strip()).hostname
    except ValueError:
        real = None
    if not real:
        return (shown, target.split(":", 1)[0] + ":") if ":" in target else None
    return (shown, real) if hosts_differ(shown, real) else None


class HTMLToText(HTMLParser):
    """A small HTML to text converter: blocks, lists, tables, pre, quotes, links and images."""

    def __init__(self, ctx: RenderContext) -> None:
        super().__init__(convert_charrefs=True)
        self.ctx = ctx
        self.width = 10**6 if ctx.purpose == "index" else max(20, ctx.width)
        self.lines: list[str] = []
        self.inline: list[str] = []
        self.pending_blank = False
        self.skip = 0
        self.pre = 0
        self.pre_buf: list[str] = []
        self.quote = 0
        self.lists: list[list] = []  # [kind, counter]
        self.bullet: str | None = None
        self.link: dict | None = None
        self.links: list[Link] = []
        self.base = ""
        self.tables: list[dict] = []

    # ------------------------------------------------------------------ output

    def _prefix(self) -> str:
        return "> " * min(self.quote, MAX_QUOTE_DEPTH) + "   " * max(0, len(self.lists) - 1)

    def _emit(self, line: str) -> None:
        if self.pending_blank and self.lines and self.lines[-1].strip(" >"):
            self.lines.append(self._prefix().rstrip())
        self.pending_blank = False
        self.lines.append(line)

    def flush(self) -> None:
        text = " ".join("".join(self.inline).split())
        self.inline = []
        if not text:
            return
        prefix = self._prefix()
        bullet, self.bullet = self.bullet or "", None
        width = max(10, self.width - len(prefix) - len(bullet))
        wrapped = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [text]
        for i, line in enumerate(wrapped):
            self._emit(prefix + (bullet if i == 0 else " " * len(bullet)) + line)

    def blank(self) -> None:
        self.flush()
        self.pending_blank = True

    def text(self, data: str) -> None:
        if self.pre:
            self.pre_buf.append(data)
        else:
            self.inline.append(data)
        if self.link is not None:
            self.link["text"].append(data)

    # ------------------------------------------------------------------ parser events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "base" and a.get("href"):
            self.base = a["href"].strip()
        elif tag == "br":
            if self.pre:
                self.pre_buf.append("\n")
            else:
                self.flush()
        elif tag == "pre":
            self.blank()
            self.pre += 1
        elif tag == "blockquote":
            self.blank()
            self.quote += 1
        elif tag in ("ul", "ol"):
            self.flush()
            if not self.lists:
                self.pending_blank = True
            self.lists.append([tag, 0])
        elif tag == "li":
            self.flush()
            if self.lists:
                self.lists[-1][1] += 1
                kind, n = self.lists[-1]
                self.bullet = f"{n}. " if kind == "ol" else "• "
            else:
                self.bullet = "• "
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.blank()
            if self.ctx.purpose == "view":
                self.inline.append("#" * int(tag[1]) + " ")
        elif tag == "hr":
            self.blank()
            self._emit(self._prefix() + "─" * min(40, self.width))
            self.pending_blank = True
        elif tag == "table":
            self.blank()
            self.tables.append({"cells": 0, "sep": " | " if a.get("border", "0") not in ("", "0") else "  "})
        elif tag == "tr":
            self.flush()
            if self.tables:
                self.tables[-1]["cells"] = 0
        elif tag in ("td", "th"):
            if self.tables:
                table = self.tables[-1]
                if tag == "th":
                    table["sep"] = " | "
                if table["cells"]:
                    self.inline.append(table["sep"])
                table["cells"] += 1
        elif tag == "a":
            self._end_link()
            href = "".join(a.get("href", "").split())
            if href and not href.startswith("#"):
                target = urljoin(self.base, href) if self.base and not _SCHEME.match(href) and ":" not in href.split("/", 1)[0] else href
                self.link = {"target": target, "text": []}
        elif tag == "img":
            self._image(a)
        elif tag == "input":
            self._input(a)
        elif tag in BLOCK:
            if tag in PARAGRAPH:
                self.blank()
            else:
                self.flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "input", "hr", "base"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
            if not self.pre:
                self._end_pre()
        elif tag == "blockquote" and self.quote:
            self.blank()
            self.quote -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.flush()
            self.lists.pop()
            if not self.lists:
                self.pending_blank = True
        elif tag == "table" and self.tables:
            self.blank()
            self.tables.pop()
        elif tag == "a":
            self._end_link()
        elif tag in PARAGRAPH:
            self.blank()
        elif tag in BLOCK:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text(data)

    def close(self) -> None:
        super().close()
        self._end_link()
        if self.pre_buf:
            self._end_pre()
        self.flush()

    # ------------------------------------------------------------------ pieces

    def _end_pre(self) -> None:
        self.flush()
        prefix = self._prefix()
        text = "".join(self.pre_buf).expandtabs(8).strip("\n")
        self.pre_buf = []
        for line in text.split("\n"):
            self._emit(prefix + line.rstrip())
        self.pending_blank = True

    def _end_link(self) -> None:
        link, self.link = self.link, None
        if link is None:
            return
        text = " ".join("".join(link["text"]).split())
        target = link["target"]
        if self.ctx.purpose == "index":
            return
        if self.ctx.purpose == "quote":
            if text != target and not target.startswith("mailto:"):
                self.text(f" <{target}>")
            return
        number = self.ctx.next_link_number()
        mismatch = link_mismatch(text, target)
        self.links.append(Link(number, text, target, mismatch=mismatch is not None))
        if mismatch:
            self.text(f" [{number}: the link goes to {mismatch[1]}]")
        else:
            self.text(f" [{number}]")

    def _image(self, a: dict[str, str]) -> None:
        alt = " ".join(a.get("alt", "").split())
        if self.ctx.purpose == "index":
            if alt:
                self.text(f" {alt} ")
            return
        if alt:
            self.text(f"[image: {alt}]")
            return
        tiny = all(a.get(d, "").strip().rstrip("px") in ("0", "1", "2") for d in ("width", "height"))
        if not tiny:
            self.text("[image]")

    def _input(self, a: dict[str, str]) -> None:
        kind = a.get("type", "text").lower()
        if kind == "hidden" or self.ctx.purpose == "index":
            return
        if kind in ("submit", "button", "reset", "image"):
            self.text(f" [button: {a.get('value') or a.get('alt') or kind}] ")
        elif kind == "password":
            self.text(" [password field] ")
        elif kind in ("checkbox", "radio"):
            self.text(" [ ] ")
        else:
            label = a.get("placeholder") or a.get("name") or kind
            self.text(f" [field: {label}] ")


def html_to_text(html: str, ctx: RenderContext) -> tuple[str, list[Link]]:
    """Convert an HTML document to text for ``ctx``; returns the text and the links found."""
    parser = HTMLToText(ctx)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; a failure keeps what was converted so far
        parser.flush()
    text = "\n".join(line.rstrip() for line in parser.lines).strip("\n")
    return text + "\n", parser.links
