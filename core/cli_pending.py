"""pigeon pending: your changes (flags, tags, moves, deletions, sends) not yet on the server.

Each line is ``#ID  account  what  subject  [state]``; ``pigeon undo --op ID`` reverts one,
``pigeon send --recall ID`` takes back a message waiting to be sent. ``--all`` lists the whole
journal (done and undone operations too), newest last.
"""

from __future__ import annotations

import argparse
import json
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the operations as JSON")
    parser.add_argument("--all", action="store_true", help="the whole journal, not only what is pending")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="with --all: the last N operations (default 50)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.journal import open_journal
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    with open_journal(app) as j:
        if args.all:
            ops = list(reversed(j._rows("1=1", (), order=f"id DESC LIMIT {max(1, int(args.limit))}")))
        else:
            ops = j.pending()
    if args.json:
        print(json.dumps([o.as_json() for o in ops], indent=1))
        return 0
    if not ops:
        print("nothing pending: the server has every change" if not args.all else "the journal is empty")
        return 0
    now = time.time()
    for o in ops:
        stamp = time.strftime("%H:%M:%S", time.localtime(o.at))
        line = f"#{o.id:<4} {stamp} {o.account or '-'}: {o.describe()}  {o.summary or '(no subject)'}  [{o.when(now)}]"
        print(sanitize_line(line))
    return 0
