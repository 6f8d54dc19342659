"""Carrying out a sync plan for one folder, in an order that never loses mail.

Downloads first (batched ``UID FETCH … BODY.PEEK[]``; each file written to ``tmp/``, fsynced
and linked into place, then the batch's state committed), then uploads (journalled as pending
before the APPEND, recorded with the APPENDUID after), flag changes both ways (one STORE per
distinct change), moves, and deletions last. The folder's new UIDVALIDITY/HIGHESTMODSEQ and
local stamp are recorded only when everything in it went through and nobody else changed it
meanwhile; otherwise the next sync looks at it again, which is always safe.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from pigeon.core import sync_local
from pigeon.core.sync_files import (
    current_path,
    downloads,
    in_parallel,
    set_local_flags,
    stream_downloads,
    unlink_quiet,
)
from pigeon.core.sync_flags import synced_letters, to_imap
from pigeon.core.sync_remote import Refused
from pigeon.core.sync_state import MessageState
from pigeon.core.sync_types import FolderPlan, LocalMsg, Plan

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine, Work


def execute(engine: SyncEngine, w: Work, p: Plan) -> None:
    fp = p.folder(w.name)
    st = engine.state
    r = engine.remote
    rep = engine.result.report
    # A folder counts as a Maildir once it has cur/ or new/: one whose creation was cut short
    # (a sync killed inside create_folder) or copied by a tool that drops empty directories
    # may lack tmp/, where every download is written first. Make what is missing.
    fdir = engine.store.create_folder(w.name)
    if w.fi.rebased:
        # The server renumbered the folder: the agreed state is now the rows re-keyed by the
        # new UIDs (matched by content), and nothing of the old numbering may stay, or a later
        # change to UID n would land on the file that had UID n before.
        with st.transaction():
            st.replace_folder(w.name, w.fi.known.values())
    # Files a sync (or another tool) cut short left in tmp/ go once they are 36 hours old,
    # as the Maildir spec says: a delivery in progress is never that old.
    engine.store.clean_tmp(w.name)
    moves_out = [m for m in p.moves_remote if m.src == w.name]
    moves_in = [m for m in p.moves_local if m.dest == w.name]
    touched_remote = bool(fp.upload or fp.delete_remote or moves_out or moves_in
                          or any(x.store_add or x.store_remove for x in fp.pairs))
    early = engine.prefetched.keys() | engine.early_writes.keys()  # fetched while gathering
    later = [d for d in fp.download if (w.name, d.remote.uid) not in early]
    need_select = bool(later or touched_remote or w.stream)
    if need_select:
        sel = r.select(w.remote_name)
        if sel.uidvalidity != w.uidvalidity:
            raise RuntimeError("UIDVALIDITY changed during the sync; run it again")

    if w.stream:
        stream_downloads(engine, w, fdir)
    downloads(engine, w, fp, fdir)
    _uploads(engine, w, fp, fdir)

    # flags both ways: one STORE per distinct change
    adds: dict[tuple[str, ...], list[int]] = defaultdict(list)
    removes: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for x in fp.pairs:
        if x.store_add:
            adds[x.store_add].append(x.uid)
        if x.store_remove:
            removes[x.store_remove].append(x.uid)
    for flags, uids in adds.items():
        r.store(uids, "+", flags)
    for flags, uids in removes.items():
        r.store(uids, "-", flags)
    renamed: dict[int, str | None] = {}

    def rename(x) -> None:  # noqa: ANN001
        renamed[x.uid] = set_local_flags(fdir, x.local, x.local_flags)

    in_parallel(engine, rename, [x for x in fp.pairs if x.local_flags is not None], threshold=256)
    rows: list[MessageState] = []
    for x in fp.pairs:
        if x.local_flags is not None and renamed.get(x.uid) is None:
            continue  # the file went away meanwhile: leave the state, the next sync sees it
        rows.append(x.record)
        rep.flags_up += bool(x.store_add or x.store_remove)
        rep.flags_down += x.local_flags is not None
    with st.transaction():
        st.put_many(w.name, rows, was=w.fi.known)
        for x in fp.pairs:
            if x.adopted:
                st.remove_pending(w.name, x.record.key)  # an upload that did reach the server

    # moved here locally: flags first, then MOVE, grouped by destination
    by_dest: dict[str, list] = defaultdict(list)
    m_adds: dict[tuple[str, ...], list[int]] = defaultdict(list)
    m_rems: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for m in moves_out:
        base = m.known
        add = to_imap("".join(sorted(set(m.flags) - set(base.flags))), m.keywords - base.keywords)
        rem = to_imap("".join(sorted(set(base.flags) - set(m.flags))), base.keywords - m.keywords)
        if add:
            m_adds[tuple(add)].append(m.uid)
        if rem:
            m_rems[tuple(rem)].append(m.uid)
        by_dest[m.dest].append(m)
    for flags, uids in m_adds.items():
        r.store(uids, "+", flags)
    for flags, uids in m_rems.items():
        r.store(uids, "-", flags)
    for dest, ms in by_dest.items():
        dest_remote = engine.folder_remote_names.get(dest, dest)
        mapping = r.move([m.uid for m in ms], dest_remote)
        with st.transaction():
            for m in ms:
                st.remove(w.name, m.uid)
                new = mapping.get(m.uid)
                if new is not None:
                    st.put(dest, MessageState(new, m.local.key, m.flags, m.keywords, m.known.size, m.known.digest, m.known.msgid))
                if synced_letters(m.local.flags) != m.flags:  # the merge took a change from the server
                    set_local_flags(engine.store.folder_path(dest), m.local, m.flags)
        rep.moved += len(ms)

    # moved here on the server: rename the file across, then settle flags
    in_adds: dict[tuple[str, ...], list[int]] = defaultdict(list)
    in_rems: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for m in moves_in:
        src_dir = engine.store.folder_path(m.src)
        path = current_path(src_dir, m.local)
        if path is None:
            continue
        from pigeon.core.maildir import entry_for_path

        entry = entry_for_path(engine.store, path)
        if entry is None:
            continue
        moved = engine.store.move(entry, w.name)
        lm = LocalMsg(moved.key, moved.flags, moved.path.name, moved.subdir)
        if synced_letters(moved.flags) != m.flags:
            set_local_flags(fdir, lm, m.flags)
        add = to_imap("".join(sorted(set(m.flags) - set(m.remote.flags))), m.keywords - m.remote.keywords)
        rem = to_imap("".join(sorted(set(m.remote.flags) - set(m.flags))), m.remote.keywords - m.keywords)
        if add:
            in_adds[tuple(add)].append(m.remote.uid)
        if rem:
            in_rems[tuple(rem)].append(m.remote.uid)
        with st.transaction():
            st.remove(m.src, m.known.uid)
            st.put(w.name, MessageState(m.remote.uid, moved.key, m.flags, m.keywords, m.known.size, m.known.digest, m.known.msgid))
        rep.moved += 1
    for flags, uids in in_adds.items():
        r.store(uids, "+", flags)
    for flags, uids in in_rems.items():
        r.store(uids, "-", flags)

    # deletions last
    if fp.delete_remote:
        uids = [d.uid for d in fp.delete_remote]
        r.delete(uids)
        with st.transaction():
            st.remove_many(w.name, uids)
        rep.deleted_remote += len(uids)
    if fp.delete_local:
        paths = [p for p in (current_path(fdir, d.local) for d in fp.delete_local) if p is not None]
        in_parallel(engine, unlink_quiet, paths, threshold=2)  # unlinks wait on the journal: in parallel
        with st.transaction():
            st.remove_many(w.name, [d.uid for d in fp.delete_local])
        rep.deleted_local += len(fp.delete_local)
    if fp.forget:
        with st.transaction():
            st.remove_many(w.name, [f.uid for f in fp.forget])

    _settle(engine, w, fp, fdir, touched_remote)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _uploads(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path) -> None:
    if not fp.upload:
        return
    st = engine.state
    rep = engine.result.report
    chunk: list[tuple] = []
    size = 0
    refused: list[tuple[Path, str]] = []

    def flush() -> None:
        nonlocal chunk, size
        if not chunk:
            return
        with st.transaction():
            for u, _data, dg, _p in chunk:
                st.add_pending(w.name, u.local.key, dg)
        uids = engine.remote.append(
            w.remote_name,
            [(sync_local.wire(data), to_imap(synced_letters(u.local.flags), u.keywords), p.stat().st_mtime) for u, data, _dg, p in chunk],
        )
        with st.transaction():
            for (u, data, dg, p), uid in zip(chunk, uids, strict=True):
                if isinstance(uid, Refused):  # not on the server: the file stays, as it was
                    st.remove_pending(w.name, u.local.key)
                    refused.append((p, uid))
                    continue
                if uid is None:
                    continue  # no APPENDUID: stays pending; the next sync pairs it by content
                st.put(w.name, MessageState(uid, u.local.key, synced_letters(u.local.flags), u.keywords,
                                            sync_local.wire_size(data), dg, sync_local.message_id(data)))
                st.remove_pending(w.name, u.local.key)
        rep.uploaded += sum(not isinstance(uid, Refused) for uid in uids)
        engine.progress.advance(f"{w.name} (up)", len(chunk), size)
        chunk, size = [], 0

    todo = [(u, p) for u in list(fp.upload) if (p := current_path(fdir, u.local)) is not None]
    if not todo:
        return
    # Its own line on the terminal: the downloads' totals do not count these.
    engine.progress.folder(f"{w.name} (up)", len(todo), sum(_size(p) for _u, p in todo))
    for u, path in todo:
        data = path.read_bytes()
        chunk.append((u, data, sync_local.digest(data), path))
        size += len(data)
        if len(chunk) >= 50 or size >= 8 * 1024 * 1024:
            flush()
    flush()
    if refused:
        # The rest of the folder syncs on (flags, moves, deletions); the sync exits 1 naming
        # the file, and tries it again next time.
        path, why = refused[0]
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        msg = (f"the server refused to store {path.parent.name}/{path.name}{more} (kept here only):"
               f" {why.removeprefix('APPEND failed: ')}")
        engine.result.failed[w.name] = msg
        rep.errors.append(f"{w.name}: {msg}")


def _settle(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path, touched_remote: bool) -> None:
    """Record the folder's new agreed state, advancing only what is known to be agreed."""
    r = engine.remote
    st = engine.state
    ok = not fp.guard
    modseq = w.modseq
    uidnext = w.uidnext
    if ok and touched_remote and r.condstore and w.modseq:
        status = r.status(w.remote_name)
        changed, vanished = r.fetch_meta("1:*", sizes=False, changedsince=w.modseq, vanished=r.qresync)
        rows = st.get_many(w.name, set(changed) | vanished)
        ours = all(u in rows and rows[u].flags == m.flags and rows[u].keywords == m.keywords for u, m in changed.items())
        ours = ours and not (vanished & set(rows))
        if ours and status.get("HIGHESTMODSEQ"):
            modseq, uidnext = status["HIGHESTMODSEQ"], status.get("UIDNEXT", uidnext)
        else:
            uidnext = None  # someone else changed it meanwhile: look again next time
    if not ok:
        modseq = w.fs.highestmodseq if w.fs else None
        uidnext = None
    # The local stamp comes later (``stamp_folders``), once for every folder of the sync;
    # until then the folder counts as changed locally, which is always safe.
    with st.transaction():
        st.update_folder(w.name, remote=w.remote_name, uidvalidity=w.uidvalidity, highestmodseq=modseq,
                         uidnext=uidnext, local_stamp=None, synced=None)
    engine.unstamped.append((w.name, fdir))


def stamp_folders(engine: SyncEngine) -> None:
    """Record the local stamp of every folder the sync executed, marked unverified: the next
    sync lists the folder once, while it waits for the server, before trusting the stamp
    (``sync_stamps``). Also record as verified the stamps the check of this sync vouched for
    in folders it did not change."""
    import time

    from pigeon.core.sync_stamps import unverified

    todo, engine.unstamped = engine.unstamped, []
    stamps: list[tuple[str, str, float]] = []
    executed = {name for name, _ in todo}
    for name, fdir in todo:
        stamp = sync_local.stamp(fdir)
        if stamp is not None:
            stamps.append((name, unverified(stamp), time.time()))
    for name, (stamp, listed_at) in engine.verified.items():
        if name not in executed:
            stamps.append((name, stamp, listed_at))
    engine.verified = {}
    if not stamps:
        return
    st = engine.state
    with st.transaction():  # one commit for all
        for name, stamp, listed_at in stamps:
            st.update_folder(name, local_stamp=stamp, synced=listed_at)
