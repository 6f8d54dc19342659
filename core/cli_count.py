"""pigeon count: how many messages (or threads, or files) match a query."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~2 ms to import; annotations are strings here
if TYPE_CHECKING:
    import argparse

#: the command line as :mod:`pigeon.core.cli_fast` reads it: same as ``add_arguments``
FAST_OPTIONS = {"--output": ("output", frozenset(("messages", "threads", "files"))),
                "--threads": ("output", ("const", "threads"))}
FAST_DEFAULTS = {"output": "messages"}
FAST_POSITIONAL = "query"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="*", metavar="QUERY", help="the query; '*' or nothing for everything")
    parser.add_argument("--output", choices=("messages", "threads", "files"), default="messages",
                        help="what to count (default messages)")
    parser.add_argument("--threads", action="store_const", const="threads", dest="output", help="count threads")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli_index_common import open_for_reading, query_of

    query = query_of(args.query)
    with open_for_reading(args) as index:
        if args.output == "threads":
            n = index.count_threads(query)
        elif args.output == "files":
            n = index.count_files(query)
        else:
            n = index.count(query)
    print(n)
    return 0
