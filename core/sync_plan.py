"""Pure sync planning: from what both sides last agreed on, and what each side looks like now,
compute what to do in each direction. No I/O here: the engine (``pigeon.core.sync``) gathers
the inputs, runs :func:`plan`, and carries the actions out.

The rules (they are the documented contract of ``pigeon sync``):

* **Flags and keywords** merge per flag, three ways against the last agreed state: a flag that
  one side changed takes that side's value; one that neither changed stays. Two sides that
  changed the same flag can only have set it to the same value, so flags never conflict. A
  message paired without any agreed state (after a crash, a UIDVALIDITY reset, or a Maildir
  merged with a server for the first time) gets the union of both sides' flags.
* **Deletion against change** keeps the mail: a message deleted locally whose flags changed on
  the server since the last sync is downloaded again; one deleted on the server whose flags
  changed locally is uploaded again. A message deleted on both sides is forgotten.
* **Moves** are recognised, not copied: a message gone from one local folder that reappears in
  another (same Maildir unique name, or same content digest when a tool renamed it) is moved
  on the server (MOVE); a message that vanished from one server folder and appeared in another
  (same Message-ID and size) is moved locally by rename.
* **New on both sides** with the same content (same Message-ID and size) is paired, never
  duplicated: that is how an interrupted download or upload completes.
* **The mass-deletion guard**: if a sync would delete more than ``guard_share`` (default 50%)
  of a folder that held at least ``guard_min`` (default 20) messages, on either side, the
  deletions of that folder are withheld and the folder is reported, unless ``force``.
  Everything else (downloads, uploads, flags) still happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pigeon.core.sync_flags import (  # noqa: F401 - re-exported: the planner's public names
    IMAP_TO_LETTER,
    LETTER_TO_IMAP,
    LETTERS,
    from_imap,
    merge3,
    merge3_set,
    synced_letters,
    to_imap,
)
from pigeon.core.sync_state import MessageState
from pigeon.core.sync_types import (  # noqa: F401 - re-exported
    DeleteLocal,
    DeleteRemote,
    Download,
    FolderInput,
    FolderPlan,
    Forget,
    LocalMsg,
    MoveLocal,
    MoveRemote,
    Pair,
    Plan,
    RemoteMsg,
    RemoteView,
    Upload,
)

# --------------------------------------------------------------------------- planning


def unpaired_local(fi: FolderInput) -> list[LocalMsg]:
    """The local files of a folder that the state does not know by name: the engine fills in
    their size, digest and Message-ID before planning."""
    if fi.local is None:
        return []
    keys = {k.key for k in fi.known.values()}
    return [m for m in fi.local if m.key not in keys]


def needs_remote_ids(inputs: Iterable[FolderInput]) -> bool:
    """Whether new server messages need their Message-ID and size fetched before planning:
    only when there is something local to match them against."""
    for fi in inputs:
        if unpaired_local(fi):
            return True
        r = fi.remote
        if r is not None and fi.known:
            if r.complete and any(u not in r.changed for u in fi.known):
                return True
            if not r.complete and any(u in fi.known for u in r.vanished):
                return True
    return False


def rebase(known: dict[int, MessageState], remote: dict[int, RemoteMsg]) -> dict[int, MessageState]:
    """After a UIDVALIDITY change: re-key the agreed state by the server's new UIDs, matching
    messages by Message-ID and size (the content, not the number). Rows that match nothing are
    dropped: their files become unpaired and are matched again by content or uploaded, so
    nothing is lost and nothing is downloaded twice."""
    pool: dict[tuple[str, int], list[MessageState]] = {}
    for k in sorted(known.values(), key=lambda m: m.uid):
        if k.msgid and k.size is not None:
            pool.setdefault((k.msgid, k.size), []).append(k)
    out: dict[int, MessageState] = {}
    for uid in sorted(remote):
        rm = remote[uid]
        cands = pool.get((rm.msgid, rm.size)) if rm.msgid and rm.size is not None else None
        if cands:
            out[uid] = cands.pop(0).with_(uid=uid)
    return out


def _local_list(fi: FolderInput) -> list[LocalMsg]:
    if fi.local is not None:
        return fi.local
    return [LocalMsg(k.key, k.flags) for k in fi.known.values()]


def _local_kw(fi: FolderInput, key: str, base: frozenset[str]) -> frozenset[str]:
    if fi.local_keywords is None:
        return base
    return fi.local_keywords.get(key, frozenset())


def _pair(fi: FolderInput, base: MessageState | None, local: LocalMsg, remote: RemoteMsg, *, adopted: bool = False) -> Pair | None:
    lflags = synced_letters(local.flags)
    if base is None:
        # no agreed state: never drop a flag either side has
        flags = "".join(sorted(set(lflags) | set(remote.flags)))
        lkw = _local_kw(fi, local.key, frozenset())
        keywords = lkw | remote.keywords
        base_digest = local.digest
        size = remote.size if remote.size is not None else local.size
        msgid = remote.msgid or local.msgid
    else:
        flags = merge3(base.flags, lflags, remote.flags)
        keywords = merge3_set(base.keywords, _local_kw(fi, local.key, base.keywords), remote.keywords)
        base_digest = base.digest or local.digest
        size = base.size if base.size is not None else remote.size
        msgid = base.msgid or remote.msgid or local.msgid
    record = MessageState(remote.uid, local.key, flags, keywords, size, base_digest, msgid)
    add = tuple(to_imap("".join(sorted(set(flags) - set(remote.flags))), keywords - remote.keywords))
    remove = tuple(to_imap("".join(sorted(set(remote.flags) - set(flags))), remote.keywords - keywords))
    local_flags = flags if flags != lflags else None
    if base == record and not add and not remove and local_flags is None and not adopted:
        return None
    return Pair(fi.name, remote.uid, local, record, add, remove, local_flags, adopted)


def plan(inputs: Iterable[FolderInput], *, guard_share: float = 0.5, guard_min: int = 20, force: bool = False) -> Plan:
    """Compute the actions that make both sides agree; see the module docstring for the rules."""
    inputs = list(inputs)
    p = Plan()
    by_name = {fi.name: fi for fi in inputs}
    both: dict[str, list[tuple[MessageState, LocalMsg, RemoteMsg]]] = {}
    gone_local: dict[str, list[tuple[MessageState, RemoteMsg]]] = {}
    gone_remote: dict[str, list[tuple[MessageState, LocalMsg]]] = {}
    loose_local: dict[str, dict[str, LocalMsg]] = {}  # folder -> key -> unpaired local file
    new_remote: dict[str, dict[int, RemoteMsg]] = {}

    totals: dict[str, Callable[[], int]] = {}  # folder -> how to count it, asked only if needed

    # A. classify each known message by where it still is
    for fi in inputs:
        fp = p.folder(fi.name)
        fp.known = len(fi.known) if fi.total is None else fi.total if isinstance(fi.total, int) else -1
        if fp.known < 0:
            totals[fi.name] = fi.total
        by_key = {m.key: m for m in _local_list(fi)}
        both[fi.name], gone_local[fi.name], gone_remote[fi.name] = [], [], []
        r = fi.remote
        changed = r.changed if r is not None else {}
        gone = r is not None and r.complete
        vanished = r.vanished if r is not None else ()
        tracked = fi.local_keywords is not None
        for uid, k in fi.known.items():
            lm = by_key.pop(k.key, None)
            rm = changed.get(uid)
            if rm is None and not gone and uid not in vanished:
                if lm is not None and lm.flags == k.flags and not tracked:
                    continue  # untouched on both sides: the common case, kept cheap
                rm = RemoteMsg(uid, k.flags, k.keywords, k.size, k.msgid)
            if lm is not None and rm is not None:
                both[fi.name].append((k, lm, rm))
            elif lm is not None:
                gone_remote[fi.name].append((k, lm))
            elif rm is not None:
                gone_local[fi.name].append((k, rm))
            else:
                fp.forget.append(Forget(fi.name, uid))
        loose_local[fi.name] = by_key
        new_remote[fi.name] = {u: m for u, m in (r.changed.items() if r else ()) if u not in fi.known}

    # B. moved (or renamed) locally: the file turned up elsewhere under its name or its content
    by_digest: dict[str, list[tuple[str, LocalMsg]]] = {}
    for folder, loose in loose_local.items():
        for m in loose.values():
            if m.digest:
                by_digest.setdefault(m.digest, []).append((folder, m))
    for fi in inputs:
        still: list[tuple[MessageState, RemoteMsg]] = []
        for k, rm in gone_local[fi.name]:
            found = _take_local(loose_local, by_digest, k)
            if found is None:
                still.append((k, rm))
                continue
            dest, lm = found
            if dest == fi.name:
                both[fi.name].append((k, lm, rm))  # renamed in place by another tool
                continue
            dfi = by_name[dest]
            flags = merge3(k.flags, synced_letters(lm.flags), rm.flags)
            kws = merge3_set(k.keywords, _local_kw(dfi, lm.key, k.keywords), rm.keywords)
            p.moves_remote.append(MoveRemote(fi.name, k.uid, dest, lm, k, flags, kws))
        gone_local[fi.name] = still

    # C. moved on the server: vanished here, a new UID with the same Message-ID and size there
    by_ident: dict[tuple[str, int], list[tuple[str, RemoteMsg]]] = {}
    for folder, news in new_remote.items():
        for rm in news.values():
            if rm.msgid and rm.size is not None:
                by_ident.setdefault((rm.msgid, rm.size), []).append((folder, rm))
    for fi in inputs:
        still_r: list[tuple[MessageState, LocalMsg]] = []
        for k, lm in gone_remote[fi.name]:
            cands = by_ident.get((k.msgid, k.size)) if k.msgid and k.size is not None else None
            if not cands:
                still_r.append((k, lm))
                continue
            dest, rm = cands.pop(0)
            del new_remote[dest][rm.uid]
            if dest == fi.name:
                # re-numbered in place (another client copied it back): pair with the new UID
                rec = _pair(fi, k.with_(uid=rm.uid), lm, rm, adopted=True)
                if rec:
                    p.folder(fi.name).pairs.append(rec)
                p.folder(fi.name).forget.append(Forget(fi.name, k.uid))
                continue
            flags = merge3(k.flags, synced_letters(lm.flags), rm.flags)
            kws = merge3_set(k.keywords, _local_kw(fi, lm.key, k.keywords), rm.keywords)
            p.moves_local.append(MoveLocal(fi.name, lm, dest, rm, k, flags, kws))
        gone_remote[fi.name] = still_r

    # D. new on both sides with the same content: pair, do not copy
    for fi in inputs:
        fp = p.folder(fi.name)
        loose = loose_local[fi.name]
        news = new_remote[fi.name]
        if loose and news:
            ident: dict[tuple[str, int], list[LocalMsg]] = {}
            hinted: dict[int, LocalMsg] = {}
            for m in loose.values():
                if m.msgid and m.size is not None:
                    ident.setdefault((m.msgid, m.size), []).append(m)
                if m.uid_hint is not None and not fi.rebased:
                    hinted[m.uid_hint] = m
            for uid in sorted(news):
                rm = news[uid]
                lm = None
                cands = ident.get((rm.msgid, rm.size)) if rm.msgid and rm.size is not None else None
                if cands:
                    lm = next((c for c in cands if c.uid_hint == uid), cands[0])
                elif uid in hinted and not rm.msgid and rm.size is not None and hinted[uid].size == rm.size:
                    lm = hinted[uid]
                if lm is None or lm.key not in loose:
                    continue
                if cands:
                    cands.remove(lm)
                del loose[lm.key]
                del news[uid]
                pr = _pair(fi, None, lm, rm, adopted=True)
                if pr:
                    fp.pairs.append(pr)

    # E. what is left: deletions (unless the other side changed it), flag merges, copies
    for fi in inputs:
        fp = p.folder(fi.name)
        if fi.gone:  # kept as it is, apart from what moved out of it above
            fp.forget = []
            continue
        for k, lm, rm in both[fi.name]:
            pr = _pair(fi, k, lm, rm)
            if pr:
                fp.pairs.append(pr)
        for k, rm in gone_local[fi.name]:
            if fi.missing:
                fp.download.append(Download(fi.name, rm, "the folder was removed here: downloaded again"))
            elif rm.flags != k.flags or rm.keywords != k.keywords:
                fp.download.append(Download(fi.name, rm, "kept: deleted here but changed on the server"))
                fp.notes.append(f"UID {k.uid} was deleted locally but changed on the server: kept")
            else:
                fp.delete_remote.append(DeleteRemote(fi.name, k.uid, k.key))
        for k, lm in gone_remote[fi.name]:
            lkw = _local_kw(fi, lm.key, k.keywords)
            if synced_letters(lm.flags) != k.flags or lkw != k.keywords:
                fp.upload.append(Upload(fi.name, lm, lkw, "kept: deleted on the server but changed here"))
                fp.forget.append(Forget(fi.name, k.uid))
                fp.notes.append(f"{lm.key} was deleted on the server but changed locally: kept")
            else:
                fp.delete_local.append(DeleteLocal(fi.name, lm, k.uid))
        for uid in sorted(new_remote[fi.name]):
            fp.download.append(Download(fi.name, new_remote[fi.name][uid]))
        for lm in loose_local[fi.name].values():
            fp.upload.append(Upload(fi.name, lm, _local_kw(fi, lm.key, frozenset())))

    # F. the mass-deletion guard. Fewer deletions than the share of the smallest folder it
    # covers cannot trip it, whatever the folder's size: only more need the count.
    for fp in p.folders.values():
        if force or max(len(fp.delete_remote), len(fp.delete_local)) <= guard_share * guard_min:
            continue
        if fp.name in totals:
            fp.known = totals[fp.name]()
        if fp.known < guard_min:
            continue
        limit = guard_share * fp.known
        msgs = []
        if len(fp.delete_remote) > limit:
            msgs.append(f"{len(fp.delete_remote)} of {fp.known} messages on the server")
        if len(fp.delete_local) > limit:
            msgs.append(f"{len(fp.delete_local)} of {fp.known} messages locally")
        if msgs:
            fp.guard = (
                f"would delete {' and '.join(msgs)} (more than {guard_share:.0%}); "
                "nothing deleted, run with --force to go ahead"
            )
            fp.withheld = [*fp.delete_remote, *fp.delete_local]
            fp.delete_remote, fp.delete_local = [], []
    return p


def _take_local(
    loose_local: dict[str, dict[str, LocalMsg]],
    by_digest: dict[str, list[tuple[str, LocalMsg]]],
    k: MessageState,
) -> tuple[str, LocalMsg] | None:
    """Find (and remove from the pools) an unpaired local file that is ``k`` under a new place."""
    for folder, loose in loose_local.items():
        lm = loose.get(k.key)
        if lm is not None:
            del loose[k.key]
            return folder, lm
    if k.digest:
        for folder, lm in by_digest.get(k.digest, []):
            if lm.key in loose_local[folder]:
                del loose_local[folder][lm.key]
                return folder, lm
    return None
