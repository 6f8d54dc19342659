"""pigeon undo: revert the last automated changes (rules, spam filter, plugins), or a chosen one."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("change", nargs="?", type=int, metavar="N", help="the number of one change (see pigeon why)")
    parser.add_argument("--last", type=int, default=1, metavar="K", help="undo the last K batches of changes (default 1)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.filtering import undo
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    for line in undo(app, batches=args.last, change_id=args.change):
        print(sanitize_line(line))
    return 0
