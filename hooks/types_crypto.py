"""The value types of hooks for signatures, decryption and keys.

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations are strings: these are for type checkers only
    from email.message import EmailMessage


@dataclass
class SignatureStatus:
    """The result of verifying one signature."""

    valid: bool
    fingerprint: str = ""
    uids: list[str] = field(default_factory=list)
    trust: str = ""
    signer_matches_from: bool | None = None
    covers_whole_message: bool = False
    problems: list[str] = field(default_factory=list)
    summary: str = ""
    # The key id or fingerprint the signature names when no public key for it is at hand:
    # the signature could not be checked (not valid, but not shown to be forged either).
    # Empty otherwise. Never set together with ``valid``.
    missing_key: str = ""


@dataclass
class DecryptResult:
    """The result of decrypting a part. ``message`` is None unless decryption fully succeeded."""

    ok: bool
    message: EmailMessage | None = None
    error: str = ""
    signatures: list[SignatureStatus] = field(default_factory=list)
    protected_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class KeyInfo:
    """A key pigeon knows for an address, where it came from, and whether pigeon would use it."""

    address: str
    fingerprint: str
    uids: list[str] = field(default_factory=list)
    source: str = ""  # "keyring", "autocrypt", "wkd", ...
    usable: bool = False  # pigeon would encrypt to (or sign with) it
    chosen: bool = False  # the one pigeon uses for this address
    secret: bool = False  # the user's own key (a secret key is in the keyring)
    trust: str = ""
    expires: str = ""  # ISO date or ""
    reason: str = ""  # why it is (not) used, in words
    warnings: list[str] = field(default_factory=list)  # key changes, expiry soon, ...


@dataclass
class SendPolicy:
    """What the user asked for when sending: sign, encrypt, or leave it to the account policy."""

    sign: bool | None = None
    encrypt: bool | None = None
    draft: bool = False  # a draft being stored: encrypt to the user's own key only, never sign
