"""Helpers for the index tests: index a corpus folder, read the expected reply trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import helpers
from pigeon.core.index import Index
from pigeon.core.threads import walk

# helpers.CORPUS is beside the checkout; a worktree sits one level deeper.
CORPUS = next((p for p in (helpers.CORPUS, helpers.REPO.parent.parent / "shared" / "corpus") if p.is_dir()),
              helpers.CORPUS)


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


def message_bytes(msgid: str, *, date: str = "Mon, 02 Mar 2026 10:00:00 +0000", sender: str = "Alice <alice@example.com>",
                  to: str = "Bob <bob@example.net>", subject: str = "hello", body: str = "just words",
                  in_reply_to: str = "", references: str = "", extra: str = "") -> bytes:
    """A small RFC 5322 message."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}", f"Message-ID: <{msgid}>"]
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append("References: " + " ".join(f"<{r}>" for r in references.split()))
    if extra:
        lines.append(extra.rstrip("\n"))
    return ("\n".join(lines) + "\n\n" + body + "\n").encode("utf-8")


def deliver(root: Path, folder: str, name: str, data: bytes, *, flags: str | None = "", new: bool = False) -> Path:
    """Write a file into ``root/folder/{cur,new}`` (Maildir layout), with ``:2,flags`` unless None."""
    base = root / folder if folder else root
    for sub in ("cur", "new", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    fname = name if flags is None or new else f"{name}:2,{flags}"
    path = base / ("new" if new else "cur") / fname
    path.write_bytes(data)
    return path
