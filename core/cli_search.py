"""pigeon search: messages (or threads) matching a query, newest first, one page at a time."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing costs ~2 ms to import; annotations are strings here
if TYPE_CHECKING:
    import argparse

#: the command line as :mod:`pigeon.core.cli_fast` reads it: same as ``add_arguments``
FAST_OPTIONS = {"--json": ("json", "flag"), "--threads": ("threads", "flag"), "--limit": ("limit", int),
                "--offset": ("offset", int), "--sort": ("sort", frozenset(("newest", "oldest")))}
FAST_DEFAULTS = {"json": False, "threads": False, "limit": None, "offset": 0, "sort": "newest"}
FAST_POSITIONAL = "query"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="*", metavar="QUERY", help="the query (its syntax: docs/search.md); '*' for everything")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--threads", action="store_true", help="list threads instead of messages")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most N results")
    parser.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N results")
    parser.add_argument("--sort", choices=("newest", "oldest"), default="newest", help="date order (default newest)")


def _day(stamp: int) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(stamp))


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli_index_common import open_for_reading, query_of
    from pigeon.core.errors import PigeonError

    if args.limit is not None and args.limit < 0 or args.offset < 0:
        raise PigeonError("--limit and --offset must not be negative")
    query = query_of(args.query)
    out = sys.stdout
    with open_for_reading(args) as index:
        if args.threads:
            rows = index.threads(query, sort=args.sort, limit=args.limit, offset=args.offset)
            if args.json:
                import json

                out.write(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=1) + "\n")
                return 0
            lines = []
            for t in rows:
                files = f"({t.files})" if t.files != t.total else ""
                lines.append(f"thread:{t.thread}  {_day(t.date)} [{t.matched}/{t.total}{files}] "
                             f"{t.authors}; {t.subject or '(no subject)'} ({' '.join(t.tags)})")
            _write(out, lines)
            return 0
        rows = index.search(query, sort=args.sort, limit=args.limit, offset=args.offset)
        if args.json:
            import json

            out.write(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=1) + "\n")
            return 0
        _write(out, [f"id:{m.id}  {_day(m.date)}  {m.sender}; {m.subject or '(no subject)'} ({' '.join(m.tags)})" for m in rows])
    return 0


def _write(out, lines: list[str]) -> None:  # noqa: ANN001
    """Every line through the sanitiser, unless it is plainly printable (``str.isprintable``
    is False for every control, escape and bidi character, and quick)."""
    if any(not line.isprintable() for line in lines):
        from pigeon.core.sanitize import sanitize_line
    if lines:
        out.write("\n".join(line if line.isprintable() else sanitize_line(line) for line in lines) + "\n")
