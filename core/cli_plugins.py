"""pigeon plugins: every plugin, where it came from, and the hooks it implements."""

from __future__ import annotations

import argparse
import json

from pigeon.core.sanitize import sanitize_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.pluginmanager import plugin_report

    app = make_app(args)
    rows = plugin_report(app.pm)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        source = sanitize_line(row["source"])
        print(f"{row['name']}  [{row['origin']}] {source}")
        if row["hooks"]:
            print(f"    hooks: {', '.join(row['hooks'])}")
        for err in row["errors"]:
            print(f"    error: {sanitize_line(err)}")
    return 0
