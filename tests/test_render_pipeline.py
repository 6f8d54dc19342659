"""The render pipeline: structure, crypto boundaries, guarded hooks, sanitising, and pigeon show."""

from __future__ import annotations

import email.message

import pytest
from helpers import run_pigeon
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.render import message_text_for_index, quote_text, render_message
from pigeon.hooks import hookimpl
from pigeon.hooks.types import DecryptResult, RenderContext, SignatureStatus

HOSTILE = (
    "From: =?utf-8?q?Evil=1B]0;pwned=07?= <e@example.org>\n"
    "Subject: hi \x1b[2J\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x9b31m done \u202egnp.exe\n"
    "Content-Type: multipart/mixed; boundary=b\n\n"
    "--b\nContent-Type: text/plain; charset=utf-8\n\nbody \x1b[31mred\x1b[0m \x1bP+q\x1b\\ bell\x07 \x85nel\r\n"
    "--b\nContent-Type: application/octet-stream\n"
    'Content-Disposition: attachment; filename="a\x1b[1mb\u202ec.txt"\n\nxx\n--b--\n'
)
FORBIDDEN = [chr(c) for c in [*range(0, 9), *range(0x0B, 0x20), *range(0x7F, 0xA0)]] + list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.fixture
def app(config_dir, monkeypatch) -> App:
    # The rendering pipeline alone: the phishing assessment adds banners of its own
    # (tests/test_assess_*.py), and these tests drive the pipeline with a fake crypto plugin
    # where the real one (pgp) has its own tests.
    monkeypatch.setenv("PIGEON_DISABLE_PLUGINS", "assess,pgp")
    return App.create(config_dir)


def render(app: App, raw: str | bytes, **ctx):
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return render_message(app, mime.parse_bytes(data), RenderContext(**ctx))


def test_escape_sequences_never_reach_the_terminal(app: App, tmp_path) -> None:
    rendered = render(app, HOSTILE)
    text = rendered.as_text()
    assert not [c for c in FORBIDDEN if c in text]
    assert "Subject: hi link  done gnp.exe" in text or "Subject: hi" in text
    assert "body red" in rendered.body and "bell" in rendered.body
    assert rendered.attachments[0].name == "abc.txt"
    path = tmp_path / "hostile.eml"
    path.write_bytes(HOSTILE.encode())
    for args in ((), ("--raw",)):
        result = run_pigeon("show", str(path), *args)
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode("utf-8")
        assert not [c for c in FORBIDDEN if c in out], args
        assert "bell" in out


def test_nested_message_rendered_with_its_headers(app: App) -> None:
    raw = (
        "From: a@example.org\nSubject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nHave a look.\n"
        "--b\nContent-Type: message/rfc822\n\n"
        "From: Orig <o@example.org>\nSubject: the original\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
        "Original body.\n--b--\n"
    )
    body = render(app, raw).body
    assert "Have a look." in body
    assert "┌── attached message (part 2) ──" in body
    assert "│ From: Orig <o@example.org>" in body and "│ Subject: the original" in body
    assert "│ Original body." in body


def test_missing_boundary_shows_raw_text(app: App) -> None:
    raw = "Subject: x\nContent-Type: multipart/mixed; boundary=nowhere\n\nplain words\n--zz\nno headers here\n"
    body = render(app, raw).body
    assert "[multipart/mixed without a usable boundary: its raw text follows]" in body
    assert "plain words" in body and "no headers here" in body


@pytest.mark.parametrize(
    "ctype",
    [
        "multipart/alternative",  # no boundary parameter: found from the delimiter lines
        "multipart/alternative; boundary=----=_Part_1.2",  # unquoted '=' defeats the stdlib
    ],
)
def test_malformed_boundary_parts_recovered(app: App, ctype: str) -> None:
    boundary = "----=_Part_1.2"
    raw = (
        f"Subject: x\nContent-Type: {ctype}\n\n--{boundary}\nContent-Type: text/plain\n\nsecret words\n"
        f"--{boundary}\nContent-Type: text/html\n\n<p>html words</p>\n--{boundary}--\n"
    )
    body = render(app, raw).body
    assert "[multipart/alternative with a malformed boundary: its parts were recovered]" in body
    assert "secret words" in body and "html words" not in body and "Content-Type" not in body


def test_unknown_charset_renders(app: App) -> None:
    raw = b"Subject: x\nContent-Type: text/plain; charset=x-klingon\n\nna\xefve caf\xc3\xa9\n"
    assert render(app, raw).body.strip() in ("na\u00efve caf\u00c3\u00a9", "na\ufffdve café")


def test_user_plugin_that_raises_falls_back(config_dir, tmp_path) -> None:
    plugins = config_dir / "plugins"
    plugins.mkdir()
    (plugins / "boom.py").write_text(
        "from pigeon.hooks import hookimpl\n\n"
        "@hookimpl(tryfirst=True)\n"
        "def pigeon_render_part(part, ctx):\n"
        "    raise RuntimeError('kaboom')\n"
    )
    path = tmp_path / "m.eml"
    path.write_bytes(b"Subject: s\nContent-Type: text/plain; format=flowed\n\nsoft \nbreak\n")
    result = run_pigeon("show", str(path))
    assert result.returncode == 0
    assert "soft break" in result.stdout.decode()  # render_plain took over
    assert "user.boom" in result.stderr.decode() and "kaboom" in result.stderr.decode()


class Exploding:
    """Registered directly (no isolating proxy), as a built-in would be."""

    @hookimpl(tryfirst=True)
    def pigeon_render_part(self, part, ctx):
        raise ValueError("hostile part")


def test_unproxied_plugin_that_raises_falls_back_to_raw_text(app: App) -> None:
    app.pm.reporters.clear()
    app.pm.register(Exploding(), name="exploding")
    rendered = render(app, "Subject: s\nContent-Type: text/html\n\n<p>raw <b>text</b></p>\n")
    assert "<p>raw <b>text</b></p>" in rendered.body
    assert any("hostile part" in e.message for e in app.pm.errors)


class FakeCrypto:
    """A crypto plugin answering the hooks the way the PGP plugin will (no gpg here)."""

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok

    @hookimpl
    def pigeon_decrypt(self, part, ctx):
        if ctx.purpose == "index":  # like the pgp plugin: the index gets plaintext only on opt-in
            return DecryptResult(ok=False, error="not indexed")
        if not self.ok:
            return DecryptResult(ok=False, error="integrity check failed")
        inner = email.message.EmailMessage()
        inner.set_content("the secret plans")
        return DecryptResult(ok=True, message=inner, signatures=[SignatureStatus(valid=True, uids=["Alice <a@example.org>"], fingerprint="AB" * 20)])

    @hookimpl
    def pigeon_verify(self, part, ctx):
        return [SignatureStatus(valid=True, uids=["Bob <b@example.org>"], fingerprint="CD" * 20, signer_matches_from=False)]


ENCRYPTED = (
    "From: a@example.org\nSubject: enc\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\n\n"
    "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
    "--e\nContent-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\nxx\n-----END PGP MESSAGE-----\n--e--\n"
)
MIXED_ENCRYPTED = (
    "From: a@example.org\nSubject: mixed\nContent-Type: multipart/mixed; boundary=m\n\n"
    "--m\nContent-Type: text/html\n\n<img src=\"http://127.0.0.1:9/x?\">\n"
    "--m\n" + ENCRYPTED.split("\n\n", 1)[0].split("\n", 2)[2] + "\n\n" + ENCRYPTED.split("\n\n", 1)[1] + "\n"
    "--m\nContent-Type: text/html\n\n\">\n--m--\n"
)


def test_encrypted_without_plugin(app: App) -> None:
    assert "[encrypted part (no crypto plugin)]" in render(app, ENCRYPTED).body


def test_decrypted_content_in_its_own_boundary(app: App) -> None:
    app.pm.register(FakeCrypto(), name="fakecrypto")
    rendered = render(app, ENCRYPTED)
    assert "┌── decrypted part" in rendered.body and "│ the secret plans" in rendered.body
    assert rendered.banners[0].severity == "ok"
    assert any("good signature from Alice" in b.text for b in rendered.banners)
    assert "secret" not in message_text_for_index(app.pm, mime.parse_bytes(ENCRYPTED.encode()))
    assert "the secret plans" in quote_text(app.pm, mime.parse_bytes(ENCRYPTED.encode()))


def test_partly_encrypted_message_says_so_and_quotes_without_it(app: App) -> None:
    app.pm.register(FakeCrypto(), name="fakecrypto")
    rendered = render(app, MIXED_ENCRYPTED)
    assert any(b.severity == "warning" and "only part 2 is encrypted" in b.text for b in rendered.banners)
    body = rendered.body
    assert body.index("decrypted part 2") > body.index("[image]") or "decrypted part 2" in body
    quoted = quote_text(app.pm, mime.parse_bytes(MIXED_ENCRYPTED.encode()))
    assert "secret" not in quoted and "left out of the quote" in quoted


def test_failed_decryption_shows_only_the_error(app: App) -> None:
    app.pm.register(FakeCrypto(ok=False), name="fakecrypto")
    rendered = render(app, ENCRYPTED)
    assert "not decrypted: integrity check failed" in rendered.body
    assert "secret" not in rendered.as_text()


def test_signature_status_is_a_banner_not_body(app: App) -> None:
    raw = (
        "From: b@example.org\nSubject: signed\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\n\n"
        "--s\nContent-Type: text/plain\n\nsigned words\n"
        "--s\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n--s--\n"
    )
    rendered = render(app, raw)
    assert any("signature not checked (no crypto plugin)" in b.text for b in rendered.banners)
    app.pm.register(FakeCrypto(), name="fakecrypto")
    rendered = render(app, raw)
    assert rendered.body.strip() == "signed words"
    assert not rendered.attachments
    banner = rendered.banners[0]
    assert banner.severity == "warning" and "someone other than the sender" in banner.text and "CDCD" in banner.text
    assert "[warning] message: good signature by someone other than the sender" in rendered.as_text()


def test_index_text_has_no_decorations(app: App) -> None:
    raw = (
        "Subject: s\nContent-Type: multipart/alternative; boundary=b\n\n"
        "--b\nContent-Type: text/html\n\n<p>Hello <a href='https://x.example/'>there</a> <img alt='logo'></p>\n--b--\n"
    )
    text = message_text_for_index(app.pm, mime.parse_bytes(raw.encode()))
    assert text.strip() == "Hello there logo"


def test_show_errors_stdin_and_mbox(tmp_path) -> None:
    result = run_pigeon("show", str(tmp_path / "nope.eml"))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"pigeon: no such message file: {tmp_path / 'nope.eml'}"
    result = run_pigeon("show", "-", input=b"Subject: from stdin\n\nhello\n")
    assert result.returncode == 0 and b"Subject: from stdin" in result.stdout and b"hello" in result.stdout
    box = tmp_path / "two.mbox"
    box.write_bytes(b"From a Mon Jan  1 00:00:00 2024\nSubject: one\n\nfirst\n\nFrom b Mon Jan  1 00:00:00 2024\nSubject: two\n\nsecond\n")
    out = run_pigeon("show", str(box)).stdout.decode()
    assert "═══ message 1 of 2" in out and "═══ message 2 of 2" in out
    assert out.index("first") < out.index("Subject: two") < out.index("second")
    out = run_pigeon("show", "--mbox", "-", input=box.read_bytes()).stdout.decode()
    assert "═══ message 2 of 2" in out
    out = run_pigeon("show", "--width", "30", str(box)).stdout.decode()
    assert "═══ message 1 of 2 ════════" in out


class Sloppy:
    """A plugin that answers with the wrong types: the core must cope and still sanitise."""

    @hookimpl
    def pigeon_message_banners(self, message, ctx):
        from pigeon.hooks.types import Banner

        return [Banner(["not", "a", "severity"], 42), Banner("danger", "\x1b]0;title\x07fake"), "not a banner"]

    @hookimpl(tryfirst=True)
    def pigeon_render_part(self, part, ctx):
        return 12345


def test_plugin_answers_of_the_wrong_type(app: App) -> None:
    app.pm.register(Sloppy(), name="sloppy")
    rendered = render(app, "Subject: s\nContent-Type: text/plain\n\nhello\n")
    assert rendered.body.strip() == "hello"
    assert [(b.severity, b.text) for b in rendered.banners] == [("danger", "fake"), ("info", "42")]
    assert "(this message has no text)" in render(app, "Subject: empty\n\n").as_text()


def test_smime_enveloped_goes_to_the_crypto_hooks(app: App, corpus) -> None:
    data = (corpus / "autocrypt-protected-headers/messages/smime-enc+legacy-disp.eml").read_bytes()
    assert "[encrypted part (no crypto plugin)]" in render(app, data).body
    app.pm.register(FakeCrypto(), name="fakecrypto")
    rendered = render(app, data)
    assert "│ the secret plans" in rendered.body and not rendered.attachments


class ExpectedInner:
    """Answers pigeon_decrypt with the corpus's expected decrypted entity (no gpg needed)."""

    def __init__(self, inner: bytes) -> None:
        self.inner = inner

    @hookimpl
    def pigeon_decrypt(self, part, ctx):
        return DecryptResult(ok=True, message=mime.parse_bytes(self.inner))


def test_protected_headers_replace_the_outer_ones(app: App, corpus) -> None:
    base = corpus / "autocrypt-protected-headers"
    app.pm.register(ExpectedInner((base / "expected-inner/pgpmime-enc+legacy-disp.inner").read_bytes()), name="inner")
    rendered = render(app, (base / "messages/pgpmime-enc+legacy-disp.eml").read_bytes())
    assert ("Subject", "BarCorp contract signed, let's go!") in rendered.headers
    assert "Subject: ..." not in rendered.as_text()
    assert "Subject: BarCorp" not in rendered.body  # the legacy display part is not repeated
    assert "│ Hi Bob!" in rendered.body


def test_show_json(tmp_path) -> None:
    import json

    path = tmp_path / "m.eml"
    path.write_bytes(
        b'Subject: j\x1b[2J\nContent-Type: text/html\n\n<a href="https://evil.example/">paypal.com</a>\n'
    )
    result = run_pigeon("show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    [message] = json.loads(result.stdout)
    assert ["Subject", "j"] in message["headers"]
    assert message["links"] == [{"number": 1, "text": "paypal.com", "target": "https://evil.example/", "mismatch": True}]
    # the renderer's own link warning (the assessment adds its headline and findings around it)
    assert {"severity": "warning", "text": "link [1] shows paypal.com but goes to evil.example"} in message["banners"]
