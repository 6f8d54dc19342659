"""Run the filters on a message and apply what they decide, recording every change.

``run_filters`` calls ``pigeon_filter_message`` (rules, the spam filter, the assessment, the
user's plugins), merges the verdicts in call order up to the first ``final`` one, and applies
them: flags through the store, a move or a delete (to Trash) through the store, tags through the
index when there is one. Every change is written to the provenance journal
(``provenance.sqlite`` in the state directory): which message, what changed, by whom, when and
why. ``pigeon why`` reads it; ``pigeon undo`` reverts entries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pigeon.core.errors import PigeonError
from pigeon.core.pluginmanager import call_isolated
from pigeon.hooks.types import MessageRef, Verdict

JOURNAL_FILE = "provenance.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch INTEGER NOT NULL,
    at REAL NOT NULL,
    account TEXT NOT NULL,
    message_id TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,      -- tag, flags, move, delete
    before TEXT NOT NULL,      -- JSON: what to restore
    after TEXT NOT NULL,       -- JSON: what it became
    reason TEXT NOT NULL,
    undone REAL
);
CREATE INDEX IF NOT EXISTS changes_msg ON changes(message_id);
"""


@dataclass
class Change:
    """One recorded automated change."""

    id: int
    batch: int
    at: float
    account: str
    message_id: str
    source: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    undone: float | None = None

    def describe(self) -> str:
        if self.action == "tag":
            parts = [f"+{t}" for t in self.after.get("add", [])] + [f"-{t}" for t in self.after.get("remove", [])]
            what = "tags " + " ".join(parts)
        elif self.action == "flags":
            what = f"flags {self.before.get('flags', '') or '-'} -> {self.after.get('flags', '') or '-'}"
        elif self.action == "move":
            what = f"moved {self.before.get('folder', '?')} -> {self.after.get('folder', '?')}"
        elif self.action == "delete":
            what = f"deleted (moved {self.before.get('folder', '?')} -> {self.after.get('folder', '?')})"
        elif self.action == "reply":
            what = f"queued a reply to {self.after.get('to', '?')} in {self.after.get('folder', '?')}"
        else:
            what = self.action
        return what


class Journal:
    """The provenance journal (SQLite)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_batch(self) -> int:
        row = self.db.execute("SELECT coalesce(max(batch), 0) + 1 FROM changes").fetchone()
        return int(row[0])

    def record(self, batch: int, account: str, message_id: str, source: str, action: str,
               before: dict[str, Any], after: dict[str, Any], reason: str) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO changes(batch, at, account, message_id, source, action, before, after, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch, time.time(), account, message_id, source or "?", action, json.dumps(before), json.dumps(after), reason),
            )
            return int(cur.lastrowid or 0)

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[Change]:
        rows = self.db.execute(
            "SELECT id, batch, at, account, message_id, source, action, before, after, reason, undone "
            f"FROM changes WHERE {where} ORDER BY id",
            args,
        )
        return [Change(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), json.loads(r[8]), r[9], r[10]) for r in rows]

    def for_message(self, message_id: str) -> list[Change]:
        mid = message_id.strip()
        variants = {mid, f"<{mid.strip('<>')}>", mid.strip("<>")}
        marks = ",".join("?" * len(variants))
        return self._rows(f"message_id IN ({marks})", tuple(variants))

    def get(self, change_id: int) -> Change | None:
        found = self._rows("id = ?", (change_id,))
        return found[0] if found else None

    def last_batches(self, n: int = 1) -> list[Change]:
        batches = [r[0] for r in self.db.execute(
            "SELECT DISTINCT batch FROM changes WHERE undone IS NULL ORDER BY batch DESC LIMIT ?", (n,))]
        if not batches:
            return []
        marks = ",".join("?" * len(batches))
        return self._rows(f"batch IN ({marks}) AND undone IS NULL", tuple(batches))

    def mark_undone(self, change_id: int) -> None:
        with self.db:
            self.db.execute("UPDATE changes SET undone = ? WHERE id = ?", (time.time(), change_id))


def journal_path(app: Any) -> Path:
    return Path(app.state_dir) / JOURNAL_FILE


def open_journal(app: Any) -> Journal:
    return Journal(journal_path(app))


# --------------------------------------------------------------------------- merging


@dataclass
class Decision:
    """The merged verdicts for one message, with who asked for each part."""

    add_tags: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, source, reason)
    remove_tags: list[tuple[str, str, str]] = field(default_factory=list)
    flags_add: list[tuple[str, str, str]] = field(default_factory=list)
    flags_remove: list[tuple[str, str, str]] = field(default_factory=list)
    move_to: tuple[str, str, str] | None = None
    delete: tuple[str, str] | None = None  # (source, reason)
    path: Path | None = None  # where the message is once the decision is applied

    def tags(self) -> list[str]:
        return [t for t, _, _ in self.add_tags]

    def filed_away(self) -> bool:
        """True when the message left the folder it arrived in (Junk, a list folder, Trash)."""
        return bool(self.move_to or self.delete)

    def empty(self) -> bool:
        return not (self.add_tags or self.remove_tags or self.flags_add or self.flags_remove or self.move_to or self.delete)


def merge(verdicts: list[Verdict | None]) -> Decision:
    """Merge verdicts in call order; a later move replaces an earlier one; ``final`` stops."""
    out = Decision()
    for v in verdicts:
        if not isinstance(v, Verdict):
            continue
        src, why = v.source or "?", v.reason
        out.add_tags += [(t, src, why) for t in v.add_tags]
        out.remove_tags += [(t, src, why) for t in v.remove_tags]
        out.flags_add += [(f, src, why) for f in v.flags_add]
        out.flags_remove += [(f, src, why) for f in v.flags_remove]
        if v.move_to:
            out.move_to = (v.move_to, src, why)
        if v.delete:
            out.delete = (src, why)
        if v.final:
            break
    return out


def decide(pm: Any, message: EmailMessage, ref: MessageRef) -> Decision:
    """Ask every filter about a message."""
    return merge(call_isolated(pm, "pigeon_filter_message", message=message, ref=ref))


# --------------------------------------------------------------------------- applying


def _message_id(message: EmailMessage, ref: MessageRef) -> str:
    if ref.message_id:
        return ref.message_id
    try:
        return str(message.get("message-id", "") or "").strip() or f"path:{ref.path}"
    except Exception:
        return f"path:{ref.path}"


def _apply_tags(app: Any, message_id: str, path: Path, add: list[str], remove: list[str]) -> None:
    """Tags live in the index; without one (yet) the journal alone holds them."""
    try:
        from pigeon.core.index import open_index  # type: ignore[import-not-found]
    except ImportError:
        return
    with open_index(app) as index:
        if index.add_file(path) is None:
            return
        mid = message_id.strip("<>")
        index.tag(f'id:"{mid}"', add=add, remove=remove)


def apply(app: Any, message: EmailMessage, ref: MessageRef, decision: Decision, *, dry_run: bool = False) -> list[str]:
    """Carry out a decision on a stored message; returns one line per change (for the user)."""
    from pigeon.core.maildir import entry_for_path

    lines: list[str] = []
    decision.path = Path(ref.path)
    if decision.empty():
        return lines
    account = ref.account or app.account().name
    acct = app.account(account)
    store = app.store(acct)
    entry = entry_for_path(store, ref.path)
    mid = _message_id(message, ref)
    journal = None if dry_run else open_journal(app)
    batch = journal.new_batch() if journal else 0
    try:
        def record(source: str, action: str, before: dict[str, Any], after: dict[str, Any], reason: str) -> None:
            if journal is not None:
                journal.record(batch, account, mid, source, action, before, after, reason)

        add = [t for t, _, _ in decision.add_tags]
        remove = [t for t, _, _ in decision.remove_tags if t not in add]
        for tag, src, why in decision.add_tags:
            lines.append(f"+{tag} ({src})")
            record(src, "tag", {"add": [], "remove": []}, {"add": [tag], "remove": []}, why)
        for tag, src, why in decision.remove_tags:
            if tag in add:
                continue
            lines.append(f"-{tag} ({src})")
            record(src, "tag", {}, {"add": [], "remove": [tag]}, why)
        if not dry_run and (add or remove):
            _apply_tags(app, mid, ref.path, add, remove)
        if entry is not None and (decision.flags_add or decision.flags_remove):
            flags = set(entry.flags) | {f for fs, _, _ in decision.flags_add for f in fs}
            flags -= {f for fs, _, _ in decision.flags_remove for f in fs}
            new = "".join(sorted(flags))
            if new != entry.flags:
                src = (decision.flags_add or decision.flags_remove)[0][1]
                why = (decision.flags_add or decision.flags_remove)[0][2]
                lines.append(f"flags {entry.flags or '-'} -> {new or '-'} ({src})")
                if not dry_run:
                    before = entry
                    entry = store.set_flags(entry, new)
                    record(src, "flags", {"flags": before.flags, "path": str(before.path)}, {"flags": new, "path": str(entry.path)}, why)
        target: tuple[str, str, str] | None = None
        if decision.delete:
            target = (acct.folder("trash"), decision.delete[0], decision.delete[1])
        elif decision.move_to:
            target = decision.move_to
        if entry is not None and target and target[0] != entry.folder:
            folder, src, why = target
            action = "delete" if decision.delete else "move"
            lines.append(f"{'deleted, to' if decision.delete else 'moved to'} {folder} ({src})")
            if not dry_run:
                before = entry
                entry = store.move(entry, folder)
                record(src, action, {"folder": before.folder, "path": str(before.path)},
                       {"folder": folder, "path": str(entry.path)}, why)
    finally:
        if journal is not None:
            journal.close()
    if entry is not None:
        decision.path = entry.path
    return lines


def run_filters(app: Any, message: EmailMessage, ref: MessageRef, *, dry_run: bool = False) -> list[str]:
    """Ask the filters about a newly stored message and apply their decision."""
    return apply(app, message, ref, decide(app.pm, message, ref), dry_run=dry_run)


# --------------------------------------------------------------------------- arrivals

#: Messages filtered on arrival, by path (before and after): the arrival event that follows a
#: sync must not filter them again. Bounded: a long-running client forgets old entries.
_FILTERED: OrderedDict[str, Decision] = OrderedDict()
_FILTERED_MAX = 10_000
_LOCK = threading.Lock()


def filtered_folder(config: Any, ref: MessageRef) -> bool:
    """Whether new mail in ``ref.folder`` is filtered (``[filter] folders``; "INBOX" = each inbox)."""
    if not config.get("filter.enabled", True):
        return False
    folders = config.get("filter.folders", ["INBOX"])
    if "*" in folders:
        return True
    inbox = "INBOX"
    if ref.account in config.accounts:
        inbox = config.accounts[ref.account].folder("inbox")
    return any(ref.folder == (inbox if f == "INBOX" else f) for f in folders)


def filter_arrival(app: Any, message: EmailMessage, ref: MessageRef) -> tuple[MessageRef, Decision | None]:
    """Filter a message that just arrived (sync, POP3, a delivery seen by the watcher), once.

    Returns where the message is now and the decision (None when its folder is not filtered).
    """
    with _LOCK:
        known = _FILTERED.get(str(ref.path))
    if known is not None:
        return ref, known
    if not filtered_folder(app.config, ref):
        return ref, None
    decision = decide(app.pm, message, ref)
    apply(app, message, ref, decision)
    new_path = decision.path or Path(ref.path)
    folder = ref.folder
    if decision.filed_away():
        folder = app.account(ref.account or None).folder("trash") if decision.delete else decision.move_to[0]  # type: ignore[index]
    with _LOCK:
        for key in (str(ref.path), str(new_path)):
            _FILTERED[key] = decision
            _FILTERED.move_to_end(key)
        while len(_FILTERED) > _FILTERED_MAX:
            _FILTERED.popitem(last=False)
    return MessageRef(new_path, folder, ref.account, ref.message_id), decision


# --------------------------------------------------------------------------- undo


def undo_change(app: Any, change: Change) -> str:
    """Revert one change; returns a line for the user. Raises PigeonError when it cannot."""
    from pigeon.core.maildir import entry_for_path

    if change.undone is not None:
        raise PigeonError(f"change {change.id} was already undone")
    acct = app.account(change.account)
    store = app.store(acct)
    if change.action == "reply":
        # Withdraw the automatic reply while it still waits in the Outbox.
        path = Path(change.after.get("path", ""))
        entry = entry_for_path(store, path) if path.exists() else None
        if entry is None:
            raise PigeonError(f"change {change.id}: the reply has already left the Outbox")
        store.delete(entry)
    elif change.action in ("move", "delete", "flags"):
        path = Path(change.after.get("path", ""))
        entry = entry_for_path(store, path) if path.exists() else None
        if entry is None:
            key = path.name.split(":2,", 1)[0].split("!2,", 1)[0]
            entry = store.find_key(key) if key else None
        if entry is None:
            raise PigeonError(f"change {change.id}: the message is no longer at {path}")
        if change.action == "flags":
            store.set_flags(entry, change.before.get("flags", ""))
        else:
            store.move(entry, change.before["folder"])
    elif change.action == "tag":
        add = change.after.get("remove", [])
        remove = change.after.get("add", [])
        path = None
        for c in _same_batch(app, change):
            if c.action in ("move", "delete", "flags"):
                path = Path(c.after.get("path", ""))
        try:
            from pigeon.core.index import open_index  # type: ignore[import-not-found]
        except ImportError:
            open_index = None
        if open_index is not None:
            with open_index(app) as index:
                if path is not None and path.exists():
                    index.add_file(path)
                index.tag(f'id:"{change.message_id.strip("<>")}"', add=add, remove=remove)
    with open_journal(app) as journal:
        journal.mark_undone(change.id)
    return f"undone: {change.describe()} on {change.message_id} (by {change.source})"


def _same_batch(app: Any, change: Change) -> list[Change]:
    with open_journal(app) as journal:
        return journal._rows("batch = ?", (change.batch,))


def undo(app: Any, *, batches: int = 1, change_id: int | None = None) -> list[str]:
    """Revert the last ``batches`` batches of automated changes, or one chosen change."""
    with open_journal(app) as journal:
        if change_id is not None:
            chosen = journal.get(change_id)
            if chosen is None:
                raise PigeonError(f"no recorded change {change_id}")
            changes = [chosen]
        else:
            changes = journal.last_batches(batches)
    if not changes:
        raise PigeonError("nothing to undo")
    # Newest first, so a flag change is reverted after the move that followed it.
    return [undo_change(app, c) for c in sorted(changes, key=lambda c: -c.id)]


def resolve_message_id(app: Any, ident: str) -> str:
    """The Message-ID a user means: ``<id>``, ``id:X``, a message file, or an index id."""
    ident = ident.strip()
    if ident.startswith("id:"):
        ident = ident[3:]
    path = Path(ident).expanduser()
    if not ident.startswith("<") and path.is_file():
        from email import policy
        from email.parser import BytesHeaderParser

        with open(path, "rb") as fh:
            msg = BytesHeaderParser(policy=policy.default).parse(fh)
        try:
            mid = str(msg.get("message-id", "") or "").strip()
        except Exception:
            mid = ""
        return mid or f"path:{path}"
    if not ident:
        raise PigeonError("which message? give a Message-ID or a message file")
    return ident if ident.startswith("<") else f"<{ident}>"
