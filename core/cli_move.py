"""pigeon move: move messages to another folder (applied now, carried to the server by sync).

    pigeon move MESSAGE... --to FOLDER

A MESSAGE is a message file in an account's Maildir, or a Message-ID / ``id:X`` the index
knows. The move is recorded in the journal: ``pigeon pending`` lists it until a sync carried it,
``pigeon undo`` moves it back (before or after the sync).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("messages", nargs="+", metavar="MESSAGE", help="a message file, a Message-ID or id:X")
    parser.add_argument("--to", required=True, metavar="FOLDER", help="the destination folder")


def resolve(app: Any, ident: str) -> tuple[Any, Any]:
    """(account, Entry) of the message a user names: a file, a Message-ID or ``id:X``."""
    from pigeon.core.errors import PigeonError
    from pigeon.core.maildir import entry_for_path

    path = Path(ident).expanduser()
    if not path.is_file():
        try:
            from pigeon.core.index import message_file

            found = message_file(app, ident)
        except ImportError:
            found = None
        if found is None:
            raise PigeonError(f"no message {ident!r}: give a message file, or a Message-ID the index knows")
        path = found
    path = path.resolve()
    for acct in app.config.accounts.values():
        store = app.store(acct)
        entry = entry_for_path(store, path)
        if entry is not None:
            return acct, entry
    raise PigeonError(f"{ident} is not in the Maildir of any account")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import actions
    from pigeon.core.cli import make_app
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    for ident in args.messages:
        acct, entry = resolve(app, ident)
        moved = actions.move(app, acct, entry.folder, entry.key, args.to)
        print(sanitize_line(f"moved to {moved.folder}: {moved.path}"))
    return 0
