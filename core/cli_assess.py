"""pigeon assess: the phishing and spoofing findings for a message file (or ``-`` for stdin).

The findings come from every plugin answering ``pigeon_assess_message``; the built-in
``assess`` plugin computes the local signals of SECURITY.md §4 and §6.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pigeon.core.errors import PigeonError
from pigeon.hooks.types import SEVERITY_ORDER, MessageRef


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="a message file, or - for standard input")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def _read(target: str) -> bytes:
    if target == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(target).read_bytes()
    except OSError as exc:
        raise PigeonError(f"cannot read {target}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from email import policy
    from email.parser import BytesParser

    from pigeon.core.cli import make_app
    from pigeon.core.pluginmanager import call_isolated
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    rows = []
    for target in args.targets:
        data = _read(target)
        msg = BytesParser(policy=policy.default).parsebytes(data)
        ref = MessageRef(Path(target)) if target != "-" else None
        findings = []
        for result in call_isolated(app.pm, "pigeon_assess_message", message=msg, ref=ref):
            findings.extend(result or [])
        findings.sort(key=lambda f: -SEVERITY_ORDER.get(f.severity, 0))
        worst = max((SEVERITY_ORDER.get(f.severity, 0) for f in findings), default=0)
        rows.append(
            {
                "target": target,
                "suspicious": worst >= SEVERITY_ORDER["warning"],
                "findings": [
                    {"severity": f.severity, "code": f.code, "reason": f.reason, "source": f.source}
                    for f in findings
                ],
            }
        )
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        if len(rows) > 1:
            print(sanitize_line(f"{row['target']}:"))
        verdict = "suspicious" if row["suspicious"] else "no warning"
        print(f"{verdict} ({len(row['findings'])} finding{'s' if len(row['findings']) != 1 else ''})")
        for f in row["findings"]:
            print(sanitize_line(f"  {f['severity']:<8} {f['code']:<28} {f['reason']}"))
    return 0
