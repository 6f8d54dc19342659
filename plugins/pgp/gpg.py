"""A thin, strict wrapper over python-gnupg: decrypt, verify, sign, encrypt, keys.

python-gnupg's aggregate verdicts cannot be trusted for mail (SECURITY.md §2.3, §3.3): it hands
back plaintext when the integrity check failed, and says ``valid=True`` when one of two
signatures is bad. So this module reads gpg's status lines itself, positionally, and decides:

- decryption succeeded only with ``DECRYPTION_OKAY`` plus an integrity check (``GOODMDC`` or
  AEAD), no ``BADMDC``/``DECRYPTION_FAILED``, and exactly one ``PLAINTEXT`` inside the
  ``BEGIN_DECRYPTION``/``END_DECRYPTION`` bracket; otherwise the plaintext is thrown away;
- every signature (started by ``NEWSIG``) is judged on its own, its fingerprint taken from the
  positional ``VALIDSIG`` field, never from user-ID text.

gnupg is imported lazily; ``GNUPGHOME`` is respected (python-gnupg's default is gpg's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: GnuPG older than this leaks status lines through file names (CVE-2018-12020) and does not
#: hard-fail on a missing MDC.
MIN_VERSION = (2, 2, 8)

PassphrasePrompt = Callable[[str], "str | None"]

_EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")
_BARE_EMAIL = re.compile(r"^\s*([^<>\s]+@[^<>\s]+)\s*$")

_VERDICTS = {
    "GOODSIG": "",
    "EXPSIG": "the signature has expired",
    "EXPKEYSIG": "the signing key has expired",
    "REVKEYSIG": "the signing key has been revoked",
    "BADSIG": "bad signature: the signed content was modified",
    "ERRSIG": "the signature could not be checked",
}
_TRUST = {
    "TRUST_UNDEFINED": "undefined",
    "TRUST_NEVER": "never",
    "TRUST_MARGINAL": "marginal",
    "TRUST_FULLY": "full",
    "TRUST_ULTIMATE": "ultimate",
}


class CryptoError(Exception):
    """A gpg operation failed; ``code`` is a short machine-readable cause."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class StatusLine:
    keyword: str
    args: list[str]


def parse_status(stderr: str) -> list[StatusLine]:
    """The ``[GNUPG:]`` lines of gpg's status output, split on spaces (positional fields)."""
    out = []
    for line in (stderr or "").splitlines():
        if line.startswith("[GNUPG:] "):
            parts = line[9:].rstrip("\r\n").split(" ")
            out.append(StatusLine(parts[0], parts[1:]))
    return out


def email_of(uid: str) -> str:
    """The e-mail address in a user ID (``Name <a@b>`` or ``a@b``), lowercased, or ""."""
    m = _EMAIL.search(uid) or _BARE_EMAIL.match(uid)
    return m.group(1).lower() if m else ""


@dataclass
class Signature:
    """One signature as gpg's status lines describe it."""

    verdict: str = ""  # GOODSIG, BADSIG, ERRSIG, EXPSIG, EXPKEYSIG, REVKEYSIG
    keyid: str = ""
    fingerprint: str = ""  # of the signing (sub)key, from VALIDSIG
    primary: str = ""  # of the primary key, from VALIDSIG's last field
    created: str = ""
    trust: str = ""
    problems: list[str] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    errsig_rc: str = ""
    issuer: str = ""  # ERRSIG's issuer fingerprint (gpg >= 2.2.7): a claim, nothing verified

    @property
    def valid(self) -> bool:
        return self.verdict == "GOODSIG" and bool(self.fingerprint) and not self.problems


def signatures_from_status(lines: list[StatusLine]) -> list[Signature]:
    """Split status lines into signatures. ``NEWSIG`` starts one; so does a second verdict."""
    sigs: list[Signature] = []
    cur: Signature | None = None
    for st in lines:
        kw, args = st.keyword, st.args
        if kw == "NEWSIG":
            cur = Signature()
            sigs.append(cur)
        elif kw in _VERDICTS:
            if cur is None or cur.verdict:
                cur = Signature()
                sigs.append(cur)
            cur.verdict = kw
            cur.keyid = args[0] if args else ""
            if kw == "ERRSIG":
                cur.errsig_rc = args[5] if len(args) > 5 else ""
                cur.problems.append(
                    "no public key for this signature" if cur.errsig_rc == "9" else _VERDICTS[kw]
                )
                # ERRSIG's fingerprint field (gpg >= 2.2.7) names the key, but nothing verified.
                cur.issuer = args[6] if len(args) > 6 and args[6] != "-" else ""
            elif _VERDICTS[kw]:
                cur.problems.append(_VERDICTS[kw])
        elif kw == "VALIDSIG" and cur is not None:
            cur.fingerprint = args[0] if args else ""
            cur.created = args[2] if len(args) > 2 else ""
            cur.primary = args[9] if len(args) > 9 else cur.fingerprint
        elif kw in _TRUST and cur is not None:
            cur.trust = _TRUST[kw]
            if kw == "TRUST_NEVER":
                cur.problems.append("the signing key is marked as never to be trusted")
        elif kw in ("KEYEXPIRED", "KEYREVOKED", "SIGEXPIRED") and cur is not None:
            # informational in gpg's own words; EXPKEYSIG/REVKEYSIG carry the verdict
            pass
    return [s for s in sigs if s.verdict or s.fingerprint]


def global_problems(lines: list[StatusLine]) -> list[str]:
    """Problems that concern the whole operation rather than one signature."""
    out = []
    for st in lines:
        if st.keyword == "BADARMOR":
            out.append("the armor is damaged")
        elif st.keyword == "NODATA":
            out.append("no signed data found")
        elif st.keyword == "BADMDC":
            out.append("integrity check failed: the message was modified")
        elif st.keyword == "DECRYPTION_FAILED":
            out.append("decryption failed")
        elif st.keyword == "FAILURE":
            out.append(f"gpg failure ({' '.join(st.args[:1])})")
    return list(dict.fromkeys(out))


@dataclass
class DecryptOutcome:
    """What :meth:`Gpg.decrypt` found. ``data`` is None unless ``ok``."""

    ok: bool
    data: bytes | None
    error: str
    signatures: list[Signature]
    status: list[StatusLine]
    signed_inside: bool = False  # the signatures were inside the encrypted bracket


@dataclass
class Key:
    """A key in the keyring, summarised."""

    fingerprint: str
    uids: list[str]
    trust: str
    expires: str
    created: str
    secret: bool = False
    usable_encrypt: bool = False
    usable_sign: bool = False
    revoked: bool = False
    expired: bool = False


def _integrity_gate(lines: list[StatusLine]) -> str:
    """"" when the decryption is whole and integrity-checked, else the reason it is not."""
    kws = [s.keyword for s in lines]
    if "NO_SECKEY" in kws and "DECRYPTION_OKAY" not in kws:
        return "no secret key to decrypt this message"
    if "BADMDC" in kws:
        return "integrity check failed: the message was modified; nothing of it is shown"
    for st in lines:
        if st.keyword == "DECRYPTION_INFO" and st.args and st.args[0] == "0" and (
            len(st.args) < 3 or st.args[2] == "0"
        ):
            return "the message has no integrity protection (no MDC); nothing of it is shown"
    codes = {int(s.args[1]) & 0xFFFF for s in lines if s.keyword == "ERROR" and len(s.args) > 1 and s.args[1].isdigit()}
    if "DECRYPTION_OKAY" not in kws and codes & {11, 99, 177}:  # bad passphrase, canceled, no pinentry
        return "decryption failed: no passphrase or a wrong one"
    if "DECRYPTION_OKAY" not in kws and "PINENTRY_LAUNCHED" in kws and codes:
        return "decryption failed: gpg-agent could not ask for the passphrase (pinentry failed)"
    if "DECRYPTION_FAILED" in kws or "DECRYPTION_OKAY" not in kws:
        if {"NEED_PASSPHRASE", "MISSING_PASSPHRASE", "BAD_PASSPHRASE"} & set(kws):
            return "decryption failed: no passphrase or a wrong one"
        return "decryption failed"
    errors = [" ".join(s.args[:2]) for s in lines if s.keyword == "ERROR"]
    if errors:
        # e.g. "proc_pkt.plaintext 89_BAD_DATA": a second literal packet (JF-08)
        return f"the message is malformed ({errors[0]}); nothing of it is shown"
    aead = any(
        s.keyword == "DECRYPTION_INFO" and len(s.args) > 2 and s.args[2] != "0" for s in lines
    )
    if "GOODMDC" not in kws and not aead:
        return "the message has no integrity protection (no MDC); nothing of it is shown"
    if kws.count("BEGIN_DECRYPTION") != 1 or kws.count("END_DECRYPTION") != 1:
        return "the message has an unexpected structure (several encrypted parts)"
    begin, end = kws.index("BEGIN_DECRYPTION"), kws.index("END_DECRYPTION")
    plaintexts = [i for i, k in enumerate(kws) if k == "PLAINTEXT"]
    if len(plaintexts) != 1 or not begin < plaintexts[0] < end:
        # JF-08: an empty encrypted packet next to a cleartext literal packet
        return "the message mixes encrypted and unencrypted data; nothing of it is shown"
    return ""


class Gpg:
    """The user's GnuPG through python-gnupg. One per application; cheap to create."""

    def __init__(
        self,
        gnupghome: str | os.PathLike[str] | None = None,
        *,
        passphrase_prompt: PassphrasePrompt | None = None,
        gpgbinary: str = "gpg",
    ) -> None:
        import gnupg  # lazily: gpg is a subprocess, python-gnupg an import cost

        home = gnupghome or os.environ.get("GNUPGHOME") or None
        try:
            self._gpg = gnupg.GPG(gnupghome=str(home) if home else None, gpgbinary=gpgbinary)
        except (OSError, ValueError) as exc:
            raise CryptoError("no-gpg", f"cannot run gpg: {exc}") from None
        self._gpg.encoding = "utf-8"
        version = tuple(self._gpg.version or ())
        if not version or version < MIN_VERSION:
            raise CryptoError(
                "old-gpg",
                f"GnuPG {'.'.join(map(str, version)) or '(unknown version)'} is too old; pigeon needs "
                f"{'.'.join(map(str, MIN_VERSION))} or later",
            )
        self.home = home
        self.passphrase_prompt = passphrase_prompt

    @property
    def version(self) -> tuple[int, ...]:
        return tuple(self._gpg.version or ())

    # ------------------------------------------------------------------ passphrases

    def _with_passphrase(self, run: Callable[[dict[str, Any]], Any], hint: str) -> Any:
        """Run once through gpg-agent; if a passphrase is missing and the client can ask
        (loopback pinentry), ask once and run again. The passphrase is never kept."""
        if self.passphrase_prompt is None:
            return run({})
        result = run({"extra_args": ["--pinentry-mode", "loopback"]})
        kws = {s.keyword for s in parse_status(getattr(result, "stderr", ""))}
        if not kws & {"MISSING_PASSPHRASE", "BAD_PASSPHRASE", "NEED_PASSPHRASE", "NEED_PASSPHRASE_SYM"}:
            return result
        if "DECRYPTION_OKAY" in kws or "SIG_CREATED" in kws:
            return result
        for st in parse_status(getattr(result, "stderr", "")):
            if st.keyword == "USERID_HINT" and len(st.args) > 1:
                who = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", " ".join(st.args[1:]))[:200]
                hint = f"{hint} (key of {who})"
                break
        passphrase = self.passphrase_prompt(hint)
        if not passphrase:
            return result
        try:
            return run({"passphrase": passphrase})
        finally:
            del passphrase

    # ------------------------------------------------------------------ reading

    def decrypt(self, data: bytes) -> DecryptOutcome:
        """Decrypt an OpenPGP message; plaintext only when the integrity gate passes."""
        result = self._with_passphrase(lambda kw: self._gpg.decrypt(data, **kw), "decrypt")
        lines = parse_status(result.stderr)
        reason = _integrity_gate(lines)
        if not reason and not result.ok:
            reason = result.status or "decryption failed"
        if reason:
            # SECURITY.md §2.3: python-gnupg returns the plaintext even when the MDC failed.
            result.data = b""
            return DecryptOutcome(False, None, reason, [], lines)
        kws = [s.keyword for s in lines]
        end = kws.index("END_DECRYPTION")
        inside = all(i < end for i, k in enumerate(kws) if k in _VERDICTS or k == "NEWSIG")
        sigs = self._judge(lines)
        if not inside:
            for s in sigs:
                s.problems.append("the signature is outside the encrypted data")
        return DecryptOutcome(True, bytes(result.data), "", sigs, lines, signed_inside=inside)

    def verify_detached(self, data: bytes, signature: bytes) -> list[Signature]:
        """Verify a detached signature over ``data`` (RFC 3156 multipart/signed)."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="pigeon-pgp-") as tmp:
            sig_path = Path(tmp) / "sig.asc"
            sig_path.write_bytes(signature)
            result = self._gpg.verify_data(str(sig_path), data)
        return self._judge(parse_status(result.stderr))

    def verify_cleartext(self, block: bytes) -> tuple[bytes, list[Signature]]:
        """Verify a clearsigned block; return the text gpg says it verified, and signatures.

        Only gpg's own output counts as signed text (SECURITY.md JF-09).
        """
        result = self._gpg.decrypt(block)
        lines = parse_status(result.stderr)
        if any(s.keyword == "BEGIN_DECRYPTION" for s in lines):
            return b"", []  # not a cleartext signature
        sigs = self._judge(lines)
        return (bytes(result.data) if sigs else b""), sigs

    def _judge(self, lines: list[StatusLine]) -> list[Signature]:
        sigs = self._with_uids(signatures_from_status(lines))
        problems = global_problems(lines)
        for s in sigs:
            s.problems.extend(p for p in problems if p not in s.problems)
        if len(sigs) > 1:
            for s in sigs:
                s.problems.append(f"one of {len(sigs)} signatures")
        return sigs

    def _with_uids(self, sigs: list[Signature]) -> list[Signature]:
        for s in sigs:
            if s.primary:
                key = self.key(s.primary)
                if key is not None:
                    s.uids = list(key.uids)
        return sigs

    # ------------------------------------------------------------------ keys

    def keys(self, pattern: str | None = None, *, secret: bool = False) -> list[Key]:
        """Keys whose user ID or fingerprint matches ``pattern`` (all when None)."""
        try:
            listing = self._gpg.list_keys(secret=secret, keys=pattern)
        except (OSError, ValueError):
            return []
        out = []
        for k in listing:
            caps = k.get("cap", "") or ""
            validity = k.get("trust", "")
            out.append(
                Key(
                    fingerprint=k.get("fingerprint", ""),
                    uids=list(k.get("uids", [])),
                    trust={
                        "u": "ultimate", "f": "full", "m": "marginal", "n": "never",
                        "q": "undefined", "-": "unknown", "e": "expired", "r": "revoked",
                    }.get(validity, validity),
                    expires=k.get("expires", "") or "",
                    created=k.get("date", "") or "",
                    secret=secret,
                    usable_encrypt="E" in caps,
                    usable_sign="S" in caps,
                    revoked=validity == "r",
                    expired=validity == "e",
                )
            )
        return out

    def key(self, fingerprint: str) -> Key | None:
        found = [k for k in self.keys(fingerprint) if k.fingerprint.upper() == fingerprint.upper()]
        return found[0] if found else None

    def keys_for_address(self, address: str, *, secret: bool = False) -> list[Key]:
        """Keys with a user ID whose e-mail is exactly ``address`` (not a substring match)."""
        address = address.strip().lower()
        if not address:
            return []
        return [
            k for k in self.keys(f"<{address}>", secret=secret)
            if any(email_of(u) == address for u in k.uids)
        ]

    def import_keys(self, data: bytes | str) -> list[str]:
        """Import keys; returns the fingerprints gpg reports."""
        result = self._gpg.import_keys(data)
        return [f for f in (result.fingerprints or []) if f]

    def export_public(self, fingerprint: str, *, minimal: bool = True, armor: bool = True) -> bytes:
        out = self._gpg.export_keys(fingerprint, armor=armor, minimal=minimal)
        return out.encode() if isinstance(out, str) else bytes(out)

    # ------------------------------------------------------------------ writing

    def sign_detached(self, data: bytes, signer: str) -> tuple[bytes, str]:
        """A detached armored signature by ``signer``; returns (signature, hash algorithm)."""
        result = self._with_passphrase(
            lambda kw: self._gpg.sign(
                data, keyid=signer, detach=True, clearsign=False, binary=False, **kw
            ),
            f"sign as {signer}",
        )
        if not result.data or getattr(result, "status", "") != "signature created":
            raise CryptoError("sign-failed", f"gpg could not sign as {signer}: {result.status or 'failed'}")
        hash_algo = _HASHES.get(str(getattr(result, "hash_algo", "")), "pgp-sha256")
        return bytes(result.data), hash_algo

    def encrypt(self, data: bytes, recipients: list[str], *, sign: str | None = None, hidden: list[str] = ()) -> bytes:
        """Encrypt (and optionally sign inside) to every fingerprint in ``recipients``, and to
        ``hidden`` ones without naming their key IDs in the message (Bcc)."""
        kwargs: dict[str, Any] = {"armor": True, "always_trust": True}
        if hidden:
            kwargs["hidden_recipients"] = list(hidden)
        if sign:
            kwargs["sign"] = sign
        result = self._with_passphrase(
            lambda kw: self._gpg.encrypt(data, recipients, **kwargs, **kw), "sign and encrypt"
        )
        if not result.ok or not result.data:
            raise CryptoError("encrypt-failed", f"gpg could not encrypt: {result.status or 'failed'}")
        return bytes(result.data)


_HASHES = {"2": "pgp-sha1", "8": "pgp-sha256", "9": "pgp-sha384", "10": "pgp-sha512", "11": "pgp-sha224"}
