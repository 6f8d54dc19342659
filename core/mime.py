"""Parsing messages robustly: the stdlib ``email`` package, with every failure turned into text.

Nothing here raises on a malformed message. The stdlib parser (``policy.default``) is very
tolerant, but reading a header or a part's content later can still raise (an empty group in
``To:``, an unknown charset, a multipart whose boundary is missing). So headers are decoded
here from their raw text with a lenient RFC 2047 decoder, and leaf parts are decoded from their
payload bytes with the charset alias table of ``pigeon.core.charsets`` and a ``replace``
fallback. A multipart whose boundary failed is re-parsed where its delimiters can be found.

mbox files: :func:`split_mbox` splits at every line that starts with ``From `` (what the stdlib
``mailbox.mbox`` does). Whether a file *is* an mbox is decided by its name (see
:func:`looks_like_mbox`), not by sniffing: a single message may begin with an envelope line and
carry an unescaped ``From `` line in a body (a ``git format-patch`` attachment, for instance).
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import email.utils
import functools
import quopri
import re
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

from pigeon.core.charsets import decode_bytes


class _CachingPolicy(email.policy.EmailPolicy):
    """``policy.default``, except that parsed header objects are reused.

    The stdlib parses a header anew on every read, and the feed parser itself reads
    Content-Type again and again; profiling the corpus showed half the render time there.
    Header objects are immutable ``str`` subclasses, so sharing them is safe.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):
            return value
        try:
            return _parse_header_cached(self, name, value)
        except TypeError:  # an unhashable value: parse it as the stdlib would
            return super().header_fetch_parse(name, value)


@functools.lru_cache(maxsize=4096)
def _parse_header_cached(policy: email.policy.EmailPolicy, name: str, value: str) -> str:
    return email.policy.EmailPolicy.header_fetch_parse(policy, name, value)


POLICY = _CachingPolicy()

#: Headers that hold addresses: encoded-words inside their addr-specs are never decoded.
ADDRESS_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to", "resent-cc",
     "resent-sender", "return-path", "delivered-to", "mail-followup-to", "disposition-notification-to"}
)

_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?\r\n]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATES = re.compile("[\ud800-\udfff]")
_MBOX_FROM = re.compile(rb"^From ", re.MULTILINE)


# --------------------------------------------------------------------------- parsing


def parse_bytes(data: bytes) -> EmailMessage:
    """Parse a message; never raises. A leading UTF-8 BOM and blank lines are skipped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = data.lstrip(b" \t\r\n")
    if stripped and stripped.split(b"\n", 1)[0].strip():
        data = stripped  # flanker fixtures start with a line of spaces
    try:
        return BytesParser(policy=POLICY).parsebytes(data)
    except Exception:  # the feed parser is tolerant; this is belt and braces
        msg = EmailMessage(policy=POLICY)
        msg.set_payload(data.decode("ascii", "surrogateescape"))
        msg["Content-Type"] = "text/plain"
        return msg


def parse_file(path: str | Path) -> EmailMessage:
    """Parse the message stored in ``path`` (see :func:`parse_bytes`)."""
    return parse_bytes(Path(path).read_bytes())


def looks_like_mbox(data: bytes, name: str = "") -> bool:
    """True when ``data`` should be read as an mbox: it starts with ``From `` and its name says mbox.

    Content alone cannot tell: an ``.eml`` may start with an envelope line and carry a
    ``From `` line in a body. Callers offer ``--mbox`` for standard input.
    """
    lowered = Path(name).name.lower()
    return data.startswith(b"From ") and "mbox" in lowered and not lowered.endswith(".eml")


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, envelope lines removed (split like ``mailbox.mbox``)."""
    starts = [m.start() for m in _MBOX_FROM.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    out: list[bytes] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        if chunk.startswith(b"From "):
            chunk = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        # the blank line before the next envelope line belongs to the separator
        if chunk.endswith(b"\r\n\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n\n"):
            chunk = chunk[:-1]
        if chunk.strip():
            out.append(chunk)
    return out


def _no_surrogates(text: str) -> str:
    """Re-decode surrogate-escaped bytes (raw 8-bit header text) as UTF-8 or cp1252."""
    if not _SURROGATES.search(text):
        return text
    try:
        return decode_bytes(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        return _SURROGATES.sub("\ufffd", text)


# --------------------------------------------------------------------------- headers


def _decode_b(text: str) -> bytes | None:
    cleaned = re.sub(r"[^A-Za-z0-9+/=_-]", "", text).rstrip("=")
    cleaned = cleaned.replace("-", "+").replace("_", "/")
    if len(cleaned) % 4 == 1:  # a stray character: drop it rather than fail
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def _decode_q(text: str) -> bytes:
    raw = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_words(text: str, *, address: bool = False) -> str:
    """Decode RFC 2047 encoded-words leniently; never raises.

    Adjacent encoded-words (only whitespace between them) are joined before decoding, so a
    character split across two words survives. With ``address`` true, an encoded-word that
    touches ``@`` or sits inside ``<...>`` stays as it is: RFC 2047 forbids them in addr-specs
    and decoding them is how Mailsploit-style spoofing works.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    matches = list(_ENCODED_WORD.finditer(text))
    i = 0
    while i < len(matches):
        # a run of encoded-words separated by whitespace only
        j = i
        while j + 1 < len(matches) and not text[matches[j].end() : matches[j + 1].start()].strip():
            j += 1
        run = matches[i : j + 1]
        start, end = run[0].start(), run[-1].end()
        out.append(text[pos:start])
        if address and _in_addr_spec(text, start, end):
            out.append(text[start:end])
        else:
            out.append(_decode_run(run))
        pos = end
        i = j + 1
    out.append(text[pos:])
    return "".join(out)


def _in_addr_spec(text: str, start: int, end: int) -> bool:
    before, after = text[:start], text[end:]
    if before.count("<") > before.count(">"):
        return True
    return before.endswith("@") or after.startswith("@") or (after[:1] not in ("", " ", "\t", ",", "<", '"', ")", ";", "\r", "\n"))


def _decode_run(run: list[re.Match[str]]) -> str:
    pieces: list[str] = []
    buf = b""
    buf_charset: str | None = None
    for m in run:
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        data = _decode_b(m.group(3)) if m.group(2) in "bB" else _decode_q(m.group(3))
        if data is None:
            if buf:
                pieces.append(decode_bytes(buf, buf_charset))
                buf, buf_charset = b"", None
            pieces.append(m.group(0))
            continue
        if buf and charset.lower() != (buf_charset or "").lower():
            pieces.append(decode_bytes(buf, buf_charset))
            buf = b""
        buf += data
        buf_charset = charset
    if buf:
        pieces.append(decode_bytes(buf, buf_charset))
    return "".join(pieces)


def _unfold(value: str) -> str:
    value = _FOLD.sub("", value)
    return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").strip()


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every raw value of header ``name`` (case-insensitive), unparsed; never raises."""
    wanted = name.lower()
    out: list[str] = []
    try:
        items = msg.raw_items()
    except Exception:
        items = getattr(msg, "_headers", [])
    for key, value in items:
        try:
            if str(key).lower() == wanted:
                out.append(value if isinstance(value, str) else str(value))
        except Exception:
            continue
    return out


def decode_header_value(raw: str, name: str = "") -> str:
    """A raw header value as readable text: 8-bit bytes decoded, unfolded, encoded-words decoded."""
    try:
        text = _no_surrogates(_unfold(raw))
        return decode_words(text, address=name.lower() in ADDRESS_HEADERS)
    except Exception:
        return _SURROGATES.sub("\ufffd", str(raw))


_NEEDS_QUOTES = re.compile(r'[()<>@,;:\\".\[\]]')


def _display_address_value(raw: str, name: str) -> str:
    """An address header as ``Name <addr>, ...`` when it parses cleanly, else decoded leniently.

    Only a clean parse is reformatted: every mailbox with an ``@``, no defects, no groups, no
    encoded-words in addresses. Anything odd is shown as sent (decoded), so nothing is hidden.
    """
    lenient = decode_header_value(raw, name)
    if len(raw) > 2000 or not any(ch in raw for ch in '"(=\\'):
        return lenient  # nothing a reformat would change, or too long to be worth the parse
    try:
        header = POLICY.header_factory(name, _no_surrogates(_unfold(raw)))
        if header.defects or any(len(g.addresses) != 1 or g.display_name for g in header.groups):
            return lenient
        shown = []
        for addr in header.addresses:
            spec = addr.addr_spec
            if "@" not in spec or "=?" in spec or spec.startswith("@") or spec.endswith("@"):
                return lenient
            display = addr.display_name or ""
            if display and _NEEDS_QUOTES.search(display):
                display = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
            shown.append(f"{display} <{spec}>" if display else spec)
        return ", ".join(shown) if shown else lenient
    except Exception:
        return lenient


def _display_value(raw: str, name: str) -> str:
    if name.lower() in ADDRESS_HEADERS:
        return _display_address_value(raw, name)
    return decode_header_value(raw, name)


def header_str(msg: Message, name: str, default: str = "") -> str:
    """The decoded value of the first header ``name``, or ``default``; never raises.

    Address headers read ``Name <addr>, ...`` when they parse cleanly, and as sent otherwise.
    """
    values = raw_headers(msg, name)
    return _display_value(values[0], name) if values else default


def header_strs(msg: Message, name: str) -> list[str]:
    """Every decoded value of header ``name`` (two ``From:`` lines are two values)."""
    return [_display_value(v, name) for v in raw_headers(msg, name)]


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``(display name, address)`` of every mailbox in every header ``name``; never raises.

    The stdlib's structured parser first (it understands groups and quoting); where it raises
    or loses the address, a lenient parse of the raw text. Display names are decoded; an
    address is never decoded from encoded-words.
    """
    raws = raw_headers(msg, name)
    if not raws:
        return []
    out: list[tuple[str, str]] = []
    try:
        for value in msg.get_all(name, []):
            for addr in value.addresses:
                spec = addr.addr_spec
                if not spec or spec == "<>":
                    raise ValueError("address lost")
                out.append((_no_surrogates(addr.display_name or ""), _no_surrogates(spec)))
        return out
    except Exception:
        out = []
    try:
        for display, addr in getaddresses([_no_surrogates(_unfold(r)) for r in raws]):
            if not display and not addr:
                continue
            out.append((decode_words(display), addr))
    except Exception:
        return []
    return out


# --------------------------------------------------------------------------- content


def content_type(part: Message) -> str:
    """The part's lower-case ``maintype/subtype`` (``text/plain`` when missing or malformed)."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "text/plain"
    ctype = ctype.strip().strip("\"'").lower()
    return ctype if "/" in ctype else "text/plain"


def part_charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return charset


def part_bytes(part: Message) -> bytes:
    """The decoded payload of a leaf part (base64, quoted-printable, uuencode); never raises.

    Broken base64 or quoted-printable still yields bytes: what decodes, decodes.
    """
    # The raw payload: ``get_payload()`` would already decode 8-bit text with a guessed charset.
    payload = getattr(part, "_payload", None)
    if payload is None:
        try:
            payload = part.get_payload()
        except Exception:
            payload = ""
    if isinstance(payload, list):
        try:
            return b"\n".join(p.as_bytes(policy=POLICY) if isinstance(p, Message) else bytes(p) for p in payload)
        except Exception:
            return b""
    if isinstance(payload, bytes):
        return payload
    if not isinstance(payload, str):
        return str(payload).encode("utf-8", "replace")
    try:  # surrogate escapes are the undecoded 8-bit bytes of the source
        raw = payload.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = payload.encode("utf-8", "replace")
    try:
        cte = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    except Exception:
        cte = ""
    try:
        if cte == "base64":
            return _lenient_base64(raw)
        if cte == "quoted-printable":
            return quopri.decodestring(raw)
        if cte in ("x-uuencode", "uuencode", "uue", "x-uue"):
            decoded = part.get_payload(decode=True)
            return decoded if isinstance(decoded, bytes) else raw
    except Exception:
        return raw
    return raw


def _lenient_base64(raw: bytes) -> bytes:
    # Padding in the middle means concatenated encodings; stray characters are skipped.
    out: list[bytes] = []
    for chunk in re.split(rb"=+", raw):
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", chunk)
        if len(data) % 4 == 1:
            data = data[:-1]
        if data:
            out.append(base64.b64decode(data + b"=" * (-len(data) % 4)))
    return b"".join(out)


def part_text(part: Message) -> str:
    """The decoded text of a leaf part, whatever its charset or encoding; never raises.

    For a multipart whose body did not parse (no boundary), this is its raw body text.
    """
    try:
        return decode_bytes(part_bytes(part), part_charset(part))
    except Exception:
        try:
            return str(getattr(part, "_payload", ""))
        except Exception:
            return ""


_BOUNDARY_PARAM = re.compile(r'boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', re.I)
_DELIMITER_LINE = re.compile(rb"^--([!-~]{1,200})[ \t]*\r?\n(?=[!-9;-~]+:)", re.M)
MAX_RECOVER_SIZE = 5 * 1024 * 1024


def recover_multipart(part: Message) -> Message | None:
    """Re-parse a multipart whose body did not parse (a malformed or missing boundary).

    The boundary is read leniently from the raw Content-Type (an unquoted ``=`` in it defeats
    the stdlib), or else taken from the first delimiter-looking line that a header follows.
    Returns a parsed multipart with at least one part, or None (then show the raw text).
    """
    try:
        body = part_bytes(part)
    except Exception:
        return None
    if len(body) > MAX_RECOVER_SIZE:
        return None
    candidates: list[str] = []
    for raw in raw_headers(part, "content-type"):
        m = _BOUNDARY_PARAM.search(raw)
        if m:
            candidates.append((m.group(1) or m.group(2)).strip())
    m = _DELIMITER_LINE.search(body)
    if m:
        candidates.append(m.group(1).decode("ascii", "replace"))
    ctype = content_type(part)
    for boundary in dict.fromkeys(candidates):
        if not boundary or not boundary.isascii() or '"' in boundary or "\\" in boundary:
            continue
        if b"\n--" + boundary.encode("ascii") not in b"\n" + body:
            continue
        msg = parse_bytes(f'Content-Type: {ctype}; boundary="{boundary}"\n\n'.encode("ascii", "replace") + body)
        if is_multipart(msg) and subparts(msg):
            return msg
    return None


def filename(part: Message) -> str:
    """The part's file name as given (RFC 2231 and encoded-words decoded), or ""; never raises."""
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            raw = part.get_param("name", header="content-type")
            if isinstance(raw, tuple):
                raw = email.utils.collapse_rfc2231_value(raw)
            name = str(raw or "")
        except Exception:
            name = ""
    try:
        return decode_words(_no_surrogates(str(name)))
    except Exception:
        return ""


def disposition(part: Message) -> str:
    """``inline``, ``attachment`` or "" (none given); never raises."""
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def is_multipart(part: Message) -> bool:
    try:
        return part.is_multipart()
    except Exception:
        return False


def subparts(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
