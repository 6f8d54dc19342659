"""The client's state as plain objects: buffers, windows and their split tree (pyvim's split).

Each buffer knows its mode (which keymap applies), its lines and a cursor; ``layout.py`` draws
whatever is here. Nothing in this module imports prompt_toolkit, so the state is testable alone.
The windows (``Pane``, ``Split``, ``WindowTree``) live in ``windows.py`` and are re-exported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigeon.core.sanitize import sanitize_line, sanitize_text
from pigeon.plugins.tui.source import FolderListing, Row, format_date
from pigeon.plugins.tui.windows import Pane, Split, WindowTree  # noqa: F401 - re-exported

Fragments = list[tuple[str, str]]


def fit(text: str, cells: int) -> str:
    """``text`` cut or padded to exactly ``cells`` terminal columns (CJK counts two)."""
    from wcwidth import wcwidth

    out = []
    used = 0
    for ch in text:
        w = max(wcwidth(ch), 0)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (cells - used)


class Buffer:
    """A named thing shown in a window: a list, a message, help text, a draft."""

    mode = "text"
    kind = "text"

    def __init__(self, name: str) -> None:
        self.name = name
        self.cursor = 0
        self.top = 0
        self.height = 20  # set by the window that last drew it
        self.width = 80
        self.highlight_cursor = True
        self.search_hit: tuple[int, int, int] | None = None  # (line, start, end)

    # lines
    def line_count(self) -> int:
        return 0

    def line_text(self, i: int) -> str:
        return ""

    def line(self, i: int, width: int) -> Fragments:
        return [("", self.line_text(i))]

    # movement
    def goto(self, i: int) -> None:
        n = self.line_count()
        self.cursor = max(0, min(i, n - 1)) if n else 0

    def move(self, n: int) -> None:
        self.goto(self.cursor + n)

    def page(self, n: int) -> None:
        step = max(1, self.height - 2)
        self.top = max(0, min(self.top + n * step, max(0, self.line_count() - 1)))
        self.goto(self.cursor + n * step)

    def scroll_into_view(self, height: int) -> None:
        self.height = height
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + height:
            self.top = self.cursor - height + 1
        self.top = max(0, min(self.top, max(0, self.line_count() - 1)))

    def search(self, text: str, start: int, backward: bool = False) -> int | None:
        """The next line (from ``start``, inclusive) holding ``text`` (smart case), or None."""
        n = self.line_count()
        if not text or not n:
            return None
        fold = text.islower()
        needle = text.lower() if fold else text
        order = range(start, -1, -1) if backward else range(start, n)
        for i in order:
            hay = self.line_text(i)
            pos = (hay.lower() if fold else hay).find(needle)
            if pos >= 0:
                self.search_hit = (i, pos, pos + len(text))
                return i
        return None

    def modeline_info(self) -> str:
        n = self.line_count()
        return f"L{self.cursor + 1}/{n}" if n else "empty"


class TextBuffer(Buffer):
    """Help, *Messages*, command output: lines of text."""

    def __init__(self, name: str, text: str = "", mode: str = "text") -> None:
        super().__init__(name)
        self.mode = mode
        self.lines: list[str] = []
        self.highlight_cursor = False
        self.set_text(text)

    def set_text(self, text: str) -> None:
        self.raw = sanitize_text(text).expandtabs(8) if text else ""
        self.wrapped_at = 0
        self.lines = self.raw.split("\n") if text else []
        self.goto(self.cursor)

    def wrap(self, width: int) -> None:
        """Help and output read better wrapped to the window (continuations indented)."""
        import textwrap

        if width == self.wrapped_at or width < 20:
            return
        self.wrapped_at = width
        out: list[str] = []
        for line in self.raw.split("\n"):
            if len(line) <= width:
                out.append(line)
                continue
            indent = " " * min(len(line) - len(line.lstrip()) + 2, width // 2)
            if self.kind == "table":  # a row stays one row (the table scans), but shows it goes on
                out.append(line[: width - 1] + "…")
                continue
            out.extend(textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""])
        self.lines = out

    def append(self, text: str, keep: int = 5000) -> None:
        self.lines.extend(sanitize_text(text).expandtabs(8).split("\n"))
        if len(self.lines) > keep:  # *Messages* must not grow without end
            del self.lines[: len(self.lines) - keep]

    # A text without a highlighted line moves by scrolling: the cursor is the top line.
    def goto(self, i: int) -> None:
        if self.highlight_cursor:
            super().goto(i)
            return
        self.cursor = max(0, min(i, self.line_count() - self.height))

    def page(self, n: int) -> None:
        if self.highlight_cursor:
            super().page(n)
            return
        self.goto(self.cursor + n * max(1, self.height - 2))

    def scroll_into_view(self, height: int) -> None:
        if self.highlight_cursor:
            super().scroll_into_view(height)
            return
        self.height = height
        self.top = self.cursor

    def line_count(self) -> int:
        return len(self.lines)

    def line_text(self, i: int) -> str:
        return self.lines[i] if 0 <= i < len(self.lines) else ""

    def line(self, i: int, width: int) -> Fragments:
        text = self.line_text(i)
        style = "class:heading" if text and self.kind in ("help", "table") and not text.startswith(" ") and text.endswith(":") else ""
        return [(style, text)]


class BufferList(TextBuffer):
    """``C-x C-b``: the open buffers; RET switches to the one at point."""

    kind = "buffers"

    def __init__(self, names: list[tuple[str, str, str]]) -> None:
        super().__init__("*Buffer List*", mode="text")
        self.targets = [n for n, _, _ in names]
        self.lines = [f"  {n:<32} {m:<9} {info}" for n, m, info in names]
        self.highlight_cursor = True


class FolderBuffer(Buffer):
    """The folders (and saved searches) of every account, with message and unread counts."""

    mode = "folders"
    kind = "folders"

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__("*Folders*")
        self.entries = entries  # (account, folder)
        self.counts: dict[tuple[str, str], tuple[int, int]] = {}
        self.searches: list[tuple[str, str]] = []  # (name, query)

    def line_count(self) -> int:
        return len(self.searches) + len(self.entries)

    def search_at(self, i: int) -> tuple[str, str] | None:
        return self.searches[i] if 0 <= i < len(self.searches) else None

    def line_text(self, i: int) -> str:
        if 0 <= i < len(self.searches):
            name, query = self.searches[i]
            total, unread = self.counts.get(("search", name), (-1, -1))
            counts = f"{unread:>6} {total:>7}" if total >= 0 else f"{'':>6} {'':>7}"
            return f"{counts}  {'search':<10} {sanitize_line(name)}  ({sanitize_line(query)})"
        i -= len(self.searches)
        if not 0 <= i < len(self.entries):
            return ""
        acct, folder = self.entries[i]
        total, unread = self.counts.get((acct, folder), (-1, -1))
        counts = f"{unread:>6} {total:>7}" if total >= 0 else f"{'…':>6} {'…':>7}"
        depth, name = 0, folder or "(root)"
        parts = folder.split("/")
        for n in range(len(parts) - 1, 0, -1):
            # indented under the nearest listed ancestor; an unlisted one ("lists" of
            # "lists/dev", not a Maildir itself) stays in the name, or it reads as a child
            # of whatever folder happens to sort above it
            if (acct, "/".join(parts[:n])) in self.entries:
                depth, name = n, "/".join(parts[n:])
                break
        return f"{counts}  {acct:<10} {'  ' * depth}{sanitize_line(name)}"

    def line(self, i: int, width: int) -> Fragments:
        if i < len(self.searches):
            return [("class:date", self.line_text(i))]
        acct, folder = self.entries[i - len(self.searches)]
        unread = self.counts.get((acct, folder), (0, 0))[1]
        return [("class:unread" if unread > 0 else "", self.line_text(i))]

    def current(self) -> tuple[str, str] | None:
        i = self.cursor - len(self.searches)
        return self.entries[i] if 0 <= i < len(self.entries) else None

    def modeline_info(self) -> str:
        saved = f", {len(self.searches)} saved searches" if self.searches else ""
        return f"{len(self.entries)} folders{saved}"


@dataclass
class ThreadState:
    threads: list[tuple[int, list[tuple[int, int]]]] = field(default_factory=list)
    expanded: set[int] = field(default_factory=set)  # root rows shown unfolded
    visible: list[tuple[int, int, int]] = field(default_factory=list)  # (row, depth, thread size)


class MessageListBuffer(Buffer):
    """One line per message (or per thread, folded): date, sender, subject, flags, marks."""

    mode = "list"
    kind = "list"

    def __init__(self, listing: FolderListing, name: str | None = None) -> None:
        super().__init__(name or f"{listing.folder or '(root)'} [{listing.account}]")
        self.listing = listing
        self.threaded: ThreadState | None = None
        self.status = "loading…" if not listing.loaded else ""
        self.tags: dict[str, list[str]] = {}  # key -> tags, when an index knows them
        self.now = time.time()
        self.on_unassessed: Any = None  # the UI's hook to assess rows as they are drawn

    @property
    def account(self) -> str:
        return self.listing.account

    @property
    def folder(self) -> str:
        return self.listing.folder

    def line_count(self) -> int:
        if self.threaded is not None:
            return len(self.threaded.visible)
        return len(self.listing)

    def row_index(self, i: int) -> int:
        if self.threaded is not None:
            return self.threaded.visible[i][0] if 0 <= i < len(self.threaded.visible) else -1
        return i

    def row(self, i: int | None = None) -> Row | None:
        j = self.row_index(self.cursor if i is None else i)
        if not 0 <= j < len(self.listing):
            return None
        try:
            return self.listing.rows[j]
        except IndexError:  # an index hit whose file is gone
            return None

    def columns(self, i: int) -> tuple[str, str, str, str, str, str]:
        """(flags, date, sender, subject, marks, tags) of line ``i``."""
        row = self.row(i)
        if row is None:
            return ("", "", "", "", "", "")
        s = self.listing.summary(row)
        if not (s.assessed and s.tags_checked) and self.on_unassessed is not None:
            self.on_unassessed(self, row, s)
        flags = row.flags
        f = ("N" if "S" not in flags else " ") + ("!" if "F" in flags else " ") + ("r" if "R" in flags else ("f" if "P" in flags else " ")) + ("D" if "T" in flags else " ")
        subject = s.subject or "(no subject)"
        if self.threaded is not None:
            _, depth, size = self.threaded.visible[i]
            if depth:
                subject = "  " * min(depth, 8) + "└ " + subject
            elif size > 1:
                j = self.row_index(i)
                subject = ("- " if j in self.threaded.expanded else "+ ") + subject + f" [{size}]"
        marks = ("@" if s.attachment else " ") + ("⚠" if s.warning else " ")
        shown = s.tags or self.tags.get(row.key, [])
        if self.folder.upper() == "INBOX":  # in the inbox itself, "inbox" on every line says nothing
            shown = [t for t in shown if t != "inbox"]
        tags = " ".join(shown)
        return f, format_date(s.date, self.now), s.sender or s.sender_addr or "(nobody)", subject, marks, tags

    def line_text(self, i: int) -> str:
        f, date, sender, subject, marks, tags = self.columns(i)
        return f"{f} {date} {fit(sender, 20)} {marks} {subject} {tags}".rstrip()

    def line(self, i: int, width: int) -> Fragments:
        f, date, sender, subject, marks, tags = self.columns(i)
        base = "class:unread" if f.startswith("N") else ""
        frags: Fragments = [
            (base + " class:flags", f + " "),
            (base + " class:date", date + " "),
            (base + " class:sender", fit(sender, 20) + " "),
            ("class:warning" if "⚠" in marks else base, marks + " "),
            (base + " class:subject", subject),
        ]
        if tags:
            frags.append(("class:tags", f" {tags}"))
        return frags

    def set_threads(self, threads: list[tuple[int, list[tuple[int, int]]]] | None) -> None:
        current = self.row_index(self.cursor)
        if threads is None:
            self.threaded = None
        else:
            self.threaded = ThreadState(threads=threads)
        self.rebuild_threads()
        self.goto_row(current)

    def rebuild_threads(self) -> None:
        st = self.threaded
        if st is None:
            return
        st.visible = []
        for root, members in st.threads:
            if root in st.expanded:
                st.visible.extend((i, d, len(members)) for i, d in members)
            else:
                st.visible.append((root, 0, len(members)))

    def toggle_thread(self) -> None:
        st = self.threaded
        if st is None or not st.visible:
            return
        row = self.row_index(self.cursor)
        root = next((r for r, members in st.threads if any(i == row for i, _ in members)), row)
        st.expanded.symmetric_difference_update({root})
        self.rebuild_threads()
        self.goto_row(root)

    def goto_row(self, row_index: int) -> None:
        if self.threaded is None:
            self.goto(row_index)
            return
        for n, (i, _, _) in enumerate(self.threaded.visible):
            if i == row_index:
                self.goto(n)
                return
        for n, (root, members) in enumerate(self.threaded.threads):
            if any(i == row_index for i, _ in members):
                vis = next((k for k, v in enumerate(self.threaded.visible) if v[0] == root), n)
                self.goto(vis)
                return

    def modeline_info(self) -> str:
        total = len(self.listing)
        unread = self.listing.unread_count
        pos = f"{self.cursor + 1}/{self.line_count()}" if total else "empty"
        extra = f"  {self.status}" if self.status else ""
        threads = "  threads" if self.threaded is not None else ""
        return f"{pos}  {unread} unread{threads}{extra}"


class MessageBuffer(TextBuffer):
    """A rendered message: headers, banners, body, attachments, numbered links."""

    mode = "message"
    kind = "message"

    def __init__(self, name: str, path: Path, account: str, folder: str, key: str) -> None:
        super().__init__(name, mode="message")
        self.path = path
        self.account = account
        self.folder = folder
        self.key = key
        self.attachments: list[Any] = []
        self.links: list[Any] = []
        self.header_lines = 0
        self.highlight_cursor = False
        self.source_list: MessageListBuffer | None = None
        self.rendered_width = 0

    def line(self, i: int, width: int) -> Fragments:
        text = self.line_text(i)
        if i < self.header_lines and ":" in text:
            name, _, value = text.partition(":")
            return [("class:header-name", name + ":"), ("class:header-value", value)]
        if text.startswith(("[!]", "[⚠]", "⚠ ", "[warning]", "[danger]")):
            return [("class:warning", text)]
        if text.startswith(">"):
            return [("class:quote", text)]
        return [("", text)]

    def modeline_info(self) -> str:
        n = self.line_count()
        pct = 100 if n <= self.height else int(100 * min(self.top + self.height, n) / n)
        return f"{pct}%  {len(self.attachments)} attachment(s)  {len(self.links)} link(s)"


class ComposeBuffer(Buffer):
    """A draft being written: header lines, a blank line, the body. Edited by the UI's text widget."""

    mode = "compose"
    kind = "compose"

    def __init__(self, name: str, text: str, account: str, kind: str = "new") -> None:
        super().__init__(name)
        self.initial_text = text
        self.account = account
        self.compose_kind = kind
        self.attachments: list[Path] = []
        self.reply_to: tuple[str, str, str] | None = None  # (account, folder, key) answered
        self.draft_path: Path | None = None
        self.editor: Any = None  # the UI's text widget (a prompt_toolkit Buffer)
        self.sent = False

    @property
    def text(self) -> str:
        return self.editor.text if self.editor is not None else self.initial_text

    def set_text(self, text: str) -> None:
        if self.editor is not None:
            self.editor.text = text
        else:
            self.initial_text = text

    def line_count(self) -> int:
        return self.text.count("\n") + 1

    def line_text(self, i: int) -> str:
        lines = self.text.split("\n")
        return lines[i] if 0 <= i < len(lines) else ""

    def modeline_info(self) -> str:
        att = f"  {len(self.attachments)} attachment(s)" if self.attachments else ""
        head = self.text.partition("\n\n")[0].lower()
        # what the draft asks for, visible at all times (C-c C-p lists the keys)
        crypto = "".join(f"  {word}" for word, name in (("encrypted", "x-pigeon-encrypt: yes"), ("signed", "x-pigeon-sign: yes"))
                         if name in head)
        return f"{self.compose_kind}{crypto}{att}{'  sent' if self.sent else ''}"
