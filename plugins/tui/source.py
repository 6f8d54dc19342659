"""Where the client's lists come from: folders, and message summaries read a page at a time.

A folder opens by listing file names only (one ``scandir`` of ``cur/`` and ``new/``), ordered by
the delivery time that every Maildir unique name starts with, so a 100,000-message folder opens
without reading a message. The headers of a row are read when the row is first drawn and kept
in a summary cache on disk (JSON under the state directory), so the next start is instant too.
No prompt_toolkit here.
"""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import email.utils
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core.errors import StoreError
from pigeon.core.sanitize import sanitize_line

_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_TS = re.compile(r"^(\d+)(?:\.(\d+))?")
CACHE_VERSION = 1


def split_name(name: str) -> tuple[str, str]:
    """A Maildir file name -> (unique key, flags)."""
    key, sep, info = name.partition(":2,")
    if not sep:
        key, sep, info = name.partition("!2,")  # the Windows-safe separator some tools use
    return key, "".join(sorted(c for c in info if c.isalpha() and c.isupper())) if sep else ""


def name_time(key: str) -> float:
    m = _TS.match(key)
    return float(m.group(1)) if m else 0.0


def decode(value: Any) -> str:
    """A raw header value -> one clean line (RFC 2047 decoded, never raises)."""
    if value is None:
        return ""
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:
        text = str(value)
    return sanitize_line(text).strip()


@dataclass
class Summary:
    """What a list row shows of one message."""

    date: float = 0.0
    sender: str = ""
    sender_addr: str = ""
    to: str = ""
    subject: str = ""
    message_id: str = ""
    parent_ids: list[str] = field(default_factory=list)  # References then In-Reply-To, last is the parent
    attachment: bool = False
    warning: bool = False

    def to_json(self) -> list[Any]:
        return [self.date, self.sender, self.sender_addr, self.to, self.subject, self.message_id, self.parent_ids, self.attachment, self.warning]

    @classmethod
    def from_json(cls, row: list[Any]) -> Summary:
        return cls(*row)


def summarize(path: Path, fallback_time: float = 0.0) -> Summary:
    """Read a message's header (only) into a Summary; a broken or vanished file gives a stub."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return Summary(date=fallback_time, subject="(unreadable)")
    end = head.find(b"\n\n")
    if end < 0:
        end = head.find(b"\r\n\r\n")
    if end >= 0:
        head = head[: end + 2]
    msg = _HEADER_PARSER.parsebytes(head)
    date = 0.0
    raw_date = msg.get("Date")
    if raw_date:
        try:
            parsed = email.utils.parsedate_tz(str(raw_date))
            if parsed:
                date = float(email.utils.mktime_tz(parsed))
        except Exception:
            date = 0.0
    name, addr = email.utils.parseaddr(decode(msg.get("From")))
    refs = re.findall(r"<[^<>\s]+>", str(msg.get("References") or ""))
    irt = re.findall(r"<[^<>\s]+>", str(msg.get("In-Reply-To") or ""))
    parents = [r for r in refs if r not in irt[-1:]] + irt[-1:]
    ctype = str(msg.get("Content-Type") or "").lower()
    attachment = ctype.startswith(("multipart/mixed", "application/", "multipart/report"))
    mid = re.findall(r"<[^<>\s]+>", str(msg.get("Message-ID") or ""))
    return Summary(
        date=date or fallback_time,
        sender=sanitize_line(name or addr),
        sender_addr=sanitize_line(addr),
        to=decode(msg.get("To")),
        subject=decode(msg.get("Subject")),
        message_id=mid[0] if mid else "",
        parent_ids=parents[-20:],
        attachment=attachment,
    )


# --------------------------------------------------------------------------- the store


class MiniStore:
    """Enough of ``pigeon.core.maildir.Maildir`` for the client while the real store is absent."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    def folders(self) -> list[str]:
        out = []
        if (self.root / "cur").is_dir():
            out.append("")
        for dirpath, dirnames, _ in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in ("cur", "new", "tmp"))
            rel = os.path.relpath(dirpath, self.root)
            if rel != "." and os.path.isdir(os.path.join(dirpath, "cur")):
                out.append(rel.replace(os.sep, "/"))
        return sorted(out)

    def folder_path(self, folder: str) -> Path:
        if folder.startswith("/") or ".." in folder.split("/") or any(ord(c) < 32 for c in folder):
            raise StoreError(f"bad folder name {folder!r}")
        return self.root / folder if folder else self.root

    def create_folder(self, folder: str) -> Path:
        path = self.folder_path(folder)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def add(self, folder: str, data: bytes, flags: str = "", **_: Any) -> Path:
        path = self.create_folder(folder)
        name = f"{time.time():.6f}".replace(".", ".M") + f"P{os.getpid()}.pigeon"
        tmp = path / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        final = path / "cur" / f"{name}:2,{''.join(sorted(flags))}"
        os.rename(tmp, final)
        return final


def get_store(app: Any, account: Any) -> Any:
    """The account's Maildir store (the core's once it exists, else a MiniStore)."""
    try:
        return app.store(account)
    except ImportError:
        cache = app.__dict__.setdefault("_tui_ministores", {})
        if account.name not in cache:
            cache[account.name] = MiniStore(account.maildir)
        return cache[account.name]


# --------------------------------------------------------------------------- one folder


@dataclass
class Row:
    """One message file of a listing."""

    key: str
    subdir: str
    name: str  # the file name, flags included

    @property
    def flags(self) -> str:
        return split_name(self.name)[1]


class SummaryCache:
    """Summaries by unique key for one folder, kept on disk between runs."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Summary] = {}
        self.dirty = False
        self.lock = threading.Lock()
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                if raw.get("version") == CACHE_VERSION:
                    self.data = {k: Summary.from_json(v) for k, v in raw.get("rows", {}).items()}
            except (OSError, ValueError, TypeError):
                self.data = {}

    def save(self, keep: Iterable[str] | None = None) -> None:
        if self.path is None or not self.dirty:
            return
        with self.lock:
            rows = self.data if keep is None else {k: self.data[k] for k in keep if k in self.data}
            payload = {"version": CACHE_VERSION, "rows": {k: v.to_json() for k, v in rows.items()}}
            self.dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self.path)


class FolderListing:
    """A folder's messages, newest first, summaries read on demand."""

    def __init__(self, store: Any, account: str, folder: str, cache_dir: Path | None = None) -> None:
        self.store = store
        self.account = account
        self.folder = folder
        self.rows: list[Row] = []
        self.by_key: dict[str, int] = {}
        digest = hashlib.sha1(f"{account}\0{folder}".encode()).hexdigest()[:16]
        self.cache = SummaryCache(cache_dir / f"{digest}.json" if cache_dir else None)
        self.loaded = False

    @property
    def path(self) -> Path:
        return Path(self.store.folder_path(self.folder))

    def scan(self) -> None:
        """List the folder's files (names only) and order them newest first."""
        rows: list[Row] = []
        base = self.path
        for sub in ("new", "cur"):
            try:
                with os.scandir(base / sub) as it:
                    for de in it:
                        if de.name.startswith("."):
                            continue
                        rows.append(Row(split_name(de.name)[0], sub, de.name))
            except FileNotFoundError:
                continue
        rows.sort(key=lambda r: (name_time(r.key), r.key), reverse=True)
        self.rows = rows
        self.by_key = {r.key: i for i, r in enumerate(rows)}
        self.loaded = True

    def __len__(self) -> int:
        return len(self.rows)

    def file(self, row: Row) -> Path:
        return self.path / row.subdir / row.name

    def summary(self, row: Row) -> Summary:
        s = self.cache.data.get(row.key)
        if s is None:
            s = summarize(self.file(row), name_time(row.key))
            with self.cache.lock:
                self.cache.data[row.key] = s
                self.cache.dirty = True
        return s

    def unread(self) -> int:
        return sum(1 for r in self.rows if "S" not in r.flags)

    def refresh_row(self, key: str, new_path: Path | None) -> None:
        """A file was renamed (flags) or removed: update the row in place."""
        i = self.by_key.get(key)
        if i is None:
            return
        if new_path is None:
            del self.rows[i]
            self.by_key = {r.key: j for j, r in enumerate(self.rows)}
        else:
            self.rows[i] = Row(key, new_path.parent.name, new_path.name)

    def summarize_all(self, progress: Callable[[int, int], None] | None = None, stop: threading.Event | None = None) -> None:
        """Read every summary (for threading); calls ``progress(done, total)`` now and then."""
        total = len(self.rows)
        for n, row in enumerate(list(self.rows)):
            if stop is not None and stop.is_set():
                return
            self.summary(row)
            if progress and n % 500 == 0:
                progress(n, total)
        if progress:
            progress(total, total)

    def threads(self) -> list[tuple[int, list[tuple[int, int]]]]:
        """Group rows into threads: ``[(root_row, [(row, depth), ...]), ...]`` newest thread first.

        The parent of a message is the last of its References/In-Reply-To that is in the folder
        (a light JWZ: no containers for missing parents, so a gap starts a new thread).
        """
        by_id: dict[str, int] = {}
        for i, row in enumerate(self.rows):
            s = self.summary(row)
            if s.message_id:
                by_id.setdefault(s.message_id, i)
        children: dict[int, list[int]] = {}
        roots: list[int] = []
        for i, row in enumerate(self.rows):
            s = self.summary(row)
            parent = next((by_id[p] for p in reversed(s.parent_ids) if p in by_id and by_id[p] != i), None)
            if parent is None:
                roots.append(i)
            else:
                children.setdefault(parent, []).append(i)
        out = []
        seen: set[int] = set()
        for root in roots:
            members: list[tuple[int, int]] = []
            stack = [(root, 0)]
            while stack:
                i, depth = stack.pop()
                if i in seen:
                    continue
                seen.add(i)
                members.append((i, depth))
                kids = sorted(children.get(i, []), key=lambda k: self.summary(self.rows[k]).date, reverse=True)
                stack.extend((k, depth + 1) for k in kids)
            out.append((root, members))
        # a cycle leaves rows unseen: show them as their own threads
        out.extend((i, [(i, 0)]) for i in range(len(self.rows)) if i not in seen)
        out.sort(key=lambda t: max(self.summary(self.rows[i]).date for i, _ in t[1]), reverse=True)
        return out


def folder_counts(store: Any, folder: str) -> tuple[int, int]:
    """(messages, unread) of a folder from file names alone."""
    total = unread = 0
    base = Path(store.folder_path(folder))
    for sub in ("new", "cur"):
        try:
            with os.scandir(base / sub) as it:
                for de in it:
                    if de.name.startswith("."):
                        continue
                    total += 1
                    if "S" not in split_name(de.name)[1]:
                        unread += 1
        except FileNotFoundError:
            continue
    return total, unread


def format_date(ts: float, now: float | None = None) -> str:
    """Today: ``14:05``; this year: ``Mar 04``; else ``2019-03-04``."""
    if not ts:
        return "          "
    now = now or time.time()
    lt = time.localtime(ts)
    nt = time.localtime(now)
    if lt[:3] == nt[:3]:
        return time.strftime("     %H:%M", lt)
    if lt.tm_year == nt.tm_year:
        return time.strftime("    %b %d", lt)
    return time.strftime("%Y-%m-%d", lt)
