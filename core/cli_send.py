"""pigeon send: send what waits in the Outbox (of one account, or of every account).

A message that cannot be sent stays queued and its error is shown (``--list`` shows the
queue with the last error of each). Exit status 1 when any message is still queued because
of an error. ``--debug`` prints the SMTP conversation with credentials redacted.

A message waiting for its time (the undo-send delay, or ``pigeon compose --at``) is not sent
before it: ``pigeon send`` names it. ``pigeon send --recall [ID]`` takes a waiting message back
into the Drafts folder (the newest one without ID; IDs from ``pigeon pending``).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", nargs="?", metavar="ACCOUNT", help="only this account")
    parser.add_argument("--list", action="store_true", help="list the queue instead of sending")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--recall", nargs="?", type=int, const=0, default=None, metavar="ID",
                        help="take a message waiting to be sent back into Drafts (undo send)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import outbox
    from pigeon.core.cli import make_app
    from pigeon.core.mime import header_str, parse_bytes
    from pigeon.core.sanitize import sanitize_line
    from pigeon.core.transport import ProtocolTrace

    app = make_app(args)
    if args.recall is not None:
        from pigeon.core.actions import recall_to_drafts

        op, entry = recall_to_drafts(app, args.recall or None)
        print(sanitize_line(f"recalled #{op.id}: {op.summary or '(no subject)'} is back in {entry.folder} ({entry.path})"))
        return 0
    accounts = [app.account(args.account)] if args.account else list(app.config.accounts.values())
    trace = ProtocolTrace(bool(app.options.debug), sys.stderr)
    rows: list[dict] = []
    failed = 0
    for account in accounts:
        if args.list:
            errs = outbox.errors(app, account)
            for e in outbox.queued(app, account):
                msg = parse_bytes(app.store(account).read(e))
                rows.append({"account": account.name, "key": e.key, "subject": header_str(msg, "Subject"), "to": header_str(msg, "To"), "error": errs.get(e.key, {}).get("error", "")})
            continue
        for out in outbox.send_queued(app, account, trace=trace):
            rows.append({"account": account.name, "key": out.key, "subject": out.subject, "to": ", ".join(out.recipients), "sent": out.sent, "error": out.error, "refused": out.refused})
            if not out.sent:
                failed += 1
        waiting = outbox.held(app, account)
        for e in outbox.queued(app, account):
            if e.key in waiting:
                msg = parse_bytes(app.store(account).read(e))
                rows.append({"account": account.name, "key": e.key, "subject": header_str(msg, "Subject"), "to": header_str(msg, "To"),
                             "sent": False, "error": "", "refused": {}, "waiting_until": waiting[e.key]})
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.list:
        for r in rows:
            line = f"{r['account']}: {r['subject'] or '(no subject)'} to {r['to']}" + (f"  [last error: {r['error']}]" if r["error"] else "")
            print(sanitize_line(line))
        if not rows:
            print("the Outbox is empty")
    else:
        for r in rows:
            subject = r["subject"] or "(no subject)"
            if r.get("waiting_until"):
                import time

                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["waiting_until"]))
                print(sanitize_line(f"waiting until {when}: {subject} to {r['to']}"))
            elif r.get("sent"):
                line = f"sent: {subject} to {r['to']}"
                if r["refused"]:
                    line += " (refused: " + "; ".join(f"{a}: {why}" for a, why in r["refused"].items()) + ")"
                print(sanitize_line(line))
            else:
                print(sanitize_line(f"kept in the Outbox: {subject}: {r['error'] or 'not attempted'}"), file=sys.stderr)
        if not rows:
            print("nothing to send")
    return 1 if failed else 0
