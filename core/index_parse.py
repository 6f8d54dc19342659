"""Turn one message file into the record the index stores (runs in worker processes).

Speed matters here (the first index of 10,000 messages must beat notmuch), so the file is parsed
with the stdlib's fast ``compat32`` policy and headers are decoded by hand; the full
``policy.default`` parse is kept for the plugin hooks only. Nothing here imports the rest of
pigeon, so a worker process starts cheaply.

What is extracted follows notmuch 0.37 (``lib/index.cc``, ``lib/add-message.cc``):
the Message-ID (the header's ``<...>`` content, else the raw header, else a hash of the file),
the parents for threading (every id of References and In-Reply-To; the reply-to parent is the
last id of In-Reply-To, else the last of References), the auto tags ``attachment``, ``signed``,
``encrypted``, attachment names, the MIME type of every part, and the body text of the text
parts (HTML reduced to text; the signature part of multipart/signed skipped).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, mktime_tz, parsedate_tz

#: Maildir info suffix: ``:2,FLAGS`` (or ``!2,`` as mu writes where ``:`` is not allowed).
INFO_RE = re.compile(r"[:!]2,([A-Za-z]*)$")

#: Body text kept per message: enough for search, bounded so that huge bodies stay cheap.
MAX_BODY_CHARS = 200_000

_ID_RE = re.compile(r"<([^>]*)>?")
_TAG_RE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)
_WS_RE = re.compile(r"[ \t\r\n]+")


@dataclass
class Record:
    """What the index stores for one parsed file (picklable, crosses process boundaries)."""

    msgid: str
    date: int
    subject: str
    from_addrs: list[tuple[str, str]]
    to_addrs: list[tuple[str, str]]
    cc_addrs: list[tuple[str, str]]
    bcc_addrs: list[tuple[str, str]]
    parents: list[str]  # every referenced id (References ∪ In-Reply-To), self excluded, in order
    replyto: str  # the parent used for the reply tree
    body: str
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (file name, type)
    mimetypes: list[str] = field(default_factory=list)
    auto_tags: list[str] = field(default_factory=list)


def parse_message_id(text: str | None) -> str | None:
    """The first ``<...>`` id of a header value, whitespace removed (notmuch's rule)."""
    if not text:
        return None
    start = text.find("<")
    if start < 0:
        return None
    end = text.find(">", start + 1)
    inner = text[start + 1 : end if end >= 0 else len(text)]
    inner = inner.replace(" ", "").replace("\t", "").replace("\n", "").replace("\r", "")
    return inner or None


def parse_id_list(text: str | None) -> list[str]:
    """Every ``<...>`` id in a References or In-Reply-To value, in order."""
    if not text:
        return []
    out = []
    for m in _ID_RE.finditer(text):
        inner = _WS_RE.sub("", m.group(1))
        if inner:
            out.append(inner)
    return out


def _raw_to_str(value: str) -> str:
    """compat32 keeps undecodable bytes as surrogates: read them as UTF-8, else Latin-1."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def decode_text(value: str | None) -> str:
    """An unstructured header value, RFC 2047 decoded and unfolded; never raises."""
    if value is None:
        return ""
    if not isinstance(value, str):  # a Header object from a broken message
        value = str(value)
    value = value.replace("\r", "").replace("\n", "")
    value = _raw_to_str(value)
    if "=?" not in value:
        return value.strip()
    try:
        return str(make_header(decode_header(value))).strip()
    except Exception:  # bad charset or encoding: keep the raw text
        return value.strip()


def decode_addresses(values: list[str] | None) -> list[tuple[str, str]]:
    """(name, address) pairs of address headers, names decoded; never raises."""
    if not values:
        return []
    try:
        pairs = getaddresses([_raw_to_str(str(v)).replace("\r", "").replace("\n", " ") for v in values])
    except Exception:
        return []
    out = []
    for name, addr in pairs:
        if not name and not addr:
            continue
        out.append((decode_text(name), addr.strip()))
    return out


def parse_date(value: str | None) -> int:
    """Seconds since the epoch of a Date header; 0 when missing or unreadable (as notmuch)."""
    if not value:
        return 0
    try:
        parsed = parsedate_tz(_raw_to_str(str(value)))
        if parsed is None:
            return 0
        stamp = mktime_tz(parsed)
        return stamp if stamp > 0 else 0
    except Exception:
        return 0


def _charset(part: Message) -> str:
    cs = part.get_content_charset() or "utf-8"
    return {"default": "latin-1", "default_charset": "latin-1", "chinesebig5": "big5", "x-unknown": "latin-1",
            "unknown-8bit": "latin-1"}.get(cs, cs)


def leaf_text(part: Message) -> str:
    """Decoded text of a leaf part with charset fallbacks; never raises."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    try:
        return payload.decode(_charset(part), "replace")
    except (LookupError, ValueError):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


def html_to_text(text: str) -> str:
    """HTML reduced to its words, for the index only (never shown)."""
    return html.unescape(_TAG_RE.sub(" ", text))


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if name is None:
        return None
    return decode_text(str(name))


class _Walker:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.size = 0
        self.attachments: list[tuple[str, str]] = []
        self.mimetypes: list[str] = []
        self.tags: set[str] = set()

    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > 50:  # hostile nesting
            return
        ctype = part.get_content_type()
        if ctype not in self.mimetypes:
            self.mimetypes.append(ctype)
        if part.is_multipart():
            children = part.get_payload()
            if not isinstance(children, list):
                return
            if ctype == "multipart/signed":
                self.tags.add("signed")
            if ctype == "multipart/encrypted":
                self.tags.add("encrypted")
                for child in children:  # only the types: the content is not readable
                    t = child.get_content_type() if isinstance(child, Message) else ""
                    if t and t not in self.mimetypes:
                        self.mimetypes.append(t)
                return
            for i, child in enumerate(children):
                if not isinstance(child, Message):
                    continue
                if ctype == "multipart/signed" and i == 1:
                    # The signature is not indexed, only its type (notmuch: no file name either).
                    t = child.get_content_type()
                    if t not in self.mimetypes:
                        self.mimetypes.append(t)
                    continue
                self.walk(child, depth + 1)
            return
        disposition = str(part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        if disposition == "attachment":
            self.tags.add("attachment")
            self.attachments.append((_filename(part) or "", ctype))
            if not ctype.startswith("text/"):
                return
        if ctype.startswith("text/") and self.size < MAX_BODY_CHARS:
            text = leaf_text(part)
            if ctype == "text/html":
                text = html_to_text(text)
            text = text[: MAX_BODY_CHARS - self.size]
            self.size += len(text)
            self.texts.append(text)


def body_text(msg: Message) -> tuple[str, _Walker]:
    """The indexable text of a parsed message and what the walk found."""
    w = _Walker()
    try:
        w.walk(msg)
    except Exception:  # a broken structure: index what was found so far
        pass
    return "\n".join(w.texts), w


def _hstr(msg: Message, name: str) -> str:
    """A header as a str whatever compat32 made of it (a ``Header`` for 8-bit junk)."""
    value = msg.get(name)
    return "" if value is None else _raw_to_str(str(value))


def looks_like_mail(msg: Message) -> bool:
    """notmuch's test: a file with none of From, Subject, To is not mail."""
    return any(_hstr(msg, h).strip() for h in ("From", "Subject", "To"))


class _Fallback(Exception):
    """The quick splitter met something it does not handle exactly like the stdlib."""


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first empty line."""
    if data.startswith(b"\n"):
        return b"", data[1:]
    if data.startswith(b"\r\n"):
        return b"", data[2:]
    a = data.find(b"\n\n")
    b = data.find(b"\n\r\n")
    if a < 0 and b < 0:
        return data, b""
    if b < 0 or 0 <= a < b:
        return data[: a + 1], data[a + 2 :]
    return data[: b + 1], data[b + 3 :]


def _split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The body parts between ``--boundary`` lines (RFC 2046), found with ``bytes.find``."""
    delim = b"--" + boundary.encode("ascii", "surrogateescape")
    starts = [0] if body.startswith(delim) else []
    i = body.find(b"\n" + delim)
    while i >= 0:
        starts.append(i + 1)
        i = body.find(b"\n" + delim, i + 1)
    lines = []
    for pos in starts:  # a delimiter line is --boundary, maybe "--", maybe blanks, then EOL
        end = body.find(b"\n", pos)
        rest = body[pos + len(delim) : end if end >= 0 else len(body)].rstrip(b"\r")
        closing = rest.startswith(b"--")
        if closing:
            rest = rest[2:]
        if rest.strip(b" \t"):
            continue  # a longer boundary that starts with ours
        lines.append((pos, end, closing))
    if not lines:
        raise _Fallback
    parts = []
    for k, (_pos, end, closing) in enumerate(lines):
        if closing:
            return parts
        if end < 0:
            break
        stop = lines[k + 1][0] - 1 if k + 1 < len(lines) else len(body)
        chunk = body[end + 1 : max(end + 1, stop)]
        if k + 1 < len(lines) and chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        parts.append(chunk)
    raise _Fallback  # no closing delimiter: leave the stdlib's recovery rules to the stdlib


def _light(data: bytes, depth: int = 0, default: str = "text/plain") -> Message:
    """A compat32 Message whose non-text leaves are left unread: big attachments cost a
    ``bytes.find`` instead of the feedparser's line-by-line scan."""
    if depth > 50:
        raise _Fallback
    head, body = _split_head(data)
    msg = BytesHeaderParser(policy=compat32).parsebytes(head)
    if msg.defects:
        raise _Fallback
    if default != "text/plain":
        msg.set_default_type(default)
    main = msg.get_content_maintype()
    if main == "multipart":
        boundary = msg.get_boundary()
        if not boundary:
            raise _Fallback
        child_default = "message/rfc822" if msg.get_content_subtype() == "digest" else "text/plain"
        msg.set_payload([_light(p, depth + 1, child_default) for p in _split_parts(body, boundary)])
    elif msg.get_content_type() == "message/rfc822":
        msg.set_payload([_light(body, depth + 1)])
    elif main == "message":
        raise _Fallback  # delivery-status, external-body...: the stdlib has its own rules
    elif main == "text":
        msg.set_payload(body.decode("ascii", "surrogateescape"))
    else:
        msg.set_payload("")
    return msg


#: Messages at least this big, and multipart, take the quick splitter (attachments).
QUICK_MIN = 32 * 1024


def parse_bytes(data: bytes, *, quick_min: int | None = None) -> Record | None:
    """The index record of a message's bytes, or None if they are not mail."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark before the headers
        data = data[3:]
    msg = None
    if len(data) >= (QUICK_MIN if quick_min is None else quick_min) and b"multipart" in data[:8192].lower():
        try:
            msg = _light(data)
            if not msg.is_multipart():
                msg = None
        except (_Fallback, Exception):
            msg = None
    try:
        if msg is None:
            msg = message_from_bytes(data, policy=compat32)
    except Exception:
        return None
    if not looks_like_mail(msg):
        return None
    header = _hstr(msg, "Message-ID")
    msgid = None
    if header:
        msgid = parse_message_id(header) or header.strip() or None
    if not msgid:
        msgid = "notmuch-sha1-" + hashlib.sha1(data).hexdigest()
    refs = parse_id_list(_hstr(msg, "References"))
    irt = parse_id_list(_hstr(msg, "In-Reply-To"))
    refs = [r for r in refs if r != msgid]
    irt = [r for r in irt if r != msgid]
    parents: list[str] = []
    for r in refs + irt:
        if r not in parents:
            parents.append(r)
    replyto = irt[-1] if irt else (refs[-1] if refs else "")
    text, w = body_text(msg)
    return Record(
        msgid=msgid,
        date=parse_date(_hstr(msg, "Date")),
        subject=decode_text(_hstr(msg, "Subject")),
        from_addrs=decode_addresses(msg.get_all("From")),
        to_addrs=decode_addresses(msg.get_all("To")),
        cc_addrs=decode_addresses(msg.get_all("Cc")),
        bcc_addrs=decode_addresses(msg.get_all("Bcc")),
        parents=parents,
        replyto=replyto,
        body=text,
        attachments=w.attachments,
        mimetypes=w.mimetypes,
        auto_tags=sorted(w.tags),
    )


def parse_file(path: str) -> Record | None:
    """The index record of a file; None when it is not mail or cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return parse_bytes(data)


def parse_job(job: tuple[int, str]) -> tuple[int, Record | None, str]:
    """Worker entry point: (n, path) -> (n, record or None, error text)."""
    n, path = job
    try:
        return n, parse_file(path), ""
    except Exception as exc:  # never let one hostile file stop the index
        return n, None, f"{type(exc).__name__}: {exc}"
