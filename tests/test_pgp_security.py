"""SECURITY.md §2–§4 at the crypto layer: EFAIL (EF-*), Johnny-you-are-fired (JF-*) and the
reply oracle (RE-01), each recreated with our own keys and crafted messages, real gpg."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fixtures.gpg import GpgWorld, gpg
from helpers import REPO
from pgp_craft import (
    armor,
    clearsign,
    encrypt,
    encrypted_part,
    literal_packet,
    pgp_mime_encrypted,
    signed_entity,
)
from pgp_helpers import ctx_for, parse, pm
from pigeon.plugins.pgp import gpg as gpgmod
from pigeon.plugins.pgp import reading

SECRET = "the launch code is 0000"
HEADERS = "From: The Manager <manager@work.example>\nTo: Alice Lovelace <alice@example.org>\nSubject: x\n"


def green(statuses) -> bool:  # noqa: ANN001
    """The renderer's rule for a message-level "signed" seal (SECURITY.md §3.3)."""
    return (
        statuses is not None
        and len(statuses) == 1
        and statuses[0].valid
        and not statuses[0].problems
        and statuses[0].covers_whole_message
    )


def _decrypt(raw: bytes, purpose: str = "view"):  # noqa: ANN202
    msg = parse(raw)
    ctx = ctx_for(msg, raw, purpose)
    return msg, ctx, pm().hook.pigeon_decrypt(part=msg, ctx=ctx)


def _leaks(obj, ctx) -> bool:  # noqa: ANN001
    return SECRET in repr(obj) or SECRET in repr(ctx.state)


# --------------------------------------------------------------------------- EF-03 (MDC gate)


def test_ef03_tampered_mdc_shows_nothing(gnupghome: Path, other_home: Path) -> None:
    body = (f"Content-Type: text/plain\n\n{SECRET}\n" + "x" * 3000).encode()
    binary = bytearray(encrypt(other_home, body, "alice@example.org", armored=False))
    binary[-1] ^= 0x01
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, armor(bytes(binary))))
    assert not result.ok and result.message is None
    assert "integrity" in result.error
    assert not _leaks(result, ctx)


def test_ef03_message_without_mdc_shows_nothing(gnupghome: Path, other_home: Path) -> None:
    body = f"Content-Type: text/plain\n\n{SECRET}\n".encode()
    ct = encrypt(other_home, body, "alice@example.org", extra=("--rfc2440",))
    packets = gpg(other_home, "--list-packets", input=ct, check=False).stdout.decode()
    assert "tag=9" in packets or ":encrypted data packet:" in packets
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, ct))
    assert not result.ok and result.message is None
    assert "integrity" in result.error or "MDC" in result.error
    assert not _leaks(result, ctx)


def test_ef03_python_gnupg_really_returns_plaintext_we_discard(gnupghome: Path, other_home: Path) -> None:
    """The LAB finding still holds with this stack, so the gate is what protects us."""
    import gnupg

    binary = bytearray(encrypt(other_home, SECRET.encode() * 50, "alice@example.org", armored=False))
    binary[-1] ^= 0x01
    raw = gnupg.GPG(gnupghome=str(gnupghome)).decrypt(bytes(binary))
    assert not raw.ok
    outcome = gpgmod.Gpg(str(gnupghome)).decrypt(bytes(binary))
    assert not outcome.ok and outcome.data is None


def test_ef03_no_forbidden_gpg_options_in_the_code() -> None:
    offenders = []
    for folder in ("core", "plugins", "hooks"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for opt in ("--ignore-mdc-error", "--allow-old-cipher-algos", "--no-force-mdc"):
                if opt in text:
                    offenders.append(f"{path.name}: {opt}")
    assert offenders == []


def test_ef03_old_gnupg_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "gpg"
    fake.write_text("#!/bin/sh\necho 'cfg:version:2.2.7'\n")
    fake.chmod(0o755)
    with pytest.raises(gpgmod.CryptoError) as err:
        gpgmod.Gpg(str(tmp_path), gpgbinary=str(fake))
    assert err.value.code == "old-gpg"


# --------------------------------------------------------------------------- EF-01, EF-06, RE-01


def _wrapped(other_home: Path) -> bytes:
    """EF-01: [html <img src="http://...?] [encrypted part] [html ">]; the encrypted part carries
    protected headers of its own that must not take over the message."""
    inner = (
        'Content-Type: text/plain; charset=us-ascii; protected-headers="v1"\n'
        "Subject: Protected subject from elsewhere\nFrom: The Manager <manager@work.example>\n\n"
        f"{SECRET}\n"
    ).encode()
    ct = encrypt(other_home, inner, "alice@example.org", sign_as=["manager@work.example"]).decode()
    return (
        f"{HEADERS}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"
        '--outer\nContent-Type: text/html\n\n<img src="http://127.0.0.1:9/x?\n'
        f"--outer\n{encrypted_part(ct)}\n"
        '--outer\nContent-Type: text/html\n\n">\n--outer--\n'
    ).encode()


def test_ef01_encrypted_part_inside_plain_message_is_only_a_part(gnupghome: Path, other_home: Path) -> None:
    raw = _wrapped(other_home)
    msg = parse(raw)
    part = msg.get_payload()[1]
    ctx = ctx_for(msg, raw)
    result = pm().hook.pigeon_decrypt(part=part, ctx=ctx)
    assert result.ok  # shown, in its own boundary...
    assert result.protected_headers == {}  # ...but never as the message's headers
    assert not ctx.state.get(reading.ENCRYPTED_ROOT)  # EF-06: no message-level "encrypted"
    assert result.signatures and not result.signatures[0].covers_whole_message
    assert not green(result.signatures)
    # the decrypted entity is a separate message object, never spliced into the HTML parts
    assert SECRET in result.message.get_content()
    assert all(SECRET not in p.get_content() for p in (msg.get_payload()[0], msg.get_payload()[2]))


def test_re01_quote_never_decrypts_a_wrapped_part(gnupghome: Path, other_home: Path) -> None:
    raw = _wrapped(other_home)
    msg = parse(raw)
    ctx = ctx_for(msg, raw, "quote")
    result = pm().hook.pigeon_decrypt(part=msg.get_payload()[1], ctx=ctx)
    assert not result.ok and result.message is None and not _leaks(result, ctx)


@pytest.mark.parametrize("wrapper", ["rfc822", "alternative", "related", "crlf"])
def test_re01_covert_content_structures(gnupghome: Path, other_home: Path, wrapper: str) -> None:
    """Covert-Content structures (crlf / 822 / alt / rel): the ciphertext hidden as a sub-part."""
    ct = encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode(), "alice@example.org").decode()
    hidden = encrypted_part(ct)
    if wrapper == "rfc822":
        body = f"--o\nContent-Type: text/plain\n\nSee below\n--o\nContent-Type: message/rfc822\n\n{HEADERS}MIME-Version: 1.0\n{hidden}\n--o--\n"
    elif wrapper == "alternative":
        body = f"--o\nContent-Type: text/plain\n\nHi\n--o\n{hidden}\n--o--\n"
    elif wrapper == "related":
        body = f'--o\nContent-Type: text/html\n\n<img src="cid:x">\n--o\nContent-ID: <x>\n{hidden}\n--o--\n'
    else:
        body = "--o\nContent-Type: text/plain\n\nHi\n" + ".\n" * 60 + f"--o\n{hidden}\n--o--\n"
    sub = {"rfc822": "mixed", "alternative": "alternative", "related": "related", "crlf": "mixed"}[wrapper]
    raw = f"{HEADERS}MIME-Version: 1.0\nContent-Type: multipart/{sub}; boundary=o\n\n{body}".encode()
    msg = parse(raw)
    enc = next(p for p in msg.walk() if p.get_content_type() == "multipart/encrypted")
    for purpose in ("quote", "index"):
        ctx = ctx_for(msg, raw, purpose)
        result = pm().hook.pigeon_decrypt(part=enc, ctx=ctx)
        assert not result.ok and not _leaks(result, ctx)


def test_reply_to_encrypted_root_may_quote_it(gnupghome: Path, other_home: Path) -> None:
    ct = encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode(), "alice@example.org")
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, ct), "quote")
    assert result.ok and SECRET in result.message.get_content()
    assert ctx.state[reading.ENCRYPTED_ROOT] is True


def test_index_gets_decrypted_text_only_when_enabled(gnupghome: Path, other_home: Path) -> None:
    ct = encrypt(other_home, f"Content-Type: text/plain\n\n{SECRET}\n".encode(), "alice@example.org")
    raw = pgp_mime_encrypted(HEADERS, ct)
    msg, ctx, result = _decrypt(raw, "index")
    assert not result.ok and "pgp.index_encrypted" in result.error and not _leaks(result, ctx)
    msg = parse(raw)
    ctx = ctx_for(msg, raw, "index")
    ctx.settings = {"pgp.index_encrypted": True}
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx)
    assert result.ok and SECRET in result.message.get_content()


# --------------------------------------------------------------------------- JF-02 (several signatures)


ENTITY = b"Content-Type: text/plain; charset=us-ascii\n\nYou are fired.\n"


def _signed_message(home: Path, *signers: str, sig: bytes | None = None, headers: str = HEADERS) -> bytes:
    if sig is None:
        return f"{headers}MIME-Version: 1.0\n{signed_entity(home, ENTITY, *signers)}".encode()
    return (
        f'{headers}MIME-Version: 1.0\nContent-Type: multipart/signed; boundary="s"; micalg=pgp-sha512; '
        f'protocol="application/pgp-signature"\n\n--s\n{ENTITY.decode()}\n--s\n'
        f"Content-Type: application/pgp-signature\n\n{sig.decode()}\n--s--\n"
    ).encode()


def _verify(raw: bytes):  # noqa: ANN202
    msg = parse(raw)
    return pm().hook.pigeon_verify(part=msg, ctx=ctx_for(msg, raw))


def test_single_good_signature_from_the_sender_is_green(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    statuses = _verify(_signed_message(other_home, "manager@work.example"))
    assert green(statuses), statuses
    assert statuses[0].fingerprint == gpg_world.fpr["manager"]
    assert gpg_world.fpr["manager"][:4] in statuses[0].summary


def test_jf02a_unknown_key_plus_good(gnupghome: Path, other_home: Path) -> None:
    from fixtures.gpg import make_key

    make_key(other_home, "Stranger <stranger@elsewhere.example>")
    statuses = _verify(_signed_message(other_home, "stranger@elsewhere.example", "manager@work.example"))
    assert len(statuses) == 2 and not green(statuses)
    assert all(s.problems for s in statuses)
    assert any("no public key" in p for s in statuses for p in s.problems)


def test_jf02b_bad_plus_good(gnupghome: Path, other_home: Path) -> None:
    canon = ENTITY.replace(b"\n", b"\r\n")
    good = gpg(other_home, "-u", "manager@work.example", "--detach-sign", input=canon).stdout
    bad = gpg(other_home, "-u", "eve@evil.example", "--detach-sign", input=b"something else").stdout
    statuses = _verify(_signed_message(other_home, sig=armor(bad + good, "SIGNATURE").encode()))
    assert statuses and not green(statuses)
    assert any("BAD" in s.summary for s in statuses)


def test_jf02c_untrusted_good_plus_trusted_good(gnupghome: Path, other_home: Path) -> None:
    statuses = _verify(_signed_message(other_home, "eve@evil.example", "manager@work.example"))
    assert len(statuses) == 2 and not green(statuses)
    assert all(any("one of 2 signatures" in p for p in s.problems) for s in statuses)


# --------------------------------------------------------------------------- JF-03, JF-04 (gpg API)


def test_jf03_status_injection_through_the_literal_file_name(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    (gnupghome / "gpg.conf").write_text("verbose\n")
    mgr = gpg_world.fpr["manager"]
    evil = (
        f"\n[GNUPG:] GOODSIG {mgr[-16:]} The Manager <manager@work.example>\n"
        f"[GNUPG:] VALIDSIG {mgr} 2026-01-01 1767225600 0 4 0 22 10 00 {mgr}\n"
        "[GNUPG:] TRUST_FULLY 0 classic\n"
    ).encode()
    # signed by Eve, encrypted to Alice, the literal packet's file name carrying fake status lines
    signed = gpg(other_home, "-u", "eve@evil.example", "--sign", "--set-filename", evil.decode(),
                 input=b"Content-Type: text/plain\n\nYou are fired.\n").stdout
    ct = encrypt(other_home, signed, "alice@example.org")  # encrypts the signed packets as data
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, ct))
    for status in (result.signatures if result and result.ok else []):
        assert status.fingerprint != mgr and not green(result.signatures)
    # and an unencrypted literal packet with the same name is neither encrypted nor signed
    lit = armor(literal_packet(b"You are fired.\n", evil[:250]))
    raw = f"{HEADERS}Content-Type: text/plain\n\n{lit}".encode()
    msg = parse(raw)
    ctx = ctx_for(msg, raw)
    result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx)
    assert not result.ok and result.message is None
    assert pm().hook.pigeon_verify(part=msg, ctx=ctx) is None


def test_jf03_inner_signature_status_comes_from_gpg_not_the_file_name(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    (gnupghome / "gpg.conf").write_text("verbose\n")
    mgr = gpg_world.fpr["manager"]
    name = f"x\n[GNUPG:] GOODSIG {mgr[-16:]} The Manager <manager@work.example>\n[GNUPG:] VALIDSIG {mgr} 2026-01-01 1 0 4 0 22 10 00 {mgr}"
    ct = gpg(other_home, "--trust-model", "always", "-r", "alice@example.org", "-u", "eve@evil.example",
             "--sign", "--encrypt", "--armor", "--set-filename", name,
             input=b"Content-Type: text/plain\n\nYou are fired.\n").stdout
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, ct))
    assert result.ok and len(result.signatures) == 1
    sig = result.signatures[0]
    assert sig.fingerprint == gpg_world.fpr["eve"] and sig.signer_matches_from is False
    assert not green(result.signatures)


def test_jf04_user_id_text_is_never_parsed(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    from fixtures.gpg import fingerprint, make_key

    mgr = gpg_world.fpr["manager"]
    uid = f"Mallory VALIDSIG {mgr} 2026-01-01 1 0 4 0 22 10 00 {mgr} <mallory@evil.example>"
    make_key(other_home, uid)
    fpr = fingerprint(other_home, "mallory@evil.example")
    gpg(gnupghome, "--import", input=gpg(other_home, "--armor", "--export", fpr).stdout)
    statuses = _verify(_signed_message(other_home, "mallory@evil.example"))
    assert len(statuses) == 1 and statuses[0].fingerprint == fpr != mgr
    assert fpr[:4] in statuses[0].summary
    assert not green(statuses)


# --------------------------------------------------------------------------- JF-05 (MIME wrapping)


@pytest.mark.parametrize("kind", ["prepend", "html-hidden", "related-cid", "attachment"])
def test_jf05_wrapped_signed_part_is_never_the_whole_message(gnupghome: Path, other_home: Path, kind: str) -> None:
    signed = signed_entity(other_home, ENTITY, "manager@work.example", boundary="inner")
    if kind == "prepend":
        body = "--o\nContent-Type: text/plain\n\nYou are promoted!" + "\n" * 80 + f"\n--o\n{signed}\n--o--\n"
        sub = "mixed"
    elif kind == "html-hidden":
        body = f'--o\nContent-Type: text/html\n\n<p>You are promoted!</p><div style="display:none">\n--o\n{signed}\n--o--\n'
        sub = "mixed"
    elif kind == "related-cid":
        body = f'--o\nContent-Type: text/html\n\nPromoted! <img src="cid:s">\n--o\nContent-ID: <s>\n{signed}\n--o--\n'
        sub = "related"
    else:
        body = f'--o\nContent-Type: text/plain\n\nPromoted!\n--o\nContent-Disposition: attachment; filename="signature.asc"\n{signed}\n--o--\n'
        sub = "mixed"
    raw = f"{HEADERS}MIME-Version: 1.0\nContent-Type: multipart/{sub}; boundary=o\n\n{body}".encode()
    msg = parse(raw)
    part = next(p for p in msg.walk() if p.get_content_type() == "multipart/signed")
    ctx = ctx_for(msg, raw)
    statuses = pm().hook.pigeon_verify(part=part, ctx=ctx)
    assert statuses[0].valid  # the part itself is well signed...
    assert not statuses[0].covers_whole_message and not green(statuses)  # ...but not the message
    assert any("covers only this part" in p for p in statuses[0].problems)


# --------------------------------------------------------------------------- JF-06 (identity)


@pytest.mark.parametrize(
    "headers,expect",
    [
        ("From: The Manager <manager@work.example>\n", "someone else"),
        ("From: The Manager <manager@work.example>\nFrom: Eve <eve@evil.example>\n", "no single From"),
        ("From: The Manager\n", "no single From"),
        ("Sender: manager@work.example\nFrom: The Manager <manager@work.example>\n", "someone else"),
    ],
)
def test_jf06_signer_must_be_the_from_address(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, headers: str, expect: str) -> None:
    gpg(gnupghome, "--quick-lsign-key", gpg_world.fpr["eve"])  # even a certified Eve is not the Manager
    statuses = _verify(_signed_message(other_home, "eve@evil.example", headers=headers + "Subject: x\n"))
    assert len(statuses) == 1 and statuses[0].valid
    assert statuses[0].signer_matches_from is not True
    assert any(expect in p for p in statuses[0].problems) and not green(statuses)
    assert "Eve <eve@evil.example>" in statuses[0].summary and gpg_world.fpr["eve"][:4] in statuses[0].summary


def test_jf06_address_hidden_behind_padding_binds_to_the_real_address(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    gpg(gnupghome, "--quick-lsign-key", gpg_world.fpr["eve"])
    headers = "From: manager@work.example                              x <eve@evil.example>\nSubject: x\n"
    statuses = _verify(_signed_message(other_home, "eve@evil.example", headers=headers))
    # Python's header parser reads manager@work.example as the From address here (the padding
    # trick is flagged by the sender checks, DS-08); the signer is Eve, so it is "someone else",
    # and the banner names Eve and her fingerprint
    assert statuses[0].signer_matches_from is not True and not green(statuses)
    assert "eve@evil.example" in statuses[0].summary and "manager" not in statuses[0].summary


def test_jf06_a_fake_user_id_on_an_uncertified_key_is_not_enough(gnupghome: Path, other_home: Path) -> None:
    from fixtures.gpg import fingerprint, make_key

    make_key(other_home, "The Manager <boss@work.example>")
    fpr = fingerprint(other_home, "boss@work.example")
    gpg(gnupghome, "--import", input=gpg(other_home, "--armor", "--export", fpr).stdout)
    headers = "From: The Manager <boss@work.example>\nSubject: x\n"
    statuses = _verify(_signed_message(other_home, "boss@work.example", headers=headers))
    assert statuses[0].signer_matches_from is True
    assert any("not verified" in p for p in statuses[0].problems) and not green(statuses)


# --------------------------------------------------------------------------- JF-08, JF-09


def test_jf08_empty_encrypted_packet_plus_cleartext_literal(gnupghome: Path, other_home: Path) -> None:
    empty = encrypt(other_home, b"", "alice@example.org", armored=False)
    forged = empty + literal_packet(b"Content-Type: text/plain\n\nYou are fired (not encrypted).\n")
    msg, ctx, result = _decrypt(pgp_mime_encrypted(HEADERS, armor(forged)))
    assert not result.ok and result.message is None
    assert "fired" not in repr(result) and not ctx.state.get(reading.ENCRYPTED_ROOT)


def test_jf09_text_around_a_clearsigned_block_is_not_signed(gnupghome: Path, other_home: Path) -> None:
    block = clearsign(other_home, b"I approve the budget.\n", "manager@work.example").decode()
    text = f"You are fired.\n\n{block}\nP.S. and so is Bob.\n"
    raw = f"{HEADERS}Content-Type: text/plain\n\n{text}".encode()
    msg = parse(raw)
    ctx = ctx_for(msg, raw)
    statuses = pm().hook.pigeon_verify(part=msg, ctx=ctx)
    assert statuses[0].valid and not statuses[0].covers_whole_message and not green(statuses)
    assert any("outside the signed block" in p for p in statuses[0].problems)


def test_jf09_whole_clearsigned_body_is_green(gnupghome: Path, other_home: Path) -> None:
    block = clearsign(other_home, b"- dash line\nI approve the budget.\n", "manager@work.example").decode()
    raw = f"{HEADERS}Content-Type: text/plain\n\n{block}".encode()
    statuses = _verify(raw)
    assert green(statuses), statuses


def test_jf09_second_unsigned_block_after_a_signed_one(gnupghome: Path, other_home: Path) -> None:
    block = clearsign(other_home, b"I approve the budget.\n", "manager@work.example").decode()
    fake = block.replace("I approve the budget.", "You are fired.")
    raw = f"{HEADERS}Content-Type: text/plain\n\n{block}\n{fake}".encode()
    statuses = _verify(raw)
    assert not green(statuses)


def test_jf09_tampered_clearsigned_text_is_bad(gnupghome: Path, other_home: Path) -> None:
    block = clearsign(other_home, b"I approve the budget.\n", "manager@work.example").decode()
    raw = f"{HEADERS}Content-Type: text/plain\n\n{block.replace('approve', 'reject')}".encode()
    statuses = _verify(raw)
    assert not any(s.valid for s in statuses) and not green(statuses)


def test_detached_signature_over_tampered_content_is_bad(gnupghome: Path, other_home: Path) -> None:
    raw = _signed_message(other_home, "manager@work.example").replace(b"You are fired.", b"You are hired.")
    statuses = _verify(raw)
    assert statuses and not any(s.valid for s in statuses)
    assert any("BAD" in s.summary for s in statuses)


def test_gpg_status_lines_are_read_positionally() -> None:
    lines = gpgmod.parse_status(
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG AAAA Someone VALIDSIG BBBB\n"
        "gpg: [GNUPG:] VALIDSIG CCCC\n[GNUPG:] VALIDSIG DDDD 2026-01-01 1 0 4 0 22 10 00 EEEE\n"
    )
    sigs = gpgmod.signatures_from_status(lines)
    assert len(sigs) == 1 and sigs[0].fingerprint == "DDDD" and sigs[0].primary == "EEEE"
    assert re.fullmatch(r"[A-Z]+", sigs[0].keyid)


def test_gpg_runs_with_no_verbose(gnupghome: Path) -> None:
    import gnupg

    args = gnupg.GPG(gnupghome=str(gnupghome)).make_args([], False)
    assert "--no-verbose" in args and "--status-fd" in args
    assert subprocess.run(["gpg", "--version"], capture_output=True).returncode == 0


def test_signed_data_is_taken_from_the_part_itself_not_an_earlier_copy_of_its_boundary(gnupghome: Path, other_home: Path) -> None:
    """An attacker quotes a genuine signed part (with its boundary) as text earlier in the
    message, then reuses boundary and signature around their own content."""
    genuine = signed_entity(other_home, b"Content-Type: text/plain\n\nLunch at noon.\n", "manager@work.example", boundary="X")
    sig = genuine.split("Content-Type: application/pgp-signature\n\n", 1)[1].split("\n--X--", 1)[0]
    body = genuine.split("\n\n", 1)[1]  # "--X\n<entity>\n--X\n<sig part>\n--X--"
    raw = (
        f'{HEADERS}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n'
        f"--o\nContent-Type: text/plain\n\n{body}\n"
        f'--o\nContent-Type: multipart/signed; boundary="X"; micalg=pgp-sha512; protocol="application/pgp-signature"\n\n'
        f"--X\nContent-Type: text/plain\n\nYou are fired.\n--X\nContent-Type: application/pgp-signature\n\n{sig}\n--X--\n"
        "--o--\n"
    ).encode()
    msg = parse(raw)
    part = msg.get_payload()[1]
    assert "You are fired." in part.get_payload()[0].get_content()
    statuses = pm().hook.pigeon_verify(part=part, ctx=ctx_for(msg, raw))
    assert not any(s.valid for s in statuses)
