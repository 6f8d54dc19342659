"""Terminal escape and control neutralisation."""

from __future__ import annotations

from pigeon.core.sanitize import sanitize_line, sanitize_text


def test_escape_sequences_removed() -> None:
    hostile = "a\x1b[31mred\x1b[0m b\x1b]0;title\x07 c\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ d\x9b2J e\x1bc"
    out = sanitize_text(hostile)
    assert out == "ared b clink d e"


def test_controls_and_bidi_gone() -> None:
    out = sanitize_line("inv\u202eoice\u2066.exe\x00\x07\r\nX\x85")
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u202e" not in out and "\u2066" not in out
    assert out.startswith("invoice.exe")


def test_text_keeps_newlines_and_tabs() -> None:
    assert sanitize_text("a\r\nb\tc\fd") == "a\nb\tc\nd"
