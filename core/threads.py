"""Threads as a reader sees them: the one-line summary of a search hit and the reply tree.

Membership comes from the index (connected components over Message-ID, In-Reply-To and
References; :mod:`pigeon.core.index_db`). Within a thread the reply tree follows notmuch 0.37:
a message's parent is the message named by its reply-to id (the last id of In-Reply-To, else the
last of References) when that message is in the thread; of the messages left without a parent,
all but one are then attached under the deepest message of their References that is in the
thread; the rest are the top level. Siblings are in date order.
"""

from __future__ import annotations

_REPLY_PREFIXES = ("re: ", "aw: ", "vs: ", "sv: ")


class ThreadMessage:
    """One message of a thread, with its replies once the tree is built."""

    __slots__ = ("docid", "msgid", "date", "subject", "sender", "replyto", "parents", "tags", "files", "matched",
                 "replies", "depth")

    def __init__(self, docid: int, msgid: str, date: int, subject: str, sender: str, replyto: str,
                 parents: list[str], tags: list[str] | None = None, files: int = 1, matched: bool = False) -> None:
        self.docid, self.msgid, self.date, self.subject, self.sender = docid, msgid, date, subject, sender
        self.replyto, self.parents, self.tags, self.files, self.matched = replyto, parents, tags or [], files, matched
        self.replies: list[ThreadMessage] = []
        self.depth = 0

    def __repr__(self) -> str:
        return f"ThreadMessage({self.msgid!r}, replies={self.replies!r})"


class ThreadSummary:
    """A search hit at thread level (``pigeon search --threads``)."""

    FIELDS = ("thread", "date", "oldest", "newest", "matched", "total", "files", "authors", "subject", "tags",
              "msgids")
    __slots__ = FIELDS

    def __init__(self, *, thread: str, date: int, oldest: int, newest: int, matched: int, total: int, files: int,
                 authors: str, subject: str, tags: list[str], msgids: list[str]) -> None:
        self.thread, self.date, self.oldest, self.newest, self.matched = thread, date, oldest, newest, matched
        self.total, self.files, self.authors, self.subject, self.tags, self.msgids = (
            total, files, authors, subject, tags, msgids)

    def as_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.FIELDS}


def author_of(sender: str) -> str:
    """The name shown for a sender: the display name, else the address."""
    if sender.endswith(">") and "<" in sender:
        name = sender[: sender.rindex("<")].strip().strip('"')
        return name or sender[sender.rindex("<") + 1 : -1]
    return sender


def strip_reply_prefix(subject: str) -> str:
    if subject[:4].lower() in _REPLY_PREFIXES and subject[4:]:
        return subject[4:]
    return subject


def summarize_rows(thread_hex: str, rows: list[tuple], oldest_first: bool) -> ThreadSummary:
    """notmuch's thread line: matched/total, authors (matched first, ``|`` then the others),
    the subject of the newest (or oldest) matched message, every tag of the thread.

    ``rows`` are the thread's messages oldest first, as plain tuples (``pigeon search
    --threads`` makes hundreds of these and must start fast): (msgid, date, subject, sender,
    files, tags, matched).
    """
    matched = [r for r in rows if r[6]]
    subject = rows[0][2] if rows else ""
    if matched:
        cleaned = strip_reply_prefix((matched[0] if oldest_first else matched[-1])[2])
        if cleaned:
            subject = cleaned
    # dicts as ordered sets: first appearance decides the place
    authors_m = dict.fromkeys(a for r in matched if (a := author_of(r[3])))
    authors_o = dict.fromkeys(a for r in rows if (a := author_of(r[3])) and a not in authors_m)
    authors = ", ".join(authors_m)
    if authors_o:
        authors = f"{authors}| {', '.join(authors_o)}" if authors else ", ".join(authors_o)
    tags: set[str] = set()
    for r in rows:
        tags.update(r[5])
    dates = [r[1] for r in matched] or [r[1] for r in rows] or [0]
    oldest, newest = min(dates), max(dates)
    return ThreadSummary(
        thread=thread_hex,
        date=oldest if oldest_first else newest,
        oldest=oldest,
        newest=newest,
        matched=len(matched),
        total=len(rows),
        files=sum(r[4] for r in rows),
        authors=authors,
        subject=subject,
        tags=sorted(tags),
        msgids=[r[0] for r in matched],
    )


def _label_depths(node: ThreadMessage, depth: int, seen: set[int]) -> None:
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        if n.docid in seen:
            continue
        seen.add(n.docid)
        n.depth = d
        stack.extend((r, d + 1) for r in n.replies)


def _sort_subtrees(nodes: list[ThreadMessage]) -> list[ThreadMessage]:
    for n in nodes:
        n.replies = _sort_subtrees(n.replies)
    return sorted(nodes, key=lambda n: n.date)


def build_tree(messages: list[ThreadMessage]) -> list[ThreadMessage]:
    """The top-level messages of a thread (oldest first), replies attached (notmuch 0.37)."""
    for m in messages:
        m.replies = []
    messages = sorted(messages, key=lambda m: (m.date, m.docid))
    by_id = {m.msgid: m for m in messages}
    roots: list[ThreadMessage] = []
    for m in messages:
        parent = by_id.get(m.replyto) if m.replyto else None
        if parent is not None and parent is not m:
            parent.replies.append(m)
        else:
            roots.append(m)
    seen: set[int] = set()
    for r in roots:
        _label_depths(r, 0, seen)
    toplevel: list[ThreadMessage] = []
    for i, m in enumerate(roots):
        last = i == len(roots) - 1
        if last and not toplevel:
            toplevel.append(m)
            continue
        best, best_depth = None, 0
        for ref in sorted(m.parents):
            cand = by_id.get(ref)
            if cand is None or cand is m:
                continue
            if best is None or cand.depth > best_depth:
                best, best_depth = cand, cand.depth
        if best is not None and not _is_descendant(best, m):
            best.replies.append(m)
        else:
            toplevel.append(m)
    if not toplevel and messages:
        toplevel.append(messages[0])
    return _sort_subtrees(toplevel)


def _is_descendant(node: ThreadMessage, ancestor: ThreadMessage) -> bool:
    stack = [ancestor]
    seen = set()
    while stack:
        n = stack.pop()
        if n is node:
            return True
        if n.docid in seen:
            continue
        seen.add(n.docid)
        stack.extend(n.replies)
    return False


def walk(nodes: list[ThreadMessage], depth: int = 0):  # noqa: ANN201 - a generator of (depth, node)
    """(depth, message) in display order."""
    for n in nodes:
        yield depth, n
        yield from walk(n.replies, depth + 1)
