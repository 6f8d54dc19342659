"""pigeon invite: answer a calendar invitation (accept, tentative or decline).

TARGET is a message file (or ``-`` for standard input). The reply, an iTIP REPLY built by the
calendar plugin, is queued in the account's Outbox folder, or printed with ``--print``.
"""

from __future__ import annotations

import argparse
import sys

from pigeon.core.invite import ANSWERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help="the message holding the invitation: a file, or - for standard input")
    parser.add_argument("answer", choices=ANSWERS, metavar="ANSWER", help="accept, tentative or decline")
    parser.add_argument("--account", metavar="NAME", help="the answering account (default: the default account)")
    parser.add_argument("--print", action="store_true", help="print the reply instead of queueing it")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import invite
    from pigeon.core.cli import make_app
    from pigeon.core.mime import header_str
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    account = app.account(args.account)
    message = invite.load_message(app, args.target)
    reply = invite.build_answer(app, message, args.answer, account)
    if args.print:
        sys.stdout.write(reply.as_bytes(policy=reply.policy.clone(linesep="\r\n")).decode("utf-8", "replace").replace("\r\n", "\n"))
        return 0
    path = invite.queue(app, account, reply)
    subject, to = sanitize_line(header_str(reply, "Subject")), sanitize_line(header_str(reply, "To"))
    print(f"{subject}: reply to {to} queued in {account.name}/{account.folder('outbox')} ({path.name})")
    return 0
