"""The built-in HTML renderer: text only, links with their real targets, nothing ever fetched."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest
from helpers import run_pigeon
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.render import render_message
from pigeon.hooks.types import RenderContext


@pytest.fixture
def app(config_dir, monkeypatch) -> App:
    # The rendering pipeline alone: the phishing assessment adds banners of its own
    # (tests/test_assess_*.py), which would change the exact banner lists asserted here.
    monkeypatch.setenv("PIGEON_DISABLE_PLUGINS", "assess")
    return App.create(config_dir)


def html_message(html: str) -> bytes:
    return ("From: x@example.org\nSubject: html\nContent-Type: text/html; charset=utf-8\n\n" + html).encode()


def render(app: App, html: str, **ctx):
    return render_message(app, mime.parse_bytes(html_message(html)), RenderContext(**ctx))


def test_structure_lists_tables_pre_and_entities(app: App) -> None:
    out = render(
        app,
        "<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head><body>"
        "<h1>Title</h1><p>First&nbsp;para &amp; more &#8212; done.</p>"
        "<ul><li>one</li><li>two<ol><li>nested</li></ol></li></ul>"
        "<table border=1><tr><th>Name</th><th>Qty</th></tr><tr><td>apple</td><td>3</td></tr></table>"
        "<pre>  keep   this\n    spacing</pre>"
        "<blockquote>quoted words</blockquote>"
        "<p style='display:none'>hidden text is shown</p></body></html>",
    ).body
    assert "alert" not in out and "color:red" not in out and "\nT\n" not in out
    assert "# Title" in out
    assert "First para & more — done." in out
    assert "• one" in out and "• two" in out and "1. nested" in out
    assert "Name | Qty" in out and "apple | 3" in out
    assert "  keep   this\n    spacing" in out
    assert "> quoted words" in out
    assert "hidden text is shown" in out


def test_links_numbered_with_real_targets(app: App) -> None:
    rendered = render(
        app,
        '<p>Read <a href="https://example.org/a">the docs</a> and <a href="mailto:x@example.org">write</a>.'
        '<a href="#top">top</a></p>',
    )
    assert "the docs [1]" in rendered.body and "write [2]" in rendered.body
    assert [(lk.number, lk.target) for lk in rendered.links] == [(1, "https://example.org/a"), (2, "mailto:x@example.org")]
    text = rendered.as_text()
    assert "[1] https://example.org/a" in text and "[2] mailto:x@example.org" in text
    assert not rendered.banners


@pytest.mark.parametrize(
    "text, href",
    [
        ("https://paypal.com/login", "https://evil.example/login"),
        ("paypal.com", "http://evil.example/"),
        ("www.paypal.com", "https://www.paypal.com@evil.example/"),
        ("https://www.paypal.com/signin", "http://paypa1-login.example.net/x"),
        ("paypal.com", "https://paypal.com.evil.example/"),
    ],
)
def test_link_text_naming_another_host_is_marked(app: App, text: str, href: str) -> None:
    rendered = render(app, f'<p><a href="{href}">{text}</a></p>')
    link = rendered.links[0]
    assert link.mismatch and link.target == href
    assert "the link goes to" in rendered.body
    assert any(b.severity == "warning" and "paypal.com" in b.text for b in rendered.banners)
    assert f"[1] {href}" in rendered.as_text()
    assert "[warning] link [1] shows" in rendered.as_text()


@pytest.mark.parametrize(
    "text, href",
    [
        ("paypal.com", "https://www.paypal.com/"),
        ("https://login.paypal.com/x", "https://paypal.com/y"),
        ("Click here", "https://evil.example/"),
        ("invoice.pdf", "https://files.example/"),
    ],
)
def test_matching_or_plain_link_text_is_not_marked(app: App, text: str, href: str) -> None:
    rendered = render(app, f'<a href="{href}">{text}</a>')
    assert not rendered.links[0].mismatch
    assert not rendered.banners


def test_images_as_alt_text(app: App) -> None:
    out = render(
        app,
        '<img src="http://x/logo.png" alt="ACME logo"><img src="http://x/p.gif" width=1 height=1>'
        '<a href="https://example.org/"><img src="http://x/b.png" alt="Buy now"></a>',
    ).body
    assert "[image: ACME logo]" in out
    assert "[image: Buy now] [1]" in out
    assert out.count("[image") == 2  # the tracking pixel is not worth a line


def test_quote_purpose_inlines_targets(app: App) -> None:
    out = render(app, '<a href="https://example.org/x">docs</a>', purpose="quote").body
    assert "docs <https://example.org/x>" in out


CHANNELS = """<html><head>
<meta http-equiv="refresh" content="0; url={u}/refresh">
<link rel="stylesheet" href="{u}/link.css"><link rel="dns-prefetch" href="{u}/prefetch">
<style>@import url("{u}/import.css"); body {{ background: url({u}/bg.png) }}
@font-face {{ src: url({u}/font.woff) }}</style>
<base href="{u}/base/">
</head><body background="{u}/background.png">
<img src="{u}/img.png" alt="remote image" srcset="{u}/1x.png 1x, {u}/2x.png 2x">
<picture><source srcset="{u}/pic.webp"><img src="{u}/pic.png" alt="pic"></picture>
<iframe src="{u}/frame.html"></iframe><object data="{u}/obj"></object><embed src="{u}/embed">
<video poster="{u}/poster.png" src="{u}/v.mp4"></video><audio src="{u}/a.mp3"></audio>
<svg><image href="{u}/svg.png"/></svg>
<form action="{u}/form"><input type="password" name="pw"><input type="submit" value="Log in"></form>
<table background="{u}/table.png"><tr><td style="background-image:url({u}/td.png)">cell</td></tr></table>
<script src="{u}/script.js"></script><p>Visible text</p>
</body></html>"""


def test_nothing_is_fetched_when_showing_html(tmp_path) -> None:
    hits: list[str] = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        path = tmp_path / "channels.eml"
        path.write_bytes(html_message(CHANNELS.format(u=url)))
        result = run_pigeon("show", str(path))
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode()
        assert "Visible text" in out and "[image: remote image]" in out
        assert "[password field]" in out
        # the server is alive: a request it does get is counted
        import urllib.request

        urllib.request.urlopen(url + "/probe", timeout=5).close()
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/probe"]


def test_render_imports_no_network_client() -> None:
    code = (
        "import sys\n"
        "from pigeon.core.app import App\n"
        "from pigeon.core.cli_show import show_text\n"
        "app = App.create()\n"
        "show_text(app, b'Content-Type: text/html\\n\\n<a href=\"http://x/\">x</a><img src=\"http://x/i\">')\n"
        "bad = {'urllib.request', 'http.client', 'ftplib', 'requests', 'httpx', 'urllib3', 'aiohttp'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_meta_charset_used_when_mime_has_none(app: App) -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head><body>'
    raw = b"Subject: x\nContent-Type: text/html\n\n" + html.encode() + "Привет".encode("koi8-r") + b"</body></html>\n"
    assert "Привет" in render_message(app, mime.parse_bytes(raw)).body


def test_mismatch_in_the_html_alternative_not_shown_is_still_reported(app: App) -> None:
    raw = (
        "Subject: limited\nContent-Type: multipart/alternative; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nConfirm at https://www.paypal.com/signin\n"
        '--b\nContent-Type: text/html\n\n<a href="http://paypal.com.verify.example.net/">https://www.paypal.com/signin</a>\n'
        "--b--\n"
    )
    rendered = render_message(app, mime.parse_bytes(raw.encode()))
    assert "Confirm at https://www.paypal.com/signin" in rendered.body
    assert not rendered.links  # the hidden alternative's links are not numbered in the view
    assert [b.text for b in rendered.banners] == [
        "the HTML version (not shown): a link shows www.paypal.com but goes to paypal.com.verify.example.net"
    ]
