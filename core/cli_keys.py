"""pigeon keys: the PGP keys pigeon would use for an address, and why (``--wkd`` looks one up).

The core knows nothing of gpg: it asks the ``pigeon_lookup_keys`` hook and prints the answers.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("address", nargs="*", metavar="ADDRESS", help="e-mail addresses (default: every key in your keyring)")
    parser.add_argument("--json", action="store_true", help="one JSON list of keys")
    parser.add_argument("--wkd", action="store_true", help="also look the address up in its Web Key Directory (HTTPS)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    if args.wkd and not args.address:
        raise PigeonError("--wkd needs an address to look up")
    answers = app.pm.hook.pigeon_lookup_keys(addresses=list(args.address), network=bool(args.wkd))
    if not answers:
        raise PigeonError("no plugin looks up keys (is the pgp plugin disabled?)")
    infos = [info for answer in answers for info in (answer or [])]
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=2, ensure_ascii=False))
        return 0
    if not infos:
        print("no keys")
        return 0
    for info in infos:
        mark = "*" if info.chosen else ("-" if not info.usable else " ")
        fpr = info.fingerprint or "(none)"
        print(sanitize_line(f"{mark} {info.address or '?'}  {fpr}  [{info.source or '?'}]"))
        for uid in info.uids:
            print(sanitize_line(f"      uid {uid}"))
        details = [f"trust {info.trust}" if info.trust else "", f"expires {info.expires}" if info.expires else "", "secret" if info.secret else ""]
        details = [d for d in details if d]
        if details:
            print(sanitize_line(f"      {', '.join(details)}"))
        print(sanitize_line(f"      {info.reason}"))
        for warning in info.warnings:
            print(sanitize_line(f"      WARNING: {warning}"))
    print("(* = the key pigeon uses, - = not usable)")
    return 0
