"""Every corpus message, through the client's own path: the list row and the message view as the
window draws them, with no exception and no raw control character on screen."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

from helpers import CORPUS
from pigeon.core.app import App
from pigeon.plugins.tui.layout import ModelControl
from pigeon.plugins.tui.model import MessageBuffer, MessageListBuffer, Pane
from pigeon.plugins.tui.source import FolderListing, MiniStore, Row, summarize
from pigeon.plugins.tui.view import render_view

FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")
SKIP_DIRS = {"keys", "expected-output", "expected-threads", "expected-inner", "output"}


def corpus_messages() -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(CORPUS):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        if Path(dirpath) == CORPUS:
            continue
        for name in sorted(filenames):
            if name.endswith((".md", ".py", ".json", ".asc", ".gpg", ".key", ".pem", ".txt.sig")) or name.startswith("."):
                continue
            out.append(Path(dirpath) / name)
    return out


def screen_lines(control: ModelControl, buf: object, width: int = 80) -> list[str]:
    height = max(1, buf.line_count())  # type: ignore[attr-defined]
    content = control.create_content(width, height)
    return ["".join(text for _, text in content.get_line(i)) for i in range(content.line_count)]


def test_every_corpus_message_shows_clean_in_the_list_and_the_view(corpus: Path, config_dir: Path) -> None:
    files = corpus_messages()
    assert len(files) > 800
    app = App.create(config_dir)
    listing = FolderListing(MiniStore(corpus), "corpus", "", None)
    lst = MessageListBuffer(listing)
    failures = []
    for path in files:
        rel = str(path.relative_to(corpus))
        try:
            view = render_view(app, path, 80)
            buf = MessageBuffer("*m*", path, "corpus", "", path.name)
            buf.lines = view.lines
            buf.header_lines = view.header_lines
            ui = SimpleNamespace(tree=SimpleNamespace(current=None), prefetch_summaries=lambda *a: None)
            shown = screen_lines(ModelControl(ui, Pane(buf)), buf)
            listing.set_rows([Row(path.name, "", path.name)])
            listing.cache.data[path.name] = summarize(path)
            lst.cursor = 0
            shown += screen_lines(ModelControl(ui, Pane(lst)), lst)
        except Exception as exc:
            failures.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        for line in shown:
            bad = FORBIDDEN.search(line)
            if bad:
                failures.append(f"{rel}: {bad.group()!r} on screen")
                break
    assert not failures, "\n".join(failures[:50])
