"""Named commands of the PGP plugin (M-x, ``pigeon shell``): accept or refuse key changes."""

from __future__ import annotations

from typing import Any

from pigeon.plugins.pgp import runtime


def pgp_accept_key_change(ctx: Any, address: str = "") -> None:
    """Use the new key offered for ADDRESS in an Autocrypt header, after checking it with them."""
    address = address or ctx.ask("Accept the new key of: ", kind="address")
    store = runtime.keybook().peers()
    try:
        peer = store.get(address)
        if peer is None or not peer.pending_fingerprint:
            ctx.print(f"no key change is waiting for {address}")
            return
        new = peer.pending_fingerprint
        store.accept_pending(address)
    finally:
        store.close()
    ctx.print(f"{address}: now using key {new}")


def pgp_mark_key_verified(ctx: Any, address: str = "") -> None:
    """Mark the key pigeon uses for ADDRESS as verified: a header can then never replace it."""
    address = address or ctx.ask("Mark as verified the key of: ", kind="address")
    store = runtime.keybook().peers()
    try:
        peer = store.get(address)
        if peer is None or not peer.fingerprint:
            ctx.print(f"no Autocrypt key is known for {address}")
            return
        store.set_verified(address)
    finally:
        store.close()
    ctx.print(f"{address}: key {peer.fingerprint} marked as verified")
