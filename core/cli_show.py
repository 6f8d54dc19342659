"""pigeon show: a message as the client renders it, plugins applied (``--raw`` for the source).

TARGET is a message file or ``-`` for standard input. An mbox file (its name says "mbox" and it
starts with a ``From `` line, or ``--mbox`` is given) is shown message by message, each under a
rule naming its position. Content alone does not make a file an mbox: a single message may
start with an envelope line and carry ``From `` lines in a body (see ``pigeon.core.mime``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from pigeon.core.errors import PigeonError

_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
DEFAULT_MAX_WIDTH = 100  # prose is hard to read wider than this, whatever the terminal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help="a message file, an id from pigeon search, or - for standard input")
    parser.add_argument("--raw", action="store_true", help="print the message source (control characters neutralised)")
    parser.add_argument("--width", type=int, default=0, metavar="N", help="wrap at this width (default: the terminal's, at most 100)")
    parser.add_argument("--json", action="store_true", help="print the rendered message(s) as JSON (a list)")
    parser.add_argument(
        "--mbox",
        action="store_true",
        help="read TARGET as an mbox and show every message (a file whose name says mbox and that "
        "starts with a From line is read so anyway)",
    )


def load_target(app: Any, target: str) -> tuple[bytes, str]:
    """The bytes of the message(s) TARGET names, and a name for them.

    The hook point for message ids: when the index exists, look TARGET up there before giving
    up (a path that exists always wins, and ``-`` is always standard input).
    """
    if target == "-":
        return sys.stdin.buffer.read(), "-"
    path = Path(target)
    if path.is_file():
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise PigeonError(f"cannot read {target}: {exc.strerror}") from None
    from pigeon.core.index import message_file

    found = message_file(app, target)  # an id from pigeon search
    if found is not None:
        return found.read_bytes(), str(found)
    if target.startswith("id:"):
        raise PigeonError(f"no message {target} in the index (pigeon index brings it up to date)")
    if path.is_dir():
        raise PigeonError(f"{target} is a directory, not a message file")
    raise PigeonError(f"no such message file: {target}")


def raw_text(data: bytes) -> str:
    """The source as text: UTF-8 where it is, other bytes as Latin-1, controls neutralised."""
    from pigeon.core.sanitize import sanitize_text

    text = _ESCAPED_BYTE.sub(lambda m: chr(ord(m.group()) - 0xDC00), data.decode("utf-8", "surrogateescape"))
    return sanitize_text(text)


def render_all(app: Any, data: bytes, *, name: str = "", width: int = 80, mbox: bool = False) -> list[Any]:
    """Every message in ``data`` (one, or each of an mbox) as a ``RenderedMessage``."""
    from pigeon.core import mime
    from pigeon.core.render import render_message
    from pigeon.hooks.types import RenderContext

    chunks = mime.split_mbox(data) if mbox or mime.looks_like_mbox(data, name) else [data]
    # the source bytes let a crypto plugin check a signature over exactly what was sent
    return [
        render_message(app, mime.parse_bytes(chunk), RenderContext(width=width, state={"raw": chunk}))
        for chunk in chunks
    ]


def show_text(app: Any, data: bytes, *, name: str = "", width: int = 80, raw: bool = False, mbox: bool = False) -> str:
    """What ``pigeon show`` prints for ``data`` (one message, or an mbox)."""
    if raw:
        return raw_text(data)
    rendered = render_all(app, data, name=name, width=width, mbox=mbox)
    out: list[str] = []
    for i, message in enumerate(rendered, 1):
        if len(rendered) > 1:
            out.append(f"═══ message {i} of {len(rendered)} " + "═" * max(4, min(width, 78) - 22))
        out.append(message.as_text(width))
    return "\n".join(out)


def show_json(app: Any, data: bytes, *, name: str = "", width: int = 80, mbox: bool = False) -> str:
    """``pigeon show --json``: a list with one object per message, every string sanitised."""
    import json

    out = []
    for message in render_all(app, data, name=name, width=width, mbox=mbox):
        out.append(
            {
                "headers": [[n, v] for n, v in message.headers],
                "banners": [{"severity": b.severity, "text": b.text} for b in message.banners],
                "body": message.body,
                "links": [{"number": lk.number, "text": lk.text, "target": lk.target, "mismatch": lk.mismatch} for lk in message.links],
                "attachments": [
                    {"index": a.index, "name": a.name, "content_type": a.content_type, "size": a.size, "warnings": a.warnings}
                    for a in message.attachments
                ],
            }
        )
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def terminal_width(app: Any, requested: int) -> int:
    if requested > 0:
        return max(20, requested)
    configured = int(app.config.get("render.width", 0) or 0)
    if configured > 0:
        return max(20, configured)
    return max(20, min(shutil.get_terminal_size((80, 24)).columns, DEFAULT_MAX_WIDTH))


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app

    app = make_app(args)
    data, name = load_target(app, args.target)
    width = terminal_width(app, args.width)
    if args.json and not args.raw:
        text = show_json(app, data, name=name, width=width, mbox=args.mbox)
    else:
        text = show_text(app, data, name=name, width=width, raw=args.raw, mbox=args.mbox)
    try:
        sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets "?" rather than a crash
    except (AttributeError, ValueError):
        pass
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
