"""pigeon undo: revert the latest change, yours or an automated one, or a chosen one.

    pigeon undo              the newest change: your last operation (flag, tag, move, delete,
                             a send still in the Outbox) or the last batch of automated changes
                             (rules, spam filter, plugins), whichever came later
    pigeon undo --op ID      one of your operations (IDs from pigeon pending --all)
    pigeon undo --mine       your last operation only
    pigeon undo --automated  the last batch of automated changes only (--last K for more)
    pigeon undo N            automated change N (numbers from pigeon why)

Before an operation reached the server it is simply reverted here; after, the reverse travels
with the next sync (a deleted message comes back from Trash, a moved one moves back).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("change", nargs="?", type=int, metavar="N", help="the number of one automated change (see pigeon why)")
    parser.add_argument("--last", type=int, default=None, metavar="K", help="undo the last K batches of automated changes")
    parser.add_argument("--op", type=int, metavar="ID", help="undo one of your operations (see pigeon pending --all)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--mine", action="store_true", help="only your own operations")
    who.add_argument("--automated", action="store_true", help="only automated changes")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import actions
    from pigeon.core.cli import make_app
    from pigeon.core.filtering import open_journal as open_provenance
    from pigeon.core.filtering import undo
    from pigeon.core.journal import open_journal
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    if args.op is not None or args.mine:
        lines = [actions.undo(app, args.op)]
    elif args.change is not None or args.last is not None or args.automated:
        lines = undo(app, batches=args.last or 1, change_id=args.change)
    else:
        with open_journal(app) as j:
            mine = j.last_undoable()
        with open_provenance(app) as p:
            batch = p.last_batches(1)
        auto_at = max((c.at for c in batch), default=None)
        if mine is not None and (auto_at is None or mine.at >= auto_at):
            lines = [actions.undo(app, mine.id)]
        else:
            lines = undo(app, batches=1)  # "nothing to undo" when neither has anything
    for line in lines:
        print(sanitize_line(line))
    return 0
