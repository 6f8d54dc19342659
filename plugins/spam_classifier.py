"""A statistical spam classifier in the SpamBayes / bogofilter tradition.

Tokens come from the headers (prefixed by where they were found), the body text (HTML parts
reduced to their visible text) and the links. Each token's spam probability follows Gary
Robinson's smoothed estimate; the most telling tokens are combined with Fisher's chi-square
method (as SpamBayes does), giving a score in [0, 1] with an honest "unsure" middle.
Token counts live in SQLite (``spam.sqlite`` in the state directory).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

# hashlib, sqlite3 and the email package are imported where used: the spam plugin reads the
# cutoffs below while every command starts, and those imports cost ~4 ms together.
if TYPE_CHECKING:
    from email.message import EmailMessage

# SpamBayes' defaults, which its authors tuned on large corpora.
UNKNOWN_WORD_PROB = 0.5  # x: what a never-seen token says
UNKNOWN_WORD_STRENGTH = 0.45  # s: how strongly x pulls rarely-seen tokens
MINIMUM_PROB_STRENGTH = 0.1  # ignore tokens closer than this to 0.5
MAX_DISCRIMINATORS = 150
# Default verdict bands: spam at or above SPAM_CUTOFF, ham at or below HAM_CUTOFF, unsure between.
SPAM_CUTOFF = 0.95
HAM_CUTOFF = 0.10

_WORD = re.compile(r"[^\s]+")
_GLUE = re.compile(r"[^\w]+|_")
_PUNCT = "\"'.,;:!?()[]{}<>*_=`~|\\/-+"
_URL = re.compile(r"(?:https?|ftp)://([^\s/?#<>\"']+)([^\s<>\"']*)", re.I)
_EMAIL = re.compile(r"([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)")
_IP = re.compile(r"\[?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\]?")
_HOST = re.compile(r"\b(?:from|by)\s+([\w-]+(?:\.[\w-]+)+)", re.I)


# --------------------------------------------------------------------------- tokenizer


def _words(text: str, prefix: str = "") -> Iterable[str]:
    for raw in _WORD.findall(text):
        word = raw.strip(_PUNCT).lower()
        n = len(word)
        if n < 3:
            continue
        if n > 12:
            # Long "words" are mostly encodings, addresses and glued phrases: keep a coarse
            # trace of them and the pieces they are glued from.
            yield f"{prefix}skip:{word[0]} {n // 10 * 10}"
            if n <= 80:
                for piece in _GLUE.split(word):
                    if 2 < len(piece) <= 12:
                        yield f"{prefix}{piece}"
            continue
        yield prefix + word


def _url_tokens(text: str) -> Iterable[str]:
    for m in _URL.finditer(text):
        host = m.group(1).lower().rsplit("@", 1)[-1].split(":", 1)[0]
        yield "proto:" + m.group(0).split(":", 1)[0].lower()
        labels = host.split(".")
        for i in range(len(labels) - 1):
            yield "url:" + ".".join(labels[i:])
        if _IP.fullmatch(host):
            yield "url:ip-literal"
        for piece in re.split(r"[/?#=&.%_-]+", m.group(2).lower()):
            if 2 < len(piece) < 20:
                yield "urlpath:" + piece


def _address_tokens(name: str, value: str) -> Iterable[str]:
    for m in _EMAIL.finditer(value):
        yield f"{name}:addr:{m.group(0).lower()}"
        yield f"{name}:dom:{m.group(2).lower()}"
    display = _EMAIL.sub(" ", value)
    yield from _words(display, f"{name}:name:")
    if not _EMAIL.search(value):
        yield f"{name}:no-address"


def _header_value(msg: EmailMessage, name: str) -> list[str]:
    try:
        return [str(v) for v in (msg.get_all(name) or [])]
    except Exception:
        return []


def _part_text(part: EmailMessage) -> str:
    from pigeon.core.mime import part_text  # the core's charset aliases and fallbacks

    return part_text(part)


def tokenize(msg: EmailMessage) -> set[str]:
    """The distinct tokens of a message (each counts once, as in SpamBayes)."""
    from pigeon.plugins.assess_links import parse_html

    tokens: set[str] = set()
    add = tokens.add
    names: dict[str, int] = {}
    try:
        items = list(msg.raw_items())
    except Exception:
        items = []
    for key, _ in items:
        names[key.lower()] = names.get(key.lower(), 0) + 1
    for key, count in names.items():
        add(f"header:{key}:{min(count, 3)}")
    for value in _header_value(msg, "subject"):
        tokens.update(_words(value, "subject:"))
        letters = [c for c in value if c.isalpha()]
        if letters and sum(c.isupper() for c in letters) / len(letters) > 0.6 and len(letters) > 5:
            add("subject:mostly-caps")
        if "!" in value:
            add("subject:bang")
    for hdr in ("from", "reply-to", "to", "cc", "sender", "return-path"):
        for value in _header_value(msg, hdr):
            tokens.update(_address_tokens(hdr, value))
    for value in _header_value(msg, "message-id"):
        m = re.search(r"@([\w.-]+)", value)
        add("message-id:@" + (m.group(1).lower() if m else "none"))
    for hdr in ("x-mailer", "user-agent", "x-mailer-version", "precedence", "list-id", "x-priority", "importance"):
        for value in _header_value(msg, hdr):
            tokens.update(_words(value, hdr + ":"))
    handled = {"subject", "from", "reply-to", "to", "cc", "sender", "return-path", "message-id", "received",
               "date", "content-type", "content-transfer-encoding", "mime-version", "content-disposition"}
    for key, value in items:
        k = key.lower()
        if k in handled:
            continue
        tokens.update(_words(" ".join(str(value).split())[:2000], "h:" + k[:30] + ":"))
    for value in _header_value(msg, "received")[:6]:
        tokens.update(_words(" ".join(value.split()), "received:"))
        for m in _HOST.finditer(value):
            labels = m.group(1).lower().split(".")
            for i in range(max(0, len(labels) - 3), len(labels) - 1):
                add("received:" + ".".join(labels[i:]))
        for m in _IP.finditer(value):
            add(f"received:{m.group(1)}.{m.group(2)}.{m.group(3)}")
    body_chars = nonascii = 0
    for n, part in enumerate(msg.walk()):
        if n >= 500:  # a hostile message may nest thousands of parts
            break
        try:
            ctype = part.get_content_type()
            add("content-type:" + ctype)
            charset = part.get_content_charset()
            if charset:
                add("charset:" + charset.lower())
            cte = str(part.get("content-transfer-encoding", "") or "").lower().strip()
            if cte:
                add("encoding:" + cte)
            filename = part.get_filename()
        except Exception:
            continue
        if filename:
            add("filename:" + filename.rsplit(".", 1)[-1].lower()[:10])
        if part.is_multipart() or ctype not in ("text/plain", "text/html"):
            continue
        text = _part_text(part)[:200_000]
        tokens.update(_url_tokens(text))
        if ctype == "text/html":
            facts = parse_html(text)
            visible = " ".join(facts.text)
            for tag in re.findall(r"<\s*(\w+)", text[:50_000].lower())[:2000]:
                if tag in ("font", "img", "table", "form", "script", "iframe", "center", "b", "style", "map"):
                    add("html:" + tag)
            text = visible
        body_chars += len(text)
        nonascii += sum(1 for c in text if ord(c) > 127)
        tokens.update(_words(text))
        for m in _EMAIL.finditer(text):
            add("email:dom:" + m.group(2).lower())
    if body_chars:
        add(f"8bit%:{round(100 * nonascii / body_chars, -1):.0f}")
    else:
        add("body:empty")
    # Undecodable header bytes arrive as surrogates; SQLite wants valid UTF-8.
    return {t.encode("utf-8", "replace").decode("utf-8") for t in tokens}


def message_key(msg: EmailMessage, data: bytes = b"") -> str:
    """What identifies a trained message: a hash of its bytes (the Message-ID is not unique)."""
    if not data:
        try:
            data = bytes(msg)
        except Exception:
            data = str(msg.get("message-id", "")).encode("utf-8", "replace")
    import hashlib

    return "sha1:" + hashlib.sha1(data, usedforsecurity=False).hexdigest()


# --------------------------------------------------------------------------- combining


def chi2q(x2: float, v: int) -> float:
    """The probability that chi-squared with ``v`` (even) degrees of freedom is >= x2."""
    m = x2 / 2.0
    total = term = math.exp(-m)
    for i in range(1, v // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def combine(probs: list[float]) -> float:
    """Fisher-Robinson chi-square combining of token probabilities (SpamBayes' chi2_spamprob)."""
    if not probs:
        return 0.5
    h = s = 1.0
    h_exp = s_exp = 0
    for p in probs:
        s *= 1.0 - p
        h *= p
        if s < 1e-200:
            s, e = math.frexp(s)
            s_exp += e
        if h < 1e-200:
            h, e = math.frexp(h)
            h_exp += e
    s_log = math.log(s) + s_exp * math.log(2)
    h_log = math.log(h) + h_exp * math.log(2)
    n = len(probs)
    spam = 1.0 - chi2q(-2.0 * s_log, 2 * n)
    ham = 1.0 - chi2q(-2.0 * h_log, 2 * n)
    return (spam - ham + 1.0) / 2.0


# --------------------------------------------------------------------------- store


class TokenStore:
    """Token counts in SQLite; ``path=None`` keeps them in memory (the benchmark)."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import sqlite3

        self.db = sqlite3.connect(str(path) if path else ":memory:", timeout=30)
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS tokens (tok TEXT PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS counts (label TEXT PRIMARY KEY, n INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS trained (key TEXT PRIMARY KEY, label TEXT NOT NULL);
            INSERT OR IGNORE INTO counts VALUES ('spam', 0), ('ham', 0);
            """
        )

    def close(self) -> None:
        self.db.close()

    def totals(self) -> tuple[int, int]:
        rows = dict(self.db.execute("SELECT label, n FROM counts"))
        return rows.get("spam", 0), rows.get("ham", 0)

    def counts(self, tokens: Iterable[str]) -> dict[str, tuple[int, int]]:
        toks = list(tokens)
        out: dict[str, tuple[int, int]] = {}
        for i in range(0, len(toks), 500):
            chunk = toks[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for tok, s, h in self.db.execute(f"SELECT tok, spam, ham FROM tokens WHERE tok IN ({marks})", chunk):
                out[tok] = (s, h)
        return out

    def label_of(self, key: str) -> str | None:
        row = self.db.execute("SELECT label FROM trained WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def learn(self, tokens: set[str], label: str, key: str, delta: int = 1) -> None:
        col = "spam" if label == "spam" else "ham"
        with self.db:
            self.db.executemany(
                f"INSERT INTO tokens(tok, spam, ham) VALUES (?, ?, ?) ON CONFLICT(tok) DO UPDATE SET {col} = max(0, {col} + ?)",
                [(t, max(delta, 0) if col == "spam" else 0, max(delta, 0) if col == "ham" else 0, delta) for t in tokens],
            )
            self.db.execute("UPDATE counts SET n = max(0, n + ?) WHERE label = ?", (delta, col))
            if delta > 0:
                self.db.execute("INSERT OR REPLACE INTO trained(key, label) VALUES (?, ?)", (key, col))
            else:
                self.db.execute("DELETE FROM trained WHERE key = ?", (key,))
                self.db.execute("DELETE FROM tokens WHERE spam = 0 AND ham = 0")


class Classifier:
    """Train and score messages against a ``TokenStore``."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    def train(self, msg: EmailMessage, is_spam: bool, data: bytes = b"") -> bool:
        """Learn a message as spam or ham; relearns it if it was trained the other way.

        Returns False when it was already trained with this label.
        """
        key = message_key(msg, data)
        label = "spam" if is_spam else "ham"
        previous = self.store.label_of(key)
        if previous == label:
            return False
        tokens = tokenize(msg)
        if previous is not None:
            self.store.learn(tokens, previous, key, -1)
        self.store.learn(tokens, label, key, 1)
        return True

    def untrain(self, msg: EmailMessage, data: bytes = b"") -> bool:
        key = message_key(msg, data)
        previous = self.store.label_of(key)
        if previous is None:
            return False
        self.store.learn(tokenize(msg), previous, key, -1)
        return True

    def clues(self, tokens: set[str]) -> list[tuple[float, str]]:
        nspam, nham = self.store.totals()
        counts = self.store.counts(tokens)
        out = []
        for tok, (s, h) in counts.items():
            spam_ratio = s / nspam if nspam else 0.0
            ham_ratio = h / nham if nham else 0.0
            if spam_ratio + ham_ratio == 0:
                continue
            p = spam_ratio / (spam_ratio + ham_ratio)
            n = s + h
            prob = (UNKNOWN_WORD_STRENGTH * UNKNOWN_WORD_PROB + n * p) / (UNKNOWN_WORD_STRENGTH + n)
            if abs(prob - 0.5) >= MINIMUM_PROB_STRENGTH:
                out.append((prob, tok))
        out.sort(key=lambda c: -abs(c[0] - 0.5))
        return out[:MAX_DISCRIMINATORS]

    def score(self, msg: EmailMessage) -> float:
        """The spam probability of a message, 0 (ham) to 1 (spam)."""
        return combine([p for p, _ in self.clues(tokenize(msg))])
