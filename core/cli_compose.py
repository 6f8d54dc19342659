"""pigeon compose: write a message into the account's Outbox (``pigeon send`` sends it).

    pigeon compose --to bob@example.org --subject Hi --body-file note.txt [--attach FILE ...]
    echo "text" | pigeon compose --to bob@example.org --subject Hi
    pigeon compose 'mailto:bob@example.org?subject=Hi&body=Hello'
    pigeon compose                      # $EDITOR on a template
    pigeon compose --to bob@example.org --subject Hi --at "2026-11-28 09:00" < note.txt   # send later

A mailto: URL contributes only to, cc, subject, body and in-reply-to; anything else (attach,
bcc, other headers) is ignored and named on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mailto", nargs="?", help="a mailto: URL to start from")
    parser.add_argument("--account", help="the sending account (default: the default account)")
    parser.add_argument("--to", action="append", default=[], metavar="ADDR", help="a recipient (repeatable)")
    parser.add_argument("--cc", action="append", default=[], metavar="ADDR")
    parser.add_argument("--bcc", action="append", default=[], metavar="ADDR")
    parser.add_argument("--subject", default=None)
    parser.add_argument("--attach", action="append", default=[], metavar="FILE", help="attach a file (repeatable)")
    parser.add_argument("--body-file", metavar="FILE", help="the body text (default: stdin when it is not a terminal)")
    parser.add_argument("--in-reply-to", metavar="MSGID")
    parser.add_argument("--sign", action="store_true", help="ask the PGP plugin to sign it when sent")
    parser.add_argument("--encrypt", action="store_true", help="ask the PGP plugin to encrypt it when sent")
    parser.add_argument("--at", metavar="TIME", help='send later: "YYYY-MM-DD HH:MM" (local time), ISO 8601, or +10m; '
                        "pigeon watch, the client, pigeon sync or pigeon send deliver it then")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pigeon.core import actions, compose
    from pigeon.core.cli import make_app
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    account = app.account(args.account)
    if args.mailto:
        draft, ignored = compose.parse_mailto(args.mailto)
        if ignored:
            print(f"pigeon: mailto: ignored {', '.join(sanitize_line(i) for i in ignored)}", file=sys.stderr)
    else:
        draft = compose.Draft()
    draft.to += args.to
    draft.cc += args.cc
    draft.bcc += args.bcc
    if args.subject is not None:
        draft.subject = args.subject
    if args.in_reply_to:
        draft.in_reply_to = args.in_reply_to
    draft.attachments = [Path(a).expanduser() for a in args.attach]
    draft.sign, draft.encrypt = args.sign, args.encrypt
    if args.body_file:
        try:
            draft.body = Path(args.body_file).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PigeonError(f"cannot read {args.body_file}: {exc}") from None
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
        draft.body = text or draft.body  # an empty pipe keeps a mailto: body
    elif not (args.mailto or args.to or args.cc or args.bcc or args.subject):
        draft = _edit(draft)
    at = actions.parse_when(args.at) if args.at else None
    message = compose.new_message(app, account, draft)
    op = actions.send(app, account, message, at=at, hold=0)  # the journal's send: pigeon sync delivers it too
    rcpts = ", ".join(draft.to + draft.cc + draft.bcc)
    line = f"queued in {account.folder('outbox')} of {account.name}: {draft.subject or '(no subject)'} to {rcpts}"
    if at is not None:
        import time

        line += time.strftime(" (to be sent at %Y-%m-%d %H:%M:%S)", time.localtime(at))
    print(sanitize_line(line + f" [#{op.id}]"))
    return 0


def _edit(draft):  # noqa: ANN001, ANN202 - compose.Draft
    import shlex
    import subprocess
    import tempfile

    from pigeon.core import compose
    from pigeon.core.errors import PigeonError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, name = tempfile.mkstemp(prefix="pigeon-", suffix=".eml")
    try:
        initial = compose.template(draft)
        with os.fdopen(fd, "w") as f:
            f.write(initial)
        if subprocess.run([*shlex.split(editor), name]).returncode != 0:
            raise PigeonError("the editor failed; nothing queued")
        text = open(name, encoding="utf-8").read()
    finally:
        os.unlink(name)
    if text == initial:
        raise PigeonError("the message was not changed; nothing queued")
    return compose.parse_template(text)
