"""Completion for the minibuffer, the compose headers and ``pigeon shell``.

Sources: command names (fuzzy, with the first line of their documentation), folders, buffers,
tags and addresses (from the summaries already read and from ``pigeon_complete``), files,
and query terms.
"""

from __future__ import annotations

import email.utils
import shlex
from collections.abc import Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import (
    CompleteEvent,
    Completer,
    Completion,
    FuzzyWordCompleter,
    PathCompleter,
    WordCompleter,
)
from prompt_toolkit.document import Document

QUERY_TERMS = [
    "from:", "to:", "cc:", "subject:", "folder:", "account:", "tag:", "is:unread", "is:flagged",
    "is:replied", "is:draft", "has:attachment", "attachment:", "mimetype:", "date:", "size:",
    "id:", "thread:", "and", "or", "not",
]


def hook_completions(app: Any, kind: str, text: str) -> list[Completion]:
    out = []
    try:
        results = app.pm.hook.pigeon_complete(kind=kind, text=text, app=app)
    except Exception:
        return []
    for group in results or []:
        for c in group or []:
            out.append(Completion(c.text, -len(text), display=c.display or None, display_meta=c.meta or None))
    return out


def folder_names(app: Any) -> list[str]:
    from pigeon.plugins.tui.source import get_store

    names: list[str] = []
    accounts = list(app.config.accounts.values())
    for acct in accounts:
        try:
            folders = get_store(app, acct).folders()
        except Exception:
            continue
        names.extend(folders if len(accounts) == 1 else [f"{acct.name}:{f}" for f in folders])
    return names


def known_addresses(app: Any) -> list[str]:
    seen: dict[str, str] = {}
    ui = getattr(app, "ui", None)
    for buf in getattr(ui, "buffers", []) or []:
        listing = getattr(buf, "listing", None)
        if listing is None:
            continue
        for s in list(listing.cache.data.values()):
            if s.sender_addr and s.sender_addr.lower() not in seen:
                seen[s.sender_addr.lower()] = email.utils.formataddr((s.sender, s.sender_addr)) if s.sender != s.sender_addr else s.sender_addr
    return sorted(seen.values(), key=str.lower)


class _Words(Completer):
    """Substring completion over a list produced on demand (tags, addresses)."""

    def __init__(self, app: Any, kind: str, words: Any) -> None:
        self.app = app
        self.kind = kind
        self.words = words

    def get_completions(self, document: Document, event: CompleteEvent | None) -> Iterator[Completion]:
        text = document.text_before_cursor.split(",")[-1].lstrip()
        low = text.lower()
        seen = set()
        for w in self.words():
            if low in w.lower():
                seen.add(w.lower())
                yield Completion(w, -len(text))
        if self.kind == "address":
            for w in index_addresses(self.app, text):
                if w.lower() not in seen:
                    seen.add(w.lower())
                    yield Completion(w, -len(text))
        yield from hook_completions(self.app, self.kind, text)


def index_addresses(app: Any, text: str, limit: int = 200) -> list[str]:
    """Senders the index knows matching ``text`` (from a completion thread: its own connection)."""
    import re

    word = re.sub(r"[^\w@.+-]", "", text)
    if len(word) < 2:
        return []
    from pigeon.plugins.tui.indexed import open_index

    index = open_index(app)
    if index is None:
        return []
    try:
        hits = index.search(f"from:{word}", limit=limit)
    except Exception:
        return []
    finally:
        index.close()
    out: dict[str, str] = {}
    for h in hits:
        name, addr = email.utils.parseaddr(h.sender)
        if addr and word.lower() in h.sender.lower():
            out.setdefault(addr.lower(), email.utils.formataddr((name, addr)) if name else addr)
    return sorted(out.values(), key=str.lower)


class CommandCompleter(Completer):
    """``NAME ARGS``: fuzzy command names first, then each argument by its kind."""

    def __init__(self, tui: Any, fuzzy: bool = True) -> None:
        self.tui = tui
        self.app = tui.app
        self.fuzzy = fuzzy

    def _names(self) -> Completer:
        reg = self.app.commands
        names = reg.names()
        meta = {n: (reg.get(n).doc.splitlines() or [""])[0] for n in names}
        return FuzzyWordCompleter(names, meta_dict=meta, WORD=True) if self.fuzzy else WordCompleter(names, meta_dict=meta, WORD=True)

    def get_completions(self, document: Document, event: CompleteEvent | None) -> Iterator[Completion]:
        text = document.text_before_cursor
        if " " not in text.lstrip():
            yield from self._names().get_completions(document, event or CompleteEvent())
            return
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        if text.endswith(" "):
            words.append("")
        name, args = words[0], words[1:]
        if name not in self.app.commands:
            return
        import inspect

        params = list(inspect.signature(self.app.commands.get(name).func).parameters.values())[1:]
        pos = len(args) - 1
        param = params[min(pos, len(params) - 1)] if params else None
        if param is None:
            return
        from pigeon.plugins.tui.ui_commands import ARG_KINDS

        kind = ARG_KINDS.get(param.name, "")
        sub = completer_for(self.tui, kind)
        if sub is None:
            return
        yield from sub.get_completions(Document(args[-1], len(args[-1])), event or CompleteEvent())


class ComposeCompleter(Completer):
    """Addresses on To:/Cc:/Bcc: lines of a draft, nothing in the body."""

    def __init__(self, tui: Any) -> None:
        self.inner = _Words(tui.app, "address", lambda: known_addresses(tui.app))

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        line = document.current_line_before_cursor
        head = document.text_before_cursor.split("\n\n", 1)
        if len(head) > 1 or not line.lower().startswith(("to:", "cc:", "bcc:")):
            return
        value = line.split(":", 1)[1]
        yield from self.inner.get_completions(Document(value, len(value)), event)


def message_links(buf: Any) -> list[tuple[str, str]]:
    """(number, target) of a message's links: the renderer's, else the URLs in its text."""
    import re

    links = [(str(li.number), li.target) for li in getattr(buf, "links", []) or []]
    if links or not hasattr(buf, "lines"):
        return links
    seen: list[str] = []
    for line in buf.lines:
        for url in re.findall(r"(?:https?|ftp)://[^\s<>\"')\]]+", line):
            url = url.rstrip(".,;:!?")
            if url not in seen:
                seen.append(url)
    return [(str(i), url) for i, url in enumerate(seen, 1)]


class _LinkCompleter(Completer):
    def __init__(self, tui: Any) -> None:
        self.tui = tui

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor.strip()
        for n, target in message_links(self.tui.current):
            if n.startswith(text) or text in target:
                yield Completion(n, -len(document.text_before_cursor), display=f"{n}  {target}")


def completer_for(tui: Any, kind: str) -> Completer | None:
    app = tui.app
    if kind == "link":
        return _LinkCompleter(tui)
    if kind == "command":
        return CommandCompleter(tui)
    if kind == "folder":
        return FuzzyWordCompleter(lambda: folder_names(app), WORD=True)  # type: ignore[arg-type]
    if kind == "buffer":
        return FuzzyWordCompleter(lambda: [b.name for b in getattr(tui, "buffers", [])], WORD=True)  # type: ignore[arg-type]
    if kind == "file":
        return PathCompleter(expanduser=True)
    if kind == "address":
        return _Words(app, "address", lambda: known_addresses(app))
    if kind == "tag":
        return _Words(app, "tag", lambda: known_tags(app))
    if kind == "query":
        return _QueryCompleter(tui)
    return None


def known_tags(app: Any) -> list[str]:
    try:
        from pigeon.core import index  # type: ignore[attr-defined]

        tags = getattr(index, "all_tags", None)
        if tags is not None:
            return sorted(tags(app))
    except Exception:
        pass
    return ["inbox", "unread", "flagged", "replied", "attachment", "spam", "todo"]


class _QueryCompleter(Completer):
    def __init__(self, tui: Any) -> None:
        self.tui = tui

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        word = document.get_word_before_cursor(WORD=True)
        if word.startswith("folder:"):
            part = word[7:]
            for f in folder_names(self.tui.app):
                if f.lower().startswith(part.lower()):
                    yield Completion("folder:" + f, -len(word))
            return
        if word.startswith("tag:"):
            for t in known_tags(self.tui.app):
                if t.startswith(word[4:]):
                    yield Completion("tag:" + t, -len(word))
            return
        if word.startswith(("from:", "to:", "cc:")):
            prefix, _, part = word.partition(":")
            for a in known_addresses(self.tui.app):
                addr = email.utils.parseaddr(a)[1]
                if part.lower() in a.lower():
                    yield Completion(f"{prefix}:{addr}", -len(word), display=a)
            return
        for term in QUERY_TERMS:
            if term.startswith(word.lower()) and word:
                yield Completion(term, -len(word))
        yield from hook_completions(self.tui.app, "query", word)


def strings(completer: Completer, text: str) -> Iterable[str]:
    """Completion texts for ``text`` (for tests and the shell)."""
    return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent(completion_requested=True))]
