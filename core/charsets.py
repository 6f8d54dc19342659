"""Charsets as mail uses them: an alias table for the labels Python does not know, and decoding
that never raises.

Senders label text with names Python lacks (``x-mac-roman``, ``iso-8859-8-i``, ``cp-850``), names
for narrower charsets than they used (``iso-8859-1`` for Windows-1252, ``gb2312`` for GB18030),
or no real charset at all (``x-unknown``, ``unknown-8bit``). Codecs that are not charsets
(``unicode_escape``, ``idna``, ...) are refused: a message cannot make pigeon run them.
"""

from __future__ import annotations

import codecs
import re

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
