"""pigeon rules: check the [[rules]] of config.toml, test one, apply them to existing mail,
compile them to Sieve and upload the script through ManageSieve.
"""

from __future__ import annotations

import argparse
import json

from pigeon.core.errors import PigeonError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("check", help="validate the rules")
    test = sub.add_parser("test", help="what a rule matches in the existing mail")
    test.add_argument("name", metavar="NAME")
    test.add_argument("--json", action="store_true", help="print the matches as JSON")
    test.add_argument("--limit", type=int, default=20, help="show at most this many matches")
    apply = sub.add_parser("apply", help="run the rules over existing mail")
    apply.add_argument("query", nargs="?", default="*", metavar="QUERY", help="only messages matching this query (default: all)")
    apply.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    sieve = sub.add_parser("sieve", help="print the rules as a Sieve script (RFC 5228)")
    sieve.add_argument("--account", help="the account whose folder names to use")
    upload = sub.add_parser("upload", help="install the Sieve script on the account's server (ManageSieve)")
    upload.add_argument("account", metavar="ACCOUNT")
    upload.add_argument("--script", default="pigeon", help="the script's name on the server (default: pigeon)")


def _rules(app):  # noqa: ANN001, ANN202
    from pigeon.core.rules import rules_of

    return rules_of(app.config)


def _index(app):  # noqa: ANN001, ANN202
    try:
        from pigeon.core.index import open_index
    except ImportError:
        raise PigeonError("rules need the search index, which is not installed") from None
    return open_index(app)


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)  # a bad rule already stops here, with its name
    rules = _rules(app)
    if args.action == "check":
        if not rules:
            print("no rules are configured")
            return 0
        from pigeon.core.sieve import compile_rules

        _, skipped = compile_rules(rules, app.account() if app.config.accounts else None)
        for rule in rules:
            note = f"  (not in Sieve: {skipped[rule.name]})" if rule.name in skipped else ""
            print(sanitize_line(f"ok  {rule.name}: {rule.match} -> {', '.join(rule.actions)}{note}"))
        print(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} ok")
        return 0
    if args.action == "test":
        by_name = {r.name: r for r in rules}
        if args.name not in by_name:
            raise PigeonError(f"no rule named {args.name!r} (rules: {', '.join(by_name) or 'none'})")
        rule = by_name[args.name]
        with _index(app) as index:
            count = index.count(rule.match)
            hits = index.search(rule.match, limit=args.limit)
        if args.json:
            print(json.dumps({"rule": rule.name, "match": rule.match, "count": count, "messages": [h.as_json() for h in hits]}, indent=2))
            return 0
        print(sanitize_line(f"rule {rule.name!r} matches {count} message{'s' if count != 1 else ''}: {rule.match}"))
        for h in hits:
            print(sanitize_line(f"  {h.sender[:30]:<30}  {h.subject[:60]}"))
        return 0
    if args.action == "apply":
        return _apply(app, rules, args.query, args.dry_run)
    if args.action == "sieve":
        from pigeon.core.sieve import compile_rules

        acct = app.account(args.account) if app.config.accounts else None
        script, skipped = compile_rules(rules, acct)
        print(script, end="")
        for name, why in skipped.items():
            print(sanitize_line(f"# not compiled: rule {name!r}: {why}"))
        return 0
    if args.action == "upload":
        from pigeon.core.managesieve import upload_rules

        for line in upload_rules(app, args.account, rules, args.script):
            print(sanitize_line(line))
        return 0
    return 1


def _apply(app, rules, query: str, dry_run: bool) -> int:  # noqa: ANN001
    from pigeon.core.filtering import apply, merge
    from pigeon.core.rules import combined_verdict, matching
    from pigeon.core.sanitize import sanitize_line
    from pigeon.hooks.types import MessageRef

    if not rules:
        print("no rules are configured")
        return 0
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    changed = 0
    with _index(app) as index:
        hits = index.search(query)
        for hit in hits:
            verdict = combined_verdict(matching(index, rules, hit.id))
            if verdict is None:
                continue
            files = [f for f in hit.files if Path(f).is_file()]
            if not files:
                continue
            path = Path(files[0])
            msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            folder = hit.folders[0] if hit.folders else ""
            ref = MessageRef(path, folder, hit.accounts[0] if hit.accounts else "", hit.id)
            lines = apply(app, msg, ref, merge([verdict]), dry_run=dry_run)
            if lines:
                changed += 1
                print(sanitize_line(f"{hit.subject[:50]}: {'; '.join(lines)}"))
    verb = "would change" if dry_run else "changed"
    print(f"{verb} {changed} message{'s' if changed != 1 else ''}")
    return 0
