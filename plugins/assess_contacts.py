"""Who the user knows: addresses written to (Sent, on send) and senders seen, in a small SQLite.

The assessment asks it whether a sender is new, and whether a display name belongs to a known
contact who writes from another address. It lives in the state directory (``senders.sqlite``).
"""

from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (
    addr TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    sent INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    first_seen REAL NOT NULL,
    first_msgid TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS addresses_name ON addresses(name);
CREATE TABLE IF NOT EXISTS scanned (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _clean(text: str) -> str:
    """Undecodable bytes (surrogates) become U+FFFD so SQLite can store the text."""
    return text.encode("utf-8", "replace").decode("utf-8")


def norm_addr(addr: str) -> str:
    return _clean(addr).strip().strip("<>").lower()


def norm_name(name: str) -> str:
    """A display name compared loosely: case, accents, quotes, commas and spacing ignored.

    ``"Doe, Jane"`` and ``Jane Doe`` are the same name.
    """
    name = unicodedata.normalize("NFKC", _clean(name)).casefold()
    name = re.sub(r"[\"'`()\[\]<>]", " ", name)
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    return " ".join(name.split())


def domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


class Contacts:
    """The address book the assessment learns; one SQLite file, opened per use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(str(path), timeout=10)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Contacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ learning

    def _upsert(self, addr: str, name: str, column: str, msgid: str = "") -> None:
        addr = norm_addr(addr)
        if "@" not in addr:
            return
        nname = norm_name(name) if "@" not in name else ""
        self.db.execute(
            f"INSERT INTO addresses(addr, name, {column}, first_seen, first_msgid) VALUES (?, ?, 1, ?, ?) "
            f"ON CONFLICT(addr) DO UPDATE SET {column} = {column} + 1, "
            "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END",
            (addr, nname, time.time(), _clean(msgid)),
        )

    def add_sent(self, recipients: Iterable[tuple[str, str]]) -> None:
        """The user wrote to these (name, address) pairs."""
        with self.db:
            for name, addr in recipients:
                self._upsert(addr, name, "sent")

    def add_received(self, name: str, addr: str, msgid: str = "") -> None:
        """A message from this sender was seen."""
        with self.db:
            self._upsert(addr, name, "received", msgid)

    def mark_scanned(self, paths: Iterable[str]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO scanned(path) VALUES (?)", [(p,) for p in paths])

    def scanned(self, path: str) -> bool:
        return self.db.execute("SELECT 1 FROM scanned WHERE path = ?", (path,)).fetchone() is not None

    def meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ questions

    def lookup(self, addr: str) -> tuple[int, int, str] | None:
        """(sent, received, first message-id) for an address, or None if never seen."""
        row = self.db.execute(
            "SELECT sent, received, first_msgid FROM addresses WHERE addr = ?", (norm_addr(addr),)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def is_new_sender(self, addr: str, msgid: str = "") -> bool:
        """True when nobody wrote to or from this address before this message."""
        row = self.lookup(addr)
        if row is None:
            return True
        sent, received, first = row
        return sent == 0 and received <= 1 and bool(msgid) and first == _clean(msgid)

    def domain_known(self, domain: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM addresses WHERE addr LIKE ? ESCAPE '\\' LIMIT 1",
            ("%@" + _clean(domain).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),),
        ).fetchone()
        return row is not None

    def addresses_named(self, name: str) -> list[tuple[str, int, int]]:
        """Known (address, sent, received) under a display name."""
        nname = norm_name(name)
        if not nname:
            return []
        return list(self.db.execute("SELECT addr, sent, received FROM addresses WHERE name = ?", (nname,)))

    def correspondent_domains(self) -> set[str]:
        """Domains of the addresses the user has written to."""
        rows = self.db.execute("SELECT DISTINCT substr(addr, instr(addr, '@') + 1) FROM addresses WHERE sent > 0")
        return {r[0] for r in rows if r[0]}

    def empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM addresses LIMIT 1").fetchone() is None


def recipients_of(msg: EmailMessage) -> list[tuple[str, str]]:
    """(name, address) of every To, Cc and Bcc recipient; never raises."""
    out: list[tuple[str, str]] = []
    for header in ("To", "Cc", "Bcc"):
        try:
            values = msg.get_all(header) or []
        except Exception:
            continue
        for value in values:
            try:
                out.extend((a.display_name, a.addr_spec) for a in value.addresses)
            except Exception:
                continue
    return out


def learn_sent_folder(contacts: Contacts, folder: Path, limit: int = 20000) -> int:
    """Record the recipients of every not yet scanned message in a Maildir folder."""
    from email import policy
    from email.parser import BytesHeaderParser

    parser = BytesHeaderParser(policy=policy.default)
    count = 0
    new: list[str] = []
    for sub in ("cur", "new"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir())[:limit]:
            key = path.name.split(":2,", 1)[0]
            if contacts.scanned(key):
                continue
            try:
                with open(path, "rb") as fh:
                    msg = parser.parse(fh)
            except OSError:
                continue
            contacts.add_sent(recipients_of(msg))  # type: ignore[arg-type]
            new.append(key)
            count += 1
    contacts.mark_scanned(new)
    return count
