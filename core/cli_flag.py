"""pigeon flag: set and clear Maildir flags on messages (carried to the server by sync).

    pigeon flag +flagged -seen MESSAGE...     (or the letters: +F -S)

Flags: seen (S), flagged (F), answered (R), draft (D), passed (P), trashed (T). A MESSAGE is a
message file, a Message-ID or ``id:X``. Recorded in the journal; ``pigeon undo`` reverts it.
"""

from __future__ import annotations

import argparse

from pigeon.core.cli_tag import _MARK
from pigeon.core.cli_tag import add_arguments as _tag_arguments

FLAG_LETTERS = {"seen": "S", "flagged": "F", "answered": "R", "replied": "R", "draft": "D", "passed": "P",
                "trashed": "T", "deleted": "T"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # the same +X -Y words as pigeon tag, hidden from argparse
    _tag_arguments(parser, metavar="+FLAG|-FLAG ... [--] MESSAGE",
                   help="flag changes (seen, flagged, answered, draft, passed, trashed; or S F R D P T), then the messages")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import actions
    from pigeon.core.cli import make_app
    from pigeon.core.cli_move import resolve
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    add, remove, messages = "", "", []
    for raw in args.words:
        w = raw[1:] if raw.startswith(_MARK) else raw
        if w == "--":
            continue
        if w[:1] in "+-" and len(w) > 1 and not messages:
            name = w[1:]
            letter = FLAG_LETTERS.get(name.lower()) or (name if len(name) == 1 and name in "SFRDPT" else None)
            if letter is None:
                raise PigeonError(f"not a flag: {name!r} (seen, flagged, answered, draft, passed, trashed)")
            if w[0] == "+":
                add += letter
            else:
                remove += letter
        else:
            messages.append(w)
    if not (add or remove) or not messages:
        raise PigeonError("usage: pigeon flag +flagged -seen MESSAGE...")
    app = make_app(args)
    for ident in messages:
        acct, entry = resolve(app, ident)
        new = actions.set_flags(app, acct, entry.folder, entry.key, add=add, remove=remove)
        print(sanitize_line(f"flags {new.flags or '-'}: {new.path}"))
    return 0
