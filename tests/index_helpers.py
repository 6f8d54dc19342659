"""Helpers for the index tests: index a corpus folder, read the expected reply trees."""

from __future__ import annotations

import shutil
from pathlib import Path

from pigeon.core.index import Index
from pigeon.core.threads import walk


def index_folder(src: Path, tmp: Path, *, copy: bool = False, workers: int = 1) -> Index:
    """A fresh index over ``src`` (copied first when the test changes files)."""
    root = src
    if copy:
        root = tmp / "mail"
        shutil.copytree(src, root)
    index = Index(tmp / "index.sqlite", [("test", root)], workers=workers)
    index.update()
    return index


def read_expected(path: Path) -> list[tuple[tuple[int, str], ...]]:
    """The threads of an ``expected-threads`` file: each a tuple of (depth, Message-ID)."""
    threads: list[list[tuple[int, str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## thread"):
            threads.append([])
            continue
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        msgid = line.rsplit("  <", 1)[1]
        assert msgid.endswith(">"), line
        threads[-1].append((depth, msgid[:-1]))
    return sorted(tuple(t) for t in threads)


def our_threads(index: Index) -> list[tuple[tuple[int, str], ...]]:
    out = []
    for thread in index.all_threads():
        out.append(tuple((d, m.msgid) for d, m in walk(index.thread_tree(thread))))
    return sorted(out)
