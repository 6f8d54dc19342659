"""pigeon index: bring the search index up to date with every account's Maildir (--rebuild)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild", action="store_true", help="forget the index and build it again")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="parser processes (default: up to 2)")


def run(args: argparse.Namespace) -> int:
    import time

    from pigeon.core.cli import make_app
    from pigeon.core.index import open_index

    app = make_app(args)
    t0 = time.monotonic()
    with open_index(app) as index:
        if args.workers is not None:
            index.workers = max(1, args.workers)
        progress = None
        if not args.quiet and sys.stderr.isatty():
            def progress(text: str) -> None:
                sys.stderr.write(f"\r{text}\x1b[K")
                sys.stderr.flush()
        report = index.update(rebuild=args.rebuild, progress=progress)
        if progress:
            sys.stderr.write("\r\x1b[K")
        if not args.quiet:
            print(f"{report.line()} in {time.monotonic() - t0:.2f}s")
        for error in report.errors[:20]:
            from pigeon.core.sanitize import sanitize_line

            print(f"pigeon: {sanitize_line(error)}", file=sys.stderr)
    return 0
