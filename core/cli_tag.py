"""pigeon tag: add (+tag) and remove (-tag) tags on the messages of a query (tag +a -b -- QUERY)."""

from __future__ import annotations

import argparse
from typing import Any

_MARK = "\x00"


def add_arguments(parser: argparse.ArgumentParser, *, metavar: str = "+TAG|-TAG ... [--] QUERY",
                  help: str = "tag changes, then the query (use -- before a query that starts with -)") -> None:
    parser.add_argument("words", nargs="*", metavar=metavar, help=help)
    original = parser.parse_known_args

    # argparse would read "-inbox" as an unknown option: hide the tag words from it.
    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        out, after = [], False
        for a in list(args or []):
            if after:
                out.append(_MARK + a)
            elif a == "--":
                out.append(_MARK + "--")
                after = True
            elif a.startswith("-") and not a.startswith("--") and a not in ("-h",):
                out.append(_MARK + a)
            else:
                out.append(a)
        return original(out, namespace)

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def split_words(words: list[str]) -> tuple[list[str], list[str], str]:
    """(tags to add, tags to remove, query) from the command line words."""
    from pigeon.core.errors import PigeonError

    add: list[str] = []
    remove: list[str] = []
    query: list[str] = []
    in_query = False
    for raw in words:
        w = raw[1:] if raw.startswith(_MARK) else raw
        if not in_query and raw == _MARK + "--":
            in_query = True
            continue
        if not in_query and w[:1] in "+-" and len(w) > 1:
            (add if w[0] == "+" else remove).append(w[1:])
            continue
        in_query = True
        query.append(w)
    if not add and not remove:
        raise PigeonError("nothing to do: give +TAG or -TAG before the query")
    if not query:
        raise PigeonError("no query: give one after the tags (use '*' for every message)")
    return add, remove, " ".join(query)


def run(args: argparse.Namespace) -> int:
    from pigeon.core.actions import tag
    from pigeon.core.cli import make_app

    add, remove, query = split_words(args.words)
    app = make_app(args)
    n = tag(app, query, add, remove)  # recorded in the journal: pigeon undo reverts it
    if not getattr(args, "quiet", False):
        print(f"{n} message{'s' if n != 1 else ''} changed")
    return 0
