"""Folders renamed whole, followed as renames: on the server when renamed here, here when
renamed on the server, and to the server's name when renamed on both sides.

Each function looks at the sync's folder lists before the pass (``pairs``: local name ->
server folder; ``states``: what the state records; ``local``: the folders here), renames where
the evidence is exact, re-keys the state, and returns True if the state changed. Anything short
of exact is left to the usual pass, which moves messages one by one (found by unique name, or
by Message-ID and size) and deletes nothing. A dry run says what it would do and holds the
folders concerned out of the pass (``engine.held``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from pigeon.core import sync_local
from pigeon.core.sync_remote import FolderInfo

if TYPE_CHECKING:
    from pigeon.core.sync import SyncEngine
    from pigeon.core.sync_state import FolderState


def renamed_here(engine: SyncEngine, pairs: dict[str, FolderInfo], states: dict[str, FolderState], local: set[str],
                 delim: str | None) -> bool:
    """Folders renamed here by hand (``mv Mail/Projects Mail/Work``): gone here under a name
    the server still has, while a folder new on both sides holds every file the state knows
    of the old one (and perhaps more). The server folder is renamed to match (RENAME: its
    messages keep their UIDs where the server can, what reached it meanwhile goes along, and
    its subfolders follow), and so is everything the state records of it; the pass then finds
    the folder as agreed, apart from what changed here since."""
    from pigeon.core.sync import remote_name

    missing = [ln for ln in sorted(set(pairs) - local) if ln in states and ln.upper() != "INBOX"
               and engine._wanted(ln, pairs[ln].name)]
    new_here = [ln for ln in sorted(local - set(pairs) - set(states)) if ln.upper() != "INBOX" and engine._wanted(ln, ln)]
    if not missing or not new_here:
        return False
    changed = False
    taken: set[str] = set()
    for old in missing:
        keys = _known_keys(engine, old)
        if not keys:
            continue  # renamed along with its parent already, or nothing to recognise it by
        for new in new_here:
            if new in taken or new in pairs or _nested(old, new) or new == old:
                continue
            rn = remote_name(new, delim)
            if rn is None or not _holds(engine, new, keys):
                continue
            subs = _with_subfolders(pairs, old)
            if any(new + k[len(old):] in pairs or new + k[len(old):] in states for k in subs):
                continue  # a subfolder would land on a folder the server (or the state) has
            taken.update(new + k[len(old):] for k in subs)
            if engine.opt.dry_run:
                engine.result.notes.append(f"{old}: renamed here to {new}; would be renamed on the server")
                engine.held.update(subs)
                engine.held.update(new + k[len(old):] for k in subs)
                break
            try:
                engine.remote.rename(pairs[old].name, rn)
            except Exception as exc:  # noqa: BLE001 - refused: the usual pass follows it message by message
                engine.result.notes.append(f"{old}: renamed here to {new}; the server refused to rename it ({exc})")
                break
            for k in subs:  # the server renamed the subfolders with it
                nk = new + k[len(old):]
                info = pairs.pop(k)
                nrn = remote_name(nk, delim) or nk
                pairs[nk] = FolderInfo(nrn, info.delimiter, info.flags, {})  # status: asked again
                if k in states:
                    engine.state.rename_folder(k, nk, remote=nrn)
                    changed = True
            engine.result.notes.append(f"{old}: renamed here to {new}; renamed on the server too")
            break
    return changed


def renamed_there(engine: SyncEngine, pairs: dict[str, FolderInfo], states: dict[str, FolderState], local: set[str]) -> bool:
    """Folders renamed on the server (``RENAME Projects Work`` by another client): gone there
    under the name the state knows, new there under another with the UIDVALIDITY the state
    recorded (IMAP servers keep it, and the UIDs, across a RENAME), the old folder still here
    and the new one not, and a sample of the state's UIDs holding the same messages there
    (:func:`_same_messages`). The local folder is renamed too, subfolders with it, and the
    state re-keyed: nothing is moved or downloaded, and the pass finds the folder as agreed."""
    gone = [ln for ln in sorted(set(states) - set(pairs)) if ln in local and ln.upper() != "INBOX"
            and states[ln].uidvalidity and engine._wanted(ln, states[ln].remote or ln)]
    fresh = _new_on_server(engine, pairs, states, local)
    if not gone or not fresh:
        return False
    changed = False
    for old in gone:
        same = [new for new in _same_uidvalidity(pairs, fresh, states[old]) if not _nested(old, new)]
        if len(same) != 1:
            continue  # none, or no telling which
        new = same[0]
        moved = {k: new + k[len(old):] for k in _with_subfolders(states, old)}
        if any(nk not in pairs or nk in states or nk in local for nk in moved.values()):
            continue  # a subfolder did not go along, or would land on one known here
        if not _same_messages(engine, old, pairs[new]):
            continue
        if engine.opt.dry_run:
            engine.result.notes.append(f"{old}: renamed on the server to {new}; would be renamed here")
            engine.held.update(moved)
            engine.held.update(moved.values())
            continue
        try:
            engine.store.rename_folder(old, new)
        except Exception as exc:  # noqa: BLE001 - left to the usual pass
            engine.result.notes.append(f"{old}: renamed on the server to {new}; not renamed here ({exc})")
            continue
        for k, nk in moved.items():
            engine.state.rename_folder(k, nk, remote=pairs[nk].name)
            local.discard(k)
            local.add(nk)
        fresh = [f for f in fresh if f not in moved.values()]
        changed = True
        engine.result.notes.append(f"{old}: renamed on the server to {new}; renamed here too")
    return changed


def renamed_both(engine: SyncEngine, pairs: dict[str, FolderInfo], states: dict[str, FolderState], local: set[str]) -> bool:
    """A folder renamed here and, to another name, on the server (``mv Mail/Projects
    Mail/Mine`` while another client renamed it to Work): gone from both sides, with one folder
    new here holding every file the state knows of it and one new on the server that passes
    the checks of :func:`renamed_there`. The server's name wins, being the one every other
    client sees: the local folder is renamed to it, and what changed here meanwhile goes up as
    usual. Otherwise both would be kept, each copied to the other side. Subfolders the state
    knows must have gone along on both sides (:func:`_subtree_agrees`); they are renamed with
    their parent, and one made here since goes along and up."""
    gone = [ln for ln in sorted(set(states) - set(pairs) - local) if ln.upper() != "INBOX" and states[ln].uidvalidity
            and engine._wanted(ln, states[ln].remote or ln)]
    changed = False
    done: set[str] = set()
    for old in gone:
        if old in done:
            continue  # renamed with its parent
        there = _same_uidvalidity(pairs, _new_on_server(engine, pairs, states, local), states[old])
        keys = _known_keys(engine, old)
        here = [n for n in sorted(local - set(pairs) - set(states)) if keys and engine._wanted(n, n) and _holds(engine, n, keys)]
        if len(there) != 1 or len(here) != 1:
            continue
        (new,), (mine,) = there, here
        subs = _with_subfolders(states, old)
        if _nested(new, mine) or not _subtree_agrees(engine, pairs, states, local, subs, new, mine) \
                or not _same_messages(engine, old, pairs[new]):
            continue
        said = f"{old}: renamed here to {mine} and on the server to {new}"
        carried = {n: new + n[len(mine):] for n in _with_subfolders(local, mine)}  # what the directory takes along
        if engine.opt.dry_run:
            engine.result.notes.append(f"{said}; {mine} would be renamed to {new} here")
            engine.held.update(subs)
            engine.held.update(carried)
            engine.held.update(carried.values())
            done.update(subs)
            continue
        try:
            engine.store.rename_folder(mine, new)
        except Exception as exc:  # noqa: BLE001 - both kept, as the usual pass does
            engine.result.notes.append(f"{said}; not renamed here ({exc})")
            continue
        for k in subs:
            nk = new + k[len(old):]
            engine.state.rename_folder(k, nk, remote=pairs[nk].name)
        for n, nn in carried.items():
            local.discard(n)
            local.add(nn)
        done.update(subs)
        changed = True
        engine.result.notes.append(f"{said}; {mine} renamed to {new} here")
    return changed


def _subtree_agrees(engine: SyncEngine, pairs: dict[str, FolderInfo], states: dict[str, FolderState], local: set[str],
                    subs: list[str], new: str, mine: str) -> bool:
    """For :func:`renamed_both`: every subfolder the state knows of the renamed folder
    (``subs``, the folder first) went along on both sides. On the server it is under ``new``
    with the UIDVALIDITY recorded, here under ``mine`` holding every file the state knows of
    it, and it is gone under its old name from both. What the local directory takes along
    must not land on a folder the server, the state or the Maildir has already."""
    old = subs[0]
    for k in subs[1:]:
        there, here = new + k[len(old):], mine + k[len(old):]
        if k in pairs or k in local or there not in pairs or here not in local:
            return False
        if states[k].uidvalidity and pairs[there].status.get("UIDVALIDITY") != states[k].uidvalidity:
            return False
        keys = _known_keys(engine, k)
        if keys and not _holds(engine, here, keys):
            return False
    moved = {new + n[len(mine):] for n in _with_subfolders(local, mine)}
    renamed = {new + k[len(old):] for k in subs}
    return not any(n in states or n in local or (n in pairs and n not in renamed) for n in moved)


def _nested(a: str, b: str) -> bool:
    """One of the two folders lies inside the other."""
    return a.startswith(b + "/") or b.startswith(a + "/")


def _with_subfolders(names: Any, folder: str) -> list[str]:
    """``folder`` and the names below it among ``names``, sorted."""
    return [k for k in sorted(names) if k == folder or k.startswith(folder + "/")]


def _known_keys(engine: SyncEngine, folder: str) -> set[str]:
    """The unique names of the files the state knows in ``folder``."""
    return {k for k, _f in engine.state.key_flags(folder)}


def _holds(engine: SyncEngine, folder: str, keys: set[str]) -> bool:
    """Whether the local ``folder`` holds a file of every one of ``keys`` (and perhaps more)."""
    return keys <= {m.key for m in sync_local.scan(engine.store.folder_path(folder))}


def _new_on_server(engine: SyncEngine, pairs: dict[str, FolderInfo], states: dict[str, FolderState], local: set[str]) -> list[str]:
    """The server folders neither the state nor the Maildir knows."""
    return [ln for ln in sorted(set(pairs) - set(states) - local) if ln.upper() != "INBOX" and engine._wanted(ln, pairs[ln].name)]


def _same_uidvalidity(pairs: dict[str, FolderInfo], names: list[str], fs: FolderState) -> list[str]:
    """Those of ``names`` whose UIDVALIDITY (from the listing) is the one ``fs`` recorded."""
    return [n for n in names if pairs[n].status.get("UIDVALIDITY") == fs.uidvalidity]


def _same_messages(engine: SyncEngine, old: str, info: FolderInfo) -> bool:
    """Whether the server folder ``info`` holds, under the UIDs the state knows of ``old``,
    messages of the same size and Message-ID (a sample of up to 20, at least one)."""
    known = engine.state.messages(old)
    sample = sorted(random.sample(sorted(known), min(20, len(known)))) if known else []
    if not sample:
        return False
    r = engine.remote
    try:
        r.select(info.name, readonly=True)
        got = r.fetch_meta(sample, ids=True)[0]
    except Exception:  # noqa: BLE001 - cannot tell: the usual pass
        return False
    finally:
        try:
            r.unselect()
        except Exception:  # noqa: BLE001, S110 - a dead connection fails the pass later
            pass
    seen = [u for u in sample if u in got]  # one expunged since the rename is no mismatch
    return bool(seen) and all(got[u].size == known[u].size and got[u].msgid == known[u].msgid for u in seen)
