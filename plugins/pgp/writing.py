"""Signing and encrypting outgoing mail as PGP/MIME with protected headers.

Policy, per account (``[accounts.X] pgp = {...}``, seen as ``account.extra["pgp"]``)::

    pgp = { sign = "always" | "never",
            encrypt = "always" | "when-possible" | "never",
            key = "FINGERPRINT",                  # optional: the signing key
            autocrypt = true, prefer_encrypt = false,
            recipients = { "bob@example.org" = "always" | "never" } }

An explicit ``SendPolicy`` (``--sign``/``--encrypt``, or a reply to encrypted mail) wins over the
account's defaults. Whenever encryption is wanted and a recipient has no usable key, this raises
``CryptoError``: the message is never sent in plaintext instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from pigeon.hooks.types import AccountConfig, SendPolicy
from pigeon.plugins.pgp import autocrypt, mime, runtime
from pigeon.plugins.pgp.gpg import CryptoError

SIGN_MODES = ("always", "never")
ENCRYPT_MODES = ("always", "when-possible", "never")


def sender_identity(account: AccountConfig | Any, message: EmailMessage | None) -> Any:
    """The account's identity the message is From (``pigeon.core.identities``), or None."""
    if message is None or not getattr(account, "address", ""):
        return None
    from pigeon.core.identities import identity_for_address

    found = [addr for _, addr in getaddresses([str(v) for v in message.get_all("From", [])]) if addr]
    return identity_for_address(account, found[0]) if found else None


def account_policy(account: AccountConfig | Any, message: EmailMessage | None = None) -> Mapping[str, Any]:
    """The policy for mail from ``account``: the table of the identity ``message`` is From when
    it is one of the account's others (``identities = [{ ..., pgp = {...} }]``), else the
    account's own."""
    extra = getattr(account, "extra", None) or {}
    cfg = extra.get("pgp") or {}
    identity = sender_identity(account, message)
    if identity is not None and not identity.primary:
        cfg = identity.pgp or {}
    if not isinstance(cfg, Mapping):
        raise CryptoError("bad-config", f"account {getattr(account, 'name', '?')}: pgp must be a table")
    if cfg.get("sign", "never") not in SIGN_MODES:
        raise CryptoError("bad-config", f"pgp.sign must be one of {', '.join(SIGN_MODES)}")
    if cfg.get("encrypt", "never") not in ENCRYPT_MODES:
        raise CryptoError("bad-config", f"pgp.encrypt must be one of {', '.join(ENCRYPT_MODES)}")
    return cfg


def recipients_of(message: EmailMessage) -> list[str]:
    values = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    seen: dict[str, None] = {}
    for _, addr in getaddresses(values):
        addr = addr.strip().lower()
        if addr and "@" in addr:
            seen.setdefault(addr, None)
    return list(seen)


def bcc_of(message: EmailMessage) -> list[str]:
    return [a.strip().lower() for _, a in getaddresses([str(v) for v in message.get_all("Bcc", [])]) if "@" in a]


def decide(message: EmailMessage, policy: SendPolicy, account: AccountConfig | Any) -> tuple[bool, bool, list[str]]:
    """(sign, encrypt, recipients) for this message; raises when encryption is impossible."""
    cfg = account_policy(account, message)
    recipients = recipients_of(message)
    per = {str(k).lower(): str(v) for k, v in (cfg.get("recipients") or {}).items()}
    sign = policy.sign if policy.sign is not None else cfg.get("sign", "never") == "always"
    book = runtime.keybook() if (recipients or sign) else None
    if policy.encrypt is not None:
        encrypt = policy.encrypt
    elif cfg.get("encrypt", "never") == "always" or any(per.get(a) == "always" for a in recipients):
        encrypt = True
    elif cfg.get("encrypt", "never") == "when-possible":
        encrypt = (
            bool(recipients)
            and not any(per.get(a) == "never" for a in recipients)
            and book is not None
            and all(book.has_usable_key(a) for a in recipients)
        )
    else:
        encrypt = False
    if encrypt and not recipients:
        raise CryptoError("no-recipients", "cannot encrypt: the message has no recipients")
    return bool(sign), bool(encrypt), recipients


def protect(message: EmailMessage, policy: SendPolicy, account: AccountConfig | Any) -> EmailMessage | None:
    """The protected message, or None when neither signing, encryption nor Autocrypt applies."""
    cfg = account_policy(account, message)
    if policy.draft:
        return protect_draft(message, account) if policy.encrypt else None
    if not cfg and policy.sign is None and policy.encrypt is None:
        return None
    sign, encrypt, recipients = decide(message, policy, account)
    book = runtime.keybook()
    identity = sender_identity(account, message)
    address = str(getattr(account, "address", "") or "").lower()
    if identity is not None and not identity.primary:
        found = [a for _, a in getaddresses([str(v) for v in message.get_all("From", [])]) if a]
        address = found[0].lower()  # sign and announce (Autocrypt) as the identity written from
    own = ""
    if sign or encrypt or cfg.get("autocrypt", True):
        try:
            own = book.signing_key(address, str(cfg.get("key", "") or ""))
        except CryptoError:
            if sign:
                raise
            own = ""
    if own and cfg.get("autocrypt", True) and runtime.setting("pgp.autocrypt", True):
        del message["Autocrypt"]
        message["Autocrypt"] = autocrypt.format_header(
            address, book.gpg.export_public(own, armor=False), bool(cfg.get("prefer_encrypt", False))
        )
    if not sign and not encrypt:
        return message if own else None
    gpg = book.gpg
    inner = mime.inner_entity(message)
    if encrypt:
        bcc = set(bcc_of(message))
        keys = [book.encryption_key(a) for a in recipients if a not in bcc]  # raises for a missing/expired key
        hidden = [book.encryption_key(a) for a in recipients if a in bcc]  # Bcc: no key ID in the message
        if own:
            keys.append(own)  # so the sender can read the sent copy and the draft
        ciphertext = gpg.encrypt(
            mime.entity_bytes(inner), list(dict.fromkeys(keys)), sign=own if sign else None,
            hidden=[k for k in dict.fromkeys(hidden) if k not in keys],
        )
        return mime.build_encrypted(message, ciphertext)
    signature, micalg = gpg.sign_detached(mime.entity_bytes(inner), own)
    return mime.build_signed(message, inner, signature, micalg)


def protect_draft(draft: EmailMessage, account: AccountConfig | Any) -> EmailMessage:
    """A draft of an encrypted conversation, encrypted to the user's own key only, so it is never
    stored in plaintext (RE-02; CVE-2008-4491, CVE-2021-31855)."""
    book = runtime.keybook()
    cfg = account_policy(account, draft)
    identity = sender_identity(account, draft)
    address = identity.address if identity is not None and not identity.address.startswith("*@") else getattr(account, "address", "")
    own = book.signing_key(str(address).lower(), str(cfg.get("key", "") or ""))
    inner = mime.inner_entity(draft)
    ciphertext = book.gpg.encrypt(mime.entity_bytes(inner), [own])
    out = mime.build_encrypted(draft, ciphertext)
    for name in ("Bcc", "X-Pigeon-Encrypt"):
        if name not in out:
            for value in draft.get_all(name, []):
                out[name] = value
    return out
