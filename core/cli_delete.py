"""pigeon delete: move messages to the account's Trash (in Trash: mark them deleted).

    pigeon delete MESSAGE...

A MESSAGE is a message file, a Message-ID or ``id:X``. Nothing is destroyed: ``pigeon undo``
brings it back, before or after the next sync carried the deletion to the server.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("messages", nargs="+", metavar="MESSAGE", help="a message file, a Message-ID or id:X")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import actions
    from pigeon.core.cli import make_app
    from pigeon.core.cli_move import resolve
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    for ident in args.messages:
        acct, entry = resolve(app, ident)
        moved = actions.delete(app, acct, entry.folder, entry.key)
        where = "marked deleted" if moved.folder == entry.folder else f"moved to {moved.folder}"
        print(sanitize_line(f"{where}: {moved.path}"))
    return 0
