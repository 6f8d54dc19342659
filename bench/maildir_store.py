#!/usr/bin/env python3
"""Maildir store speed: pigeon against mbsync and Python's ``mailbox`` on the same messages.

    python bench/maildir_store.py [--messages N] [--size BYTES]

Reports, as a markdown table (one run, same machine, same file system):
- delivering N messages into a folder: pigeon's ``Maildir.add`` (tmp/, fsync, link, fsync of
  the directory), Python's ``mailbox.Maildir.add`` (no fsync at all), and mbsync copying the
  same N messages from one Maildir to another (Maildir stores on both sides; mbsync fsyncs by
  default);
- listing the folder with flags (pigeon ``Maildir.list``; ``mailbox.Maildir`` keys + info);
- changing one flag on every message (pigeon ``set_flags``; ``mailbox`` ``set_flags`` through
  ``MaildirMessage``).
Not part of the test run.
"""

from __future__ import annotations

import argparse
import mailbox
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a source checkout without an install still works


def messages(n: int, size: int) -> list[bytes]:
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n" * (size // 58 + 1))[:size]
    return [
        f"From: Sender {i} <s{i}@example.org>\r\nTo: me@example.org\r\nSubject: message {i}\r\n"
        f"Message-ID: <bench-{i}@example.org>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n{body}".encode()
        for i in range(n)
    ]


def timed(func) -> float:  # noqa: ANN001 - a callable without arguments
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=2000, help="body bytes per message")
    args = parser.parse_args()
    from pigeon.core.maildir import Maildir

    msgs = messages(args.messages, args.size)
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="pigeon-bench-") as tmp:
        base = Path(tmp)
        store = Maildir(base / "pigeon")
        rows.append(("deliver", "pigeon Maildir.add (fsync)", timed(lambda: [store.add("INBOX", m) for m in msgs])))

        (base / "stdlib").mkdir()
        std = mailbox.Maildir(str(base / "stdlib" / "INBOX"), create=True)
        rows.append(("deliver", "python mailbox.Maildir.add (no fsync)", timed(lambda: [std.add(m) for m in msgs])))

        if shutil.which("mbsync"):
            rc = base / "mbsyncrc"
            (base / "near").mkdir()
            (base / "state").mkdir()
            rc.write_text(
                f"MaildirStore far\nPath {base / 'pigeon'}/\nInbox {base / 'pigeon' / 'INBOX'}\nSubFolders Verbatim\n\n"
                f"MaildirStore near\nPath {base / 'near'}/\nInbox {base / 'near' / 'INBOX'}\nSubFolders Verbatim\n\n"
                f"Channel c\nFar :far:\nNear :near:\nPatterns INBOX\nCreate Near\nSyncState {base / 'state'}/\n"
            )
            t = timed(lambda: subprocess.run(["mbsync", "-q", "-c", str(rc), "-a"], check=True, capture_output=True))
            rows.append(("deliver", "mbsync Maildir -> Maildir copy (fsync)", t))
            # mbsync renamed the far side's files (,U=); list that tree from here on
        n_list = 5
        rows.append(("list with flags (x5)", "pigeon Maildir.list", timed(lambda: [store.list("INBOX") for _ in range(n_list)])))

        def std_list() -> None:
            for _ in range(n_list):
                std._refresh()  # noqa: SLF001 - what keys() does when the folder changed
                [std._toc[k] for k in std.keys()]  # noqa: SLF001, B018 - key -> file name with info

        rows.append(("list with flags (x5)", "python mailbox.Maildir keys", timed(std_list)))

        entries = store.list("INBOX")
        rows.append(("set a flag on each", "pigeon set_flags", timed(lambda: [store.set_flags(e, "S") for e in entries])))

        def std_flags() -> None:
            for key in list(std.keys()):
                m = std.get_message(key)
                m.set_flags("S")
                std[key] = m  # rewrites the message: mailbox has no rename-only path

        rows.append(("set a flag on each", "python mailbox (rewrite)", timed(std_flags)))

    print(f"{args.messages} messages of about {args.size} bytes\n")
    print("| operation | tool | seconds | messages/s |")
    print("|---|---|---:|---:|")
    for op, tool, secs in rows:
        print(f"| {op} | {tool} | {secs:.3f} | {args.messages / secs if secs else 0:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
