"""Folder stamps vouched for by a listing taken at the next sync, on a thread of its own.

A folder's stamp (the mtimes of ``cur/`` and ``new/``, ``sync_local.stamp``) lets a sync skip
listing a folder nobody touched since the last one. A stamp may only be trusted once a listing
taken after it showed the folder holding exactly what the state says: otherwise a file another
tool added or renamed while pigeon was changing the folder would hide behind it.

A sync that changed a folder records its stamp at once but marks it unverified (``UNVERIFIED``
in front). The next sync checks such stamps while it waits for the server (:class:`StampCheck`,
started as soon as the state is open): the stamp still current and the listing equal to the
state, the folder is unchanged and the stamp is recorded as verified; any difference means the
folder is listed and compared as usual. The check is the same listing a sync used to make right
after its changes, so nothing is trusted that was not before; it is only made where nobody
waits for it. A stamp recorded by an older pigeon has no mark and is verified already.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pigeon.core import sync_local
from pigeon.core.sync_flags import synced_letters
from pigeon.core.sync_state import StateReader

#: In front of a stamp that no listing has vouched for yet.
UNVERIFIED = "?"


def unverified(stamp: str) -> str:
    return UNVERIFIED + stamp


class StampCheck:
    """The unverified stamps of an account's folders, checked on a thread: ``result(name)``
    waits for it and gives (stamp, time the listing began) where the folder is as the state
    says, else None. ``todo``: (folder, its directory, the stamp recorded, without the mark)."""

    def __init__(self, db_path: Path, todo: list[tuple[str, Path, str]]) -> None:
        self._results: dict[str, tuple[str, float] | None] = {}
        self._thread: threading.Thread | None = None
        if todo:
            self._thread = threading.Thread(target=self._run, args=(db_path, todo), name="pigeon-stamps", daemon=True)
            self._thread.start()

    @classmethod
    def for_state(cls, state: Any, store: Any) -> StampCheck:
        todo = []
        for fs in state.folders().values():
            if fs.local_stamp and fs.local_stamp.startswith(UNVERIFIED):
                try:
                    fdir = store.folder_path(fs.name)
                except Exception:  # noqa: BLE001, S112 - a name the store refuses is listed by gather
                    continue
                todo.append((fs.name, fdir, fs.local_stamp[len(UNVERIFIED):]))
        return cls(state.path, todo)

    def result(self, name: str) -> tuple[str, float] | None:
        if self._thread is not None:
            self._thread.join()
        return self._results.get(name)

    def _run(self, db_path: Path, todo: list[tuple[str, Path, str]]) -> None:
        try:
            state = StateReader(db_path)
        except sqlite3.Error:
            return
        try:
            for name, fdir, recorded in todo:
                try:
                    self._results[name] = _check(state, name, fdir, recorded)
                except (OSError, sqlite3.Error):
                    self._results[name] = None
        finally:
            state.close()


def _check(state: StateReader, name: str, fdir: Path, recorded: str) -> tuple[str, float] | None:
    listed_at = time.time()
    now = sync_local.stamp(fdir)  # read before the listing: a change after it makes it stale
    if now != recorded or not sync_local.stamp_settled(now, listed_at, fine=sync_local.fine_mtimes(fdir)):
        return None
    if sync_local.listing_is(fdir, state.file_names(name)):
        return now, listed_at
    # Not exactly the names pigeon gives: compare (unique name, synced flags) pairs, which
    # allows letters we do not sync and the other info separator.
    listed = sync_local.scan_names(fdir)
    have = {(k, synced_letters(f)) for k, f in map(sync_local.split_name, listed)}
    return (now, listed_at) if len(have) == len(listed) and have == state.key_flags(name) else None
