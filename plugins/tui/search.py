"""``s``: search. The index answers when it exists; until then, words in one folder's summaries."""

from __future__ import annotations

import re
import shlex
from typing import Any

from pigeon.plugins.tui.source import FolderListing, get_store


def _matcher(query: str) -> Any:
    """A predicate over (summary, flags) for ``from:x subject:y word -not is:unread``."""
    try:
        words = shlex.split(query)
    except ValueError:
        words = query.split()
    tests = []
    for word in words:
        neg = word.startswith("-") and len(word) > 1
        word = word[1:] if neg else word
        field, sep, value = word.partition(":")
        value = value.lower() if sep else field.lower()
        if not sep:
            fn = lambda s, f, v=value: v in s.subject.lower() or v in s.sender.lower() or v in s.sender_addr.lower() or v in s.to.lower()  # noqa: E731
        elif field == "from":
            fn = lambda s, f, v=value: v in s.sender.lower() or v in s.sender_addr.lower()  # noqa: E731
        elif field == "to":
            fn = lambda s, f, v=value: v in s.to.lower()  # noqa: E731
        elif field == "subject":
            fn = lambda s, f, v=value: v in s.subject.lower()  # noqa: E731
        elif field == "is":
            letter = {"unread": "", "flagged": "F", "replied": "R", "draft": "D"}.get(value)
            if value == "unread":
                fn = lambda s, f: "S" not in f  # noqa: E731
            else:
                fn = lambda s, f, c=letter or "?": c in f  # noqa: E731
        elif field == "has" and value == "attachment":
            fn = lambda s, f: s.attachment  # noqa: E731
        elif field == "id":
            fn = lambda s, f, v=value.strip("<>"): s.message_id.strip("<>").lower() == v  # noqa: E731
        else:
            fn = lambda s, f, v=word.lower(): v in s.subject.lower()  # noqa: E731
        tests.append((neg, fn))
    return lambda s, f: all(fn(s, f) != neg for neg, fn in tests)


def search_listing(app: Any, account: str, folder: str, query: str, listing: FolderListing | None = None) -> FolderListing:
    """A listing of the messages of ``folder`` matching ``query`` (reads every summary once)."""
    if listing is None:
        listing = FolderListing(get_store(app, app.account(account)), account, folder, app.state_dir / "tui-cache")
        listing.scan()
    elif not listing.loaded:
        listing.scan()
    match = _matcher(query)
    result = FolderListing(listing.store, account, folder, None)
    result.cache = listing.cache
    result.set_rows(r for r in list(listing.rows) if match(listing.summary(r), r.flags))
    return result


__all__ = ["search_listing", "re"]
