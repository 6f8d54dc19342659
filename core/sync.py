"""The two-way sync engine: make an account's Maildir and its IMAP server agree.

One pass, for all folders at once, so that a message moved between folders on one side is
moved on the other instead of copied and deleted:

1. **Folders**: one ``LIST … RETURN (STATUS (UIDVALIDITY UIDNEXT HIGHESTMODSEQ))`` round trip
   gives every server folder's state; ``stamp()`` of each local folder (two ``stat`` calls)
   says whether anything was added, removed or renamed there. A folder where both are as
   last recorded is skipped without being selected or listed, so a sync with nothing to do
   costs a few round trips whatever the number of messages. Folders new on one side are
   created on the other.
2. **Gather** the changed folders: the local file names (no ``stat`` per file); from the
   server, with QRESYNC, ``EXAMINE folder (QRESYNC (uidvalidity modseq))`` which answers with
   the changed flags and the ``VANISHED`` UIDs; with CONDSTORE only, ``CHANGEDSINCE`` plus a
   UID search; else the flags of every UID in one FETCH.
3. **Plan** (``pigeon.core.sync_plan``, pure): downloads, uploads, flag merges, deletions,
   moves, pairings by content, the mass-deletion guard.
4. **Execute** (``pigeon.core.sync_exec``), writing each file before committing its state.

See ``sync_plan``'s docstring for the conflict rules.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.core.sync_connect import Opening, _close, open_session
from pigeon.core.sync_remote import FolderInfo, Remote
from pigeon.core.sync_state import FolderState, SyncState, state_path
from pigeon.hooks.types import SyncReport

if TYPE_CHECKING:
    from pigeon.core.sync_types import FolderInput, Plan

# The planner, the local scanner and the executor are imported only when a folder changed:
# a sync with nothing to do must start quickly.


@dataclass
class SyncOptions:
    folders: list[str] | None = None  # only these (local or server names); None = all
    dry_run: bool = False
    force: bool = False
    guard_share: float = 0.5
    guard_min: int = 20
    batch_messages: int = 500
    # One batch being written (its bodies and their LF copies), one waiting, one arriving:
    # about 4 x batch_bytes of bodies in memory at most, whatever the folder's size.
    batch_bytes: int = 4 * 1024 * 1024
    fsync: bool = True
    writers: int = 8  # files written (and fsynced) in parallel during downloads
    events_on_first_sync: bool = False  # a folder's first sync imports; it does not "arrive"
    events: bool = True  # fire pigeon_message_arrived per new message (parses each one)
    lock_wait: float = 60.0  # seconds to wait for another sync of the account (sync_lock)


class Progress:
    """What the engine reports while it works; the CLI draws it, the default is silent."""

    def folder(self, name: str, messages: int, nbytes: int) -> None:  # a folder's transfer starts
        pass

    def advance(self, name: str, messages: int, nbytes: int) -> None:
        pass

    def done(self, name: str, summary: str) -> None:
        pass

    def waiting(self, holder: str) -> None:  # another sync of the account runs; this one waits
        pass


@dataclass
class Work:
    """One changed folder between gathering and executing."""

    name: str
    remote_name: str
    fs: FolderState | None
    stamp: str | None
    fi: FolderInput
    uidvalidity: int
    uidnext: int | None
    modseq: int | None
    new_folder: bool = False
    notes: list[str] = field(default_factory=list)
    partial: bool = False  # only the server changed; ``fi.known`` holds just the touched UIDs
    stream: bool = False  # a first download into an empty folder: planned chunk by chunk (sync_exec)


@dataclass
class Result:
    """What a sync did: the hook-facing report plus per-folder details for the CLI."""

    report: SyncReport
    plan: Plan | None = None
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: int = 0
    arrived: list[Any] = field(default_factory=list)  # (folder, path) of new messages


def local_name(remote: str, delim: str | None) -> str | None:
    """Server folder name -> local folder name ("/"-separated), None if it cannot be mapped."""
    if remote.upper() == "INBOX":
        return "INBOX"
    if delim and delim != "/":
        if "/" in remote:
            return None
        return remote.replace(delim, "/")
    return remote


def remote_name(local: str, delim: str | None) -> str | None:
    if local.upper() == "INBOX":
        return "INBOX"
    if delim and delim != "/":
        if delim in local:
            return None
        return local.replace("/", delim)
    return local


class SyncEngine:
    """One sync of one account. ``store`` is a ``pigeon.core.maildir.Maildir``."""

    def __init__(self, store: Any, state: SyncState, remote: Remote, *, account: str = "",
                 options: SyncOptions | None = None, progress: Progress | None = None,
                 on_arrived: Callable[[str, Path], None] | None = None) -> None:
        self.store = store
        self.state = state
        self.remote = remote
        self.account = account
        self.opt = options or SyncOptions()
        self.progress = progress or Progress()
        self.on_arrived = on_arrived
        # The folders as ``remote.enable_and_list()`` gave them, asked for while the command
        # was still starting (``sync_connect.Opening``): a callable that returns or raises it.
        self.listed: Callable[[], dict[str, FolderInfo]] | None = None
        self.result = Result(SyncReport(account))
        self.prefetched: dict[tuple[str, int], bytes] = {}  # (folder, uid) -> body fetched early
        self.staged: dict[tuple[str, int], Any] = {}  # (folder, uid) -> Future of sync_files.Staged
        self._pool: Any = None
        self.unstamped: list[tuple[str, Path]] = []  # executed folders whose stamp is still to take
        self.preselected: dict[str, Any] = {}  # local name -> Selected, from sync_gather.prefetch
        self.gone: list[str] = []  # folders in the state that the server no longer lists
        self.missing: list[str] = []  # folders in the state removed here as a whole (perhaps renamed)
        self.early_writes: dict[tuple[str, int], Any] = {}  # (folder, uid) -> (future, state row)
        self._dirs: dict[str, Path] = {}  # folder -> its directory, for fetched_early
        self.stamps: Any = None  # sync_stamps.StampCheck of the last sync's stamps
        self.ahead: Any = None  # sync_gather.Ahead: the changed folders, read while connecting
        self.verified: dict[str, tuple[str, float]] = {}  # folder -> stamp its check vouched for
        self.held: set[str] = set()  # folders a dry run leaves out (a rename it would make first)
        # The session ends with this sync (LOGOUT next): no UNSELECT first, a round trip saved.
        self.logging_out = False

    def pool(self) -> Any:
        """The sync's file-writing threads (started on first use, stopped when the run ends)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=max(1, self.opt.writers), thread_name_prefix="pigeon-sync-fs")
        return self._pool

    # ------------------------------------------------------------------ the pass

    def fetched_early(self, folder: str, uid: int, body: bytes) -> None:
        """Keep a body fetched while gathering, and start writing it to the folder's ``tmp/``
        (``sync_files.stage``), so its fsync overlaps with the rest of the download."""
        self.prefetched[(folder, uid)] = body
        if self.opt.writers <= 1 or self.opt.dry_run:
            return
        from pigeon.core.sync_files import stage

        fdir = self._dirs.get(folder)
        if fdir is None:  # checked once per folder, not once per message
            fdir = self._dirs[folder] = self.store.folder_path(folder)
        self.staged[(folder, uid)] = self.pool().submit(stage, fdir, body, uid, fsync=self.opt.fsync)

    def adopt(self, ahead: Any) -> bool:
        """Take the answers read ahead (``sync_gather.Ahead``): its bodies, written to ``tmp/``
        already, and its writer threads. False where this sync writes otherwise (one writer,
        no fsync, a dry run): the caller then discards them and asks again."""
        if self.opt.writers <= 1 or not self.opt.fsync or self.opt.dry_run or self._pool is not None:
            return False
        self._pool = ahead.pool
        for ln, uid, body, fut in ahead.bodies:
            self.prefetched[(ln, uid)] = body
            self.staged[(ln, uid)] = fut
        ahead.bodies = []
        self._prefetch_left = ahead.left
        return True

    def run(self) -> Result:
        try:
            return self._run()
        finally:
            if self.ahead is not None:  # read ahead, never used (the pass ended before)
                self.ahead.discard()
                self.ahead = None
            if self.staged:  # fetched early, but the plan did not take them (or the pass failed)
                from pigeon.core.sync_files import drop_staged

                for fut in self.staged.values():
                    drop_staged(fut)
                self.staged.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _run(self) -> Result:
        res = self.result
        if self.stamps is None:
            from pigeon.core.sync_stamps import StampCheck

            self.stamps = StampCheck.for_state(self.state, self.store)
        listed, self.listed = self.listed, None
        infos = listed() if listed is not None else self.remote.enable_and_list()
        pairs = self._folders(infos)
        self.folder_remote_names = {ln: info.name for ln, info in pairs.items()}
        states = self.state.folders()
        self.has_state = bool(states)
        from pigeon.core.sync_gather import gather, prefetch

        self.preselected = prefetch(self, pairs, states)
        works: list[Work] = []
        for ln in sorted(pairs):
            if not self._wanted(ln, pairs[ln].name):
                continue
            try:
                w = gather(self, ln, pairs[ln], states.get(ln))
            except Exception as exc:  # noqa: BLE001 - one folder failing must not stop the rest
                self._fail(ln, exc)
                continue
            if w is None:
                res.skipped += 1
            else:
                works.append(w)
        self.remote.unselect()
        if not works:
            if self.verified and not self.opt.dry_run:
                from pigeon.core.sync_exec import stamp_folders

                stamp_folders(self)  # the stamps this sync's check vouched for
            self._drop_emptied()
            return res
        from pigeon.core.sync_plan import plan

        p = plan([w.fi for w in works] + self._gone_inputs(works, states), guard_share=self.opt.guard_share,
                 guard_min=self.opt.guard_min, force=self.opt.force)
        res.plan = p
        for fp in p.guarded():
            res.failed[fp.name] = fp.guard or "deletion guard"
            res.report.errors.append(f"{fp.name}: {fp.guard}")
        for w in works:
            res.notes += [f"{w.name}: {n}" for n in w.notes]
        if self.opt.dry_run:
            self._drop_emptied(p)
            return res
        from pigeon.core.sync_exec import execute, stamp_folders
        from pigeon.core.sync_files import write_early

        write_early(self, works, p)
        for w in works:
            try:
                execute(self, w, p)
            except Exception as exc:  # noqa: BLE001
                self._fail(w.name, exc)
        if not self.logging_out:
            self.remote.unselect()
        self.state.checkpoint_soon()  # the log of this pass goes to disk while the stamps are taken
        stamp_folders(self)
        self._drop_emptied()
        return res

    def _drop_emptied(self, plan: Plan | None = None) -> None:
        """The folders gone from the server (renamed or deleted there) whose local copy holds
        nothing any more (its messages moved to the folder's new name, or it was empty): the
        local folder is removed and forgotten, as on the server. One that still holds anything,
        a file the state does not know included, is kept as it is. A dry run says which would
        go, counting the moves its ``plan`` would make out of them."""
        notes = self.result.notes
        for ln in self.gone:
            out = sum(1 for m in plan.moves_local if m.src == ln) if plan is not None else 0
            if ln in self.result.failed or self.state.count(ln) != out or self.store.file_count(ln) != out:
                continue
            kept = _kept_note(ln)
            if self.opt.dry_run:
                notes[:] = [f"{ln}: gone from the server and empty here; would be removed" if n == kept else n for n in notes]
                continue
            try:
                self.store.delete_folder(ln)
            except Exception:  # noqa: BLE001, S112 - a file arrived meanwhile (or the folder is odd): kept
                continue
            self.state.remove_folder(ln)
            notes[:] = [f"{ln}: gone from the server and empty here; removed" if n == kept else n for n in notes]

    def _gone_inputs(self, works: list[Work], states: dict[str, FolderState]) -> list[FolderInput]:
        """The folders gone from the server, as sources of moves, when a folder is new there
        this time (a folder renamed on the server): its messages are then moved across here
        instead of downloaded again beside the old copies."""
        if not self.gone or not any(w.fs is None and w.fi.remote is not None and w.fi.remote.changed for w in works):
            return []
        from pigeon.core import sync_local
        from pigeon.core.sync_types import FolderInput, RemoteView

        out = []
        for ln in self.gone:
            try:
                fdir = self.store.folder_path(ln)
                out.append(FolderInput(ln, self.state.messages(ln), sync_local.scan(fdir),
                                       RemoteView(states[ln].uidvalidity, {}, complete=True), gone=True))
            except Exception as exc:  # noqa: BLE001 - a folder that cannot be read is left alone
                self.result.notes.append(f"{ln}: not read ({exc})")
        return out

    def _fail(self, folder: str, exc: BaseException) -> None:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            msg = f"the disk is full ({exc.strerror}): free some space and sync again (what is stored is kept)"
        self.result.failed[folder] = msg
        self.result.report.errors.append(f"{folder}: {msg}")
        if _network_error(exc) or (isinstance(exc, OSError) and not self._connection_alive()):
            raise exc  # the connection is gone: the caller reports and stops
        # A local failure (a full disk, a folder another tool broke): this folder is reported
        # and the others still sync.

    def _connection_alive(self) -> bool:
        """After a local error: whether the session still answers (NOOP), in step."""
        try:
            self.remote.noop()
        except Exception:  # noqa: BLE001 - any failure here means the session cannot go on
            return False
        return True

    def _wanted(self, local: str, remote: str) -> bool:
        if local in self.held:
            return False
        if not self.opt.folders:
            return True
        return local in self.opt.folders or remote in self.opt.folders

    # ------------------------------------------------------------------ folders

    def _folders(self, infos: dict[str, FolderInfo]) -> dict[str, FolderInfo]:
        """local name -> server folder, creating folders missing on either side."""
        res = self.result
        delim = next((i.delimiter for i in infos.values() if i.delimiter), None)
        pairs: dict[str, FolderInfo] = {}
        for info in infos.values():
            if not info.selectable:
                continue
            ln = local_name(info.name, info.delimiter or delim)
            try:
                if ln is None or ln == "":
                    raise ValueError("no local name")
                self.store.folder_path(ln)
            except Exception:  # noqa: BLE001 - a hostile or odd name is skipped, never followed
                res.notes.append(f"server folder {info.name!r} skipped: its name cannot be a local folder")
                continue
            pairs[ln] = info
        states = self.state.folders()
        local = {f for f in self.store.folders() if f}
        # A rename leaves a folder the state knows gone from one side: without one (the usual
        # sync) the rules are not even loaded.
        renames = None
        if set(states) - set(pairs) or (set(pairs) - local) & set(states):
            from pigeon.core import sync_renames as renames
        if renames and renames.renamed_both(self, pairs, states, local):
            states = self.state.folders()
        # Gone from both sides (deleted here and on the server): nothing left to agree on.
        for ln in sorted(set(states) - set(pairs) - local):
            if not ln or not self._wanted(ln, states[ln].remote or ln):
                continue
            if self.opt.dry_run:
                res.notes.append(f"{ln}: gone from the server and from here; would be forgotten")
                continue
            self.state.remove_folder(ln)
            res.notes.append(f"{ln}: gone from the server and from here; forgotten")
            states.pop(ln)
        if renames and renames.renamed_here(self, pairs, states, local, delim):
            states = self.state.folders()
        if renames and renames.renamed_there(self, pairs, states, local):
            states = self.state.folders()
        for ln in sorted(local - set(pairs)):
            if not self._wanted(ln, ln):
                continue
            if ln in states:
                res.notes.append(_kept_note(ln))
                self.gone.append(ln)
                continue
            rn = remote_name(ln, delim)
            if rn is None:
                res.notes.append(f"local folder {ln!r} skipped: its name contains the server's separator {delim!r}")
                continue
            if self.opt.dry_run:
                res.notes.append(f"{ln}: would be created on the server")
                continue
            try:
                self.remote.create(rn)
            except Exception as exc:  # noqa: BLE001
                self._fail(ln, exc)
                continue
            pairs[ln] = FolderInfo(rn, delim, frozenset(), {})
            res.notes.append(f"{ln}: created on the server")
        made_here = [ln for ln in sorted(local - set(states)) if ln in pairs]  # created on the server just now
        for ln in sorted(set(pairs) - local):
            if not self._wanted(ln, pairs[ln].name):
                continue
            if ln in states and made_here:
                # Removed here as a whole while a folder appeared here: perhaps renamed. Its
                # files are looked for in the new folders (and moved on the server); the rest
                # is downloaded again, never deleted on the server.
                self.missing.append(ln)
                res.notes.append(f"{ln}: gone locally; its messages are looked for in {', '.join(made_here)}, the rest downloaded again")
            elif ln in states:
                # The local folder was removed as a whole: download it again rather than
                # reading that as "delete everything on the server".
                if not self.opt.dry_run:
                    self.state.remove_folder(ln)
                res.notes.append(f"{ln}: gone locally; downloading it again")
            if not self.opt.dry_run:
                self.store.create_folder(ln)
        return pairs


def _kept_note(folder: str) -> str:
    """What a sync says of a folder gone from the server that it keeps here."""
    return f"{folder}: gone from the server; the local copy is kept (remove it by hand to forget it)"


def _network_error(exc: BaseException) -> bool:
    """An error of the connection itself (as opposed to the local files'): socket errors,
    timeouts, TLS, an aborted or closed IMAP stream."""
    import ssl

    return (isinstance(exc, ConnectionError | TimeoutError | EOFError | ssl.SSLError)
            or type(exc).__name__ in ("ConnectionLost", "IMAPClientAbortError", "abort", "gaierror", "herror"))


def sync_account(app: Any, account: Any, options: SyncOptions | None = None, *, progress: Progress | None = None,
                 session: Any = None, opening: Opening | None = None) -> Result:
    """Sync one account of ``app``: hooks fired, state opened, connection made (or ``session``
    used: a logged-in ``imapclient.IMAPClient`` or an object with a ``client`` attribute; or
    taken from ``opening``, a connection already on its way, which this sync then owns).

    An account with a ``pop3`` server and no ``imap`` one downloads instead (``sync_pop3``).

    Only one sync of an account runs at a time (``sync_lock``): this one waits up to
    ``options.lock_wait`` seconds for another to finish, else fails with ``(busy)``."""
    from pigeon.core.sync_lock import AccountLock, SyncBusy, lock_path

    options = options or SyncOptions()
    lock = AccountLock(lock_path(state_path(app.state_dir, account.name)))
    try:
        lock.acquire(options.lock_wait, on_wait=progress.waiting if progress is not None else None)
    except SyncBusy as exc:
        app.pm.hook.pigeon_sync_started(account=account.name)
        res = Result(SyncReport(account.name))
        res.report.errors.append(str(exc))
        res.failed["(busy)"] = str(exc)
        app.pm.hook.pigeon_sync_finished(account=account.name, report=res.report)
        if opening is not None:
            opening.discard()
        return res
    try:
        return _sync_account(app, account, options, progress=progress, session=session, opening=opening)
    finally:
        lock.release()


def _sync_account(app: Any, account: Any, options: SyncOptions, *, progress: Progress | None,
                  session: Any, opening: Opening | None) -> Result:
    if session is None and account.imap is None and getattr(account, "pop3", None) is not None:
        from pigeon.core.sync_pop3 import sync_pop3

        return sync_pop3(app, account, options, progress=progress)
    pm = app.pm
    pm.hook.pigeon_sync_started(account=account.name)
    res = Result(SyncReport(account.name))
    opened = None
    state = None
    try:
        state = SyncState.for_account(app.state_dir, account.name)
        # The stamps the last sync left unverified are checked while the connection is made.
        from pigeon.core.sync_stamps import StampCheck

        stamps = StampCheck.for_state(state, app.store(account))
        # The journal's pending operations are already in the Maildir: this pass carries them.
        carried = 0 if options.dry_run or options.folders else journal_sync_started(app, account.name)
        listed = None
        if session is None:
            session = opened = opening.result() if opening is not None else open_session(app, account)
            listed = opening.listed if opening is not None else None
            opening = None
        engine = SyncEngine(app.store(account), state, listed.remote if listed else Remote(session), account=account.name,
                            options=options, progress=progress)
        engine.listed = listed
        engine.logging_out = opened is not None
        engine.ahead = getattr(listed, "ahead", None)
        engine.stamps = stamps
        keywords = None if options.dry_run else _tags_up(app, account.name, state, engine)
        try:
            res = engine.run()
        except Exception as exc:  # noqa: BLE001 - reported through the result and the hook
            res = engine.result
            if not res.report.errors:
                res.report.errors.append(f"{type(exc).__name__}: {exc}")
            res.failed.setdefault("(connection)", str(exc) or type(exc).__name__)
        if carried:
            journal_sync_finished(app, account.name, carried, ok=not res.failed and not res.report.errors)
        if keywords is not None:
            _tags_down(app, account.name, state, keywords)
        if not options.dry_run and options.events and res.arrived:
            from pigeon.core.sync_events import fire_arrivals

            fire_arrivals(app, account, res)
    except Exception as exc:
        why, where = str(exc) or type(exc).__name__, "(connection)"
        if state is None:
            why, where = _state_problem(state_path(app.state_dir, account.name), exc), "(state)"
        elif _local_error(exc):
            where = "(local)"  # the Maildir, the journal: not worth a quick retry
        res.report.errors.append(why)
        res.failed.setdefault(where, why)
    finally:
        if state is not None:
            state.close()
        if opened is not None:
            _close(opened)
        if opening is not None:  # the state could not be opened: the connection is not needed
            opening.discard()
        pm.hook.pigeon_sync_finished(account=account.name, report=res.report)
    return res


def _local_error(exc: BaseException) -> bool:
    """An error of this machine's files (the Maildir, the journal), not of the server."""
    import sqlite3

    from pigeon.core.errors import StoreError

    return isinstance(exc, StoreError | OSError | sqlite3.Error) and not _network_error(exc)


def _state_problem(path: Path, exc: Exception) -> str:
    """Why the account's sync state could not be opened, and what to do about it."""
    import sqlite3

    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return (f"the sync state {path} is damaged ({exc}): move it aside and sync again; the next sync"
                " pairs the Maildir with the server by content and loses nothing")
    return f"the sync state {path} cannot be opened: {exc}"


def _tags_up(app: Any, account: str, state: SyncState, engine: SyncEngine) -> dict[str, frozenset[str]] | None:
    """Tags changed in the index -> IMAP keywords (``sync_tags``), before the pass; returns the
    keywords as agreed before it, for :func:`_tags_down` (None: no index, nothing to do)."""
    try:
        from pigeon.core import sync_tags

        before = sync_tags.snapshot(app, state)
        if before is not None and sync_tags.push(app, account, state, engine.remote):
            before = sync_tags.snapshot(app, state)  # what was just stored is agreed
            if engine.ahead is not None:  # read before these keywords were stored: the pass asks again
                engine.ahead.discard()
                engine.ahead = None
        return before
    except Exception as exc:  # noqa: BLE001 - tags never stop the mail from syncing
        import logging

        logging.getLogger(__name__).warning("%s: tags not carried to the server: %s", account, exc)
        return None


def _tags_down(app: Any, account: str, state: SyncState, before: dict[str, frozenset[str]]) -> None:
    """Keywords the pass brought -> tags in the index (``sync_tags``)."""
    try:
        from pigeon.core import sync_tags

        sync_tags.pull(app, account, state, before)
    except Exception as exc:  # noqa: BLE001
        import logging

        logging.getLogger(__name__).warning("%s: keywords not carried to the tags: %s", account, exc)


def journal_sync_started(app: Any, account: str) -> int:
    from pigeon.core.actions import sync_started

    return sync_started(app, account)


def journal_sync_finished(app: Any, account: str, up_to: int, ok: bool) -> None:
    from pigeon.core.actions import sync_finished

    sync_finished(app, account, up_to, ok)


def problems(results: Iterable[Result]) -> list[str]:
    """What went wrong, a line each (``account: folder: why``), as ``pigeon sync`` prints it.
    Folders of one account that failed for the same reason (a full disk) share a line."""
    lines = []
    for r in results:
        why_folders: dict[str, list[str]] = {}
        for folder, why in r.failed.items():
            why_folders.setdefault(why, []).append(folder)
        lines += [f"{r.report.account}: {', '.join(folders)}: {why}" for why, folders in why_folders.items()]
    return lines


def summary(results: Iterable[Result], elapsed: float | None = None) -> str:
    """The one-line summary of ``pigeon sync``."""
    t = {k: 0 for k in ("downloaded", "uploaded", "flags_down", "flags_up", "deleted_local", "deleted_remote", "moved")}
    for r in results:
        for k in t:
            t[k] += getattr(r.report, k)
    line = (f"{t['downloaded']} down, {t['uploaded']} up, flags {t['flags_down']} down/{t['flags_up']} up, "
            f"deleted {t['deleted_local']} here/{t['deleted_remote']} on server, {t['moved']} moved")
    if elapsed is not None:
        line += f" in {elapsed:.2f}s"
    return line

