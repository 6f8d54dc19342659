"""Carrying out a sync plan for one folder, in an order that never loses mail.

Downloads first (batched ``UID FETCH … BODY.PEEK[]``; each file written to ``tmp/``, fsynced
and linked into place, then the batch's state committed), then uploads (journalled as pending
before the APPEND, recorded with the APPENDUID after), flag changes both ways (one STORE per
distinct change), moves, and deletions last. The folder's new UIDVALIDITY/HIGHESTMODSEQ and
local stamp are recorded only when everything in it went through and nobody else changed it
meanwhile; otherwise the next sync looks at it again, which is always safe.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pigeon.core import sync_local
from pigeon.core.sync_plan import LETTERS, FolderPlan, LocalMsg, Plan, synced_letters, to_imap
from pigeon.core.sync_state import MessageState

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine, Work


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def deliver(fdir: Path, data: bytes, flags: str, uid: int, *, fsync: bool = True) -> tuple[str, str]:
    """Write a downloaded message atomically (tmp/, fsync, link into cur/ or new/).

    Returns (unique name, subdir). The name carries ``,U=<uid>``. The directory is fsynced
    once per batch by the caller, not per message. Unseen mail without flags goes to new/.
    """
    from pigeon.core.maildir import unique_name

    key = unique_name(uid)
    subdir = "cur" if flags else "new"
    name = f"{key}:2,{flags}" if subdir == "cur" else key
    tmp = os.path.join(fdir, "tmp", key)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    final = os.path.join(fdir, subdir, name)
    try:
        os.link(tmp, final)  # never replaces an existing file
        os.unlink(tmp)
    except OSError:
        if os.path.exists(final):
            os.unlink(tmp)
            raise
        os.rename(tmp, final)
    return key, subdir


def _path(fdir: Path, m: LocalMsg) -> Path | None:
    """The current path of a file (it may have been renamed since the listing, or be known only
    by its unique name and flags from the state)."""
    if m.name:
        p = fdir / m.subdir / m.name
        if os.path.exists(p):
            return p
    else:
        # Known from the state: it is where pigeon left it, unless its flags carry letters we
        # do not sync; try the names it most likely has before listing the folder.
        for sub, name in (("cur", f"{m.key}:2,{m.flags}"), ("new", m.key), ("cur", f"{m.key}:2,")):
            p = fdir / sub / name
            if os.path.exists(p):
                return p
    for sub in ("cur", "new"):
        try:
            for n in os.listdir(fdir / sub):
                if sync_local.split_name(n)[0] == m.key:
                    return fdir / sub / n
        except FileNotFoundError:
            continue
    return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _in_parallel(fn, items: list, workers: int) -> None:  # noqa: ANN001
    """Run ``fn`` over ``items`` on a few threads: unlink and rename wait on the disk (a file
    system mounted with ``discard`` trims on every unlink), not on the CPU."""
    if len(items) < 8 or workers <= 1:
        for x in items:
            fn(x)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pigeon-sync-fs") as pool:
        for _ in pool.map(fn, items):
            pass


def _set_local_flags(fdir: Path, m: LocalMsg, flags: str) -> str | None:
    """Rename a file to carry ``flags`` (keeping letters we do not sync); returns its new name."""
    p = _path(fdir, m)
    if p is None:
        return None
    key, info = sync_local.split_name(p.name)
    letters = "".join(sorted(set(flags) | {c for c in info if c not in LETTERS}))
    name = f"{key}:2,{letters}"
    dst = fdir / "cur" / name
    if dst != p:
        os.rename(p, dst)
    return name


def execute(engine: SyncEngine, w: Work, p: Plan) -> None:
    fp = p.folder(w.name)
    st = engine.state
    r = engine.remote
    rep = engine.result.report
    # A folder counts as a Maildir once it has cur/ or new/: one whose creation was cut short
    # (a sync killed inside create_folder) or copied by a tool that drops empty directories
    # may lack tmp/, where every download is written first. Make what is missing.
    fdir = engine.store.create_folder(w.name)
    moves_out = [m for m in p.moves_remote if m.src == w.name]
    moves_in = [m for m in p.moves_local if m.dest == w.name]
    touched_remote = bool(fp.upload or fp.delete_remote or moves_out or moves_in
                          or any(x.store_add or x.store_remove for x in fp.pairs))
    later = [d for d in fp.download if (w.name, d.remote.uid) not in engine.prefetched]
    need_select = bool(later or touched_remote)
    if need_select:
        sel = r.select(w.remote_name)
        if sel.uidvalidity != w.uidvalidity:
            raise RuntimeError("UIDVALIDITY changed during the sync; run it again")

    _downloads(engine, w, fp, fdir)
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
        renamed[x.uid] = _set_local_flags(fdir, x.local, x.local_flags)

    _in_parallel(rename, [x for x in fp.pairs if x.local_flags is not None], engine.opt.writers)
    rows: list[MessageState] = []
    for x in fp.pairs:
        if x.local_flags is not None and renamed.get(x.uid) is None:
            continue  # the file went away meanwhile: leave the state, the next sync sees it
        rows.append(x.record)
        rep.flags_up += bool(x.store_add or x.store_remove)
        rep.flags_down += x.local_flags is not None
    with st.transaction():
        st.put_many(w.name, rows)
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
                if m.local.flags and synced_letters(m.local.flags) != m.flags:
                    _set_local_flags(engine.store.folder_path(dest), m.local, m.flags)
        rep.moved += len(ms)

    # moved here on the server: rename the file across, then settle flags
    in_adds: dict[tuple[str, ...], list[int]] = defaultdict(list)
    in_rems: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for m in moves_in:
        src_dir = engine.store.folder_path(m.src)
        path = _path(src_dir, m.local)
        if path is None:
            continue
        from pigeon.core.maildir import entry_for_path

        entry = entry_for_path(engine.store, path)
        if entry is None:
            continue
        moved = engine.store.move(entry, w.name)
        lm = LocalMsg(moved.key, moved.flags, moved.path.name, moved.subdir)
        if synced_letters(moved.flags) != m.flags:
            _set_local_flags(fdir, lm, m.flags)
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
        paths = [p for p in (_path(fdir, d.local) for d in fp.delete_local) if p is not None]
        _in_parallel(_unlink, paths, engine.opt.writers)
        with st.transaction():
            st.remove_many(w.name, [d.uid for d in fp.delete_local])
        rep.deleted_local += len(fp.delete_local)
    if fp.forget:
        with st.transaction():
            st.remove_many(w.name, [f.uid for f in fp.forget])

    _settle(engine, w, fp, fdir, touched_remote)


def _batches(uids: list[int], sizes: dict[int, int], max_n: int, max_bytes: int) -> list[list[int]]:
    out: list[list[int]] = []
    batch: list[int] = []
    nbytes = 0
    for u in uids:
        if batch and (len(batch) >= max_n or nbytes >= max_bytes):
            out.append(batch)
            batch, nbytes = [], 0
        batch.append(u)
        nbytes += sizes.get(u, 0)
    if batch:
        out.append(batch)
    return out


def _fetcher(engine: SyncEngine, batches: list[list[int]]) -> Iterator[list[tuple[int, bytes]]]:
    """Yield fetched batches; the next batch downloads in a thread while this one is written.

    Socket reads and file writes release the GIL, so the network and the disk overlap. Only
    this thread talks to the server until the downloads are done. At most two batches are in
    memory, whatever the folder's size.
    """
    if len(batches) <= 1:
        for b in batches:
            yield engine.remote.fetch_bodies(b)
        return
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def run() -> None:
        try:
            for b in batches:
                if stop.is_set():
                    break
                q.put(("ok", engine.remote.fetch_bodies(b)))
            q.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(("error", exc))

    t = threading.Thread(target=run, name="pigeon-sync-fetch", daemon=True)
    t.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                break
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()


def _downloads(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path) -> None:
    if not fp.download:
        return
    opt = engine.opt
    uploads = {u.local.digest: u for u in fp.upload if u.local.digest}
    by_uid = {d.remote.uid: d.remote for d in fp.download}
    sizes = {u: m.size or 0 for u, m in by_uid.items()}
    engine.progress.folder(w.name, len(by_uid), sum(sizes.values()))
    arrivals = engine.result.arrived if (w.fs is not None or opt.events_on_first_sync) else None
    stores: list[tuple[int, list[str]]] = []
    early = [(u, engine.prefetched.pop((w.name, u))) for u in sorted(by_uid) if (w.name, u) in engine.prefetched]
    got = {u for u, _ in early}
    batches = _batches([u for u in sorted(by_uid) if u not in got], sizes, opt.batch_messages, opt.batch_bytes)
    from concurrent.futures import ThreadPoolExecutor

    # File creation and fsync wait on the disk, not the CPU: several in flight let the file
    # system commit them together (ext4 groups concurrent fsyncs into one journal commit).
    with ThreadPoolExecutor(max_workers=opt.writers, thread_name_prefix="pigeon-sync-write") as pool:
        if early:
            _write_batch(engine, w, fp, fdir, early, by_uid, uploads, stores, arrivals, pool)
        for fetched in _fetcher(engine, batches):
            _write_batch(engine, w, fp, fdir, fetched, by_uid, uploads, stores, arrivals, pool)
    grouped: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for uid, flags in stores:
        grouped[tuple(flags)].append(uid)
    for flags, uids in grouped.items():
        engine.remote.store(uids, "+", flags)


def _write_batch(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path, fetched: list[tuple[int, bytes]],
                 by_uid: dict, uploads: dict, stores: list, arrivals: list | None, pool) -> None:  # noqa: ANN001
    opt = engine.opt
    st = engine.state
    rep = engine.result.report
    rows: list[MessageState] = []
    pending = []
    got_bytes = 0
    for uid, body in fetched:
        rm = by_uid.get(uid)
        if rm is None:
            continue
        data = sync_local.normalise(body)
        dg = sync_local.digest(data)
        got_bytes += len(body)
        up = uploads.pop(dg, None) if uploads else None
        if up is not None:
            # The same message is already here as an unpaired file: pair, do not copy.
            fp.upload.remove(up)
            flags = "".join(sorted(set(synced_letters(up.local.flags)) | set(rm.flags)))
            if flags != synced_letters(up.local.flags):
                _set_local_flags(fdir, up.local, flags)
            if flags != rm.flags:
                stores.append((uid, to_imap(flags)))
            rows.append(MessageState(uid, up.local.key, flags, rm.keywords | up.keywords, len(body), dg, sync_local.message_id(data)))
            continue
        fut = pool.submit(deliver, fdir, data, rm.flags, uid, fsync=opt.fsync)
        pending.append((fut, MessageState(uid, "", rm.flags, rm.keywords, len(body), dg, sync_local.message_id(data))))
    for fut, row in pending:
        key, subdir = fut.result()  # a failed write raises here, before anything is recorded
        rows.append(row.with_(key=key))
        rep.downloaded += 1
        if arrivals is not None:
            arrivals.append((w.name, fdir / subdir / (key if subdir == "new" else f"{key}:2,{row.flags}")))
    if opt.fsync:
        _fsync_dir(fdir / "cur")
        _fsync_dir(fdir / "new")
    with st.transaction():  # the files are durable: now the state may say so
        st.put_many(w.name, rows)
    engine.progress.advance(w.name, len(rows), got_bytes)


def _uploads(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path) -> None:
    if not fp.upload:
        return
    st = engine.state
    rep = engine.result.report
    chunk: list[tuple] = []
    size = 0

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
            for (u, data, dg, _p), uid in zip(chunk, uids, strict=True):
                if uid is None:
                    continue  # no APPENDUID: stays pending; the next sync pairs it by content
                st.put(w.name, MessageState(uid, u.local.key, synced_letters(u.local.flags), u.keywords,
                                            sync_local.wire_size(data), dg, sync_local.message_id(data)))
                st.remove_pending(w.name, u.local.key)
        rep.uploaded += len(chunk)
        engine.progress.advance(w.name, len(chunk), size)
        chunk, size = [], 0

    for u in list(fp.upload):
        path = _path(fdir, u.local)
        if path is None:
            continue
        data = path.read_bytes()
        chunk.append((u, data, sync_local.digest(data), path))
        size += len(data)
        if len(chunk) >= 50 or size >= 8 * 1024 * 1024:
            flush()
    flush()


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
    # The local stamp: taken before listing, kept only if the listing is exactly the state.
    stamp = sync_local.stamp(fdir)
    names = sync_local.scan_names(fdir)
    want = st.key_flags(w.name)
    # Quick check first: every file has exactly the name pigeon gives it, and nothing else is
    # there; else compare (unique name, synced flags) pairs, which allows letters we do not sync.
    same = len(names) == len(want) and all(
        f"{k}:2,{f}" in names or (not f and k in names) for k, f in want
    )
    if not same:
        have = {(k, synced_letters(f)) for k, f in map(sync_local.split_name, names)}
        if have != want:
            stamp = None
    with st.transaction():
        st.update_folder(w.name, remote=w.remote_name, uidvalidity=w.uidvalidity, highestmodseq=modseq,
                         uidnext=uidnext, local_stamp=stamp, synced=None)
