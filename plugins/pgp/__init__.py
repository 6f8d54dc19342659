"""Built-in plugin: PGP/MIME and inline PGP over python-gnupg and the user's GnuPG.

Answers the crypto hooks (``pigeon_decrypt``, ``pigeon_verify``, ``pigeon_protect_outgoing``,
``pigeon_lookup_keys``), learns Autocrypt peer keys from arriving mail, and adds banners for
what the renderer cannot know (a key change, text outside an inline-PGP block). The rules that
keep it from being fooled (SECURITY.md §2–§4) live in :mod:`.gpg` (status lines) and
:mod:`.reading` (MIME boundaries and roots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl
from pigeon.plugins.pgp import runtime

if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import (
        AccountConfig,
        Banner,
        CommandRegistrar,
        DecryptResult,
        KeyInfo,
        MessageRef,
        RenderContext,
        SendPolicy,
        SettingsRegistry,
        SignatureStatus,
    )


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add(
        "pgp.index_encrypted", bool, False,
        "Index the decrypted text of encrypted mail so search finds it. The index then holds "
        "plaintext of encrypted messages (as notmuch's index.decrypt=true does).",
    )
    settings.add(
        "pgp.min_trust", str, "marginal",
        "The least trust in the signer's key for a signature to be shown as fully good.",
        choices=("undefined", "marginal", "full", "ultimate"),
    )
    settings.add("pgp.autocrypt", bool, True, "Read Autocrypt headers from arriving mail and add one to mail you send.")
    settings.add("pgp.gnupghome", str, "", "The GnuPG home to use (default: $GNUPGHOME, else ~/.gnupg).")
    settings.add("pgp.wkd_cafile", str, "", "Extra CA bundle for WKD lookups (for a private test server).")
    settings.add("pgp.wkd_port", int, 0, "Port for WKD lookups (0: 443; for a private test server).")


@hookimpl
def pigeon_configure(config: Any) -> None:
    runtime.configure(config)


@hookimpl
def pigeon_compose_defaults(draft: EmailMessage, account: Any, kind: str, original: EmailMessage | None) -> None:
    """A reply or forward to encrypted mail is encrypted by default (DESIGN §6.6): the draft
    carries ``X-Pigeon-Encrypt: yes``, which the user sees and may delete, and which makes the
    outbox encrypt it and the client store its draft encrypted."""
    from pigeon.plugins.pgp import mime

    if original is not None and kind in ("reply", "reply-all", "forward") and mime.is_encrypted_message(original):
        del draft["X-Pigeon-Encrypt"]
        draft["X-Pigeon-Encrypt"] = "yes"


@hookimpl
def pigeon_startup(app: Any) -> None:
    runtime.started(app)


@hookimpl
def pigeon_decrypt(part: EmailMessage, ctx: RenderContext) -> DecryptResult | None:
    from pigeon.plugins.pgp import reading

    return reading.decrypt(part, ctx)


@hookimpl
def pigeon_verify(part: EmailMessage, ctx: RenderContext) -> list[SignatureStatus] | None:
    from pigeon.plugins.pgp import reading

    return reading.verify(part, ctx)


@hookimpl
def pigeon_message_banners(message: EmailMessage, ctx: RenderContext) -> list[Banner] | None:
    if "pgp_notes" not in (ctx.state or {}) and "Autocrypt" not in message:
        return None  # nothing of ours in this message: stay cheap
    from pigeon.plugins.pgp import reading

    return reading.banners(message, ctx)


@hookimpl
def pigeon_protect_outgoing(message: EmailMessage, policy: SendPolicy, account: AccountConfig) -> EmailMessage | None:
    from pigeon.plugins.pgp import writing

    return writing.protect(message, policy, account)


@hookimpl
def pigeon_lookup_keys(addresses: list[str], network: bool) -> list[KeyInfo] | None:
    from pigeon.plugins.pgp import lookup

    return lookup.lookup(addresses, network)


@hookimpl
def pigeon_message_arrived(message: EmailMessage, ref: MessageRef) -> None:
    if not runtime.setting("pgp.autocrypt", True) or "Autocrypt" not in message:
        return
    import sqlite3

    from pigeon.plugins.pgp.gpg import CryptoError

    try:
        book = runtime.keybook()
        store = book.peers()
        try:
            store.process(message, book.fingerprint_of, book.is_verified)
        finally:
            store.close()
    except (CryptoError, OSError, sqlite3.Error):
        return  # no usable gpg or state file: learning a key must never stop a sync


@hookimpl
def pigeon_register_commands(register: CommandRegistrar) -> None:
    from pigeon.plugins.pgp import commands

    register(commands.pgp_accept_key_change)
    register(commands.pgp_mark_key_verified)
