"""pigeon tags <-> IMAP keywords, carried by ``pigeon sync`` when a search index exists.

The mapping (documented in docs/sync.md):

* Tags that stand for something else never travel as keywords: the flag tags ``unread``
  ``flagged`` ``replied`` ``draft`` ``passed`` (they travel as ``\\Seen`` ``\\Flagged``
  ``\\Answered`` ``\\Draft`` ``$Forwarded``), and ``inbox`` ``attachment`` ``signed``
  ``encrypted`` ``new`` (local facts, not server state).
* ``spam`` <-> ``$Junk``. A server's ``$NotJunk`` (without ``$Junk``) removes ``spam``; tagging a
  message ``spam`` drops ``$NotJunk`` on the server.
* Every other tag is the keyword of the same name, when it is a valid IMAP atom (no spaces,
  no ``( ) { % * " \\ ]``, ASCII); other tags stay local. Every other keyword is the tag of
  the same name (``$MDNSent``, ``$label1``, ``work``).

Both directions are three-way, so neither side's change is lost:

* **Up**, before a sync's pass: the index logs which messages' tags the user changed
  (``tag_log``); for each, the keywords its tags say are compared with the keywords last
  agreed (the sync state), and only the difference is stored on the server (``UID STORE
  +FLAGS``/``-FLAGS``), so keywords set meanwhile on the server stay. Keywords with no tag
  image (``$NotJunk``) are kept as they are. A folder whose PERMANENTFLAGS lack ``\\*`` gets
  no new keywords (the tags stay local, the sync still succeeds).
* **Down**, after the pass: the keywords that changed in the sync state during the pass (the
  server's changes, and new messages' keywords) are added to or removed from the tags; tags
  the user set locally on other names are untouched.

A tag change on both sides on the same keyword cannot conflict: up runs first, then the pass
reads the server's result, so the later change (the server's, when it changed after the last
sync) wins, as with flags.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: Tags that are never keywords.
NOT_KEYWORDS = frozenset({"inbox", "unread", "flagged", "replied", "draft", "passed", "attachment", "signed",
                          "encrypted", "new"})
JUNK, NOT_JUNK, SPAM = "$Junk", "$NotJunk", "spam"
_BAD_ATOM = re.compile(r'[^\x21-\x7e]|[(){%*"\\\]]')


def keyword_for(tag: str) -> str | None:
    """The IMAP keyword a tag travels as, or None when it stays local."""
    if tag == SPAM:
        return JUNK
    if tag in NOT_KEYWORDS or tag.lower() in (JUNK.lower(), NOT_JUNK.lower()) or _BAD_ATOM.search(tag):
        return None
    return tag


def tag_for(keyword: str) -> str | None:
    """The tag a keyword stands for, or None (``$NotJunk``, system flags, names of local tags)."""
    low = keyword.lower()
    if low == JUNK.lower():
        return SPAM
    if low == NOT_JUNK.lower() or keyword.startswith("\\") or low in NOT_KEYWORDS or keyword == SPAM:
        return None
    return keyword


def keywords_for(tags: Iterable[str], base: frozenset[str]) -> frozenset[str]:
    """The keywords a message with ``tags`` should carry, given those last agreed (``base``):
    the tags' keywords plus the agreed keywords that no tag stands for."""
    tags = set(tags)
    out = {k for k in (keyword_for(t) for t in tags) if k}
    for k in base:
        if tag_for(k) is None and not (k.lower() == NOT_JUNK.lower() and SPAM in tags):
            out.add(k)
    # keep the server's spelling of a keyword it has (keywords are case-insensitive)
    spelled = {k.lower(): k for k in base}
    return frozenset(spelled.get(k.lower(), k) for k in out)


def tags_for(keywords: Iterable[str]) -> set[str]:
    return {t for t in (tag_for(k) for k in keywords) if t}


def _lower(keywords: Iterable[str]) -> dict[str, str]:
    return {k.lower(): k for k in keywords}


def index_exists(app: Any) -> bool:
    from pigeon.core.index_db import db_path

    return os.path.exists(db_path(app.state_dir))


# --------------------------------------------------------------------------- up


def push(app: Any, account: str, state: Any, remote: Any) -> int:
    """Store on the server the keywords of the tags the user changed since the last push.

    Returns how many messages got new keywords. Leaves the connection unselected.
    """
    if not index_exists(app):
        return 0
    from pigeon.core.index_db import IndexDB, db_path

    db = IndexDB(db_path(app.state_dir))
    try:
        row = db.conn.execute("SELECT seq FROM tag_pushed WHERE account=?", (account,)).fetchone()
        done = row[0] if row else 0
        if row is None:
            # The first sync since this index was made: the keywords agreed so far become
            # tags first, so that tags never had are not read as keywords to remove.
            pull(app, account, state, {})
            db.conn.execute("INSERT OR REPLACE INTO tag_pushed VALUES(?, ?)", (account, 0))
        changed = db.conn.execute("SELECT docid, seq FROM tag_log WHERE seq > ?", (done,)).fetchall()
        if not changed:
            return 0
        top = max(seq for _, seq in changed)
        todo = _push_plan(db, account, state, [d for d, _ in changed])
        stored = _store(remote, state, todo) if todo else 0
        db.conn.execute("INSERT OR REPLACE INTO tag_pushed VALUES(?, ?)", (account, top))
        return stored
    finally:
        db.close()


def _push_plan(db: Any, account: str, state: Any, docids: list[int]) -> dict[str, list[tuple[Any, frozenset[str]]]]:
    """folder -> [(agreed message state, keywords it should have)] where they differ."""
    from pigeon.core.sync_local import split_name

    todo: dict[str, list[tuple[Any, frozenset[str]]]] = {}
    for start in range(0, len(docids), 900):
        chunk = docids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        files = db.conn.execute(f"SELECT path, docid FROM files WHERE account=? AND docid IN ({marks})",  # noqa: S608
                                [account, *chunk]).fetchall()
        for path, docid in files:
            tags = db.tags_of(docid)
            key = split_name(os.path.basename(path))[0]
            for folder, ms in state.find_key(key):
                want = keywords_for(tags, ms.keywords)
                if _lower(want).keys() != _lower(ms.keywords).keys():
                    todo.setdefault(folder, []).append((ms, want))
    return todo


def _store(remote: Any, state: Any, todo: dict[str, list[tuple[Any, frozenset[str]]]]) -> int:
    from pigeon.core.sync import remote_name

    infos = remote.list_folders()
    delim = next((i.delimiter for i in infos.values() if i.delimiter), None)
    stored = 0
    for folder, items in sorted(todo.items()):
        name = remote_name(folder, delim)
        if name is None:
            continue
        try:
            sel = remote.select(name)
        except Exception as exc:  # noqa: BLE001 - a folder gone on the server: the pass sorts it out
            log.info("tags of %s not stored: %s", folder, exc)
            continue
        if "\\*" not in sel.permanent:
            log.info("%s: the server keeps no new keywords here; tags stay local", folder)
            remote.unselect()  # expunges nothing, even where UNSELECT is missing
            continue
        groups: dict[tuple[str, frozenset[str]], list[int]] = {}
        for ms, want in items:
            have, new = _lower(ms.keywords), _lower(want)
            add = frozenset(new[k] for k in new.keys() - have.keys())
            rem = frozenset(have[k] for k in have.keys() - new.keys())
            if add:
                groups.setdefault(("+", add), []).append(ms.uid)
            if rem:
                groups.setdefault(("-", rem), []).append(ms.uid)
        for (op, flags), uids in groups.items():
            remote.store(uids, op, sorted(flags))
        with state.transaction():
            state.put_many(folder, [ms.with_(keywords=want) for ms, want in items])
        stored += len(items)
        remote.unselect()  # expunges nothing, even where UNSELECT is missing
    return stored


# --------------------------------------------------------------------------- down


def snapshot(app: Any, state: Any) -> dict[str, frozenset[str]] | None:
    """The keywords of every message that has some, by unique name (None without an index)."""
    if not index_exists(app):
        return None
    from pigeon.core.sync_state import _kw_set

    return {key: _kw_set(kws) for key, kws in state.db.execute("SELECT key, keywords FROM messages WHERE keywords != ''")}


def pull(app: Any, account: str, state: Any, before: dict[str, frozenset[str]]) -> int:
    """Apply to the tags what the pass changed in the keywords; returns how many messages."""
    after = snapshot(app, state) or {}
    changed = {k for k in before.keys() | after.keys() if before.get(k, frozenset()) != after.get(k, frozenset())}
    if not changed:
        return 0
    from pigeon.core.index import open_index
    from pigeon.core.sync_local import split_name

    with open_index(app) as index:
        with index.lock:
            index.update(accounts=[account])  # the files the pass brought are indexed first
            db = index.db
            docs: dict[str, int] = {}
            for path, docid in db.conn.execute("SELECT path, docid FROM files WHERE account=? AND docid IS NOT NULL",
                                               (account,)):
                key = split_name(os.path.basename(path))[0]
                if key in changed:
                    docs[key] = docid
            n = 0
            db.begin()
            try:
                for key, docid in docs.items():
                    old, new = before.get(key, frozenset()), after.get(key, frozenset())
                    add = tags_for(new) - tags_for(old)
                    remove = tags_for(old) - tags_for(new)
                    low_old, low_new = _lower(old), _lower(new)
                    if NOT_JUNK.lower() in low_new.keys() - low_old.keys() and JUNK.lower() not in low_new:
                        remove.add(SPAM)  # marked "not junk" on the server
                        add.discard(SPAM)
                    if not (add or remove):
                        continue
                    # not logged in tag_log: this is the server's change, not one to send back
                    db.conn.executemany("DELETE FROM tags WHERE tag=? AND docid=?", [(t, docid) for t in remove])
                    db.conn.executemany("INSERT OR IGNORE INTO tags VALUES(?, ?)", [(t, docid) for t in add])
                    n += 1
                db.commit()
            except BaseException:
                db.rollback()
                raise
    return n
