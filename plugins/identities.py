"""Built-in plugin: From and signature of a new draft, by identity.

``pigeon_compose_defaults`` (``trylast``: every other implementation runs first) picks the
identity with ``pigeon.core.identities.choose_identity`` — the address the original was sent
to, for replies and forwards; the account's own address for a new message — sets From to it
unless an earlier implementation (a user's plugin) already chose another From, and appends
the identity's signature after the ``-- `` separator (RFC 3676 §4.3), once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:  # the email package costs ~7 ms: imported by the hooks that get a message
    from email.message import EmailMessage

SEPARATOR = "-- \n"


def _current_from(draft: EmailMessage) -> str:
    from email.utils import getaddresses

    try:
        values = [str(v) for v in draft.get_all("From", [])]
    except Exception:
        return ""
    found = [addr for _name, addr in getaddresses(values) if addr]
    return found[0].lower() if found else ""


def _text_part(draft: EmailMessage) -> EmailMessage | None:
    if not draft.is_multipart():
        return draft if draft.get_content_type() == "text/plain" else None
    from email.message import EmailMessage  # a draft is one: the package is loaded by now

    body = draft.get_body(("plain",))
    return body if isinstance(body, EmailMessage) else None


def append_signature(draft: EmailMessage, signature: str) -> bool:
    """Append ``signature`` after a ``-- `` line to the draft's text, unless it is there."""
    signature = signature.replace("\r\n", "\n").strip("\n")
    if not signature:
        return False
    part = _text_part(draft)
    if part is None:
        return False
    try:
        body = part.get_content()
    except Exception:
        return False
    if SEPARATOR + signature in body:
        return False
    if not body.strip():
        body = "\n"  # an empty line to write on, above the signature
    else:
        body = body.rstrip("\n") + "\n\n"
    part.set_content(body + SEPARATOR + signature + "\n")
    return True


@hookimpl(trylast=True)
def pigeon_compose_defaults(draft: EmailMessage, account: Any, kind: str, original: EmailMessage | None) -> None:
    from pigeon.core.identities import choose_identity, identity_for_address

    identity = choose_identity(account, original if kind != "new" else None)
    current = _current_from(draft)
    if not current or current == str(account.address).lower():
        del draft["From"]
        draft["From"] = identity.from_header()
    elif identity_for_address(account, current) is not None:
        identity = identity_for_address(account, current) or identity  # someone chose another of ours
    else:
        return  # a From that is none of this account's identities: not ours to sign
    append_signature(draft, identity.signature)
