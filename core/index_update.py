"""Bring the index in line with the Maildirs: ``pigeon index``, the watcher and the sync engine.

The whole-store pass compares each account's files on disk with the ``files`` table by path,
mtime and size, so that nothing changed costs one directory walk. A file that disappeared and a
file that appeared with the same Maildir unique name and size is a rename (a flag change or a
move) and is not parsed again. New files are parsed by a small process pool (both cores) in
batches, so memory stays bounded whatever the size of the store.

Like notmuch, every regular file under an account's root is a candidate (a Maildir's ``tmp/``
and dot-files excepted); files that are not mail are remembered and skipped while unchanged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core import index_parse
from pigeon.core.index_db import IndexDB

#: Batch of files parsed before their rows are written (bounds memory).
BATCH = 512
#: Below this many new files the pool is not worth starting.
POOL_MIN = 64

_SKIP_NAMES = re.compile(r"^(dovecot[.-].*|maildirfolder|subscriptions|courierimap.*|\.?uidvalidity)$")
_KEY_RE = re.compile(r"[:!]2,[^/]*$")
_UID_RE = re.compile(r",U=\d+")


@dataclass
class UpdateReport:
    """What an update did."""

    added: int = 0
    removed: int = 0
    renamed: int = 0
    changed: int = 0
    not_mail: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.added} added", f"{self.removed} removed", f"{self.renamed} renamed or moved"]
        if self.changed:
            parts.append(f"{self.changed} changed")
        if self.not_mail:
            parts.append(f"{self.not_mail} not mail")
        return ", ".join(parts)


def unique_key(path: str) -> str:
    """The Maildir unique name of a file (without the ``:2,`` info, nor the ``,U=`` that mbsync
    adds and drops as a message changes folders)."""
    return _UID_RE.sub("", _KEY_RE.sub("", os.path.basename(path)))


def scan(root: Path) -> dict[str, tuple[str, float, int]]:
    """Every candidate file under ``root``: path -> (dir relative to root, mtime, size)."""
    out: dict[str, tuple[str, float, int]] = {}
    root_s = str(root)

    def walk(directory: str, rel: str) -> None:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        names = {e.name for e in entries}
        is_maildir = "cur" in names or "new" in names
        for e in entries:
            name = e.name
            try:
                if e.is_dir(follow_symlinks=False):
                    if name in (".notmuch", ".git") or (is_maildir and name == "tmp"):
                        continue
                    walk(e.path, f"{rel}/{name}" if rel else name)
                elif e.is_file(follow_symlinks=False):
                    if name.startswith(".") or _SKIP_NAMES.match(name):
                        continue
                    st = e.stat(follow_symlinks=False)
                    out[e.path] = (rel, st.st_mtime, st.st_size)
            except OSError:
                continue

    walk(root_s, "")
    return out


def _rel_dir(root: Path, path: str) -> str:
    rel = os.path.relpath(os.path.dirname(path), root)
    return "" if rel == "." else rel.replace(os.sep, "/")


class Updater:
    """Applies store changes to an :class:`IndexDB` (the API for ``pigeon index``, the
    watcher and the sync engine)."""

    def __init__(self, db: IndexDB, accounts: Iterable[tuple[str, Path]], *, workers: int | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.accounts = [(name, Path(root)) for name, root in accounts]
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.progress = progress
        self._needs: tuple[bool, bool] | None = None

    # ------------------------------------------------------------------ single files

    def account_of(self, path: str | os.PathLike[str]) -> tuple[str, Path] | None:
        p = os.path.abspath(path)
        best = None
        for name, root in self.accounts:
            r = os.path.abspath(root)
            if p.startswith(r + os.sep) and (best is None or len(r) > len(str(best[1]))):
                best = (name, Path(r))
        return best

    def add_file(self, path: str | os.PathLike[str]) -> int | None:
        """Index one file (new, or changed in place). Returns the message id or None."""
        path = os.path.abspath(path)
        acct = self.account_of(path)
        if acct is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        record = index_parse.parse_file(path)
        self.db.begin()
        try:
            self.db.remove_file(path)
            docid = self._store(record, path, acct, st.st_mtime, st.st_size)
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return docid

    def remove_file(self, path: str | os.PathLike[str]) -> bool:
        """Forget one file (deleted from the store)."""
        self.db.begin()
        try:
            known = self.db.remove_file(os.path.abspath(path))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return known

    def move_file(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int | None:
        """A file was renamed (flags) or moved to another folder."""
        old, new = os.path.abspath(old), os.path.abspath(new)
        acct = self.account_of(new)
        if acct is None:
            self.remove_file(old)
            return None
        self.db.begin()
        try:
            ok = self.db.rename_file(old, new, acct[0], _rel_dir(acct[1], new))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        if not ok:
            return self.add_file(new)
        row = self.db.file_row(new)
        return row[1] if row else None

    def _store(self, record: Any, path: str, acct: tuple[str, Path], mtime: float, size: int) -> int | None:
        message = None
        fields, render = self._plugin_needs()
        if record is not None and (fields or render):
            from pigeon.core import mime

            try:
                message = mime.parse_file(path)
            except OSError:
                message = None
            if render and message is not None:
                # A plugin renders some type itself (a calendar, a PDF...): index what it shows.
                from pigeon.core.render import message_text_for_index

                try:
                    record.body += "\n" + message_text_for_index(self.db.pm, message)
                except Exception as exc:  # a broken plugin must not stop the index
                    record.body += f"\n{type(exc).__name__}"
        return self.db.add_record(record, path, acct[0], _rel_dir(acct[1], path), mtime, size, message)

    def _plugin_needs(self) -> tuple[bool, bool]:
        """(a plugin adds index fields, a plugin other than the built-ins renders parts).

        The body text of the built-in renderers is extracted by :mod:`index_parse` directly
        (8× faster than the render pipeline, and both alternatives of multipart/alternative
        are indexed, as notmuch does); the pipeline runs only when another plugin may render
        a part differently.
        """
        if self._needs is None:
            pm = self.db.pm
            if pm is None:
                self._needs = (False, False)
            else:
                fields = bool(pm.hook.pigeon_index_fields.get_hookimpls())
                infos = getattr(pm, "infos", {})
                render = any(
                    getattr(infos.get(impl.plugin_name), "origin", "user") != "builtin"
                    for impl in pm.hook.pigeon_render_part.get_hookimpls()
                )
                self._needs = (fields, render)
        return self._needs

    # ------------------------------------------------------------------ the whole store

    def update(self, *, rebuild: bool = False, accounts: Iterable[str] | None = None) -> UpdateReport:
        """Compare every account's files (or only those of ``accounts``) with the index and
        apply the difference. A rebuild always covers every account."""
        report = UpdateReport()
        db = self.db
        if rebuild:
            db.reset()
        todo: list[tuple[str, tuple[str, Path], float, int]] = []
        db.begin()
        try:
            only = None if accounts is None or rebuild else set(accounts)
            for name, root in self.accounts:
                if only is not None and name not in only:
                    continue
                if not os.path.isdir(root):
                    # unmounted, or a typo: never read that as "every message was deleted"
                    report.errors.append(f"{root}: the Maildir of account {name!r} is missing; left as indexed")
                    continue
                disk = scan(root)
                known = {
                    path: (mtime, size)
                    for path, mtime, size in db.conn.execute(
                        "SELECT path, mtime, size FROM files WHERE account=?", (name,)
                    )
                }
                removed = [p for p in known if p not in disk]
                added = [p for p in disk if p not in known]
                changed = [p for p, (rel, mtime, size) in disk.items()
                           if p in known and known[p] != (mtime, size)]
                if removed and added:
                    by_key: dict[tuple[str, int], list[str]] = {}
                    for p in removed:
                        by_key.setdefault((unique_key(p), known[p][1]), []).append(p)
                    still_added = []
                    for p in added:
                        olds = by_key.get((unique_key(p), disk[p][2]))
                        if olds:
                            old = olds.pop()
                            db.rename_file(old, p, name, disk[p][0], disk[p][1])
                            removed.remove(old)
                            report.renamed += 1
                        else:
                            still_added.append(p)
                    added = still_added
                for p in removed:
                    db.remove_file(p)
                report.removed += len(removed)
                for p in changed:
                    db.remove_file(p)
                report.changed += len(changed)
                for p in sorted(added) + sorted(changed):
                    todo.append((p, (name, root), disk[p][1], disk[p][2]))
            db.commit()
        except BaseException:
            db.rollback()
            raise
        if todo:
            self._parse_and_store(todo, report)
        return report

    def _parse_and_store(self, todo: list[tuple[str, tuple[str, Path], float, int]], report: UpdateReport) -> None:
        pool = None
        if self.workers > 1 and len(todo) >= POOL_MIN:
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            pool = ctx.Pool(self.workers)
        try:
            done = 0
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                jobs = [(i, item[0]) for i, item in enumerate(batch)]
                results = pool.imap(index_parse.parse_job, jobs, chunksize=16) if pool else map(index_parse.parse_job, jobs)
                self.db.begin()
                try:
                    for i, record, error in results:
                        path, acct, mtime, size = batch[i]
                        if error:
                            report.errors.append(f"{path}: {error}")
                        docid = self._store(record, path, acct, mtime, size)
                        if docid is None:
                            report.not_mail += 1
                        else:
                            report.added += 1
                    self.db.commit()
                except BaseException:
                    self.db.rollback()
                    raise
                done += len(batch)
                if self.progress:
                    self.progress(f"indexed {done}/{len(todo)} files")
        finally:
            if pool is not None:
                pool.close()
                pool.join()
