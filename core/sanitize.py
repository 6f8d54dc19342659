"""Neutralise everything a message or a server could use to drive the terminal.

Applied by the core after every plugin has run, to every string bound for the terminal:
headers, bodies, file names, folder names, error messages. Plugins cannot skip it.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _ ... BEL or
# ST), and two-byte escapes. Their 8-bit C1 forms (CSI = U+009B, OSC = U+009D, ...) too.
_ESCAPE_SEQ = r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?              # CSI
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])          # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?          # ... up to BEL or ST
  | \x1b[ -/]*[0-~]?                                 # other escapes (ESC c, ESC ( B, lone ESC)
    """

# Bidirectional controls: embeddings, overrides, isolates, and the implicit marks. They let a
# name read differently from what it is (``invoice\u202efdp.exe``).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

# Everything else that is a control character: C0 but TAB and LF, DEL, C1, plus the line and
# paragraph separators that some terminals treat as newlines. Lone surrogates (undecodable
# bytes smuggled through ``surrogateescape``) cannot even be printed: they become U+FFFD too.
_CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + BIDI_CONTROLS + "]"
_LINE_CONTROLS = "[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + BIDI_CONTROLS + "]"
_LINE_BREAKS = r"[\r\n\t\x0b\x0c\u2028\u2029]+"

# The expressions above are compiled on first use (~0.8 ms, paid by every command otherwise):
# most text is printable ASCII, which none of them can match (every character they look for is
# a control or not ASCII), so it is returned as it is without them.
_compiled: tuple[re.Pattern[str], ...] = ()


def _patterns() -> tuple[re.Pattern[str], ...]:
    global _compiled
    if not _compiled:
        _compiled = (re.compile(_ESCAPE_SEQ, re.VERBOSE), re.compile(_CONTROLS), re.compile(_LINE_CONTROLS),
                     re.compile(_LINE_BREAKS))
    return _compiled


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
    if text.isascii() and text.replace("\n", " ").replace("\t", " ").isprintable():
        return text  # TAB and LF are kept; nothing else here is a control
    escape_seq, controls, _, _ = _patterns()
    text = text.replace("\r\n", "\n")
    text = escape_seq.sub("", text)
    return controls.sub(_replace, text)


def sanitize_line(text: str) -> str:
    """One line (a header value, a file name, a folder name): newlines and tabs become spaces."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():
        return text
    escape_seq, _, line_controls, line_breaks = _patterns()
    text = escape_seq.sub("", text)
    text = line_breaks.sub(" ", text)
    return line_controls.sub(_replace, text)


def has_bidi_controls(text: str) -> bool:
    return any(ch in BIDI_CONTROLS for ch in text)


def is_clean(text: str) -> bool:
    """True when ``text`` holds nothing that :func:`sanitize_text` would change (but CRLF)."""
    return sanitize_text(text) == text.replace("\r\n", "\n")
