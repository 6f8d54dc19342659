"""The built-in text/plain renderer: format=flowed, quotes, signatures, and choosing alternatives."""

from __future__ import annotations

import pytest
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.render import quote_text, render_message
from pigeon.hooks.types import RenderContext


@pytest.fixture
def app(config_dir) -> App:
    return App.create(config_dir)


def body(app: App, raw: str, **ctx) -> str:
    return render_message(app, mime.parse_bytes(raw.encode()), RenderContext(**ctx)).body


FLOWED = (
    "Content-Type: text/plain; charset=utf-8; format=flowed{delsp}\n\n"
    "This is a long paragraph that the sender's client \n"
    "wrapped with soft breaks so that the \n"
    "reader can reflow it.\n"
    "\n"
    "> A quoted paragraph that was also \n"
    "> flowed by the sender.\n"
    ">> deeper \n"
    ">> quote\n"
    " From the start of a line (space-stuffed).\n"
    "-- \n"
    "Signer\n"
)


def test_format_flowed_reflows_and_keeps_quote_levels(app: App) -> None:
    text = body(app, FLOWED.format(delsp=""), width=200)
    lines = text.splitlines()
    assert lines[0] == "This is a long paragraph that the sender's client wrapped with soft breaks so that the reader can reflow it."
    assert "> A quoted paragraph that was also flowed by the sender." in lines
    assert ">> deeper quote" in lines
    assert "From the start of a line (space-stuffed)." in lines
    assert "── signature ──" in lines and lines[-1] == "Signer"


def test_format_flowed_wraps_to_width(app: App) -> None:
    text = body(app, FLOWED.format(delsp=""), width=30)
    # flowed paragraphs are wrapped; fixed lines (the space-stuffed one) are not
    assert all(len(line) <= 30 for line in text.splitlines() if not line.startswith("From the start"))
    assert "the sender's client wrapped" in text
    assert "> A quoted paragraph that" in text


def test_format_flowed_delsp(app: App) -> None:
    raw = "Content-Type: text/plain; format=flowed; delsp=yes\n\nsplit in the mid \ndle of a word\n"
    assert body(app, raw, width=200).strip() == "split in the middle of a word"
    raw_no = raw.replace("; delsp=yes", "")
    assert body(app, raw_no, width=200).strip() == "split in the mid dle of a word"


def test_fixed_text_is_left_alone(app: App) -> None:
    raw = "Content-Type: text/plain\n\nline one   \n    indented code\n> quoted\n"
    assert body(app, raw).rstrip("\n") == "line one   \n    indented code\n> quoted"


def test_signature_left_out_of_quotes(app: App) -> None:
    raw = "Content-Type: text/plain\n\nHello\n-- \nJane\nACME\n"
    assert quote_text(app.pm, mime.parse_bytes(raw.encode())).strip() == "Hello"


def test_long_quoted_blocks_fold_when_configured(config_dir) -> None:
    (config_dir / "config.toml").write_text("[render]\nfold_quotes = 4\n")
    app = App.create(config_dir)
    quoted = "".join(f"> line {i}\n" for i in range(20))
    text = body(app, f"Content-Type: text/plain\n\nMy answer.\n\n{quoted}\nThanks\n")
    assert "> [... 17 more quoted lines ...]" in text
    assert "> line 19" not in text and "Thanks" in text
    # not for quoting, and not by default
    assert "> line 19" in quote_text(app.pm, mime.parse_bytes(f"Content-Type: text/plain\n\n{quoted}".encode()))


ALT = (
    "Content-Type: multipart/alternative; boundary=b\n\n"
    "--b\nContent-Type: text/plain\n\n{plain}\n"
    "--b\nContent-Type: text/html\n\n<p>the <b>html</b> version</p>\n"
    "--b--\n"
)


def test_alternative_plain_by_default(app: App) -> None:
    assert body(app, ALT.format(plain="the plain version")).strip() == "the plain version"


def test_alternative_html_when_preferred(app: App) -> None:
    assert "the html version" in body(app, ALT.format(plain="the plain version"), prefer_html=True)


def test_alternative_html_when_plain_is_empty(app: App) -> None:
    assert "the html version" in body(app, ALT.format(plain="  "))


def test_alternative_setting(config_dir) -> None:
    (config_dir / "config.toml").write_text("[render]\nprefer_html = true\n")
    app = App.create(config_dir)
    msg = mime.parse_bytes(ALT.format(plain="the plain version").encode())
    assert "the html version" in render_message(app, msg).body


def test_long_fixed_lines_wrap_to_the_view_keeping_quote_marks(app: App) -> None:
    """Fixed text sent as one line per paragraph (Outlook, Gmail) used to run off the window."""
    para = "word " * 40 + "https://example.org/" + "x" * 90
    raw = f"Content-Type: text/plain; charset=utf-8\n\n{para}\n> {'quoted ' * 20}\nshort\n"
    lines = body(app, raw, width=60).splitlines()
    assert all(len(line) <= 60 for line in lines if "https://" not in line)
    assert any(line.startswith("https://example.org/xxx") for line in lines)  # a URL is not cut
    quoted = [line for line in lines if "quoted" in line]
    assert len(quoted) == 3 and all(line.startswith("> ") for line in quoted)
    assert lines[-1] == "short"
    assert para in body(app, raw, width=60, purpose="quote")  # a reply quotes the lines as sent
