"""Each identity with its PGP policy: the PGP plugin applies the policy of the identity a
message is From, with a real gpg keyring (tests/fixtures/gpg.py)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from fixtures.gpg import GpgWorld
from pgp_helpers import pm
from pigeon.hooks.types import AccountConfig, SendPolicy


def account(gpg_world: GpgWorld) -> AccountConfig:
    return AccountConfig(
        name="me",
        address="alice@example.org",
        maildir=Path("/nonexistent"),
        extra={
            "pgp": {"sign": "never", "autocrypt": False},
            "identities": [
                {"address": "alice@work.example", "pgp": {"sign": "always", "key": gpg_world.fpr["alice"], "autocrypt": False}},
                {"address": "alice@lists.example"},  # no pgp table: the account's
            ],
        },
    )


def message(sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Alice <{sender}>"
    msg["To"] = "Bob <bob@example.net>"
    msg["Subject"] = "Hello"
    msg.set_content("Hi Bob\n")
    return msg


def protect(msg: EmailMessage, acct: AccountConfig) -> EmailMessage | None:
    return pm().hook.pigeon_protect_outgoing(message=msg, policy=SendPolicy(), account=acct)


def test_identity_policy_applies_to_mail_from_it(gnupghome: Path, gpg_world: GpgWorld) -> None:
    acct = account(gpg_world)
    signed = protect(message("alice@work.example"), acct)
    assert signed is not None and signed.get_content_type() == "multipart/signed"
    for sender in ("alice@example.org", "alice@lists.example"):
        out = protect(message(sender), acct)
        assert out is None or out.get_content_type() == "text/plain", sender
