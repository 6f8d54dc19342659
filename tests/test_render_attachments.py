"""Attachments: listed with a sanitised name, type and size, and warnings about deceptive names."""

from __future__ import annotations

import base64

import pytest
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.render import render_message


@pytest.fixture
def app(config_dir) -> App:
    return App.create(config_dir)


def with_attachment(name: str, ctype: str = "application/octet-stream", data: bytes = b"MZ\x90\x00" * 100) -> bytes:
    encoded = base64.b64encode(data).decode()
    quoted = name.replace('"', '\\"')
    return (
        "From: a@example.org\nSubject: files\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nSee attached.\n"
        f'--b\nContent-Type: {ctype}\nContent-Disposition: attachment; filename="{quoted}"\n'
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--b--\n"
    ).encode()


def attachment(app: App, *args, **kwargs):
    rendered = render_message(app, mime.parse_bytes(with_attachment(*args, **kwargs)))
    assert len(rendered.attachments) == 1
    return rendered, rendered.attachments[0]


def test_plain_attachment_listed(app: App) -> None:
    rendered, att = attachment(app, "report.pdf", "application/pdf", b"%PDF-1.4" * 128)
    assert (att.name, att.content_type, att.size) == ("report.pdf", "application/pdf", 1024)
    assert att.warnings == []
    assert "[1] report.pdf  (application/pdf, 1.0 KB)" in rendered.as_text()
    assert "See attached." in rendered.body


def test_double_extension(app: App) -> None:
    rendered, att = attachment(app, "invoice.pdf.exe")
    assert any("double extension" in w and ".pdf" in w and ".exe" in w for w in att.warnings)
    assert any("executable" in w for w in att.warnings)
    assert "[warning] double extension" in rendered.as_text()


def test_right_to_left_override_shown_plainly(app: App) -> None:
    rendered, att = attachment(app, "invoice\u202efdp.exe")
    assert att.name == "invoicefdp.exe"  # the real extension reads plainly
    assert any("direction controls" in w and ".exe" in w for w in att.warnings)
    assert "\u202e" not in rendered.as_text()


def test_padding_controls_and_archives(app: App) -> None:
    _, att = attachment(app, "report.pdf" + " " * 60 + ".js")
    assert any("padded" in w and ".js" in w for w in att.warnings)
    _, att = attachment(app, "bad\x1b[31mname\x07.txt", "text/plain")
    assert "\x1b" not in att.name and "\x07" not in att.name
    assert any("control characters" in w for w in att.warnings)
    _, att = attachment(app, "photos.zip", "application/zip")
    assert any("archive" in w for w in att.warnings)
    _, att = attachment(app, "setup.iso", "application/octet-stream")
    assert any("disk image" in w for w in att.warnings)
    _, att = attachment(app, "letter.pdf", "application/x-msdownload")
    assert any("type says application/x-msdownload" in w for w in att.warnings)


def test_encoded_rtl_name(app: App) -> None:
    raw = with_attachment("x.bin").replace(
        b'filename="x.bin"', b'filename="=?utf-8?b?' + base64.b64encode("inv\u202efdp.scr".encode()) + b'?="'
    )
    rendered = render_message(app, mime.parse_bytes(raw))
    att = rendered.attachments[0]
    assert att.name == "invfdp.scr"
    assert any("direction controls" in w for w in att.warnings)
