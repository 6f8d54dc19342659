"""The user's changes, one API for the client and the CLI: applied at once, recorded in the journal.

``set_flags``, ``move``, ``delete`` and ``tag`` change the Maildir (or the index) immediately
and record an operation (:mod:`pigeon.core.journal`); the next successful ``pigeon sync`` (or
``pigeon watch``, or the client's sync) carries it to the server. ``send`` queues a message in
the Outbox held for ``send.undo_seconds`` (or until a send-later time); ``recall`` takes it back.
``undo`` reverts any operation: before it reached the server by reverting it locally (the sync
then sees nothing), after by recording the inverse (a deleted message comes back from Trash, a
moved one moves back, flags and tags revert). Automated changes (rules, the spam filter) have
their own undo in :mod:`pigeon.core.filtering`; ``pigeon undo`` fronts both.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.core.errors import PigeonError
from pigeon.core.journal import PENDING, RECALLED, SENT, SYNCED, UNDONE, Op, open_journal

# The email package (~10 ms) is imported by the functions that parse: every sync calls
# sync_started/sync_finished here.
if TYPE_CHECKING:
    from email.message import EmailMessage

DEFAULT_UNDO_SECONDS = 10


def _headers(path: Path) -> tuple[str, str]:
    """(Message-ID, Subject) of a message file, never raising."""
    from email import policy
    from email.parser import BytesHeaderParser

    try:
        with open(path, "rb") as fh:
            msg = BytesHeaderParser(policy=policy.default).parse(fh)
        return str(msg.get("message-id", "") or "").strip(), str(msg.get("subject", "") or "").strip()
    except Exception:  # noqa: BLE001 - a broken header is still a message the user acted on
        return "", ""


def _account(app: Any, account: Any) -> Any:
    return app.account(account) if isinstance(account, str) or account is None else account


def locate(store: Any, folder: str, key: str, message_id: str = "") -> Any:
    """The message ``key`` in ``folder`` as it is now: by name (also without the ``,U=`` a move
    drops or a sync adds), else by Message-ID. None when it is not there."""
    from pigeon.core.maildir import UID_RE

    if not store.has_folder(folder):
        return None
    try:
        return store.get(folder, key)
    except PigeonError:
        pass
    bare = UID_RE.sub("", key)
    entries = store.list(folder)
    for e in entries:
        if UID_RE.sub("", e.key) == bare:
            return e
    if message_id:
        for e in entries:
            if _headers(e.path)[0] == message_id:
                return e
    return None


# ---------------------------------------------------------------------- flags, moves, deletes


def set_flags(app: Any, account: Any, folder: str, key: str, *, add: str = "", remove: str = "",
              record: bool = True) -> Any:
    """Add and remove Maildir flag letters of one message; returns its new Entry.

    ``record=False`` for implicit changes (a message opened is read, one replied to is
    answered): the sync carries them all the same, but ``pigeon undo`` would otherwise undo
    "read" instead of the delete the user just made."""
    acct = _account(app, account)
    store = app.store(acct)
    entry = store.get(folder, key)
    new = "".join(sorted((set(entry.flags) | set(add)) - set(remove)))
    added = "".join(sorted(set(new) - set(entry.flags)))
    removed = "".join(sorted(set(entry.flags) - set(new)))
    if not added and not removed:
        return entry
    if not record:
        return store.set_flags(entry, new)
    mid, subject = _headers(entry.path)
    moved = store.set_flags(entry, new)
    with open_journal(app) as j:
        j.record(acct.name, "flags", mid, subject, {"folder": folder, "key": moved.key, "add": added, "remove": removed})
    return moved


def move(app: Any, account: Any, folder: str, key: str, dest: str, *, kind: str = "move") -> Any:
    """Move one message to ``dest`` (created when missing); returns its new Entry."""
    acct = _account(app, account)
    store = app.store(acct)
    entry = store.get(folder, key)
    if dest == folder:
        raise PigeonError(f"already in {dest}")
    if not store.has_folder(dest):
        store.create_folder(dest)
    mid, subject = _headers(entry.path)
    moved = store.move(entry, dest)
    with open_journal(app) as j:
        j.record(acct.name, kind, mid, subject, {"folder": folder, "key": entry.key, "dest": dest, "dest_key": moved.key})
    return moved


def delete(app: Any, account: Any, folder: str, key: str) -> Any:
    """Delete = move to the account's Trash (in Trash: mark it deleted, flag ``T``)."""
    acct = _account(app, account)
    trash = acct.folder("trash")
    if folder == trash:
        return set_flags(app, acct, folder, key, add="T")
    return move(app, acct, folder, key, trash, kind="delete")


# ---------------------------------------------------------------------- tags


def tag(app: Any, query: str, add: list[str], remove: list[str]) -> int:
    """``pigeon tag``: change tags in the index, recording which messages changed."""
    from pigeon.core.index import open_index

    changed: list[list[Any]] = []
    accounts: set[str] = set()
    with open_index(app) as index:
        db = index.db
        for docid in index.docids(query):
            before = set(db.tags_of(docid))
            after = (before - set(remove)) | set(add)
            if after == before:
                continue
            row = db.conn.execute("SELECT msgid FROM messages WHERE id=?", (docid,)).fetchone()
            acct = db.conn.execute("SELECT account FROM files WHERE docid=? LIMIT 1", (docid,)).fetchone()
            if acct:
                accounts.add(acct[0])
            changed.append([row[0] if row else "", sorted(after - before), sorted(before - after)])
        n = index.tag(query, add, remove)
    if changed:
        account = accounts.pop() if len(accounts) == 1 else ""
        with open_journal(app) as j:
            j.record(account, "tag", changed[0][0] if len(changed) == 1 else "", f"{len(changed)} message(s): {query}",
                     {"add": add, "remove": remove, "messages": changed})
    return n


# ---------------------------------------------------------------------- sending


def undo_seconds(app: Any) -> float:
    try:
        return float(app.config.get("send.undo_seconds", DEFAULT_UNDO_SECONDS))
    except (TypeError, ValueError):
        return float(DEFAULT_UNDO_SECONDS)


def parse_when(text: str, now: float | None = None) -> float:
    """``"2026-11-28 09:00"`` (local time), ISO 8601 with a zone, ``+90s``/``+10m``/``+2h``, or
    epoch seconds -> epoch seconds."""
    from datetime import datetime

    text = text.strip()
    now = time.time() if now is None else now
    if text.startswith("+") and text[-1:] in "smhd" and text[1:-1].replace(".", "", 1).isdigit():
        return now + float(text[1:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise PigeonError(f"not a time: {text!r} (use \"YYYY-MM-DD HH:MM\", ISO 8601 or +10m)") from None
    return dt.timestamp()  # naive = local time


def send(app: Any, account: Any, message: EmailMessage, *, at: float | None = None, hold: float | None = None,
         extra: dict[str, Any] | None = None) -> Op:
    """Queue ``message`` in the Outbox, held until ``at`` (send later) or for the undo delay."""
    from pigeon.core import outbox
    from pigeon.core.smtp import recipients_of

    acct = _account(app, account)
    delay = undo_seconds(app) if hold is None else hold
    due = at if at is not None else time.time() + max(0.0, delay)  # due now: the client or watch sends it
    entry = outbox.queue(app, acct, message)
    data = {**(extra or {}), "key": entry.key, "to": recipients_of(message), "later": at is not None}
    with open_journal(app) as j:
        return j.record(acct.name, "send", str(message.get("message-id", "") or ""), str(message.get("subject", "") or ""),
                        data, due=due)


def recall(app: Any, op_id: int | None = None) -> tuple[Op, EmailMessage]:
    """Take a waiting message back out of the Outbox (the newest one when ``op_id`` is None).

    Holds the Outbox lock while doing it, so a sender running in another process either sent it
    already (and recall says so) or never will.
    """
    from pigeon.core import outbox

    with open_journal(app) as j:
        if op_id is None:
            sends = [o for o in j.pending() if o.kind == "send"]
            if not sends:
                raise PigeonError("no message is waiting to be sent")
            op = sends[-1]
        else:
            op = j.get(op_id)
            if op is None or op.kind != "send":
                raise PigeonError(f"no send operation {op_id} (see pigeon pending)")
        if op.status == SENT:
            raise PigeonError(f"#{op.id} was already sent")
        if op.status != PENDING:
            raise PigeonError(f"#{op.id} was {op.status}")
        acct = app.account(op.account)
        store = app.store(acct)
        with outbox.lock(app, acct, wait=30):
            entry = locate(store, acct.folder("outbox"), op.data.get("key", ""))
            if entry is None:
                raise PigeonError(f"#{op.id} has already left the Outbox")
            from email import policy
            from email.parser import BytesParser

            msg = BytesParser(policy=policy.default).parsebytes(store.read(entry))
            store.delete(entry)
            j.set_status(op.id, RECALLED)
    return op, msg


def recall_to_drafts(app: Any, op_id: int | None = None) -> tuple[Op, Any]:
    """``pigeon send --recall``: the recalled message goes to the Drafts folder (flag ``D``)."""
    op, msg = recall(app, op_id)
    acct = app.account(op.account)
    store = app.store(acct)
    drafts = acct.folder("drafts")
    if not store.has_folder(drafts):
        store.create_folder(drafts)
    from email import policy

    return op, store.add(drafts, msg.as_bytes(policy=policy.default), flags="D")


# ---------------------------------------------------------------------- undo


def undo(app: Any, op_id: int | None = None) -> str:
    """Undo one operation (the newest undoable one by default); returns a line for the user."""
    with open_journal(app) as j:
        op = j.get(op_id) if op_id is not None else j.last_undoable()
    if op is None:
        raise PigeonError(f"no operation {op_id} (see pigeon pending --all)" if op_id is not None else "nothing to undo")
    if op.status in (UNDONE, RECALLED):
        raise PigeonError(f"#{op.id} was already undone")
    if op.kind == "send":
        if op.status == SENT:
            raise PigeonError(f"#{op.id} was already sent; a sent message cannot be taken back")
        recalled, entry = recall_to_drafts(app, op.id)
        return f"recalled #{op.id} ({op.summary or '(no subject)'}) to {entry.folder}"
    acct = app.account(op.account) if op.account else None
    reached = op.status == SYNCED
    d = op.data
    if op.kind in ("move", "delete"):
        store = app.store(acct)
        entry = locate(store, d["dest"], d.get("dest_key", d["key"]), op.message_id)
        if entry is None:
            raise PigeonError(f"#{op.id}: the message is no longer in {d['dest']}")
        back = store.move(entry, d["folder"])
        inverse = {"folder": d["dest"], "key": entry.key, "dest": d["folder"], "dest_key": back.key}
        what = f"moved back to {d['folder']}"
    elif op.kind == "flags":
        store = app.store(acct)
        entry = locate(store, d["folder"], d["key"], op.message_id)
        if entry is None:
            raise PigeonError(f"#{op.id}: the message is no longer in {d['folder']}")
        new = "".join(sorted((set(entry.flags) - set(d.get("add", ""))) | set(d.get("remove", ""))))
        moved = store.set_flags(entry, new)
        inverse = {"folder": d["folder"], "key": moved.key, "add": d.get("remove", ""), "remove": d.get("add", "")}
        what = "flags reverted"
    elif op.kind == "tag":
        from pigeon.core.index import open_index

        with open_index(app) as index:
            for mid, added, removed in d.get("messages", []):
                index.tag(f'id:"{mid}"', removed, added)
        inverse = {"add": d.get("remove", []), "remove": d.get("add", []),
                   "messages": [[m, r, a] for m, a, r in d.get("messages", [])]}
        what = "tags reverted"
    else:
        raise PigeonError(f"#{op.id}: cannot undo a {op.kind}")
    with open_journal(app) as j:
        j.set_status(op.id, UNDONE)
        if reached:
            # It is on the server: the inverse travels with the next sync like any change.
            kind = "move" if op.kind == "delete" else op.kind
            new_op = j.record(op.account, kind, op.message_id, op.summary, inverse, undo_of=op.id)
            return f"undone #{op.id} ({op.describe()}): {what}; #{new_op.id} takes it to the server at the next sync"
    return f"undone #{op.id} ({op.describe()}): {what} before it reached the server"


# ---------------------------------------------------------------------- replay


def sync_started(app: Any, account: str) -> int:
    """Called as a sync of ``account`` starts: the newest operation it will carry."""
    try:
        with open_journal(app) as j:
            return j.last_id()
    except Exception:  # noqa: BLE001 - a journal that cannot be read must not stop a sync
        return 0


def sync_finished(app: Any, account: str, up_to: int, ok: bool) -> None:
    """A sync that completed without a failed folder carried every operation up to ``up_to``."""
    if not ok or up_to <= 0:
        return
    with open_journal(app) as j:
        j.mark_synced(account, up_to)
        j.db.execute("UPDATE ops SET status=?, done_at=? WHERE account='' AND status=? AND kind='tag' AND id<=?",
                     (SYNCED, time.time(), PENDING, up_to))


def has_pending_sends(app: Any, account: str) -> bool:
    with open_journal(app) as j:
        return any(o.kind == "send" for o in j.pending(account))
