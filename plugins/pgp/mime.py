"""RFC 3156 structures: recognise and take apart PGP/MIME and inline PGP, build them for sending,
and read protected headers (draft-autocrypt-lamps-protected-headers)."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage, Message

#: Headers copied into the encrypted/signed part and, for encryption, hidden outside.
PROTECTED = ("Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID", "In-Reply-To", "References", "Followup-To")
#: Headers left outside an encrypted message: what servers need to deliver and thread it.
OUTER_KEEP = ("From", "To", "Cc", "Bcc", "Date", "Message-ID", "In-Reply-To", "References", "MIME-Version")
# (Bcc stays on the outer message so that the envelope and the sent copy keep it; the SMTP
# layer removes the header itself before the message goes out.)

_RAW_POLICY = email.policy.default.clone(refold_source="none", linesep="\r\n", max_line_length=0)

INLINE_MESSAGE = re.compile(
    r"^-----BEGIN PGP MESSAGE-----[ \t]*\r?$.*?^-----END PGP MESSAGE-----[ \t]*\r?$", re.M | re.S
)
INLINE_SIGNED = re.compile(
    r"^-----BEGIN PGP SIGNED MESSAGE-----[ \t]*\r?$.*?^-----END PGP SIGNATURE-----[ \t]*\r?$", re.M | re.S
)


def _boundary() -> str:
    import secrets

    return "=-pigeon-" + secrets.token_hex(12)


def parse_bytes(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def crlf(data: bytes) -> bytes:
    """Canonical line endings (RFC 3156 §5: signatures are made over CRLF text)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# --------------------------------------------------------------------------- recognising


def is_pgp_encrypted(part: Message) -> bool:
    return part.get_content_type() == "multipart/encrypted" and (
        str(part.get_param("protocol", "") or "").lower() == "application/pgp-encrypted"
    )


def is_pgp_signed(part: Message) -> bool:
    return part.get_content_type() == "multipart/signed" and (
        str(part.get_param("protocol", "") or "").lower() == "application/pgp-signature"
    )


def text_of(part: Message) -> str:
    """A leaf's decoded text; never raises."""
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - hostile input: a bad transfer encoding
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def inline_kind(part: Message) -> str | None:
    """"message" (armored, encrypted) or "signed" (cleartext signature) for an inline-PGP text
    part, else None."""
    if part.is_multipart() or part.get_content_maintype() != "text":
        return None
    text = text_of(part)
    if "-----BEGIN PGP" not in text:
        return None
    if INLINE_MESSAGE.search(text):
        return "message"
    if INLINE_SIGNED.search(text):
        return "signed"
    return None


def is_encrypted_message(msg: Message) -> bool:
    """The message as a whole is encrypted: a PGP/MIME root, or one armored block and nothing else."""
    if is_pgp_encrypted(msg):
        return True
    if inline_kind(msg) != "message":
        return False
    text = text_of(msg)
    m = INLINE_MESSAGE.search(text)
    return bool(m) and not (text[: m.start()].strip() or text[m.end() :].strip())


def encrypted_payload(part: Message) -> bytes:
    """The OpenPGP data of a ``multipart/encrypted`` part (RFC 3156 §4); ValueError if malformed."""
    subparts = part.get_payload()
    if not isinstance(subparts, list) or len(subparts) != 2:
        raise ValueError("a PGP/MIME encrypted part must have exactly two parts")
    control, data = subparts
    if control.get_content_type() != "application/pgp-encrypted":
        raise ValueError("the first part of a PGP/MIME encrypted message is not application/pgp-encrypted")
    if "version: 1" not in text_of(control).lower():
        raise ValueError("unknown PGP/MIME version")
    if data.get_content_type() != "application/octet-stream":
        raise ValueError("the second part of a PGP/MIME encrypted message is not application/octet-stream")
    payload = data.get_payload(decode=True)
    if not payload:
        raise ValueError("the encrypted part is empty")
    return payload


def signature_parts(part: Message) -> tuple[Message, bytes]:
    """(signed entity, signature bytes) of a ``multipart/signed``; ValueError if malformed."""
    subparts = part.get_payload()
    if not isinstance(subparts, list) or len(subparts) != 2:
        raise ValueError("a PGP/MIME signed part must have exactly two parts")
    content, sig = subparts
    if sig.get_content_type() != "application/pgp-signature":
        raise ValueError("the second part of a PGP/MIME signed message is not application/pgp-signature")
    return content, sig.get_payload(decode=True) or b""


def raw_first_parts(raw: bytes, boundary: str) -> list[bytes]:
    """Every candidate for "the first body part under ``boundary``" in ``raw``: the bytes after
    each opening delimiter up to the next delimiter. The CRLF before a delimiter belongs to the
    delimiter (RFC 2046 §5.1.1)."""
    delim = re.compile(rb"(?:\r?\n|\A)--" + re.escape(boundary.encode("ascii", "replace")) + rb"(--)?[ \t]*(?=\r?\n|\Z)")
    found = list(delim.finditer(raw))
    out = []
    for this, nxt in zip(found, found[1:], strict=False):
        if this.group(1):
            continue
        start = this.end()
        if raw[start : start + 2] == b"\r\n":
            start += 2
        elif raw[start : start + 1] == b"\n":
            start += 1
        out.append(raw[start : nxt.start()])
    return out


def raw_first_part(raw: bytes, boundary: str) -> bytes | None:
    """The first of :func:`raw_first_parts`, or None."""
    parts = raw_first_parts(raw, boundary)
    return parts[0] if parts else None


def canon(entity: Message) -> bytes:
    try:
        return crlf(entity.as_bytes(policy=_RAW_POLICY)).rstrip(b"\r\n")
    except Exception:  # noqa: BLE001 - hostile input
        return b""


def signed_data_candidates(part: Message, raw_sources: list[bytes], expected: bytes | None = None) -> list[bytes]:
    """The bytes a detached signature should cover: from the original source when we have it,
    else the part regenerated with its original folding.

    A raw segment counts only if it is this part's own content: the boundary string may also
    appear elsewhere (an attacker can quote a genuinely signed part as text and reuse its
    boundary and signature around their own content).
    """
    content, _ = signature_parts(part)
    mine = expected or canon(content)
    out: list[bytes] = []
    boundary = part.get_boundary()
    if boundary and mine:
        for raw in raw_sources:
            for segment in raw_first_parts(raw, boundary):
                if canon(parse_bytes(segment)) == mine:
                    out.append(crlf(segment))
                    break
            if out:
                break
    try:
        regenerated = crlf(content.as_bytes(policy=_RAW_POLICY))
    except Exception:  # noqa: BLE001 - hostile input
        regenerated = b""
    for cand in (regenerated, regenerated.rstrip(b"\r\n"), regenerated.rstrip(b"\r\n") + b"\r\n"):
        if cand and cand not in out:
            out.append(cand)
    return out


# --------------------------------------------------------------------------- protected headers


def protected_headers(inner: Message) -> dict[str, str]:
    """The headers of an inner part that carries ``protected-headers="v1"`` (or, as older
    clients wrote, any From/Subject on the inner part), decoded."""
    marked = str(inner.get_param("protected-headers", "") or "").lower() == "v1"
    out: dict[str, str] = {}
    for name in PROTECTED:
        values = inner.get_all(name)
        if values and (marked or name in ("Subject",)):
            if len(values) != 1:
                continue  # an ambiguous protected header is not used
            out[name] = str(values[0])
    return out


def strip_legacy_display(inner: EmailMessage) -> EmailMessage:
    """Drop the "legacy display" part (the protected Subject repeated as text for old clients)
    when we show protected headers ourselves."""
    if inner.get_content_type() != "multipart/mixed":
        return inner
    parts = inner.get_payload()
    if not isinstance(parts, list) or len(parts) < 2:
        return inner
    first = parts[0]
    legacy = first.get_content_type() == "text/plain" and (
        str(first.get_param("protected-headers", "") or "").lower() == "v1"
        or str(first.get_param("legacy-display", "") or "").lower() == "v1"
    )
    if legacy:
        inner.set_payload(parts[1:])
    return inner


# --------------------------------------------------------------------------- building


def _seven_bit(part: Message) -> None:
    """Re-encode 8-bit leaves as quoted-printable or base64: signed data must survive transport."""
    for leaf in part.walk():
        if leaf.is_multipart():
            continue
        cte = str(leaf.get("Content-Transfer-Encoding", "7bit")).lower()
        if cte in ("8bit", "binary"):
            raw = leaf.get_payload()
            if isinstance(raw, str):
                try:
                    payload = raw.encode("ascii", "surrogateescape")
                except UnicodeEncodeError:
                    payload = raw.encode(leaf.get_content_charset() or "utf-8", errors="replace")
            else:
                payload = leaf.get_payload(decode=True) or b""
            del leaf["Content-Transfer-Encoding"]
            if leaf.get_content_maintype() == "text":
                import quopri

                leaf.set_payload(quopri.encodestring(payload).decode("ascii"))
                leaf["Content-Transfer-Encoding"] = "quoted-printable"
            else:
                import base64

                leaf.set_payload(base64.encodebytes(payload).decode("ascii"))
                leaf["Content-Transfer-Encoding"] = "base64"


def inner_entity(message: EmailMessage, *, protect: bool = True) -> EmailMessage:
    """The body of ``message`` as a standalone MIME entity, carrying the protected headers."""
    inner = EmailMessage(policy=email.policy.SMTP)
    for name, value in message.items():
        lname = name.lower()
        if lname.startswith("content-"):
            inner[name] = value
    if "Content-Type" not in inner:
        inner["Content-Type"] = "text/plain; charset=us-ascii"
    if message.is_multipart():
        inner.set_payload([_copy(p) for p in message.get_payload()])
        inner.set_boundary(message.get_boundary() or _boundary())
    else:
        inner.set_payload(message.get_payload())
    if message.preamble is not None:
        inner.preamble = message.preamble
    if protect:
        for name in PROTECTED:
            for value in message.get_all(name, []):
                inner[name] = value
        inner.set_param("protected-headers", "v1")
    _seven_bit(inner)
    return inner


def _copy(part: Message) -> Message:
    return email.message_from_bytes(part.as_bytes(policy=email.policy.SMTP), policy=email.policy.SMTP)


def entity_bytes(entity: Message) -> bytes:
    return crlf(entity.as_bytes(policy=email.policy.SMTP))


def _outer(message: EmailMessage, keep: tuple[str, ...]) -> EmailMessage:
    outer = EmailMessage(policy=email.policy.SMTP)
    for name, value in message.items():
        if name.lower().startswith("content-") or name.lower() == "mime-version":
            continue
        if keep and name not in keep and name.lower() not in {k.lower() for k in keep}:
            continue
        outer[name] = value
    outer["MIME-Version"] = "1.0"
    return outer


def build_signed(message: EmailMessage, inner: EmailMessage, signature: bytes, micalg: str) -> EmailMessage:
    """``multipart/signed`` (RFC 3156 §5) over ``inner``; the outer headers stay as they were."""
    outer = _outer(message, ())
    outer.set_type("multipart/signed")
    outer.set_param("protocol", "application/pgp-signature")
    outer.set_param("micalg", micalg)
    sig = EmailMessage(policy=email.policy.SMTP)
    sig.set_payload(signature.decode("ascii"))
    sig["Content-Type"] = 'application/pgp-signature; name="signature.asc"'
    sig["Content-Description"] = "OpenPGP digital signature"
    sig["Content-Disposition"] = 'attachment; filename="signature.asc"'
    outer.set_payload([inner, sig])
    outer.set_boundary(_boundary())
    return outer


def build_encrypted(message: EmailMessage, ciphertext: bytes) -> EmailMessage:
    """``multipart/encrypted`` (RFC 3156 §4) with the Subject replaced by ``...``."""
    outer = _outer(message, OUTER_KEEP)
    for name, value in message.items():
        if name.lower() in ("autocrypt",):
            outer[name] = value
    outer["Subject"] = "..."
    outer.set_type("multipart/encrypted")
    outer.set_param("protocol", "application/pgp-encrypted")
    control = EmailMessage(policy=email.policy.SMTP)
    control["Content-Type"] = "application/pgp-encrypted"
    control["Content-Description"] = "PGP/MIME version identification"
    control.set_payload("Version: 1\r\n")
    data = EmailMessage(policy=email.policy.SMTP)
    data["Content-Type"] = 'application/octet-stream; name="encrypted.asc"'
    data["Content-Description"] = "OpenPGP encrypted message"
    data["Content-Disposition"] = 'inline; filename="encrypted.asc"'
    data.set_payload(ciphertext.decode("ascii"))
    outer.set_payload([control, data])
    outer.set_boundary(_boundary())
    return outer
