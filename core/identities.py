"""Identities: the From addresses of an account, each with its name, signature and PGP policy.

An account's own ``address`` (with ``real_name``, ``signature`` and ``pgp``) is its first
identity; ``identities = [{ address = ..., name = ..., signature = ..., pgp = {...} }]`` in
config.toml adds more (validated in ``pigeon.core.config``; a missing name, signature or pgp is
the account's). A reply is written from the identity the original was sent to: the first
address of To, then Cc, then Delivered-To / X-Original-To / Envelope-To (mail that reached you
by Bcc, a list or a forward) that is one of the account's. ``user+tag@host`` matches
``user@host``, and an identity ``*@host`` matches any address at that host (a catch-all domain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formataddr
from typing import Any

RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass(frozen=True)
class Identity:
    """One From address of an account."""

    address: str
    name: str = ""
    signature: str = ""
    pgp: Mapping[str, Any] = field(default_factory=dict)
    account: str = ""
    primary: bool = False

    def from_header(self) -> str:
        """``Name <address>`` for a From header (the name quoted or encoded as needed)."""
        return formataddr((self.name, self.address)) if self.name else self.address


def identities(account: Any) -> list[Identity]:
    """Every identity of ``account``, its own address first."""
    extra = dict(getattr(account, "extra", {}) or {})
    name = str(getattr(account, "real_name", "") or "")
    signature = str(extra.get("signature", "") or "")
    pgp = dict(extra.get("pgp", {}) or {})
    out = [Identity(str(account.address), name, signature, pgp, account.name, True)]
    for item in extra.get("identities", []) or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("address"), str):
            continue
        out.append(
            Identity(
                address=item["address"],
                name=str(item.get("name", name)),
                signature=str(item.get("signature", signature)),
                pgp=dict(item.get("pgp", pgp) or {}),
                account=account.name,
            )
        )
    return out


def _matches(identity: Identity, address: str) -> bool:
    want = identity.address.lower()
    got = address.strip().lower()
    if not got or "@" not in got:
        return False
    if want == got:
        return True
    local, _, domain = got.rpartition("@")
    if "+" in local and f"{local.split('+', 1)[0]}@{domain}" == want:
        return True
    return want.startswith("*@") and want[2:] == domain


def identity_for_address(account: Any, address: str) -> Identity | None:
    """The identity of ``account`` that ``address`` names (exact first, then ``+tag`` and
    catch-all ``*@host`` identities), or None. The PGP plugin finds an outgoing message's
    policy with this, from its From address."""
    ids = identities(account)
    exact = next((i for i in ids if i.address.lower() == address.strip().lower()), None)
    return exact or next((i for i in ids if _matches(i, address)), None)


def choose_identity(account: Any, original_message: Message | None = None) -> Identity:
    """The identity to answer ``original_message`` from: the address it was sent to, else the
    one it was sent from (answering your own mail), else the account's own address. A
    catch-all identity answers from the address the message was sent to."""
    from pigeon.core.mime import addresses

    ids = identities(account)
    if original_message is None:
        return ids[0]
    for header in (*RECIPIENT_HEADERS, "From"):
        for _name, addr in addresses(original_message, header):
            found = identity_for_address(account, addr)
            if found is None:
                continue
            if found.address.startswith("*@"):
                return Identity(addr.strip(), found.name, found.signature, found.pgp, found.account)
            return found
    return ids[0]
