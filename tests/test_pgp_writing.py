"""Writing: sign, encrypt, or both as PGP/MIME with protected headers, read back by pigeon and by
plain gpg; account and recipient policy; a missing or expired key is refused, never sent plain."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures.gpg import GpgWorld, gpg
from pgp_helpers import ctx_for, parse, pm
from pigeon.hooks.types import AccountConfig, SendPolicy
from pigeon.plugins.pgp import autocrypt
from pigeon.plugins.pgp.gpg import CryptoError

BODY = "Grüße, Bob!\nThe plan is on.\n"


def account(**pgp) -> AccountConfig:  # noqa: ANN003
    return AccountConfig(name="me", address="alice@example.org", maildir=Path("/nonexistent"), extra={"pgp": pgp})


def message(to: str = "Bob Babbage <bob@example.net>", subject: str = "Secret plans") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice Lovelace <alice@example.org>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Fri, 27 Nov 2026 10:00:00 +0000"
    msg["Message-ID"] = "<plan@example.org>"
    msg.set_content(BODY)
    return msg


def protect(msg: EmailMessage, policy: SendPolicy, acct: AccountConfig) -> EmailMessage:
    return pm().hook.pigeon_protect_outgoing(message=msg, policy=policy, account=acct)


def wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=email.policy.SMTP)


def test_sign_and_encrypt_round_trip_with_pigeon_and_plain_gpg(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    out = protect(message(), SendPolicy(sign=True, encrypt=True), account())
    raw = wire(out)
    assert out.get_content_type() == "multipart/encrypted" and str(out["Subject"]) == "..."
    assert b"Secret plans" not in raw and b"The plan is on" not in raw
    assert out["Autocrypt"] and "addr=alice@example.org" in str(out["Autocrypt"])
    # plain gpg, as another client: Bob decrypts, and Alice's signature is good
    enc = parse(raw).get_payload()[1].get_payload(decode=True)
    res = gpg(other_home, "--status-fd", "1", "--decrypt", input=enc, check=False)
    status = res.stdout.decode(errors="replace")
    assert "DECRYPTION_OKAY" in status and "GOODMDC" in status
    assert f"VALIDSIG {gpg_world.fpr['alice']}" in status
    inner = parse(gpg(other_home, "--decrypt", input=enc, check=False).stdout)
    assert str(inner["Subject"]) == "Secret plans"
    assert inner.get_param("protected-headers") == "v1"
    assert "The plan is on" in inner.get_content()
    # and pigeon reads its own sent copy (encrypted to the sender too)
    back = parse(raw)
    ctx = ctx_for(back, raw)
    result = pm().hook.pigeon_decrypt(part=back, ctx=ctx)
    assert result.ok and result.protected_headers["Subject"] == "Secret plans"
    assert len(result.signatures) == 1 and result.signatures[0].valid
    assert result.signatures[0].fingerprint == gpg_world.fpr["alice"]
    assert result.signatures[0].covers_whole_message and not result.signatures[0].problems
    assert result.message.get_content() == BODY


def test_sign_only_verifies_with_pigeon_and_plain_gpg(gnupghome: Path, other_home: Path, tmp_path: Path) -> None:
    out = protect(message(), SendPolicy(sign=True, encrypt=False), account())
    raw = wire(out)
    assert out.get_content_type() == "multipart/signed" and str(out["Subject"]) == "Secret plans"
    back = parse(raw)
    statuses = pm().hook.pigeon_verify(part=back, ctx=ctx_for(back, raw))
    assert len(statuses) == 1 and statuses[0].valid and not statuses[0].problems
    from pigeon.plugins.pgp.mime import raw_first_part

    signed = raw_first_part(raw, back.get_boundary())
    sig = tmp_path / "sig.asc"
    sig.write_bytes(back.get_payload()[1].get_payload(decode=True))
    res = gpg(other_home, "--status-fd", "1", "--verify", str(sig), "-", input=signed, check=False)
    assert b"GOODSIG" in res.stdout, res.stderr


def test_account_policy_sign_always_encrypt_when_possible(gnupghome: Path) -> None:
    acct = account(sign="always", encrypt="when-possible")
    out = protect(message(), SendPolicy(), acct)
    assert out.get_content_type() == "multipart/encrypted"  # Bob's key is in the keyring
    out = protect(message(to="nobody@nowhere.example"), SendPolicy(), acct)
    assert out.get_content_type() == "multipart/signed"  # no key: signed, not encrypted


@pytest.mark.parametrize("acct,policy", [
    (dict(encrypt="always"), SendPolicy()),
    (dict(encrypt="never", recipients={"nobody@nowhere.example": "always"}), SendPolicy()),
    (dict(), SendPolicy(encrypt=True)),
])
def test_missing_key_refuses_instead_of_sending_plaintext(gnupghome: Path, acct: dict, policy: SendPolicy) -> None:
    msg = message(to="Bob <bob@example.net>, nobody@nowhere.example")
    with pytest.raises(CryptoError) as err:
        protect(msg, policy, account(**acct))
    assert "nobody@nowhere.example" in str(err.value)


def test_expired_key_refuses(gnupghome: Path, tmp_path: Path) -> None:
    home = Path(__import__("tempfile").mkdtemp(prefix="pg-", dir="/tmp"))
    uid = "Old <old@example.net>"
    t = ["--faked-system-time", "20200101T000000", "--pinentry-mode", "loopback", "--passphrase", ""]
    gpg(home, *t, "--quick-gen-key", uid, "ed25519", "sign,cert", "1d")
    fpr = [line.split(":")[9] for line in gpg(home, "--with-colons", "-k", "old@").stdout.decode().splitlines() if line.startswith("fpr")][0]
    gpg(home, *t, "--quick-add-key", fpr, "cv25519", "encr", "1d")
    gpg(gnupghome, "--import", input=gpg(home, "--armor", "--export", fpr).stdout)
    with pytest.raises(CryptoError) as err:
        protect(message(to="old@example.net"), SendPolicy(encrypt=True), account())
    assert "expired" in str(err.value) or "no usable" in str(err.value)
    from fixtures.gpg import kill_agent

    kill_agent(home)


def test_missing_own_key_refuses_to_sign(gnupghome: Path) -> None:
    acct = AccountConfig(name="x", address="stranger@example.org", maildir=Path("/x"), extra={"pgp": {"sign": "always"}})
    with pytest.raises(CryptoError):
        protect(message(), SendPolicy(), acct)


def test_account_without_pgp_is_left_alone(gnupghome: Path) -> None:
    acct = AccountConfig(name="x", address="alice@example.org", maildir=Path("/x"))
    assert protect(message(), SendPolicy(), acct) is None


def test_autocrypt_header_on_plain_outgoing_mail(gnupghome: Path, gpg_world: GpgWorld) -> None:
    out = protect(message(), SendPolicy(), account(sign="never", encrypt="never"))
    header = autocrypt.parse_header(str(out["Autocrypt"]))
    assert header is not None and header.addr == "alice@example.org"
    assert out.get_content_type() == "text/plain"


def test_eight_bit_body_is_made_seven_bit_before_signing(gnupghome: Path) -> None:
    out = protect(message(), SendPolicy(sign=True, encrypt=False), account())
    inner = out.get_payload()[0]
    assert str(inner["Content-Transfer-Encoding"]).lower() in ("quoted-printable", "base64", "7bit")
    assert all(b < 128 for b in wire(out))


def test_draft_of_encrypted_thread_is_stored_encrypted_to_self_only(gnupghome: Path, other_home: Path) -> None:
    draft = message(subject="Re: Secret plans")
    draft["Bcc"] = "carol@example.net"
    out = protect(draft, SendPolicy(encrypt=True, draft=True), account())
    raw = wire(out)
    assert out.get_content_type() == "multipart/encrypted"
    assert b"The plan is on" not in raw and b"Secret plans" not in raw
    # only the user can read it: Bob (a recipient of the final mail) cannot
    enc = parse(raw).get_payload()[1].get_payload(decode=True)
    assert gpg(other_home, "--decrypt", input=enc, check=False).returncode != 0
    back = parse(raw)
    result = pm().hook.pigeon_decrypt(part=back, ctx=ctx_for(back, raw))
    assert result.ok and result.protected_headers["Subject"] == "Re: Secret plans"
    assert result.signatures == []


def test_bcc_recipient_key_is_hidden(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    msg = message(to="The Manager <manager@work.example>")
    msg["Bcc"] = "bob@example.net"
    out = protect(msg, SendPolicy(encrypt=True), account())
    assert str(out["Bcc"]) == "bob@example.net"  # for the envelope and the sent copy
    enc = out.get_payload()[1].get_payload(decode=True)
    packets = gpg(other_home, "--list-packets", "--pinentry-mode", "cancel", input=enc, check=False).stdout.decode()
    ids = {line.split("keyid ")[1].split()[0] for line in packets.splitlines() if "keyid " in line and "pubkey enc packet" in line}
    assert "0000000000000000" in ids  # the Bcc recipient's key is anonymous...
    res = gpg(other_home, "--decrypt", input=enc, check=False)
    assert b"The plan is on" in res.stdout  # ...and Bob (Bcc) can still read it
