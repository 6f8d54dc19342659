"""Reading encrypted and signed mail without being fooled.

Rules (SECURITY.md §2–§4):
- a part counts as "the whole message" only when it is the MIME root, or the decrypted content
  of an encrypted root (``ctx.state["pgp_roots"]``); anything deeper is marked part by part;
- protected headers are used only from an encrypted root;
- for a reply (``purpose="quote"``), an encrypted part that is not the root is not decrypted:
  its plaintext never reaches a quote (the reply oracle, RE-01);
- for the search index (``purpose="index"``), nothing is decrypted unless the user opted in;
- signature problems, a signer that is not the From address, and text outside an inline block
  all keep a signature from looking fully good.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage, Message
from typing import Any

from pigeon.hooks.types import Banner, DecryptResult, RenderContext, SignatureStatus
from pigeon.plugins.pgp import mime, runtime
from pigeon.plugins.pgp.gpg import CryptoError, Signature, email_of

TRUST_ORDER = {"": 0, "unknown": 0, "undefined": 0, "never": -1, "marginal": 1, "full": 2, "ultimate": 3}

#: ctx.state keys this plugin reads or writes.
ROOTS = "pgp_roots"  # ids of parts that stand for the whole message
RAW = "pgp_raw"  # original bytes (decrypted entities) to find signed data in
NOTES = "pgp_notes"  # banners to add after rendering
ENCRYPTED_ROOT = "pgp_encrypted"  # True when the message as a whole was encrypted
CANON = "pgp_canon"  # id(signed content) -> its canonical bytes before the legacy part was dropped


def _state(ctx: RenderContext) -> dict[str, Any]:
    if ctx.state is None:  # pragma: no cover - RenderContext always has a dict
        ctx.state = {}
    return ctx.state


def is_root(part: Message, ctx: RenderContext) -> bool:
    """Does ``part`` stand for the whole message being rendered?"""
    state = _state(ctx)
    for key in ("root", "message"):
        if state.get(key) is part:
            return True
    return id(part) in state.get(ROOTS, set())


def _mark_root(part: Message, ctx: RenderContext) -> None:
    _state(ctx).setdefault(ROOTS, set()).add(id(part))


def _raw_sources(ctx: RenderContext) -> list[bytes]:
    state = _state(ctx)
    out = []
    raw = state.get("raw")
    if isinstance(raw, bytes | bytearray):
        out.append(bytes(raw))
    out.extend(state.get(RAW, []))
    return out


def _note(ctx: RenderContext, severity: str, text: str) -> None:
    notes = _state(ctx).setdefault(NOTES, [])
    if (severity, text) not in notes:
        notes.append((severity, text))


def _from_address(ctx: RenderContext) -> str:
    value = _state(ctx).get("from") or ""
    if isinstance(value, tuple | list):
        value = value[1] if len(value) > 1 else ""
    value = str(value).strip().lower()
    return value if "@" in value else ""


def _fpr(fpr: str) -> str:
    return " ".join(fpr[i : i + 4] for i in range(0, len(fpr), 4))


def to_status(sig: Signature, ctx: RenderContext, *, covers: bool) -> SignatureStatus:
    """A gpg signature judged for this message: From binding, trust and coverage."""
    problems = list(sig.problems)
    valid = sig.verdict == "GOODSIG" and bool(sig.fingerprint) and not sig.problems
    from_addr = _from_address(ctx)
    emails = [e for e in (email_of(u) for u in sig.uids) if e]
    matches: bool | None = None
    if sig.verdict == "GOODSIG":
        matches = bool(from_addr) and from_addr in emails
        if not from_addr:
            problems.append("the message has no single From address to compare the signer with")
        elif not matches:
            problems.append(f"signed by someone else: the signing key has no user ID for {from_addr}")
        if not covers:
            # JF-05: a signed part inside an unsigned message never looks like a signed message
            problems.append("it covers only this part, not the whole message")
        min_trust = str(runtime.setting("pgp.min_trust", "marginal", ctx) or "marginal")
        if TRUST_ORDER.get(sig.trust, 0) < TRUST_ORDER.get(min_trust, 1):
            problems.append(f"the signing key is not verified (trust: {sig.trust or 'unknown'})")
    who = sig.uids[0] if sig.uids else (f"key {sig.keyid}" if sig.keyid else "an unknown key")
    fpr = _fpr(sig.primary or sig.fingerprint) if (sig.primary or sig.fingerprint) else "unknown fingerprint"
    if valid:
        summary = f"Good signature from {who}, fingerprint {fpr}"
    elif sig.verdict == "GOODSIG":
        summary = f"Signature from {who}, fingerprint {fpr}, with problems"
    elif sig.verdict == "BADSIG":
        summary = f"BAD signature claiming key {sig.keyid}"
    else:
        summary = f"Unverified signature ({'; '.join(sig.problems) or 'unknown error'}), key {sig.keyid or '?'}"
    # gpg's "no public key" (ERRSIG rc 9): the signature was not checked at all, so it is
    # neither good nor forged; the key it names is a claim, shown so the user can fetch it.
    missing = (sig.issuer or sig.keyid or "?") if sig.verdict == "ERRSIG" and sig.errsig_rc == "9" else ""
    return SignatureStatus(
        valid=valid,
        fingerprint=sig.primary or sig.fingerprint,
        uids=list(sig.uids),
        trust=sig.trust,
        signer_matches_from=matches,
        covers_whole_message=covers,
        problems=problems,
        summary=summary,
        missing_key=missing,
    )


# --------------------------------------------------------------------------- decrypting


def decrypt(part: EmailMessage, ctx: RenderContext) -> DecryptResult | None:
    if mime.is_pgp_encrypted(part):
        kind = "mime"
    elif mime.inline_kind(part) == "message":
        kind = "inline"
    else:
        return None
    root = is_root(part, ctx)
    if ctx.purpose == "index" and not runtime.setting("pgp.index_encrypted", False, ctx):
        return DecryptResult(ok=False, error="encrypted; not indexed (set pgp.index_encrypted to search encrypted mail)")
    if ctx.purpose == "quote" and not root:
        return DecryptResult(ok=False, error="an encrypted part inside an unencrypted message is not quoted")
    try:
        if kind == "mime":
            data = mime.encrypted_payload(part)
            before = after = ""
        else:
            text = mime.text_of(part)
            m = mime.INLINE_MESSAGE.search(text)
            assert m is not None
            data = m.group(0).encode("ascii", errors="replace")
            before, after = text[: m.start()], text[m.end() :]
        outcome = runtime.gpg().decrypt(data)
    except (ValueError, CryptoError) as exc:
        return DecryptResult(ok=False, error=str(exc))
    if not outcome.ok or outcome.data is None:
        return DecryptResult(ok=False, error=outcome.error)
    protected: dict[str, str] = {}
    if kind == "mime":
        # parse with LF endings (what the renderer expects); RAW keeps the exact bytes
        inner = mime.parse_bytes(outcome.data.replace(b"\r\n", b"\n"))
        _state(ctx).setdefault(RAW, []).append(outcome.data)
        if root:
            carrier = _protected_carrier(inner)
            protected = mime.protected_headers(carrier)
            if protected:
                # the signed layer's bytes are kept in RAW; remember what it was before the
                # legacy part went, so its signature still verifies against exactly that
                _state(ctx).setdefault(CANON, {})[id(carrier)] = mime.canon(carrier)
                mime.strip_legacy_display(carrier)  # type: ignore[arg-type]
    else:
        inner = EmailMessage(policy=email.policy.default)
        inner.set_content(outcome.data.decode("utf-8", errors="replace"))
        if before.strip() or after.strip():
            root = False  # the inline block is only part of what the message shows
            _note(ctx, "warning", "Only the PGP block of this message was encrypted; the text around it was not.")
    if root:
        _mark_root(inner, ctx)
        _state(ctx)[ENCRYPTED_ROOT] = True
    # (a part that is not the root: the renderer says "only part N is encrypted" itself)
    sigs = [to_status(s, ctx, covers=root) for s in outcome.signatures]
    return DecryptResult(ok=True, message=inner, signatures=sigs, protected_headers=protected)


def _protected_carrier(inner: EmailMessage) -> Message:
    """Where protected headers sit: the decrypted entity, or inside a signed layer in it."""
    if mime.is_pgp_signed(inner):
        payload = inner.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
    return inner


# --------------------------------------------------------------------------- verifying


def verify(part: EmailMessage, ctx: RenderContext) -> list[SignatureStatus] | None:
    if mime.is_pgp_signed(part):
        return _verify_mime(part, ctx)
    if mime.inline_kind(part) == "signed":
        return _verify_inline(part, ctx)
    return None


def _verify_mime(part: EmailMessage, ctx: RenderContext) -> list[SignatureStatus]:
    root = is_root(part, ctx)
    try:
        _, signature = mime.signature_parts(part)
        content = part.get_payload()[0] if isinstance(part.get_payload(), list) else None
        expected = _state(ctx).get(CANON, {}).get(id(content))
        candidates = mime.signed_data_candidates(part, _raw_sources(ctx), expected)
        gpg = runtime.gpg()
    except (ValueError, CryptoError) as exc:
        return [SignatureStatus(valid=False, problems=[str(exc)], summary=f"Unverified signature: {exc}")]
    sigs: list[Signature] = []
    for data in candidates:
        got = gpg.verify_detached(data, signature)
        if not sigs:
            sigs = got
        if any(s.verdict == "GOODSIG" for s in got):
            sigs = got
            break
    if not sigs:
        return [SignatureStatus(valid=False, problems=["no signature could be read"], summary="Unverified signature: none could be read")]
    if root:
        # the signed content stands for the message (signed-then-encrypted, or a signed root)
        content = part.get_payload()[0]
        _mark_root(content, ctx)
    return [to_status(s, ctx, covers=root) for s in sigs]


def _undash(block: str) -> str:
    """The text of a cleartext-signed block as a reader sees it (dash-escapes undone)."""
    lines = block.replace("\r\n", "\n").split("\n")
    try:
        start = lines.index("") + 1  # after the armor headers (Hash: ...)
        end = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN PGP SIGNATURE-----"))
    except (ValueError, StopIteration):
        return ""
    body = [line[2:] if line.startswith("- ") else line for line in lines[start:end]]
    return "\n".join(body)


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.replace("\r\n", "\n").rstrip("\n").split("\n")]

    return norm(a) == norm(b)


def _verify_inline(part: EmailMessage, ctx: RenderContext) -> list[SignatureStatus]:
    text = mime.text_of(part)
    m = mime.INLINE_SIGNED.search(text)
    assert m is not None
    before, block, after = text[: m.start()], m.group(0), text[m.end() :]
    try:
        signed, sigs = runtime.gpg().verify_cleartext(block.encode("utf-8"))
    except CryptoError as exc:
        return [SignatureStatus(valid=False, problems=[str(exc)], summary=f"Unverified signature: {exc}")]
    if not sigs:
        return [SignatureStatus(valid=False, problems=["no signature could be read"], summary="Unverified signature")]
    extra: list[str] = []
    covers = is_root(part, ctx)
    if before.strip() or after.strip() or mime.INLINE_SIGNED.search(after):
        extra.append("text outside the signed block is not signed")
        covers = False
    shown = _undash(block)
    if not _same_text(shown, signed.decode("utf-8", errors="replace")):
        # JF-09: only what gpg says it verified counts as signed
        extra.append("the text shown differs from the text that was signed")
    statuses = []
    for s in sigs:
        st = to_status(s, ctx, covers=covers)
        st.problems.extend(extra)
        if extra and "differs" in " ".join(extra):
            st.valid = False
            st.missing_key = ""  # JF-09: what is shown is not what was signed, key or no key
        statuses.append(st)
    if extra:
        _note(ctx, "warning", "Only part of this message's text is signed: " + "; ".join(extra) + ".")
    return statuses


# --------------------------------------------------------------------------- banners


def banners(message: EmailMessage, ctx: RenderContext) -> list[Banner] | None:
    out = [Banner(sev, text, "pgp") for sev, text in _state(ctx).get(NOTES, [])]  # type: ignore[arg-type]
    sender = _from_address(ctx) or email_of(str(message.get("From", "")))
    if sender and "Autocrypt" in message and runtime.setting("pgp.autocrypt", True, ctx):
        try:
            store = runtime.keybook().peers()
            try:
                peer = store.get(sender)
            finally:
                store.close()
        except Exception:  # noqa: BLE001 - a broken state file must not stop rendering
            peer = None
        if peer is not None:
            out.extend(Banner("warning", w, "pgp") for w in peer.warnings())
    return out or None


def email_from_header(value: str) -> str:
    return email_of(value)
