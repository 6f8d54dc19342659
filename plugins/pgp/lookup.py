"""``pigeon_lookup_keys``: the keyring, Autocrypt state and, on request, WKD."""

from __future__ import annotations

from pigeon.hooks.types import KeyInfo
from pigeon.plugins.pgp import runtime, wkd
from pigeon.plugins.pgp.gpg import CryptoError, email_of


def lookup(addresses: list[str], network: bool) -> list[KeyInfo]:
    book = runtime.keybook()
    if not addresses:
        return book.all_keys()
    out: list[KeyInfo] = []
    for address in addresses:
        address = address.strip().lower()
        if network:
            out.extend(_wkd(book, address))
        infos = book.lookup(address)
        if not infos:
            infos = [KeyInfo(address=address, fingerprint="", reason="no key known for this address")]
        out.extend(infos)
    return out


def _wkd(book, address: str) -> list[KeyInfo]:  # noqa: ANN001 - KeyBook
    cafile = str(runtime.setting("pgp.wkd_cafile", "") or "") or None
    port = int(runtime.setting("pgp.wkd_port", 0) or 0) or None
    try:
        data = wkd.fetch(address, cafile=cafile, port=port)
    except ValueError as exc:
        return [KeyInfo(address=address, fingerprint="", source="wkd", reason=str(exc))]
    if not data:
        return [KeyInfo(address=address, fingerprint="", source="wkd", reason="WKD: no key published")]
    try:
        scanned = book.gpg._gpg.scan_keys_mem(data)
    except Exception:  # noqa: BLE001
        scanned = []
    good = [k for k in scanned if any(email_of(u) == address for u in k.get("uids", []))]
    if len(good) != 1:
        return [KeyInfo(address=address, fingerprint="", source="wkd", reason="WKD: the published key has no user ID for this address")]
    try:
        book.gpg.import_keys(data)
    except CryptoError as exc:
        return [KeyInfo(address=address, fingerprint="", source="wkd", reason=f"WKD: {exc}")]
    return [
        KeyInfo(
            address=address,
            fingerprint=good[0].get("fingerprint", ""),
            uids=list(good[0].get("uids", [])),
            source="wkd",
            reason="fetched from the Web Key Directory and imported into your keyring",
        )
    ]
