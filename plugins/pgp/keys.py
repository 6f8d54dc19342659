"""Which key pigeon uses for an address, and why: the keyring first, then Autocrypt state."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from pigeon.hooks.types import KeyInfo
from pigeon.plugins.pgp.autocrypt import PeerStore
from pigeon.plugins.pgp.gpg import CryptoError, Gpg, Key, email_of


def _date(ts: str) -> str:
    if not ts:
        return ""
    try:
        return _dt.datetime.fromtimestamp(int(ts), _dt.UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return ts


def _why_not(key: Key, *, for_signing: bool = False) -> str:
    if key.revoked:
        return "revoked"
    if key.expired:
        return f"expired on {_date(key.expires)}"
    if for_signing and not key.usable_sign:
        return "cannot sign"
    if not for_signing and not key.usable_encrypt:
        return "no usable encryption subkey"
    return ""


class KeyBook:
    """Answers "which key for this address?" from the keyring and the Autocrypt peer store."""

    def __init__(self, gpg: Gpg, store_path: Path) -> None:
        self.gpg = gpg
        self.store_path = store_path

    def peers(self) -> PeerStore:
        return PeerStore(self.store_path)

    def fingerprint_of(self, keydata: bytes) -> str:
        try:
            scanned = self.gpg._gpg.scan_keys_mem(keydata)
        except Exception:  # noqa: BLE001 - hostile keydata
            return ""
        fprs = [k.get("fingerprint", "") for k in scanned]
        return fprs[0] if len(fprs) == 1 else ""

    def is_verified(self, fingerprint: str) -> bool:
        key = self.gpg.key(fingerprint) if fingerprint else None
        return bool(key and key.trust in ("full", "ultimate"))

    # ------------------------------------------------------------------ lookups

    def lookup(self, address: str) -> list[KeyInfo]:
        """Every key known for ``address``; the one pigeon would use has ``chosen=True``."""
        address = address.strip().lower()
        out: list[KeyInfo] = []
        secret_fprs = {k.fingerprint for k in self.gpg.keys_for_address(address, secret=True)}
        keys = sorted(self.gpg.keys_for_address(address), key=lambda k: k.created, reverse=True)
        for key in keys:
            why = _why_not(key)
            out.append(
                KeyInfo(
                    address=address,
                    fingerprint=key.fingerprint,
                    uids=key.uids,
                    source="keyring",
                    usable=not why,
                    secret=key.fingerprint in secret_fprs,
                    trust=key.trust,
                    expires=_date(key.expires),
                    reason=why or f"in your keyring with a user ID for {address} (trust: {key.trust})",
                )
            )
        store = self.peers()
        try:
            peer = store.get(address)
        finally:
            store.close()
        if peer is not None and peer.fingerprint:
            known = next((i for i in out if i.fingerprint == peer.fingerprint), None)
            if known is not None:
                known.warnings.extend(peer.warnings())
                known.reason += "; also seen in Autocrypt headers"
            else:
                out.append(
                    KeyInfo(
                        address=address,
                        fingerprint=peer.fingerprint,
                        source="autocrypt",
                        usable=True,
                        reason=f"learnt from an Autocrypt header (prefer-encrypt={peer.prefer_encrypt})",
                        warnings=peer.warnings(),
                    )
                )
            if peer.pending_fingerprint:
                out.append(
                    KeyInfo(
                        address=address,
                        fingerprint=peer.pending_fingerprint,
                        source="autocrypt",
                        usable=False,
                        reason="offered in an Autocrypt header; not used until you accept the key change",
                        warnings=peer.warnings(),
                    )
                )
        usable = [i for i in out if i.usable]
        if usable:
            # a verified keyring key beats a newer unverified one
            best = max(usable, key=lambda i: (i.source == "keyring", i.trust in ("full", "ultimate")))
            best.chosen = True
            best.reason = "used: " + best.reason
        return out

    def all_keys(self) -> list[KeyInfo]:
        secret = {k.fingerprint for k in self.gpg.keys(secret=True)}
        out = []
        for key in self.gpg.keys():
            emails = [e for e in (email_of(u) for u in key.uids) if e]
            why = _why_not(key)
            out.append(
                KeyInfo(
                    address=emails[0] if emails else "",
                    fingerprint=key.fingerprint,
                    uids=key.uids,
                    source="keyring",
                    usable=not why,
                    secret=key.fingerprint in secret,
                    trust=key.trust,
                    expires=_date(key.expires),
                    reason=why or f"in your keyring (trust: {key.trust})",
                )
            )
        return out

    def encryption_key(self, address: str) -> str:
        """The fingerprint to encrypt to; raises ``CryptoError`` when there is none usable."""
        infos = self.lookup(address)
        chosen = next((i for i in infos if i.chosen), None)
        if chosen is None:
            reasons = "; ".join(f"{i.fingerprint}: {i.reason}" for i in infos) or "no key known"
            raise CryptoError("missing-key", f"no usable key for {address} ({reasons})")
        if chosen.source == "autocrypt":
            self._import_autocrypt(address, chosen.fingerprint)
        return chosen.fingerprint

    def has_usable_key(self, address: str) -> bool:
        return any(i.chosen for i in self.lookup(address))

    def _import_autocrypt(self, address: str, fingerprint: str) -> None:
        store = self.peers()
        try:
            peer = store.get(address)
        finally:
            store.close()
        if peer is None or peer.fingerprint != fingerprint or not peer.keydata:
            raise CryptoError("missing-key", f"no usable key for {address}")
        self.gpg.import_keys(peer.keydata)

    def signing_key(self, address: str, configured: str = "") -> str:
        """The user's own key for ``address`` (or the configured one); raises when none is usable."""
        if configured:
            key = self.gpg.key(configured) or next(iter(self.gpg.keys(configured)), None)
            secret = {k.fingerprint for k in self.gpg.keys(configured, secret=True)}
            if key is None or key.fingerprint not in secret:
                raise CryptoError("missing-key", f"the configured key {configured} has no secret key in your keyring")
            why = _why_not(key, for_signing=True)
            if why:
                raise CryptoError("expired-key", f"your key {key.fingerprint} is {why}")
            return key.fingerprint
        secret = {k.fingerprint for k in self.gpg.keys_for_address(address, secret=True)}
        candidates = [k for k in self.gpg.keys_for_address(address) if k.fingerprint in secret]
        usable = [k for k in candidates if not _why_not(k, for_signing=True)]
        if not usable:
            if candidates:
                raise CryptoError(
                    "expired-key",
                    f"your key for {address} is {_why_not(candidates[0], for_signing=True)}: renew it or set pgp.key",
                )
            raise CryptoError("missing-key", f"no secret key for {address} in your keyring")
        return max(usable, key=lambda k: k.created).fingerprint
