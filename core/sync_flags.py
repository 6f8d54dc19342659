"""Maildir flag letters and IMAP flags: which travel, how they map, and the three-way merge
the sync uses for both flags and keywords. Standard library only (the server-reading side of
sync needs it before anything is planned)."""

from __future__ import annotations

from collections.abc import Iterable

#: Maildir flag letters that travel, and their IMAP system flags / keywords.
LETTER_TO_IMAP: dict[str, str] = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "P": "$Forwarded",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
IMAP_TO_LETTER: dict[str, str] = {v.lower(): k for k, v in LETTER_TO_IMAP.items()}
LETTERS = frozenset(LETTER_TO_IMAP)


def synced_letters(flags: str) -> str:
    """The Maildir flag letters that sync, sorted (lower-case keyword letters and others dropped)."""
    return "".join(sorted(set(flags) & LETTERS))


def from_imap(flags: Iterable[str | bytes]) -> tuple[str, frozenset[str]]:
    """IMAP flags -> (Maildir letters, keywords). ``\\Recent`` and unknown system flags are dropped."""
    letters: set[str] = set()
    keywords: set[str] = set()
    for f in flags:
        s = f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)
        letter = IMAP_TO_LETTER.get(s.lower())
        if letter:
            letters.add(letter)
        elif s and not s.startswith("\\"):
            keywords.add(s)
    return "".join(sorted(letters)), frozenset(keywords)


def to_imap(letters: str, keywords: Iterable[str] = ()) -> list[str]:
    """Maildir letters (+ keywords) -> IMAP flags."""
    return [LETTER_TO_IMAP[c] for c in sorted(set(letters) & LETTERS)] + sorted(keywords)


def merge3(base: str, local: str, remote: str) -> str:
    """Per-letter three-way merge: a letter one side changed takes that side's value."""
    b, lo, r = set(base), set(local), set(remote)
    out = {f for f in b | lo | r if ((f in lo) if (f in lo) != (f in b) else (f in r))}
    return "".join(sorted(out))


def merge3_set(base: frozenset[str], local: frozenset[str], remote: frozenset[str]) -> frozenset[str]:
    return frozenset(f for f in base | local | remote if ((f in local) if (f in local) != (f in base) else (f in remote)))
