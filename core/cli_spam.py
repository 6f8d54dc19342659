"""pigeon spam: train the spam filter from folders of mail, and score messages.

``pigeon spam train --spam DIR… --ham DIR…`` learns every message under the folders (Maildir
folders, plain directories of message files, or mbox files). ``pigeon spam score FILE…``
prints each message's spam probability. ``pigeon spam stats`` shows what was learnt.
"""

from __future__ import annotations

import argparse
import json
import mailbox
from collections.abc import Iterator
from pathlib import Path

from pigeon.core.errors import PigeonError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="learn spam and ham from folders of mail")
    train.add_argument("--spam", nargs="+", default=[], metavar="DIR", help="folders (or mbox files) of spam")
    train.add_argument("--ham", nargs="+", default=[], metavar="DIR", help="folders (or mbox files) of good mail")
    train.add_argument("--reset", action="store_true", help="forget everything learnt before")
    score = sub.add_parser("score", help="print each message's spam probability")
    score.add_argument("files", nargs="+", metavar="FILE", help="message files, folders, or - for standard input")
    score.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("stats", help="how many messages and tokens the filter has learnt")


def iter_messages(target: str) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every message in a file, an mbox, a Maildir folder or a directory tree."""
    import sys

    if target == "-":
        yield "-", sys.stdin.buffer.read()
        return
    path = Path(target).expanduser()
    if path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(5)
        if head == b"From ":
            for i, m in enumerate(mailbox.mbox(str(path), create=False)):
                yield f"{path}#{i}", m.as_bytes()
        else:
            yield str(path), path.read_bytes()
        return
    if not path.is_dir():
        raise PigeonError(f"no such file or folder: {target}")
    for p in sorted(path.rglob("*")):
        if p.is_file() and "tmp" not in p.relative_to(path).parts[:-1] and not p.name.startswith("."):
            yield str(p), p.read_bytes()


def run(args: argparse.Namespace) -> int:
    from email import policy
    from email.parser import BytesParser

    from pigeon.core.cli import make_app
    from pigeon.core.sanitize import sanitize_line
    from pigeon.plugins import spam

    make_app(args)  # reads config.toml: state_dir, spam.* settings
    path = spam.db_path()
    parse = BytesParser(policy=policy.default).parsebytes
    if args.action == "train":
        if not args.spam and not args.ham:
            raise PigeonError("nothing to train: give --spam DIR and/or --ham DIR")
        if args.reset and path.exists():
            path.unlink()
        clf = spam.open_classifier(path)
        counts = {"spam": 0, "ham": 0}
        try:
            for label, targets in (("spam", args.spam), ("ham", args.ham)):
                for target in targets:
                    for _, data in iter_messages(target):
                        if clf.train(parse(data), label == "spam", data):
                            counts[label] += 1
            nspam, nham = clf.store.totals()
        finally:
            clf.store.close()
        print(f"trained {counts['spam']} spam and {counts['ham']} ham (the filter now knows {nspam} spam, {nham} ham)")
        return 0
    if args.action == "stats":
        clf = spam.open_classifier(path)
        try:
            nspam, nham = clf.store.totals()
            ntok = clf.store.db.execute("SELECT count(*) FROM tokens").fetchone()[0]
        finally:
            clf.store.close()
        print(f"{nspam} spam, {nham} ham, {ntok} tokens ({path})")
        return 0
    rows = []
    clf = spam.open_classifier(path)
    try:
        for target in args.files:
            for name, data in iter_messages(target):
                p = spam.score_message(parse(data), data, clf)  # type: ignore[arg-type]
                verdict = spam.verdict_for(p, None)
                label = "untrained" if p is None else ("spam" if verdict and verdict.move_to else "unsure" if verdict else "ham")
                rows.append({"file": name, "probability": None if p is None else round(p, 6), "verdict": label})
    finally:
        clf.store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        prob = "   -  " if row["probability"] is None else f"{row['probability']:.4f}"
        print(sanitize_line(f"{prob}  {row['verdict']:<9} {row['file']}"))
    return 0
