"""pigeon demo: the full-screen client on a generated local demo mailbox (no server, no account)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", metavar="DIR", help="where to make the demo Maildir (default: the state directory)")
    parser.add_argument("--print", dest="print_only", action="store_true", help="print the demo folders' summary instead of opening the client")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app

    make_app(args)
    raise NotImplementedError("demo mailbox: being written")


def run_main(args: argparse.Namespace) -> int:
    """``pigeon`` with no subcommand: the client on the configured accounts, or the demo."""
    from pigeon.core.cli import make_app

    app = make_app(args)
    if not app.config.accounts:
        args.dir = None
        args.print_only = False
        return run(args)
    app.startup()
    try:
        status = app.pm.hook.pigeon_main(app=app)
    finally:
        app.shutdown()
    if status is None:
        from pigeon.core.errors import PigeonError

        raise PigeonError("no user interface plugin is enabled (is 'tui' disabled?)")
    return int(status)
