"""pigeon why: which automated changes (rules, spam filter, plugins) touched a message, and why."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("message", metavar="ID", help="a Message-ID (with or without <>), id:X, or a message file")
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.filtering import open_journal, resolve_message_id
    from pigeon.core.sanitize import sanitize_line
    from pigeon.plugins.arrival import describe_changes

    app = make_app(args)
    mid = resolve_message_id(app, args.message)
    with open_journal(app) as journal:
        changes = journal.for_message(mid)
    if args.json:
        print(json.dumps([c.__dict__ for c in changes], indent=2))
        return 0
    if not changes:
        print(sanitize_line(f"no automated change recorded for {mid}"))
    for line in describe_changes(changes):
        print(sanitize_line(line))
    return 0
