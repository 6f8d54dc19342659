"""Neutralise everything a message or a server could use to drive the terminal.

Applied by the core after every plugin has run, to every string bound for the terminal:
headers, bodies, file names, folder names, error messages. Plugins cannot skip it.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _ ... BEL or
# ST), and two-byte escapes. Their 8-bit C1 forms (CSI = U+009B, OSC = U+009D, ...) too.
_ESCAPE_SEQ = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?              # CSI
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])          # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?          # ... up to BEL or ST
  | \x1b[ -/]*[0-~]?                                 # other escapes (ESC c, ESC ( B, lone ESC)
    """,
    re.VERBOSE,
)

# Bidirectional controls: embeddings, overrides, isolates, and the implicit marks. They let a
# name read differently from what it is (``invoice\u202efdp.exe``).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

# Everything else that is a control character: C0 but TAB and LF, DEL, C1, plus the line and
# paragraph separators that some terminals treat as newlines. Lone surrogates (undecodable
# bytes smuggled through ``surrogateescape``) cannot even be printed: they become U+FFFD too.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + BIDI_CONTROLS + "]")
_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + BIDI_CONTROLS + "]")

_REPLACE = {"\r": "", "\x0b": "\n", "\x0c": "\n", "\u2028": "\n", "\u2029": "\n"}


def _replace(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _REPLACE:
        return _REPLACE[ch]
    if ch in BIDI_CONTROLS:
        return ""
    return "\ufffd"


def sanitize_text(text: str) -> str:
    """Multi-line text for the terminal: escapes removed, CRLF folded, controls replaced."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n")
    text = _ESCAPE_SEQ.sub("", text)
    return _CONTROLS.sub(_replace, text)


def sanitize_line(text: str) -> str:
    """One line (a header value, a file name, a folder name): newlines and tabs become spaces."""
    if not text:
        return ""
    text = _ESCAPE_SEQ.sub("", text)
    text = re.sub(r"[\r\n\t\x0b\x0c\u2028\u2029]+", " ", text)
    return _LINE_CONTROLS.sub(_replace, text)


def has_bidi_controls(text: str) -> bool:
    return any(ch in BIDI_CONTROLS for ch in text)


def is_clean(text: str) -> bool:
    """True when ``text`` holds nothing that :func:`sanitize_text` would change (but CRLF)."""
    return sanitize_text(text) == text.replace("\r\n", "\n")
