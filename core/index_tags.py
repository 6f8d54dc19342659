"""Tag changes, and the Maildir flags that follow the tags ``draft flagged passed replied unread``.

As notmuch's ``synchronize_flags``: after a tag change, every file of the message that lives in
a Maildir ``cur``/``new`` directory gets the flags the tags say (a file in ``new/`` moves to
``cur/``, since it now has flags), other flag letters are kept. The rename is atomic
(``rename(2)`` within the folder) and the index follows it in the same transaction.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pigeon.core.errors import PigeonError
from pigeon.core.index_db import FLAG_TAGS, folder_of

_TAG_RE = re.compile(r"^[^\s()\"]+$")
_INFO_RE = re.compile(r"([:!])2,([^/]*)$")
SYNCED_LETTERS = {letter for letter, _, _ in FLAG_TAGS}


def check_tag(tag: str) -> str:
    if not tag or not _TAG_RE.match(tag) or tag.startswith("-") or tag.startswith("+"):
        raise PigeonError(f"not a valid tag: {tag!r} (no spaces, quotes or parentheses)")
    return tag


def flags_for_tags(tags: set[str], old: str) -> str:
    """The Maildir flags a file should carry: other letters kept, synced letters from tags."""
    keep = {c for c in old if c not in SYNCED_LETTERS}
    for letter, tag, inverse in FLAG_TAGS:
        if (tag in tags) != inverse:
            keep.add(letter)
    return "".join(sorted(keep))


def renamed_path(path: str, flags: str) -> str:
    """Where a file goes for ``flags``: into ``cur/`` with the ``:2,FLAGS`` info."""
    directory, name = os.path.split(path)
    m = _INFO_RE.search(name)
    sep = ":"
    if m:
        sep = m.group(1)
        base = name[: m.start()]
    else:
        base = name
    if os.path.basename(directory) == "new":
        directory = os.path.join(os.path.dirname(directory), "cur")
    return os.path.join(directory, f"{base}{sep}2,{flags}")


def sync_files(index: Any, docid: int) -> int:
    """Rename the Maildir files of a message to match its tags; returns how many moved.

    Through the store (:meth:`pigeon.core.maildir.Maildir.set_flags`: one ``rename(2)``, new/
    to cur/) when the file is in an account's Maildir, else by the same rule here.
    """
    from pigeon.core.maildir import Maildir, entry_for_path

    db = index.db
    tags = set(db.tags_of(docid))
    roots = dict(index.accounts)
    moved = 0
    rows = db.conn.execute("SELECT path, account, dir, flags FROM files WHERE docid=? AND flags IS NOT NULL",
                           (docid,)).fetchall()
    for path, account, rel_dir, flags in rows:
        want = flags_for_tags(tags, flags)
        if want == flags and os.path.basename(os.path.dirname(path)) == "cur":
            continue
        new = renamed_path(path, want)
        entry = None
        if account in roots:
            store = Maildir(roots[account], create=False)
            entry = entry_for_path(store, path)
        try:
            if entry is not None:
                new = str(store.set_flags(entry, want).path)
            elif new != path:
                os.rename(path, new)
        except (FileNotFoundError, PigeonError):
            continue  # gone meanwhile: the next update forgets it
        if new == path:
            continue
        parts = rel_dir.split("/") if rel_dir else []
        if parts and parts[-1] == "new":
            parts[-1] = "cur"
        new_rel = "/".join(parts)
        db.conn.execute("UPDATE files SET path=?, dir=?, folder=?, flags=? WHERE path=?",
                        (new, new_rel, folder_of(new_rel), want, path))
        moved += 1
    return moved


def log_tag_change(db: Any, docid: int) -> None:
    """Remember that the user changed this message's tags (the sync carries them to IMAP
    keywords: :mod:`pigeon.core.sync_tags`)."""
    db.conn.execute("INSERT OR REPLACE INTO tag_log VALUES(?, (SELECT coalesce(max(seq), 0) + 1 FROM tag_log))", (docid,))


def apply_tags(index: Any, query: str, add: list[str], remove: list[str], *, sync_flags: bool = True) -> int:
    """``pigeon tag +a -b -- QUERY``: returns how many messages changed."""
    for t in add + remove:
        check_tag(t)
    docids = index.docids(query)
    db = index.db
    changed = 0
    db.begin()
    try:
        for docid in docids:
            before = set(db.tags_of(docid))
            after = (before - set(remove)) | set(add)
            if after == before:
                continue
            changed += 1
            db.conn.executemany("DELETE FROM tags WHERE tag=? AND docid=?", [(t, docid) for t in before - after])
            db.conn.executemany("INSERT OR IGNORE INTO tags VALUES(?, ?)", [(t, docid) for t in after - before])
            log_tag_change(db, docid)
            synced = {tag for _, tag, _ in FLAG_TAGS}
            if sync_flags and (before ^ after) & synced:
                sync_files(index, docid)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return changed
