"""Parsing messages robustly: the stdlib ``email`` package, with every failure turned into text.

Nothing here raises on a malformed message. The stdlib parser (``policy.default``) is very
tolerant, but reading a header or a part's content later can still raise (an empty group in
``To:``, an unknown charset, a multipart whose boundary is missing). So headers are decoded
here from their raw text with a lenient RFC 2047 decoder, and leaf parts are decoded from their
payload bytes with a charset alias table and a ``replace`` fallback.

mbox files: :func:`split_mbox` splits at every line that starts with ``From `` (what the stdlib
``mailbox.mbox`` does). Whether a file *is* an mbox is decided by its name (see
:func:`looks_like_mbox`), not by sniffing: a single message may begin with an envelope line and
carry an unescaped ``From `` line in a body (a ``git format-patch`` attachment, for instance).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.policy
import quopri
import re
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

POLICY = email.policy.default

#: Headers that hold addresses: encoded-words inside their addr-specs are never decoded.
ADDRESS_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to", "resent-cc",
     "resent-sender", "return-path", "delivered-to", "mail-followup-to", "disposition-notification-to"}
)

# Charset labels seen in real mail (lower case; "" means "no real charset: guess as for
# unlabelled text") that Python does not know, or knows as a narrower codec than
# what senders meant (WHATWG's encoding standard makes the same substitutions).
CHARSET_ALIASES: dict[str, str] = {
    "x-unknown": "",
    "unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "default_charset": "",
    "8bit": "",
    "binary": "",
    "utf8": "utf-8",
    "x-utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "unicode": "utf-16",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-8-e": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    "logical": "iso8859_8",
    "visual": "iso8859_8",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "x-windows-949": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "chinesebig5": "big5hkscs",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp_ext",
    "x-mac-roman": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-mac-ce": "mac_latin2",
    "x-mac-centraleurroman": "mac_latin2",
    "x-mac-croatian": "mac_croatian",
    "x-mac-romanian": "mac_romanian",
    "x-mac-arabic": "mac_arabic",
    "macintosh": "mac_roman",
    "x-paf": "",
    "sen_850200_b": "sen_850200_b",
    "iso-ir-10": "sen_850200_b",
    "iso646-se": "sen_850200_b",
}

# Codecs that are not charsets a message may ask for: they interpret escapes or transform text.
_REFUSED_CODECS = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "palmos"})

# SEN 850200 B (ISO 646-SE, ISO-IR-10): ASCII with Swedish letters in place of brackets.
_SEN_850200_B = str.maketrans({"[": "Ä", "\\": "Ö", "]": "Å", "{": "ä", "|": "ö", "}": "å", "~": "‾", "$": "¤"})

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


# --------------------------------------------------------------------------- charsets


def _sen_850200_b(data: bytes, errors: str) -> str:
    return data.decode("ascii", errors).translate(_SEN_850200_B)


def normalize_charset(label: str | None) -> str | None:
    """The Python codec for a charset label from a message, or None when unknown or refused."""
    if not label:
        return None
    name = str(label).strip().strip("\"'").strip().lower()
    if not name:
        return None
    candidates = [name]
    if name.startswith("x-"):
        candidates.append(name[2:])
    m = re.fullmatch(r"(?:windows|win|cp|ms|ibm)[-_ ]?(\d{3,4})", name)
    if m:
        candidates.append("cp" + m.group(1))
    m = re.fullmatch(r"iso[-_ ]?8859[-_ ]?(\d{1,2})(?:[-_:].*)?", name)
    if m:
        candidates.append("iso8859_" + m.group(1))
    for cand in candidates:
        alias = CHARSET_ALIASES.get(cand)
        if alias is not None:
            return alias or None  # "" means: no real charset, guess as for unlabelled text
        try:
            codec = codecs.lookup(cand)
        except (LookupError, ValueError):
            continue
        if codec.name.replace("-", "_") in _REFUSED_CODECS or not getattr(codec, "_is_text_encoding", True):
            return None
        return codec.name
    return None


def decode_bytes(data: bytes, charset: str | None = None, *, fallback: str = "cp1252") -> str:
    """Decode text from a message; never raises.

    The declared charset first (through the alias table); text labelled ASCII or not labelled is
    tried as UTF-8 (most 8-bit text in mail is); then ``fallback`` and finally replacement
    characters.
    """
    codec = normalize_charset(charset)
    try:
        if codec == "sen_850200_b":
            return _sen_850200_b(data, "replace")
        if codec == "utf-8":
            return data.decode("utf-8", "replace")
        order = [codec] if codec and codec != "ascii" else []
        order += ["utf-8", fallback]
        for name in order:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, LookupError):
                continue
        return data.decode(codec if codec and codec != "ascii" else "latin-1", "replace")
    except Exception:  # a codec with a bug of its own
        return data.decode("utf-8", "replace")


def _no_surrogates(text: str) -> str:
    """Re-decode surrogate-escaped bytes (raw 8-bit header text) as UTF-8 or cp1252."""
    if not _SURROGATES.search(text):
        return text
    data = text.encode("utf-8", "surrogateescape") if _only_escapes(text) else None
    if data is None:
        return _SURROGATES.sub("\ufffd", text)
    return decode_bytes(data)


def _only_escapes(text: str) -> bool:
    return all(not ("\ud800" <= ch <= "\udfff") or "\udc80" <= ch <= "\udcff" for ch in text)


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


def header_str(msg: Message, name: str, default: str = "") -> str:
    """The decoded value of the first header ``name``, or ``default``; never raises."""
    values = raw_headers(msg, name)
    return decode_header_value(values[0], name) if values else default


def header_strs(msg: Message, name: str) -> list[str]:
    """Every decoded value of header ``name`` (two ``From:`` lines are two values)."""
    return [decode_header_value(v, name) for v in raw_headers(msg, name)]


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
    raw = payload.encode("utf-8", "surrogateescape") if _only_escapes(payload) else payload.encode("utf-8", "replace")
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
