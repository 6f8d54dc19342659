"""The Maildir side of carrying out a sync plan: downloads written, flags renamed, files removed.

Downloads (``downloads``) come in batches of ``UID FETCH … BODY.PEEK[]`` (the next batch
downloads in a thread while this one is written); each message is written to ``tmp/`` on a
few threads at once, the batch is made durable together (``pigeon.core.durable``: one
``syncfs`` where Linux reports its errors, else an fsync per file), and only then are the
files linked into ``cur/`` or ``new/``, the directories that got new names fsynced, and the
batch's state committed. A folder's first download into an empty folder
(``Work.stream``) goes a chunk of UIDs at a time, so memory does not grow with the folder.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pigeon.core import sync_local
from pigeon.core.sync_flags import LETTERS, synced_letters, to_imap
from pigeon.core.sync_state import MessageState
from pigeon.core.sync_types import FolderPlan, LocalMsg, Plan

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine, Work


def fsync_dir(path: Path) -> None:
    from pigeon.core.durable import fsync_path

    try:
        fsync_path(path)
    except OSError:
        pass  # some file systems cannot fsync a directory; the links themselves are made


def _write_tmp(fdir: Path, data: bytes, uid: int, fsync: bool) -> tuple[str, str]:
    """Write ``data`` to a new file in ``tmp/`` (fsynced when ``fsync``): (unique name, path)."""
    from pigeon.core.maildir import unique_name

    key = unique_name(uid)
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
    return key, tmp


def _place(fdir: Path, key: str, tmp: str, flags: str) -> tuple[str, str]:
    """Link a file written in ``tmp/`` into ``cur/`` (with ``flags``) or ``new/`` (none):
    (unique name, subdir). Never replaces an existing file."""
    subdir = "cur" if flags else "new"
    name = f"{key}:2,{flags}" if subdir == "cur" else key
    final = os.path.join(fdir, subdir, name)
    try:
        os.link(tmp, final)
        os.unlink(tmp)
    except OSError:
        if os.path.exists(final):
            os.unlink(tmp)
            raise
        os.rename(tmp, final)
    return key, subdir


def deliver(fdir: Path, data: bytes, flags: str, uid: int, *, fsync: bool = True) -> tuple[str, str]:
    """Write a downloaded message atomically (tmp/, fsync, link into cur/ or new/).

    Returns (unique name, subdir). The name carries ``,U=<uid>``. The directory is fsynced
    once per batch by the caller, not per message. Unseen mail without flags goes to new/.
    """
    key, tmp = _write_tmp(fdir, data, uid, fsync)
    return _place(fdir, key, tmp, flags)


class Staged(NamedTuple):
    """A fetched message written to ``tmp/`` (fsynced, or made durable with its batch) before
    it is linked in."""

    key: str
    tmp: str
    digest: str
    msgid: str | None


def stage(fdir: Path, body: bytes, uid: int, *, fsync: bool = True) -> Staged:
    """Write a body as fetched (CRLF line ends) to ``tmp/`` with LF line ends, on a writer
    thread while the main thread reads on; the plan then links it in (:func:`place_staged`)
    or it is removed (:func:`drop_staged`). A file in ``tmp/`` is no message yet to any
    Maildir reader, so a sync cut short leaves nothing a reader sees."""
    data = sync_local.normalise(body)
    key, tmp = _write_tmp(fdir, data, uid, fsync)
    return Staged(key, tmp, sync_local.digest(data), sync_local.message_id(data))


def place_staged(fdir: Path, staged: Staged, flags: str) -> tuple[str, str, str, str | None]:
    """Link a staged message in: (unique name, subdir, digest, Message-ID), as :func:`deliver_fetched`."""
    key, subdir = _place(fdir, staged.key, staged.tmp, flags)
    return key, subdir, staged.digest, staged.msgid


def drop_staged(fut) -> None:  # noqa: ANN001 - a Future of a Staged
    """Remove a staged file the plan did not take (waiting for its write first)."""
    try:
        unlink_quiet(Path(fut.result().tmp))
    except Exception:  # noqa: BLE001, S110 - a write that failed left no file
        pass


def deliver_fetched(fdir: Path, body: bytes, flags: str, uid: int, *, fsync: bool = True) -> tuple[str, str, str, str | None]:
    """:func:`deliver` for a body as fetched (CRLF line ends): returns (unique name, subdir,
    digest, Message-ID). Run on a writer thread, the line-end conversion and the hashing (which
    releases the GIL) leave the main thread free to read the next answers."""
    data = sync_local.normalise(body)
    key, subdir = deliver(fdir, data, flags, uid, fsync=fsync)
    return key, subdir, sync_local.digest(data), sync_local.message_id(data)


def current_path(fdir: Path, m: LocalMsg) -> Path | None:
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


def unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def in_parallel(engine: SyncEngine, fn, items: list, *, threshold: int = 64) -> None:  # noqa: ANN001
    """Run ``fn`` over ``items``, on the engine's few threads when there are at least
    ``threshold``. An unlink right after the downloads' fsyncs waits for a journal commit
    (milliseconds each, one after the other; on a file system mounted with ``discard`` it
    also trims): in parallel they share commits. A rename costs tens of microseconds: a few
    hundred are done here faster than handed to threads."""
    if len(items) < threshold or engine.opt.writers <= 1:
        for x in items:
            fn(x)
        return
    for _ in engine.pool().map(fn, items):
        pass


def set_local_flags(fdir: Path, m: LocalMsg, flags: str) -> str | None:
    """Rename a file to carry ``flags`` (keeping letters we do not sync); returns its new name."""
    p = current_path(fdir, m)
    if p is None:
        return None
    key, info = sync_local.split_name(p.name)
    letters = "".join(sorted(set(flags) | {c for c in info if c not in LETTERS}))
    name = f"{key}:2,{letters}"
    dst = fdir / "cur" / name
    if dst != p:
        os.rename(p, dst)
    return name


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
    this thread talks to the server until the downloads are done. At most three batches are
    in memory (written, waiting, arriving), whatever the folder's size.
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


def stream_downloads(engine: SyncEngine, w: Work, fdir: Path) -> None:
    """Download a whole folder into an empty local one (``Work.stream``): the UIDs, then the
    flags and sizes and the bodies of ``STREAM_MESSAGES`` of them at a time, each chunk
    written and committed before the next is asked for. Memory holds one chunk's metadata
    and three batches of bodies, whatever the folder's size."""
    from pigeon.core.sync_gather import STREAM_MESSAGES
    from pigeon.core.sync_types import Download

    r = engine.remote
    uids = sorted(r.all_uids())
    engine.progress.folder(w.name, len(uids), 0)
    for i in range(0, len(uids), STREAM_MESSAGES):
        meta = r.fetch_meta(uids[i : i + STREAM_MESSAGES])[0]
        chunk = FolderPlan(w.name, download=[Download(w.name, meta[u]) for u in sorted(meta)])
        downloads(engine, w, chunk, fdir, announce=False)


def downloads(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path, *, announce: bool = True) -> None:
    if not fp.download:
        return
    opt = engine.opt
    uploads = {u.local.digest: u for u in fp.upload if u.local.digest}
    by_uid = {d.remote.uid: d.remote for d in fp.download}
    sizes = {u: m.size or 0 for u, m in by_uid.items()}
    if announce:
        engine.progress.folder(w.name, len(by_uid), sum(sizes.values()))
    arrivals = engine.result.arrived if (w.fs is not None or opt.events_on_first_sync) else None
    stores: list[tuple[int, list[str]]] = []
    started = [engine.early_writes.pop((w.name, u)) for u in sorted(by_uid) if (w.name, u) in engine.early_writes]
    if started:
        _record(engine, w, fdir, started, [], arrivals, sum(row.size or 0 for _f, row in started))
    early = [(u, engine.prefetched.pop((w.name, u))) for u in sorted(by_uid) if (w.name, u) in engine.prefetched]
    got = {u for u, _ in early} | {row.uid for _f, row in started}
    batches = _batches([u for u in sorted(by_uid) if u not in got], sizes, opt.batch_messages, opt.batch_bytes)
    # File creation and fsync wait on the disk, not the CPU: several in flight let the file
    # system commit them together (ext4 groups concurrent fsyncs into one journal commit).
    # One pool for the whole sync: starting threads per folder costs more than a small
    # folder's writes.
    pool = engine.pool() if opt.writers > 1 else None
    if early:
        _write_batch(engine, w, fp, fdir, early, by_uid, uploads, stores, arrivals, pool)
        early = []
    for fetched in _fetcher(engine, batches):
        _write_batch(engine, w, fp, fdir, fetched, by_uid, uploads, stores, arrivals, pool)
    grouped: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for uid, flags in stores:
        grouped[tuple(flags)].append(uid)
    for flags, uids in grouped.items():
        engine.remote.store(uids, "+", flags)


def _write_batch(engine: SyncEngine, w: Work, fp: FolderPlan, fdir: Path, fetched: list[tuple[int, bytes]],
                 by_uid: dict, uploads: dict, stores: list, arrivals: list | None, pool) -> None:  # noqa: ANN001
    from pigeon.core.durable import Barrier

    opt = engine.opt
    rows: list[MessageState] = []
    pending = []
    got_bytes = 0
    threaded = pool is not None and len(fetched) >= 4
    # Opened before the batch is written: the barrier then hears of any write of it that fails.
    barrier = Barrier(fdir / "tmp") if threaded and opt.fsync else None
    for uid, body in fetched:
        rm = by_uid.get(uid)
        if rm is None:
            continue
        got_bytes += len(body)
        if not uploads and threaded:
            row = MessageState(uid, "", rm.flags, rm.keywords, len(body))
            pending.append((pool.submit(stage, fdir, body, uid, fsync=False), row))
            continue
        data = sync_local.normalise(body)
        dg = sync_local.digest(data)
        up = uploads.pop(dg, None) if uploads else None
        if up is not None:
            # The same message is already here as an unpaired file: pair, do not copy.
            fp.upload.remove(up)
            flags = "".join(sorted(set(synced_letters(up.local.flags)) | set(rm.flags)))
            if flags != synced_letters(up.local.flags):
                set_local_flags(fdir, up.local, flags)
            if flags != rm.flags:
                stores.append((uid, to_imap(flags)))
            rows.append(MessageState(uid, up.local.key, flags, rm.keywords | up.keywords, len(body), dg, sync_local.message_id(data)))
            continue
        row = MessageState(uid, "", rm.flags, rm.keywords, len(body), dg, sync_local.message_id(data))
        try:
            if threaded:
                pending.append((pool.submit(stage, fdir, data, uid, fsync=False), row))
            else:
                pending.append((stage(fdir, data, uid, fsync=opt.fsync), row))
        except BaseException:
            _drop(pending)
            if barrier is not None:
                barrier.close()
            raise
    try:
        _record(engine, w, fdir, pending, rows, arrivals, got_bytes, barrier)
    finally:
        if barrier is not None:
            barrier.close()


def _made_durable(engine: SyncEngine, fdir: Path, pending: list, barrier) -> list:  # noqa: ANN001
    """``pending`` as (what was written, state row), with every message staged in ``tmp/``
    made durable (``barrier``, when fsyncing) and linked in. When a write or the barrier
    fails, the batch's staged files are removed and nothing is linked: the next sync fetches
    those messages again."""
    results = _settled(pending)
    staged = [(done, row) for done, row in results if isinstance(done, Staged)]
    if not staged:
        return results
    try:
        if barrier is not None:
            barrier.wait([done.tmp for done, _row in staged],
                         run=lambda fn, items: in_parallel(engine, fn, items, threshold=2))
        placed = {id(done): place_staged(fdir, done, row.flags) for done, row in staged}
    except BaseException:
        for done, _row in staged:
            unlink_quiet(Path(done.tmp))
        raise
    return [(placed.get(id(done), done), row) for done, row in results]


def _settled(pending: list) -> list:
    """(what was written, row) for ``pending`` once every write has ended. A failed one
    raises (the first), after the others ended and what they staged was removed."""
    error: BaseException | None = None
    out = []
    for fut, row in pending:
        if isinstance(fut, tuple):
            out.append((fut, row))
            continue
        try:
            out.append((fut.result(), row))
        except BaseException as exc:  # noqa: BLE001 - raised below, once all have ended
            error = error or exc
    if error is not None:
        _drop(pending)
        raise error
    return out


def _drop(pending: list) -> None:
    """Remove what ``pending`` staged in ``tmp/`` (waiting for the writes still running)."""
    for fut, _row in pending:
        try:
            done = fut if isinstance(fut, tuple) else fut.result()
        except BaseException:  # noqa: BLE001, S112 - a write that failed left no file
            continue
        if isinstance(done, Staged):
            unlink_quiet(Path(done.tmp))


def _record(engine: SyncEngine, w: Work, fdir: Path, pending: list, rows: list[MessageState],
            arrivals: list | None, got_bytes: int, barrier=None) -> None:  # noqa: ANN001
    """Wait for the files being written, make those staged in ``tmp/`` durable and link them
    in, fsync the directories that got new names, and only then commit their state rows
    (with ``rows``, the batch's pairings)."""
    opt = engine.opt
    st = engine.state
    rep = engine.result.report
    subdirs: set[str] = set()
    for done, row in _made_durable(engine, fdir, pending, barrier):
        key, subdir = done[0], done[1]
        subdirs.add(subdir)
        rows.append(row.with_(key=key) if len(done) == 2 else row.with_(key=key, digest=done[2], msgid=done[3]))
        rep.downloaded += 1
        if arrivals is not None:
            arrivals.append((w.name, fdir / subdir / (key if subdir == "new" else f"{key}:2,{row.flags}")))
    if opt.fsync:
        for subdir in sorted(subdirs):  # only the directories that got new names
            fsync_dir(fdir / subdir)
    with st.transaction():  # the files are durable: now the state may say so
        st.put_many(w.name, rows)
    engine.progress.advance(w.name, len(rows), got_bytes)


def write_early(engine: SyncEngine, works: list[Work], plan: Plan) -> None:
    """Start writing the new messages fetched while gathering, of every folder at once, before
    the folders are executed one by one: the disk's fsync waits of all folders overlap
    instead of adding up. Each folder's ``downloads`` then waits for its files and commits
    their state, as always after the files are durable. A body that may pair with a local
    file (same digest as one of the folder's uploads) is left to ``downloads``."""
    if engine.opt.writers <= 1 or not engine.prefetched:
        return
    pool = engine.pool()
    for w in works:
        fp = plan.folders.get(w.name)
        if fp is None or not fp.download:
            continue
        fdir = engine.store.folder_path(w.name)
        uploads = {u.local.digest for u in fp.upload if u.local.digest}
        for d in fp.download:
            body = engine.prefetched.get((w.name, d.remote.uid))
            if body is None:
                continue
            rm = d.remote
            staged = engine.staged.pop((w.name, rm.uid), None)
            if staged is not None:
                try:
                    done = staged.result()
                except OSError:
                    done = None  # written the usual way below
                if done is not None and done.digest not in uploads:
                    try:
                        placed = place_staged(fdir, done, rm.flags)
                    except OSError:
                        placed = None  # written again the usual way below, where a failure is the folder's
                    if placed is not None:
                        del engine.prefetched[(w.name, rm.uid)]
                        row = MessageState(rm.uid, "", rm.flags, rm.keywords, len(body))
                        engine.early_writes[(w.name, rm.uid)] = (placed, row)
                        continue
                if done is not None:
                    unlink_quiet(Path(done.tmp))  # may pair with a local file, or failed: left to the rest
            if not uploads:  # nothing to pair with: digest on the writer thread
                del engine.prefetched[(w.name, rm.uid)]
                row = MessageState(rm.uid, "", rm.flags, rm.keywords, len(body))
                engine.early_writes[(w.name, rm.uid)] = (
                    pool.submit(deliver_fetched, fdir, body, rm.flags, rm.uid, fsync=engine.opt.fsync), row)
                continue
            data = sync_local.normalise(body)
            dg = sync_local.digest(data)
            if dg in uploads:
                continue
            del engine.prefetched[(w.name, d.remote.uid)]
            row = MessageState(rm.uid, "", rm.flags, rm.keywords, len(body), dg, sync_local.message_id(data))
            engine.early_writes[(w.name, rm.uid)] = (pool.submit(deliver, fdir, data, rm.flags, rm.uid, fsync=engine.opt.fsync), row)
