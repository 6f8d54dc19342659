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
    parser.add_argument("mailto", nargs="?", metavar="MAILTO", help="a mailto: URL to start from")
    parser.add_argument("--account", metavar="NAME", help="the sending account (default: the default account)")
    parser.add_argument("--to", action="append", default=[], metavar="ADDR", help="a recipient (repeatable)")
    parser.add_argument("--cc", action="append", default=[], metavar="ADDR", help="a copy recipient (repeatable)")
    parser.add_argument("--bcc", action="append", default=[], metavar="ADDR", help="a blind copy recipient, not shown to the others (repeatable)")
    parser.add_argument("--subject", default=None, metavar="TEXT", help="the subject line")
    parser.add_argument("--attach", action="append", default=[], metavar="FILE", help="attach a file (repeatable)")
    parser.add_argument("--body-file", metavar="FILE", help="the body text (default: stdin when it is not a terminal)")
    parser.add_argument("--in-reply-to", metavar="MSGID", help="the Message-ID this answers (threads the reply)")
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
    original = None
    if draft.in_reply_to:
        draft.in_reply_to = compose.message_id(draft.in_reply_to)
        original = _original(app, draft.in_reply_to)
        if original is None:
            print(f"pigeon: {sanitize_line(draft.in_reply_to)} is not in the search index (pigeon index builds it): "
                  "if it was encrypted, add --encrypt", file=sys.stderr)
    draft.attachments = [Path(a).expanduser() for a in args.attach]
    draft.sign, draft.encrypt = args.sign, args.encrypt
    if original is not None:
        from pigeon.core.render import reply_should_encrypt

        if reply_should_encrypt(original):
            # a reply to encrypted mail is encrypted (DESIGN §6.6); nothing of the original is
            # quoted here: the body is only what the user wrote
            draft.encrypt = True
            print("pigeon: the message you answer was encrypted: the reply will be encrypted", file=sys.stderr)
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
    message = compose.new_message(app, account, draft, original)
    plan = _key_plan(app, account, message)
    op = actions.send(app, account, message, at=at, hold=0)  # the journal's send: pigeon sync delivers it too
    rcpts = ", ".join(draft.to + draft.cc + draft.bcc)
    line = f"queued in {account.folder('outbox')} of {account.name}: {draft.subject or '(no subject)'} to {rcpts}"
    if at is not None:
        import time

        line += time.strftime(" (to be sent at %Y-%m-%d %H:%M:%S)", time.localtime(at))
    for text in plan:
        print(sanitize_line(text))
    print(sanitize_line(line + f" [#{op.id}]"))
    return 0


def _original(app, ident: str):  # noqa: ANN001, ANN202 - App, EmailMessage | None
    """The message answered, through the search index when there is one; else None."""
    from pigeon.core import index, mime

    try:
        path = index.message_file(app, ident)
    except Exception:  # noqa: BLE001 - a damaged index must not stop writing a reply
        return None
    return mime.parse_file(path) if path is not None else None


def _key_plan(app, account, message) -> list[str]:  # noqa: ANN001 - App, AccountConfig, EmailMessage
    """The key lines to show; ``PigeonError`` naming the recipient when a key is missing or
    expired, so that a message asked to be signed or encrypted is never queued to go plain."""
    from email.utils import getaddresses, parseaddr

    from pigeon.core import compose
    from pigeon.core.errors import PigeonError

    sign = str(message.get("X-Pigeon-Sign", "")).lower() == "yes"
    encrypt = str(message.get("X-Pigeon-Encrypt", "")).lower() == "yes"
    if not (sign or encrypt):
        return []
    sender = parseaddr(str(message.get("From", "")))[1] or account.address
    rcpts = list(dict.fromkeys(a for _, a in getaddresses([str(message.get(h, "")) for h in ("To", "Cc", "Bcc")]) if a))
    pgp = account.extra.get("pgp") if isinstance(account.extra.get("pgp"), dict) else {}
    lines, problems = compose.key_plan(app, sender, rcpts, sign=sign, encrypt=encrypt, configured_key=str(pgp.get("key", "") or ""))
    refused = [p for p in problems if not p.startswith("cannot sign")]
    if refused:
        raise PigeonError("not queued: " + "; ".join(refused) + " (pigeon keys ADDRESS shows what is known)")
    # a signing problem is the sender's own to fix (another plugin may even sign): queued, and
    # pigeon send keeps it in the Outbox rather than send it unsigned
    return lines + [f"warning: {p}; pigeon send keeps it until it can be signed" for p in problems]


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
