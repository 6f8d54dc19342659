"""pigeon shell: a prompt over the named commands (``search``, ``show``, ``reply``, ...).

On a terminal the ``pigeon_prompt_session`` hook runs it (the ``tui`` plugin: completion, history,
Emacs keys); from a pipe, each line of standard input is one command, so scripts can drive it.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--command", dest="commands", action="append", metavar="LINE", help="run this command line and exit (repeatable)")
    parser.add_argument("--keep-going", action="store_true", help="from a pipe: go on after a failing line (exit status 1 at the end)")


def run_lines(app, ctx, lines, keep_going: bool = False) -> int:  # noqa: ANN001 - App, CommandContext
    """Run command lines in order; a failing line prints one line on stderr."""
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    status = 0
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            app.commands.run_line(line, ctx)
        except PigeonError as exc:
            print(f"pigeon: {sanitize_line(str(exc))}", file=sys.stderr)
            status = 1
        except Exception as exc:
            print(f"pigeon: {line.split()[0]} failed: {type(exc).__name__}: {sanitize_line(str(exc))}", file=sys.stderr)
            status = 1
        if status and not keep_going:
            return status
    return status


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.commands import CommandContext
    from pigeon.core.sanitize import sanitize_text

    app = make_app(args)

    def out(text: str = "") -> None:
        print(sanitize_text(text), flush=True)

    ctx = CommandContext(app, output=out)
    app.startup()
    try:
        if args.commands:
            return run_lines(app, ctx, args.commands, args.keep_going)
        if sys.stdin.isatty() and sys.stdout.isatty():
            status = app.pm.hook.pigeon_prompt_session(app=app, ctx=ctx)
            if status is not None:
                return int(status)
        return run_lines(app, ctx, sys.stdin, args.keep_going or sys.stdin.isatty())
    finally:
        app.shutdown()
