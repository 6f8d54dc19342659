"""Crypto hooks: decrypting, verifying, signing and encrypting. The core knows nothing of gpg."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.hooks import hookspec

if TYPE_CHECKING:  # the email package costs ~7 ms to import: annotations only
    from email.message import EmailMessage

    from pigeon.hooks.types import (
        DecryptResult,
        KeyInfo,
        RenderContext,
        SendPolicy,
        SignatureStatus,
    )


@hookspec(firstresult=True)
def pigeon_decrypt(part: EmailMessage, ctx: RenderContext) -> DecryptResult | None:
    """Decrypt an encrypted part (``multipart/encrypted`` or an inline armored text part).

    Called by the renderer for each encrypted part it meets. The decrypted message is rendered
    inside its own boundary, never mixed with plain parts. When ``ok`` is false, no decrypted
    text is shown at all, only ``error``.

    :param part: the encrypted part.
    :param ctx: the rendering context.
    :return: a ``DecryptResult``, or None when no plugin handles this kind of encryption.

    Semantics: firstresult.
    """


@hookspec(firstresult=True)
def pigeon_verify(part: EmailMessage, ctx: RenderContext) -> list[SignatureStatus] | None:
    """Verify a signed part (``multipart/signed`` or an inline clearsigned text part).

    :param part: the signed part.
    :param ctx: the rendering context; ``ctx.state["from"]`` holds the From address.
    :return: one ``SignatureStatus`` per signature found, or None when not handled.

    Semantics: firstresult.
    """


@hookspec(firstresult=True)
def pigeon_protect_outgoing(
    message: EmailMessage, policy: SendPolicy, account: object
) -> EmailMessage | None:
    """Sign and/or encrypt an outgoing message, returning the protected message.

    Called when a message is queued for sending and ``policy`` or the account asks for it, and
    with ``policy.draft`` set before a draft of an encrypted conversation is stored (it is then
    encrypted to the user's own key, so no plaintext draft reaches a Drafts folder).
    Raise an exception to refuse (for example, a recipient has no usable key): the message is
    then not sent in plaintext.

    :param message: the message as composed.
    :param policy: what the user asked for.
    :param account: the sending ``AccountConfig``.
    :return: the protected message, or None to leave it as is.

    Semantics: firstresult.
    """


@hookspec
def pigeon_lookup_keys(addresses: list[str], network: bool) -> list[KeyInfo] | None:
    """Say which keys are known for some addresses, and which one would be used and why.

    Called by ``pigeon keys`` (and by compose, to show the key choice before sending).

    :param addresses: e-mail addresses; an empty list asks for every key the plugin knows.
    :param network: True when the user asked for a network lookup (WKD); False means local
        knowledge only (keyring, Autocrypt state).
    :return: a list of ``KeyInfo`` (several per address when several keys are known), or None.

    Semantics: collect.
    """
