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
CACHE_VERSION = 2  # bump when summarize() changes what it shows


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
    assessed: bool = False  # the assessment hooks have looked at it (warning is their verdict)
    tags: list[str] = field(default_factory=list)  # from the index, when there is one
    tags_checked: bool = False  # looked up in the index this run (tags are not cached on disk)

    def to_json(self) -> list[Any]:
        return [self.date, self.sender, self.sender_addr, self.to, self.subject, self.message_id, self.parent_ids, self.attachment, self.warning, self.assessed]

    @classmethod
    def from_json(cls, row: list[Any]) -> Summary:
        return cls(*row)


def summarize(path: Path, fallback_time: float = 0.0) -> Summary:
    """Read a message's header (only) into a Summary; a broken or vanished file gives a stub."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)  # most headers fit; a long one (Received chains) reads on
            if len(head) == 8192 and b"\n\n" not in head and b"\r\n\r\n" not in head:
                head += fh.read(65536 - 8192)
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
    if "@" in name and name.strip("'\" ").lower() != addr.lower():
        name = addr  # a display name that is another address: show the real one (spoofing)
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
    """One message file of a listing (index hits also carry where they live)."""

    key: str
    subdir: str
    name: str  # the file name, flags included
    path: Path | None = None
    account: str = ""
    folder: str | None = None

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
        self.loaded = False

    def load(self) -> None:
        """Read the file (once; from the background scan, since a big folder's cache is big)."""
        if self.loaded:
            return
        self.loaded = True
        if self.path is None or not self.path.is_file():
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("version") == CACHE_VERSION:
                rows = {k: Summary.from_json(v) for k, v in raw.get("rows", {}).items()}
                with self.lock:
                    rows.update(self.data)  # what was read meanwhile is newer
                    self.data = rows
        except (OSError, ValueError, TypeError):
            pass

    def save(self, keep: Iterable[str] | None = None) -> None:
        if self.path is None or not self.dirty:
            return
        self.load()  # never write a partial cache over a full one
        with self.lock:
            rows = self.data if keep is None else {k: self.data[k] for k in keep if k in self.data}
            payload = {"version": CACHE_VERSION, "rows": {k: v.to_json() for k, v in rows.items()}}
            self.dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self.path)


def _unread_name(name: str) -> bool:
    """No ``S`` among the flags; the flags follow the last comma of ``:2,`` (they hold none)."""
    if ":2," not in name and "!2," not in name:
        return True
    return "S" not in name[name.rfind(",") + 1 :]


def _arrival_key(name: str) -> tuple[int, str, int, str]:
    """Sorts Maildir names ``<seconds>.<unique>.<host>`` by arrival.

    The counters in the unique part are not zero-padded (``1700000000.42_99`` came before
    ``1700000000.42_291``: mbsync, mutt and pigeon's sync write hundreds in the same second),
    so a shorter field is an older one; plain string order scrambled a big sync's messages.
    """
    secs, _, rest = name.partition(".")
    unique = rest.partition(".")[0]
    return len(secs), secs, len(unique), unique


class _Rows:
    """The rows of a listing as a sequence, made on demand from the sorted file names."""

    def __init__(self, listing: FolderListing) -> None:
        self.listing = listing

    def __len__(self) -> int:
        return len(self.listing.names)

    def __getitem__(self, i: int) -> Row:
        name = self.listing.names[i]
        return Row(split_name(name)[0], "new" if name in self.listing.in_new else "cur", name)

    def __iter__(self):  # noqa: ANN204
        return (self[i] for i in range(len(self)))


class FolderListing:
    """A folder's messages, newest first, summaries read on demand.

    Only file names are held (one string per message, sorted in C); a ``Row`` is made when a
    row is drawn or acted on, so opening 100,000 messages costs one ``scandir`` and one sort.
    """

    def __init__(self, store: Any, account: str, folder: str, cache_dir: Path | None = None) -> None:
        self.store = store
        self.account = account
        self.folder = folder
        self.names: list[str] = []
        self.in_new: set[str] = set()
        self.unread_count = 0
        self._by_key: dict[str, int] | None = None
        digest = hashlib.sha1(f"{account}\0{folder}".encode()).hexdigest()[:16]
        self.cache = SummaryCache(cache_dir / f"{digest}.json" if cache_dir else None)
        self.loaded = False

    @property
    def path(self) -> Path:
        return Path(self.store.folder_path(self.folder))

    @property
    def rows(self) -> _Rows:
        return _Rows(self)

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace the listing by these rows, in this order (a search result)."""
        rows = list(rows)
        self.names = [r.name for r in rows]
        self.in_new = {r.name for r in rows if r.subdir == "new"}
        self.unread_count = sum(1 for r in rows if "S" not in r.flags)
        self._by_key = None
        self.loaded = True

    def scan(self) -> None:
        """List the folder's files (names only), newest first.

        Maildir unique names start with the delivery time in seconds, so sorting the names
        as strings sorts by arrival.
        """
        base = self.path
        names: list[str] = []
        in_new: set[str] = set()
        for sub in ("new", "cur"):
            try:
                found = [n for n in os.listdir(base / sub) if not n.startswith(".")]
            except FileNotFoundError:
                continue
            if sub == "new":
                in_new = set(found)
            names.extend(found)
        names.sort(key=_arrival_key, reverse=True)
        self.cache.load()
        unread = len(in_new) + sum(1 for n in names if n not in in_new and _unread_name(n))
        self.names, self.in_new, self.unread_count = names, in_new, unread
        self._by_key = None
        self.loaded = True

    def __len__(self) -> int:
        return len(self.names)

    @property
    def by_key(self) -> dict[str, int]:
        if self._by_key is None:
            self._by_key = {split_name(n)[0]: i for i, n in enumerate(self.names)}
        return self._by_key

    def index_of(self, key: str, hint: int | None = None) -> int | None:
        """The row of ``key``; ``hint`` (the cursor) is tried first, to spare building the index."""
        if hint is not None and 0 <= hint < len(self.names) and split_name(self.names[hint])[0] == key:
            return hint
        return self.by_key.get(key)

    def file(self, row: Row) -> Path:
        return self.path / row.subdir / row.name

    def locate(self, row: Row) -> tuple[Any, str]:
        """The store and folder that hold ``row``."""
        return self.store, self.folder

    def summary(self, row: Row) -> Summary:
        s = self.cache.data.get(row.key)
        if s is None:
            s = summarize(self.file(row), name_time(row.key))
            with self.cache.lock:
                self.cache.data[row.key] = s
                self.cache.dirty = True
        return s

    def unread(self) -> int:
        return self.unread_count

    def refresh_row(self, key: str, new_path: Path | None, hint: int | None = None) -> None:
        """A file was renamed (flags) or removed: update the row in place."""
        i = self.index_of(key, hint)
        if i is None:
            return
        old = self.names[i]
        was_unread = old in self.in_new or _unread_name(old)
        self.in_new.discard(old)
        if new_path is None:
            del self.names[i]
            self._by_key = None
            self.unread_count -= was_unread
            return
        self.names[i] = new_path.name
        if new_path.parent.name == "new":
            self.in_new.add(new_path.name)
        self.unread_count += (new_path.parent.name == "new" or _unread_name(new_path.name)) - was_unread

    def summarize_all(self, progress: Callable[[int, int], None] | None = None, stop: threading.Event | None = None) -> None:
        """Read every summary (for threading); calls ``progress(done, total)`` now and then."""
        total = len(self.names)
        for n, row in enumerate(self.rows):
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
        rows = list(self.rows)
        sums = [self.summary(r) for r in rows]
        by_id: dict[str, int] = {}
        for i, s in enumerate(sums):
            if s.message_id:
                by_id.setdefault(s.message_id, i)
        children: dict[int, list[int]] = {}
        roots: list[int] = []
        for i, s in enumerate(sums):
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
                kids = sorted(children.get(i, []), key=lambda k: sums[k].date, reverse=True)
                stack.extend((k, depth + 1) for k in kids)
            out.append((root, members))
        # a cycle leaves rows unseen: show them as their own threads
        out.extend((i, [(i, 0)]) for i in range(len(rows)) if i not in seen)
        out.sort(key=lambda t: max(sums[i].date for i, _ in t[1]), reverse=True)
        return out


def folder_counts(store: Any, folder: str) -> tuple[int, int]:
    """(messages, unread) of a folder from file names alone."""
    total = unread = 0
    base = Path(store.folder_path(folder))
    for sub in ("new", "cur"):
        try:
            names = [n for n in os.listdir(base / sub) if not n.startswith(".")]
        except FileNotFoundError:
            continue
        total += len(names)
        unread += len(names) if sub == "new" else sum(1 for n in names if _unread_name(n))
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
