"""Gathering: what changed in each folder, on the server and in the Maildir, before planning.

Per folder (``gather``): a folder where neither side changed since the last agreement is
skipped; one where only the server changed is looked at through the QRESYNC answer alone (the
touched UIDs), without listing the local folder; otherwise the local folder is listed (names
only) and the server's changes, or its whole listing, are read. New server messages are
described by size and Message-ID (what move detection and pairing match on), and a few are
fetched whole right away. An account's first sync into an empty folder is left to be
streamed chunk by chunk by the executor (``Work.stream``).

The server's side of many changed folders at once (``prefetch``):

An incremental sync (new mail, flags set by another client, deletions, spread over several
folders) would otherwise cost two round trips per folder: ``EXAMINE … (QRESYNC …)``, then a
``UID FETCH`` of the new messages. Here the commands of all those folders are pipelined
(``Remote.pipeline``: every command sent before any answer is read), so the server works on
the next folder while this side reads the last one:

1. per folder ``EXAMINE f (QRESYNC (uidvalidity modseq))`` (the changed flags and the
   expunged UIDs) and, when its UIDNEXT moved, ``UID FETCH <old UIDNEXT>:* (UID FLAGS
   RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])``: what the planner needs of new mail.
   When the new UIDs are few, the same FETCH asks for ``BODY.PEEK[]<0.N>`` too, N being the
   prefetch budget shared among them: a message no longer than N comes whole;
2. per folder with new mail not yet whole, ``EXAMINE f`` and ``UID FETCH … (UID BODY.PEEK[])``
   of as many of those messages as the budget allows (their sizes are known by now), so the
   executor writes them without asking again.

The per-folder gathering (``gather``) then uses these answers instead
of asking. Anything unusual (a folder refused, a UIDVALIDITY change) is left to that
per-folder path, which asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from pigeon.core import sync_answers as answers
from pigeon.core.sync import Work
from pigeon.core.sync_remote import FolderInfo
from pigeon.core.sync_state import FolderState

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine
    from pigeon.core.sync_remote import Selected

STREAM_MESSAGES = 2000  # a first download of a larger folder is planned this many at a time
PREFETCH_MESSAGES = 200  # new messages of a folder fetched whole while gathering ...
PREFETCH_BYTES = 8 * 1024 * 1024  # ... within this many bytes for the whole sync
PARTIAL_MIN = 16 * 1024  # the first bytes of every new message, fetched with its metadata:
PARTIAL_MAX = 1024 * 1024  # at least this many (else not at all), at most this many


def _prefetch_budget(engine: SyncEngine) -> int:
    return getattr(engine, "_prefetch_left", PREFETCH_BYTES)


def describe_new(engine: SyncEngine, ln: str, view: Any, known: dict, ensure: Callable[[], None]) -> None:
    """Size and Message-ID of the server's new messages (what move detection and pairing
    match on). A few new messages are fetched whole right away: the body is needed anyway
    when it is a plain new message, and this saves a SELECT and a FETCH per folder later.
    ``ensure`` selects the folder again if the pipelined gathering moved on."""
    from pigeon.core import sync_local
    from pigeon.core.sync_types import RemoteMsg

    new = [u for u, m in view.changed.items() if u not in known and m.size is None]
    if not new:
        return
    ensure()
    left = _prefetch_budget(engine)
    if len(new) <= PREFETCH_MESSAGES and left > 0 and not engine.opt.dry_run:
        for uid, letters, kws, size, body in engine.remote.fetch_new(new):
            view.changed[uid] = RemoteMsg(uid, letters, kws, size, sync_local.message_id(body))
            engine.fetched_early(ln, uid, body)
            left -= len(body)
        engine._prefetch_left = left
        new = [u for u in new if (ln, u) not in engine.prefetched]
        if not new:
            return
    meta = engine.remote.fetch_meta(new, ids=True)[0]
    for u in new:
        if u in meta:
            view.changed[u] = meta[u]

def gather(engine: SyncEngine, ln: str, info: FolderInfo, fs: FolderState | None) -> Work | None:
    """The remote and the local side of one folder, or None when neither changed."""
    from pigeon.core import sync_local

    r = engine.remote
    st = info.status
    fdir = engine.store.folder_path(ln)
    stamp = sync_local.stamp(fdir)
    local_changed = (fs is None or stamp is None or stamp != fs.local_stamp
                     or not sync_local.stamp_settled(fs.local_stamp, fs.synced, fine=sync_local.fine_mtimes(fdir)))
    remote_changed = (
        fs is None
        or not st
        or not r.condstore
        or "HIGHESTMODSEQ" not in st
        or (fs.uidvalidity, fs.highestmodseq, fs.uidnext) != (st.get("UIDVALIDITY"), st.get("HIGHESTMODSEQ"), st.get("UIDNEXT"))
    )
    if not (local_changed or remote_changed):
        return None
    from pigeon.core.sync_plan import FolderInput, RemoteView, rebase, unpaired_local

    sel = engine.preselected.pop(ln, None)
    if sel is None:
        sel = r.select(info.name, known=(fs.uidvalidity, fs.highestmodseq) if fs and fs.highestmodseq else None, readonly=True)

    def ensure() -> None:  # the pipelined gathering (sync_prefetch) may have moved on
        if r.selected != info.name and r.select(info.name, readonly=True).uidvalidity != sel.uidvalidity:
            raise RuntimeError("UIDVALIDITY changed during the sync; run it again")

    notes: list[str] = []
    reset = fs is not None and fs.uidvalidity is not None and sel.uidvalidity != fs.uidvalidity
    if fs is not None and not reset and not local_changed and sel.qresync:
        # Only the server changed, and it named what changed: look at just those messages.
        # The local folder is exactly as last agreed (its stamp says so), so it needs no
        # listing; files are found by name when an action touches them.
        view = RemoteView(sel.uidvalidity, dict(sel.changed), set(sel.vanished))
        known = engine.state.messages_for(ln, set(view.changed) | view.vanished)
        describe_new(engine, ln, view, known, ensure)
        fi = FolderInput(ln, known, None, view, total=engine.state.count(ln))
        return Work(ln, info.name, fs, stamp, fi, sel.uidvalidity, sel.uidnext, sel.highestmodseq, False, notes, partial=True)
    known = engine.state.messages(ln) if fs else {}
    local = sync_local.scan(fdir)
    if fs is None and not local and not engine.has_state and not engine.opt.dry_run and sel.exists > STREAM_MESSAGES:
        # The account's first sync, into an empty local folder: every message is a plain
        # download, with nothing to pair or match. Its metadata is fetched with the bodies,
        # a chunk at a time (``sync_exec``), so memory does not grow with the folder.
        fi = FolderInput(ln, {}, local, RemoteView(sel.uidvalidity, {}, complete=True))
        return Work(ln, info.name, fs, stamp, fi, sel.uidvalidity, sel.uidnext, sel.highestmodseq, True, notes, stream=True)
    if fs is None or reset or not known:
        # Message-IDs let a message moved here on the server be matched with the file it
        # was elsewhere; an account's very first sync has nothing to match them with.
        ids = bool(local) or reset or engine.has_state
        ensure()
        changed = r.fetch_meta("1:*", ids=ids)[0] if sel.exists else {}
        view = RemoteView(sel.uidvalidity, changed, complete=True)
        if reset:
            known = rebase(known, changed)
            notes.append(f"UIDVALIDITY changed ({fs.uidvalidity} -> {sel.uidvalidity}): {len(known)} messages matched by content")
    elif sel.qresync:
        view = RemoteView(sel.uidvalidity, dict(sel.changed), set(sel.vanished))
    elif r.condstore and fs.highestmodseq:
        ensure()
        changed = r.fetch_meta("1:*", sizes=False, changedsince=fs.highestmodseq)[0]
        vanished = set(known) - r.all_uids()
        view = RemoteView(sel.uidvalidity, changed, vanished)
    else:
        ensure()
        view = RemoteView(sel.uidvalidity, r.fetch_meta("1:*", sizes=False)[0], complete=True)
    if known and not reset:
        describe_new(engine, ln, view, known, ensure)
    fi = FolderInput(ln, known, local, view, rebased=reset, missing=ln in engine.missing)
    loose = unpaired_local(fi)
    if loose:
        facts = {m.key: sync_local.with_facts(m, fdir) for m in loose}
        fi.local = [facts.get(m.key, m) for m in local]
    return Work(ln, info.name, fs, stamp, fi, sel.uidvalidity, sel.uidnext, sel.highestmodseq, fs is None, notes)


def prefetch(engine: SyncEngine, pairs: dict[str, Any], states: dict[str, Any]) -> dict[str, Selected]:
    """Pipeline the server's side of every folder the server changed: {local name: Selected}
    (its ``changed`` holds the new messages with size and Message-ID too). Bodies go to
    ``engine.prefetched``. Empty when there is nothing to gain (fewer than two folders)."""
    r = engine.remote
    if not r.qresync or engine.opt.dry_run:
        return {}
    todo = []
    for ln in sorted(pairs):
        info, fs = pairs[ln], states.get(ln)
        st = info.status
        if fs is None or not fs.uidvalidity or not fs.highestmodseq or not engine._wanted(ln, info.name):
            continue
        if not st or "HIGHESTMODSEQ" not in st or st.get("UIDVALIDITY") != fs.uidvalidity:
            continue
        if (fs.highestmodseq, fs.uidnext) == (st.get("HIGHESTMODSEQ"), st.get("UIDNEXT")):
            continue  # unchanged on the server
        todo.append((ln, info, fs, st))
    if len(todo) < 2:
        return {}
    # The span of new UIDs bounds how many new messages there are: when it is small, their
    # first ``partial`` bytes come in the same flight, which is all of most messages.
    span = sum(st.get("UIDNEXT", 0) - fs.uidnext for _ln, _i, fs, st in todo if fs.uidnext and st.get("UIDNEXT", 0) > fs.uidnext)
    partial = min(PARTIAL_MAX, PREFETCH_BYTES // span) if span else 0
    if partial < PARTIAL_MIN:
        partial = 0
    commands: list[tuple[str, list[bytes], str | None]] = []
    for _ln, info, fs, st in todo:
        args, _ = r.examine_args(info.name, (fs.uidvalidity, fs.highestmodseq))
        commands.append(("EXAMINE", args, info.name))
        if fs.uidnext and st.get("UIDNEXT", 0) > fs.uidnext:
            # One FETCH: a server may work on two FETCH commands at once and mix their answers.
            items = b"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" + (
                f" BODY.PEEK[]<0.{partial}>)".encode() if partial else b")")
            commands.append(("UID FETCH", [f"{fs.uidnext}:*".encode(), items], None))
    out: dict[str, Selected] = {}
    wanted: list[tuple[str, str, list[int]]] = []
    left = PREFETCH_BYTES

    def first() -> Generator[None, Any, None]:
        """Each folder's answers, read as they arrive (the bodies start being written while
        the next folder's answers are on their way)."""
        nonlocal left
        for ln, info, fs, st in todo:
            typ, _text, untagged = yield
            meta: dict = {}
            heads: dict[int, bytes] = {}
            if fs.uidnext and st.get("UIDNEXT", 0) > fs.uidnext:
                ftyp, _ftext, funtagged = yield
                if ftyp == "OK" and partial:
                    got, heads = answers.meta_and_starts_from(funtagged)
                    meta = {u: m for u, m in got.items() if u >= fs.uidnext}
                elif ftyp == "OK":
                    meta = {u: m for u, m in answers.meta_from(funtagged, True).items() if u >= fs.uidnext}
            if typ != "OK":
                continue
            sel = answers.selected_from(untagged, True)
            if sel.uidvalidity != fs.uidvalidity:
                continue
            for u, m in meta.items():
                sel.changed[u] = m  # the QRESYNC answer gave its flags; this adds size and Message-ID
            out[ln] = sel
            new = sorted(u for u, m in meta.items() if m.size is not None)
            if new and len(new) <= PREFETCH_MESSAGES:
                take = []
                for u in new:
                    body = heads.get(u)
                    if body is not None and len(body) == meta[u].size:  # the whole message
                        engine.fetched_early(ln, u, body)
                        left -= len(body)
                        continue
                    if meta[u].size > left:
                        break
                    left -= meta[u].size
                    take.append(u)
                if take:
                    wanted.append((ln, info.name, take))

    r.pipeline(commands, on_reply=_feeder(first()))
    if wanted:
        from pigeon.core.sync_remote import uid_set

        commands = []
        for _ln, name, uids in wanted:
            commands.append(("EXAMINE", [r.examine_args(name, None)[0][0]], name))
            commands.append(("UID FETCH", [uid_set(uids).encode(), b"(UID BODY.PEEK[])"], None))

        def second() -> Generator[None, Any, None]:
            for ln, _name, uids in wanted:
                typ, _t, untagged = yield
                ftyp, _ft, funtagged = yield
                if typ == "OK" and ftyp == "OK" and answers.selected_from(untagged, False).uidvalidity == out[ln].uidvalidity:
                    for uid, body in answers.bodies_from(funtagged):
                        if uid in uids:
                            engine.fetched_early(ln, uid, body)

        r.pipeline(commands, on_reply=_feeder(second()))
    engine._prefetch_left = left
    return out


def _feeder(consumer: Generator[None, Any, None]) -> Callable[[Any], None]:
    """``Remote.pipeline``'s ``on_reply`` for a generator that takes the answers one by one."""
    next(consumer)

    def feed(reply: Any) -> None:
        try:
            consumer.send(reply)
        except StopIteration:
            pass

    return feed
