"""Links and forms in a message, read with the standard library's HTML parser.

The assessment must work on its own (``pigeon assess`` on a file, a user's plugin), so it does
not depend on the HTML renderer: it walks the message's text parts itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import urlsplit

#: Links whose scheme runs code or reaches local files.
DANGEROUS_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "mhtml", "ms-its", "jar"})

_URL_IN_TEXT = re.compile(r"""\b(?:https?|ftp)://[^\s<>"'()\[\]{}]+""", re.I)
# Link text that names a host: a URL, or a bare domain such as ``www.paypal.com/signin``.
_TEXT_HOST = re.compile(
    r"^\s*(?:(?:https?|ftp)://)?(?:[^\s/@]+@)?((?:[\w-]+\.)+[a-z\u00a1-\uffff]{2,})(?::\d+)?(?:[/?#]\S*)?\s*$",
    re.I,
)

MAX_HTML = 2_000_000  # characters of one HTML part we look at
MAX_PARTS = 500  # MIME parts looked at: a hostile message may nest thousands


@dataclass
class Anchor:
    """A link as the reader sees it (its text) and as it goes (its href)."""

    href: str
    text: str = ""


@dataclass
class HtmlFacts:
    """What the assessment needs from an HTML document."""

    anchors: list[Anchor] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)  # form actions
    password_inputs: int = 0
    text: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = HtmlFacts()
        self._open: Anchor | None = None
        self._skip = 0  # inside <script>/<style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a" and a.get("href"):
            self._open = Anchor(a["href"].strip())
            self.facts.anchors.append(self._open)
        elif tag == "area" and a.get("href"):
            self.facts.anchors.append(Anchor(a["href"].strip(), a.get("alt", "")))
        elif tag == "form":
            self.facts.forms.append(a.get("action", ""))
        elif tag == "input" and a.get("type", "").lower() == "password":
            self.facts.password_inputs += 1
        elif tag == "img" and self._open is not None and a.get("alt"):
            self._open.text += a["alt"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.facts.text.append(data)
        if self._open is not None:
            self._open.text += data


def parse_html(html: str) -> HtmlFacts:
    """Anchors, forms, password inputs and visible text of an HTML document; never raises."""
    collector = _Collector()
    try:
        collector.feed(html[:MAX_HTML])
        collector.close()
    except Exception:  # html.parser is lenient, but a hostile document must not stop us
        pass
    return collector.facts


def part_text(part: EmailMessage) -> str:
    """The decoded text of a leaf part, whatever its declared charset; never raises."""
    from pigeon.core.mime import part_text as decoded  # the core's charset aliases and fallbacks

    return decoded(part)


def is_attachment(part: EmailMessage) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
    except Exception:
        return True
    return disposition == "attachment" or bool(filename)


def message_texts(msg: EmailMessage) -> tuple[list[str], list[str]]:
    """The plain-text and HTML bodies of a message (attachments excluded)."""
    plain: list[str] = []
    html: list[str] = []
    for n, part in enumerate(msg.walk()):
        if n >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        try:
            ctype = part.get_content_type()
        except Exception:
            continue
        if ctype not in ("text/plain", "text/html") or is_attachment(part):
            continue
        (html if ctype == "text/html" else plain).append(part_text(part))
    return plain, html


def text_host(text: str) -> str | None:
    """The host that link text names, when the text reads as a URL or a domain."""
    text = text.strip()
    if not text or len(text) > 300 or " " in text:
        return None
    m = _TEXT_HOST.match(text)
    if not m:
        return None
    host = m.group(1).lower()
    # "file.pdf", "version 1.2": the last label must be letters, and a domain has a dot.
    if not re.search(r"\.[^\W\d_]{2,}$", host):
        return None
    from pigeon.plugins.assess_domains import has_known_suffix

    return host if has_known_suffix(host) else None


@dataclass
class UrlParts:
    """The parts of a link target that the checks look at."""

    scheme: str
    host: str
    userinfo: str


def split_url(href: str) -> UrlParts | None:
    """Scheme, host and userinfo of a link target; None when it cannot be parsed."""
    href = href.strip()
    # Browsers treat backslashes as slashes and ignore tabs and newlines in URLs.
    href = re.sub(r"[\t\r\n]", "", href).replace("\\", "/")
    try:
        parts = urlsplit(href)
        netloc = parts.netloc
        scheme = parts.scheme.lower()
    except ValueError:
        return None
    userinfo = ""
    hostport = netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
    host = hostport
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif ":" in host:
        host = host.split(":", 1)[0]
    return UrlParts(scheme, host.lower().rstrip("."), userinfo)


def plain_urls(text: str) -> list[str]:
    """URLs written out in plain text."""
    return [m.group(0).rstrip(".,;:!?") for m in _URL_IN_TEXT.finditer(text)]
