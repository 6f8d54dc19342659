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

    def __init__(self, **values: object) -> None:
        for name in self.FIELDS:
            setattr(self, name, values[name])

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


def summarize(thread_hex: str, messages: list[ThreadMessage], oldest_first: bool) -> ThreadSummary:
    """notmuch's thread line: matched/total, authors (matched first, ``|`` then the others),
    the subject of the newest (or oldest) matched message, every tag of the thread."""
    matched = [m for m in messages if m.matched]
    subject = messages[0].subject if messages else ""
    if matched:
        pick = matched[0] if oldest_first else matched[-1]
        cleaned = strip_reply_prefix(pick.subject)
        if cleaned:
            subject = cleaned
    authors_m: list[str] = []
    authors_o: list[str] = []
    names = [(author_of(m.sender), m.matched) for m in messages]
    for a, is_matched in names:
        if a and is_matched and a not in authors_m:
            authors_m.append(a)
    for a, _ in names:
        if a and a not in authors_m and a not in authors_o:
            authors_o.append(a)
    authors = ", ".join(authors_m)
    if authors_o:
        authors = f"{authors}| {', '.join(authors_o)}" if authors else ", ".join(authors_o)
    tags = sorted({t for m in messages for t in m.tags})
    dates = [m.date for m in matched] or [m.date for m in messages] or [0]
    return ThreadSummary(
        thread=thread_hex,
        date=min(dates) if oldest_first else max(dates),
        oldest=min(dates),
        newest=max(dates),
        matched=len(matched),
        total=len(messages),
        files=sum(m.files for m in messages),
        authors=authors,
        subject=subject,
        tags=tags,
        msgids=[m.msgid for m in matched],
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
