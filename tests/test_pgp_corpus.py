"""Third-party PGP samples decrypt and verify as their sources say (real gpg, temp GNUPGHOME)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.gpg import gpg
from helpers import CORPUS
from pgp_helpers import crlf, ctx_for, parse, pm
from pigeon.plugins.pgp import reading, runtime

AP = CORPUS / "autocrypt-protected-headers"
ALICE_FPR = "EB85BB5FA33A75E15E944E63F231550C4F47E38E"
SUBJECT = "BarCorp contract signed, let's go!"
ENCRYPTED = ["pgpmime-sign+enc", "pgpmime-enc+legacy-disp", "pgpmime-sign+enc+legacy-disp",
             "pgpmime-layered", "pgpmime-layered+legacy-disp", "unfortunately-complex"]


@pytest.fixture
def ap_keys(gnupghome: Path) -> Path:
    for name in ("alice@openpgp.example.pub.asc", "bob@openpgp.example.sec.asc"):
        gpg(gnupghome, "--import", str(AP / "keys" / name))
    return gnupghome


@pytest.mark.parametrize("name", ENCRYPTED)
def test_protected_headers_vectors_decrypt_to_expected_inner(ap_keys: Path, name: str) -> None:
    raw = (AP / "messages" / f"{name}.eml").read_bytes()
    msg = parse(raw)
    ctx = ctx_for(msg, raw)
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx)
    assert result is not None and result.ok, result and result.error
    decrypted = ctx.state[reading.RAW][0]
    expected = (AP / "expected-inner" / f"{name}.inner").read_bytes()
    assert crlf(decrypted).rstrip(b"\r\n") == crlf(expected).rstrip(b"\r\n")
    # the outer Subject is a placeholder; the protected one wins
    assert str(msg["Subject"]) == "..."
    assert result.protected_headers["Subject"] == SUBJECT
    inner = result.message
    sigs = list(result.signatures)
    if inner.get_content_type() == "multipart/signed":  # layered: sign, then encrypt
        sigs = pm().hook.pigeon_verify(part=inner, ctx=ctx)
    if "enc+legacy-disp" in name and "sign" not in name:
        assert sigs == []
    else:
        assert len(sigs) == 1
        sig = sigs[0]
        assert sig.valid and sig.fingerprint == ALICE_FPR
        assert sig.signer_matches_from is True and sig.covers_whole_message
        assert any("alice@openpgp.example" in u for u in sig.uids)
    if "legacy-disp" in name:
        # the legacy display part is dropped: we show the protected Subject ourselves
        texts = [p.get_content() for p in inner.walk() if p.get_content_type() == "text/plain"]
        assert not any(t.startswith("Subject: ") for t in texts)


def test_protected_headers_signed_vector_verifies(ap_keys: Path) -> None:
    raw = (AP / "messages" / "pgpmime-signed.eml").read_bytes()
    msg = parse(raw)
    sigs = pm().hook.pigeon_verify(part=msg, ctx=ctx_for(msg, raw))
    assert len(sigs) == 1 and sigs[0].valid and sigs[0].fingerprint == ALICE_FPR
    assert sigs[0].covers_whole_message and sigs[0].signer_matches_from


def test_signed_vector_verifies_without_raw_source(ap_keys: Path) -> None:
    """When the renderer has only the parsed message, the regenerated entity still verifies."""
    msg = parse((AP / "messages" / "pgpmime-signed.eml").read_bytes())
    sigs = pm().hook.pigeon_verify(part=msg, ctx=ctx_for(msg))
    assert sigs[0].valid


def test_notmuch_crypto_corpus(gnupghome: Path) -> None:
    gpg(gnupghome, "--import", str(CORPUS / "notmuch" / "keys" / "openpgp4-secret-key.asc"))
    crypto = CORPUS / "notmuch" / "corpora" / "crypto"
    msg = parse((crypto / "basic-encrypted.eml").read_bytes())
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
    assert result.ok and "The password is" in result.message.as_string()
    raw = (crypto / "encrypted-signed.eml").read_bytes()
    msg = parse(raw)
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg, raw))
    assert result.ok and len(result.signatures) == 1
    assert result.signatures[0].valid
    assert any("test_suite@notmuchmail.org" in u for u in result.signatures[0].uids)


def test_notmuch_protected_headers_corpus(gnupghome: Path) -> None:
    gpg(gnupghome, "--import", str(CORPUS / "notmuch" / "keys" / "openpgp4-secret-key.asc"))
    ph = CORPUS / "notmuch" / "corpora" / "protected-headers"
    msg = parse((ph / "protected-header.eml").read_bytes())
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
    assert result.ok and result.protected_headers.get("Subject") == "This is a protected header"
    # a bad encryption carrying a phony protected header reveals nothing
    msg = parse((ph / "phony-protected-header-bad-encryption.eml").read_bytes())
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
    assert result is None or (not result.ok and result.message is None and not result.protected_headers)


def test_mimekit_signed_announcement_verifies(gnupghome: Path) -> None:
    """A real gnupg-announce mail signed by Werner Koch: the signing key is not in the test
    keyring, so it is reported as unverifiable (MimeKit's own test expects the same without keys)."""
    raw = (CORPUS / "mimekit" / "openpgp" / "gnupg-announce-2.1.20-signed.eml").read_bytes()
    msg = parse(raw)
    signed = next(p for p in msg.walk() if p.get_content_type() == "multipart/signed")
    sigs = pm().hook.pigeon_verify(part=signed, ctx=ctx_for(msg, raw))
    assert len(sigs) == 1 and not sigs[0].valid
    assert any("no public key" in p for p in sigs[0].problems)
    # the list footer sits outside the signed part: the signature does not cover the message
    assert not sigs[0].covers_whole_message


def test_gmime_inline_signed_and_encrypted(gnupghome: Path) -> None:
    gm = CORPUS / "gmime" / "pgp"
    gpg(gnupghome, "--import", str(gm / "gmime.gpg.sec"))
    gpg(gnupghome, "--import", str(gm / "gmime.gpg.pub"))
    msg = parse((gm / "signed-message.txt").read_bytes())
    part = next(p for p in msg.walk() if not p.is_multipart())
    sigs = pm().hook.pigeon_verify(part=part, ctx=ctx_for(msg))
    # a good signature by GMime's test key over the block; the "-- " footer after it is not signed
    assert len(sigs) == 1 and sigs[0].valid
    assert sigs[0].fingerprint == "DA26DAB7572A1C5F2AB1A74BB47760E95182C200"
    assert any("outside the signed block" in p for p in sigs[0].problems)
    msg = parse((gm / "encrypted-message.txt").read_bytes())
    part = next(p for p in msg.walk() if not p.is_multipart())
    # GMime's test key is protected by the passphrase its tests type: "no.secret"
    runtime.set_passphrase_prompt(lambda hint: "no.secret")
    try:
        result = pm().hook.pigeon_decrypt(part=part, ctx=ctx_for(msg))
    finally:
        runtime.set_passphrase_prompt(None)
    assert result.ok and result.message.get_content().strip() == "This is the message body."


def test_every_pgp_looking_corpus_message_renders_without_a_plugin_error(gnupghome: Path, config_dir: Path) -> None:
    """Hostile and broken input (mangled PGP/MIME, S/MIME, stray armor) never makes the plugin raise."""
    from pigeon.core import mime
    from pigeon.core.app import App
    from pigeon.core.render import render_message
    from pigeon.hooks.types import RenderContext

    app = App.create(config_dir, report_to_stderr=False)
    seen = 0
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix in (".md", ".py", ".asc", ".pem", ".p12", ".pub", ".sec", ".gpg"):
            continue
        data = path.read_bytes()
        if b"PGP" not in data and b"pgp" not in data:
            continue
        seen += 1
        msg = mime.parse_bytes(data)
        for purpose in ("view", "quote", "index"):
            render_message(app, msg, RenderContext(purpose=purpose))
    assert seen > 50 and app.pm.errors == []
