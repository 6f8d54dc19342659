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
``UID FETCH`` of the new messages. Here the commands of all those folders go through one
conveyor (``Remote.conveyor``: commands are sent before earlier answers are read, and an
answer may add commands), so the server works on the next command while this side reads:

1. every folder without new mail: ``EXAMINE f (QRESYNC (uidvalidity modseq))`` (the changed
   flags and the expunged UIDs), all sent at once;
2. each folder whose UIDNEXT moved: that EXAMINE and ``UID FETCH <old UIDNEXT>:* (UID FLAGS
   RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`` (what the planner needs of new mail);
   once that answer is in, ``UID FETCH … (UID BODY.PEEK[])`` of as many new messages as the
   prefetch budget allows, sent together with the next such folder's two commands. The bodies
   so come while their folder is still the one examined, and the executor writes them
   without asking again.

The per-folder gathering (``gather``) then uses these answers instead
of asking. Anything unusual (a folder refused, a UIDVALIDITY change) is left to that
per-folder path, which asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pigeon.core import sync_answers as answers
from pigeon.core.sync import Work
from pigeon.core.sync_remote import FolderInfo
from pigeon.core.sync_stamps import UNVERIFIED
from pigeon.core.sync_state import FolderState

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine
    from pigeon.core.sync_remote import Selected

STREAM_MESSAGES = 2000  # a first download of a larger folder is planned this many at a time
PREFETCH_MESSAGES = 200  # new messages of a folder fetched whole while gathering ...
PREFETCH_BYTES = 8 * 1024 * 1024  # ... within this many bytes for the whole sync


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
    if fs is not None and fs.local_stamp and fs.local_stamp.startswith(UNVERIFIED):
        # changed by the last sync: trusted if this sync's check of it found it as recorded
        checked = engine.stamps.result(ln) if engine.stamps is not None else None
        local_changed = stamp is None or checked is None or checked[0] != stamp
        if not local_changed:
            engine.verified[ln] = checked
    else:
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
        fi = FolderInput(ln, known, None, view, total=lambda: engine.state.count(ln))
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
    (its ``changed`` holds the new messages with size and Message-ID too). New bodies, within
    ``PREFETCH_BYTES``, go to ``engine.prefetched``. Empty when there is nothing to gain
    (fewer than two folders).

    The folders without new mail are examined all at once. A folder with new mail is examined
    with the metadata of its new messages, and its bodies are asked for as soon as that answer
    is in, together with the next such folder (``Remote.conveyor``): so the bodies come while
    the folder is still the one examined, not after examining it again (~5 ms for a folder of
    thousands on Dovecot). Over a round trip of ``TWO_FLIGHTS_RTT`` or more, that chain costs
    more than the second EXAMINE, and every folder goes in the first flight instead.

    The connecting thread may have done all this already (:func:`prefetch_ahead`, while the
    command was still loading); its answers are taken when they were asked on exactly the
    grounds this sync has (the same folders, as recorded and as listed)."""
    r = engine.remote
    if not r.qresync or engine.opt.dry_run:
        return {}
    todo = changed_folders(pairs, states, engine._wanted)
    if len(todo) < 2:
        return {}
    ahead, engine.ahead = engine.ahead, None
    if ahead is not None:
        if ahead.grounds == grounds(todo) and engine.adopt(ahead):
            return ahead.selected
        ahead.discard()
    out, engine._prefetch_left = run_prefetch(r, todo, engine.fetched_early)
    return out


def changed_folders(pairs: dict[str, Any], states: dict[str, Any], wanted: Callable[[str, str], bool]) -> list[tuple]:
    """(local name, FolderInfo, FolderState, status) of each folder the listing says the server
    changed since the state's record of it."""
    todo = []
    for ln in sorted(pairs):
        info, fs = pairs[ln], states.get(ln)
        st = info.status
        if fs is None or not fs.uidvalidity or not fs.highestmodseq or not wanted(ln, info.name):
            continue
        if not st or "HIGHESTMODSEQ" not in st or st.get("UIDVALIDITY") != fs.uidvalidity:
            continue
        if (fs.highestmodseq, fs.uidnext) == (st.get("HIGHESTMODSEQ"), st.get("UIDNEXT")):
            continue  # unchanged on the server
        todo.append((ln, info, fs, st))
    return todo


def grounds(todo: list[tuple]) -> tuple:
    """What the answers to :func:`run_prefetch` depend on: every folder's names, record and status."""
    return tuple((ln, info.name, fs.uidvalidity, fs.highestmodseq, fs.uidnext, tuple(sorted(st.items())))
                 for ln, info, fs, st in todo)


class Ahead:
    """:func:`run_prefetch` done by the connecting thread: its ``grounds``, the answers
    (``selected``; ``bodies`` as (folder, uid, bytes, Future of a ``sync_files.Staged``: the
    body written to the folder's ``tmp/`` on a writer thread of ``pool``)) and the budget
    ``left``. A sync that does not take them calls :meth:`discard`."""

    def __init__(self, grounds: tuple, selected: dict[str, Selected], bodies: list[tuple[str, int, bytes, Any]],
                 left: int, pool: Any) -> None:
        self.grounds = grounds
        self.selected = selected
        self.bodies = bodies
        self.left = left
        self.pool = pool

    def discard(self) -> None:
        """Remove the files written to ``tmp/`` and stop the writer threads."""
        from pigeon.core.sync_files import drop_staged

        for _ln, _uid, _body, fut in self.bodies:
            drop_staged(fut)
        self.bodies = []
        self.pool.shutdown(wait=True)


def prefetch_ahead(remote: Any, folders: dict[str, Any], state_file: Any, store: Any, writers: int) -> Ahead | None:
    """:func:`run_prefetch` on the connecting thread, right after the folder listing, from the
    state's record as it is on disk (read with a connection of its own, read-only), each body
    written to its folder's ``tmp/`` by ``writers`` threads as it arrives. The sync takes the
    answers only if its own grounds turn out the same (:func:`prefetch`). The folders are
    paired by the server name the state recorded; a folder it does not know is left to the
    sync."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from pigeon.core.sync_files import stage
    from pigeon.core.sync_state import StateReader

    if not remote.qresync or not os.path.exists(state_file):
        return None
    state = StateReader(state_file)
    try:
        recorded = state.folders()
    finally:
        state.close()
    pairs: dict[str, Any] = {}
    states: dict[str, Any] = {}
    for fs in recorded.values():
        info = folders.get(fs.remote) if fs.remote else None
        if info is not None:
            pairs[fs.name] = info
            states[fs.name] = fs
    todo = changed_folders(pairs, states, lambda _ln, _rn: True)
    if len(todo) < 2:
        return None
    dirs = {ln: store.folder_path(ln) for ln, _i, _f, _s in todo}
    pool = ThreadPoolExecutor(max_workers=max(1, writers), thread_name_prefix="pigeon-sync-fs")
    bodies: list[tuple[str, int, bytes, Any]] = []

    def on_body(ln: str, uid: int, body: bytes) -> None:
        bodies.append((ln, uid, body, pool.submit(stage, dirs[ln], body, uid, fsync=True)))

    try:
        selected, left = run_prefetch(remote, todo, on_body)
    except BaseException:
        Ahead((), {}, bodies, 0, pool).discard()
        raise
    return Ahead(grounds(todo), selected, bodies, left, pool)


def run_prefetch(r: Any, todo: list[tuple], on_body: Callable[[str, int, bytes], None]) -> tuple[dict[str, Selected], int]:
    """The conveyor of :func:`prefetch` over ``todo`` (:func:`changed_folders`): each folder's
    Selected, and what is left of the budget; each new body fetched goes to ``on_body``."""
    from pigeon.core.sync_remote import uid_set

    def has_new(item: tuple) -> bool:
        _ln, _info, fs, st = item
        return bool(fs.uidnext) and st.get("UIDNEXT", 0) > fs.uidnext

    def commands(item: tuple) -> list[tuple[str, list[bytes], str | None, Any]]:
        ln, info, fs, _st = item
        args, _ = r.examine_args(info.name, (fs.uidvalidity, fs.highestmodseq))
        out = [("EXAMINE", args, info.name, ("examine", item, None))]
        if has_new(item):
            out.append(("UID FETCH", [f"{fs.uidnext}:*".encode(), META_ITEMS], None, ("meta", item, None)))
        return out

    # Chained, the bodies of a folder are asked for while it is still the one examined, with
    # the next folder's two commands: a round trip per folder with new mail. On a network
    # where that costs more than examining a folder again (~5 ms on Dovecot for one of
    # thousands), every folder goes in the first flight and each folder's bodies follow its
    # metadata with an EXAMINE of their own, so the server is never left waiting.
    flights = (getattr(r, "rtt", None) or 0) >= TWO_FLIGHTS_RTT
    chain = [] if flights else [item for item in todo if has_new(item)]
    first = [c for item in todo if flights or not has_new(item) for c in commands(item)]
    if chain:
        first += commands(chain.pop(0))
    out: dict[str, Selected] = {}
    left = PREFETCH_BYTES

    def on_reply(ctx: tuple, reply: tuple) -> list | None:
        nonlocal left
        kind, item, uids = ctx
        typ, _text, untagged = reply
        ln, info, fs, _st = item
        if kind == "examine":
            if typ == "OK":
                sel = answers.selected_from(untagged, True)
                if sel.uidvalidity == fs.uidvalidity:
                    out[ln] = sel
            return None
        if kind == "again":  # examined again for its bodies: the same folder, or none of them
            if typ != "OK" or answers.selected_from(untagged, False).uidvalidity != fs.uidvalidity:
                out.pop(ln, None)
            return None
        if kind == "bodies":
            if typ == "OK" and ln in out:
                for uid, body in answers.bodies_from(untagged):
                    if uid in uids:
                        on_body(ln, uid, body)
            return None
        # "meta": the new messages' flags, sizes and Message-IDs; their bodies next, while
        # this folder is still the one examined, then the next folder with new mail
        more: list = []
        sel = out.get(ln)
        if typ == "OK" and sel is not None:
            meta = {u: m for u, m in answers.meta_from(untagged, True).items() if u >= fs.uidnext}
            for u, m in meta.items():
                sel.changed[u] = m  # the QRESYNC answer gave its flags; this adds size and Message-ID
            new = sorted(u for u, m in meta.items() if m.size is not None)
            take = []
            if len(new) <= PREFETCH_MESSAGES:
                for u in new:
                    if meta[u].size > left:
                        break
                    left -= meta[u].size
                    take.append(u)
            if take:
                if flights:
                    more.append(("EXAMINE", [_name_arg(r, info.name)], info.name, ("again", item, None)))
                more.append(("UID FETCH", [uid_set(take).encode(), b"(UID BODY.PEEK[])"], None, ("bodies", item, set(take))))
        if chain:
            more += commands(chain.pop(0))
        return more

    r.conveyor(first, on_reply)
    return out, left


def _name_arg(r: Any, name: str) -> bytes:
    """A folder's name as EXAMINE takes it, without the QRESYNC parameters."""
    return r.examine_args(name, None)[0][0]


#: Above this round trip (seconds, ``Remote.rtt``), :func:`run_prefetch` sends every folder in
#: one flight instead of chaining them (below it the GIL's switch interval, 5 ms, blurs it).
TWO_FLIGHTS_RTT = 0.010

#: what the pipelined gathering asks of every new message
META_ITEMS = b"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
