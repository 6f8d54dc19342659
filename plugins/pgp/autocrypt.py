"""Autocrypt Level 1: the header on outgoing mail, and peer state learnt from incoming headers.

Peer state lives in a small SQLite file under pigeon's state directory. A key change is always
recorded and shown; a key the user verified (or that the keyring trusts fully) is never replaced
by a header: the new key waits as "pending" until the user accepts it, the way an SSH host-key
change waits.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import time
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS peers (
    addr TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL DEFAULT 0,
    autocrypt_timestamp INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    keydata BLOB,
    prefer_encrypt TEXT NOT NULL DEFAULT 'nopreference',
    verified INTEGER NOT NULL DEFAULT 0,
    previous_fingerprint TEXT NOT NULL DEFAULT '',
    changed_at INTEGER NOT NULL DEFAULT 0,
    pending_fingerprint TEXT NOT NULL DEFAULT '',
    pending_keydata BLOB
);
"""


@dataclass
class Header:
    addr: str
    keydata: bytes
    prefer_encrypt: str = "nopreference"


@dataclass
class Peer:
    addr: str
    last_seen: int
    autocrypt_timestamp: int
    fingerprint: str
    keydata: bytes | None
    prefer_encrypt: str
    verified: bool
    previous_fingerprint: str
    changed_at: int
    pending_fingerprint: str
    pending_keydata: bytes | None

    def warnings(self) -> list[str]:
        out = []
        if self.pending_fingerprint:
            out.append(
                f"a new key {self.pending_fingerprint} was offered for {self.addr}; the verified key "
                f"{self.fingerprint} is kept until you accept the change"
            )
        elif self.previous_fingerprint and self.previous_fingerprint != self.fingerprint:
            out.append(
                f"the key of {self.addr} changed from {self.previous_fingerprint} to {self.fingerprint}"
            )
        return out


def parse_header(value: str) -> Header | None:
    """An ``Autocrypt`` header value, or None if it is not valid Level 1."""
    attrs: dict[str, str] = {}
    for item in "".join(str(value).split("\n")).split(";"):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            return None
        name, _, val = item.partition("=")
        name = name.strip().lower()
        if name in attrs:
            return None
        attrs[name] = val.strip()
    for name in attrs:
        if name not in ("addr", "keydata", "prefer-encrypt") and not name.startswith("_"):
            return None  # a critical attribute we do not know: ignore the header (spec §2.1)
    if "addr" not in attrs or "keydata" not in attrs:
        return None
    try:
        keydata = base64.b64decode("".join(attrs["keydata"].split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    prefer = attrs.get("prefer-encrypt", "nopreference").lower()
    if prefer != "mutual":
        prefer = "nopreference"
    return Header(attrs["addr"].strip().lower(), keydata, prefer)


def format_header(addr: str, keydata: bytes, prefer_encrypt: bool = False) -> str:
    """The value of an outgoing ``Autocrypt`` header (folded by the generator)."""
    b64 = base64.b64encode(keydata).decode("ascii")
    parts = [f"addr={addr}"]
    if prefer_encrypt:
        parts.append("prefer-encrypt=mutual")
    parts.append("keydata=" + " ".join(b64[i : i + 72] for i in range(0, len(b64), 72)))
    return "; ".join(parts)


def sender_of(message: Message) -> str:
    froms = message.get_all("From") or []
    if len(froms) != 1:
        return ""
    pairs = getaddresses([str(froms[0])])
    if len(pairs) != 1:
        return ""
    return pairs[0][1].strip().lower()


def effective_date(message: Message, now: float | None = None) -> int:
    now = time.time() if now is None else now
    try:
        ts = int(parsedate_to_datetime(str(message.get("Date", ""))).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        ts = int(now)
    return min(ts, int(now))  # a date in the future must not win over later mail


class PeerStore:
    """Autocrypt peer state in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.db = sqlite3.connect(str(path))
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get(self, addr: str) -> Peer | None:
        row = self.db.execute(
            "SELECT addr, last_seen, autocrypt_timestamp, fingerprint, keydata, prefer_encrypt, verified,"
            " previous_fingerprint, changed_at, pending_fingerprint, pending_keydata FROM peers WHERE addr = ?",
            (addr.lower(),),
        ).fetchone()
        if row is None:
            return None
        return Peer(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], row[9], row[10])

    def all(self) -> list[Peer]:
        return [p for a, in self.db.execute("SELECT addr FROM peers ORDER BY addr") if (p := self.get(a))]

    def process(self, message: Message, fingerprint_of, is_verified, now: float | None = None) -> Peer | None:
        """Update peer state from an incoming message (Autocrypt Level 1 §2.3, simplified).

        :param fingerprint_of: keydata -> primary fingerprint (or "" if unusable).
        :param is_verified: fingerprint -> True when the user verified that key.
        """
        addr = sender_of(message)
        if not addr:
            return None
        date = effective_date(message, now)
        headers = message.get_all("Autocrypt") or []
        parsed = [h for h in (parse_header(v) for v in headers) if h is not None and h.addr == addr]
        header = parsed[0] if len(parsed) == 1 else None
        peer = self.get(addr)
        with self.db:
            if peer is None:
                self.db.execute("INSERT INTO peers (addr) VALUES (?)", (addr,))
                peer = self.get(addr)
            assert peer is not None
            if date > peer.last_seen:
                self.db.execute("UPDATE peers SET last_seen = ? WHERE addr = ?", (date, addr))
            if header is None or date <= peer.autocrypt_timestamp:
                return self.get(addr)
            fpr = fingerprint_of(header.keydata)
            if not fpr:
                return self.get(addr)
            if peer.fingerprint and fpr != peer.fingerprint:
                if peer.verified or is_verified(peer.fingerprint):
                    self.db.execute(
                        "UPDATE peers SET pending_fingerprint = ?, pending_keydata = ?, changed_at = ?,"
                        " autocrypt_timestamp = ? WHERE addr = ?",
                        (fpr, header.keydata, date, date, addr),
                    )
                    return self.get(addr)
                self.db.execute(
                    "UPDATE peers SET previous_fingerprint = fingerprint, changed_at = ? WHERE addr = ?",
                    (date, addr),
                )
            self.db.execute(
                "UPDATE peers SET fingerprint = ?, keydata = ?, prefer_encrypt = ?, autocrypt_timestamp = ?"
                " WHERE addr = ?",
                (fpr, header.keydata, header.prefer_encrypt, date, addr),
            )
        return self.get(addr)

    def set_verified(self, addr: str, verified: bool = True) -> None:
        with self.db:
            self.db.execute("UPDATE peers SET verified = ? WHERE addr = ?", (int(verified), addr.lower()))

    def accept_pending(self, addr: str) -> bool:
        """The user accepted an offered key change."""
        peer = self.get(addr)
        if peer is None or not peer.pending_fingerprint:
            return False
        with self.db:
            self.db.execute(
                "UPDATE peers SET previous_fingerprint = fingerprint, fingerprint = pending_fingerprint,"
                " keydata = pending_keydata, pending_fingerprint = '', pending_keydata = NULL, verified = 0"
                " WHERE addr = ?",
                (addr.lower(),),
            )
        return True
