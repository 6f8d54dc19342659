#!/usr/bin/env python3
"""First screen of a query inside a running client, at 100,000 messages.

    python bench/index_firstpage.py [--work /tmp/pigeon-index-bench] [--copies 10]

Takes the pigeon index that ``bench/index_bench.py --keep`` leaves (10,000 generated messages),
copies it and multiplies its messages ``--copies`` times in SQL (new ids, Message-IDs, threads,
dates shifted by 400 days per copy, same text), then times ``Index.search(q, limit=50)`` and
``Index.threads(q, limit=50)`` in one process, as the client's list view calls them: the
median and the best of 9 runs. Not part of the test run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

QUERIES = ["*", "tag:inbox", "tag:unread", "from:alice@example.com", "subject:release",
           "date:2023-01-01..2023-03-31", "München", "release", "folder:INBOX", "folder:.Archive",
           "tag:inbox and not tag:spam", "is:flagged", "budget or invoice", "has:attachment", "zzzznotfound"]


def multiply(path: Path, copies: int) -> int:
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("BEGIN")
    (top,) = c.execute("SELECT max(id) FROM messages").fetchone()
    (maxt,) = c.execute("SELECT max(thread) FROM messages").fetchone()
    for k in range(1, copies):
        off, toff, shift = k * top, k * (maxt + 1), k * 86400 * 400
        c.execute(f"INSERT INTO messages SELECT id+{off}, msgid||'-{k}', thread+{toff}, date-{shift}, size"
                  f" FROM messages WHERE id<={top}")
        c.execute(f"INSERT INTO details SELECT id+{off}, subject, sender, recipients, cc, replyto, parents, attachments"
                  f" FROM details WHERE id<={top}")
        c.execute(f"INSERT INTO tags SELECT tag, docid+{off} FROM tags WHERE docid<={top}")
        c.execute(f"INSERT INTO addresses SELECT addr, field, docid+{off} FROM addresses WHERE docid<={top}")
        c.execute(f"INSERT INTO mimetypes SELECT type, docid+{off} FROM mimetypes WHERE docid<={top}")
        c.execute(f"INSERT INTO files SELECT path||'-{k}', docid+{off}, account, folder, dir, mtime, size, flags"
                  f" FROM files WHERE docid<={top}")
        c.execute(f"INSERT INTO fts_head(rowid, subject, sender, recipients, cc, attachment, extra)"
                  f" SELECT rowid+{off}, subject, sender, recipients, cc, attachment, extra FROM fts_head WHERE rowid<={top}")
        c.execute(f"INSERT INTO fts_body(rowid, body) SELECT rowid+{off}, body FROM fts_body WHERE rowid<={top}")
    c.execute("COMMIT")
    (n,) = c.execute("SELECT count(*) FROM messages").fetchone()
    c.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/pigeon-index-bench")
    ap.add_argument("--copies", type=int, default=10)
    args = ap.parse_args()
    src = Path(args.work) / "state-pigeon" / "data" / "index.sqlite"
    if not src.exists():
        sys.exit(f"{src} missing: run bench/index_bench.py --keep first")
    big = Path(args.work) / "firstpage" / "index.sqlite"
    big.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, big)
    n = multiply(big, args.copies)

    from pigeon.core.index import Index

    index = Index(big, readonly=True)
    print(f"## First page (limit 50) at {n} messages, in-process, median / best of 9\n")
    print("| query | messages | threads |")
    print("|---|---|---|")
    for q in QUERIES:
        cells = []
        for call in (index.search, index.threads):
            times = []
            for _ in range(9):
                t = time.perf_counter()
                hits = call(q, limit=50)
                times.append(time.perf_counter() - t)
            cells.append(f"{statistics.median(times) * 1000:.1f} / {min(times) * 1000:.1f} ms [{len(hits)}]")
        print(f"| `{q}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
