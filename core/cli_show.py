"""pigeon show: a message as the client renders it, plugins applied (``--raw`` for the source).

TARGET is a message file or ``-`` for standard input. An mbox file (its name says "mbox" and it
starts with a ``From `` line, or ``--mbox`` is given) is shown message by message, each under a
rule naming its position. Content alone does not make a file an mbox: a single message may
start with an envelope line and carry ``From `` lines in a body (see ``pigeon.core.mime``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from pigeon.core.errors import PigeonError

DEFAULT_MAX_WIDTH = 100  # prose is hard to read wider than this, whatever the terminal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a message file, or - for standard input")
    parser.add_argument("--raw", action="store_true", help="print the message source (control characters neutralised)")
    parser.add_argument("--width", type=int, default=0, help="wrap at this width (default: the terminal's, at most 100)")
    parser.add_argument("--mbox", action="store_true", help="read TARGET as an mbox whatever its name")


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
    raise PigeonError(f"no such message file: {target}")


def raw_text(data: bytes) -> str:
    """The source as text: UTF-8 where it is, other bytes as Latin-1, controls neutralised."""
    from pigeon.core.sanitize import sanitize_text

    text = data.decode("utf-8", "surrogateescape")
    text = "".join(chr(ord(c) - 0xDC00) if "\udc80" <= c <= "\udcff" else c for c in text) if _has_escapes(text) else text
    return sanitize_text(text)


def _has_escapes(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def show_text(app: Any, data: bytes, *, name: str = "", width: int = 80, raw: bool = False, mbox: bool = False) -> str:
    """What ``pigeon show`` prints for ``data`` (one message, or an mbox)."""
    from pigeon.core import mime
    from pigeon.core.render import render_message
    from pigeon.hooks.types import RenderContext

    if raw:
        return raw_text(data)
    if mbox or mime.looks_like_mbox(data, name):
        messages = mime.split_mbox(data)
    else:
        messages = [data]
    out: list[str] = []
    for i, chunk in enumerate(messages, 1):
        if len(messages) > 1:
            out.append(f"═══ message {i} of {len(messages)} " + "═" * max(4, min(width, 78) - 22))
        msg = mime.parse_bytes(chunk)
        rendered = render_message(app, msg, RenderContext(width=width))
        out.append(rendered.as_text(width))
    return "\n".join(out)


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
    text = show_text(app, data, name=name, width=terminal_width(app, args.width), raw=args.raw, mbox=args.mbox)
    try:
        sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets "?" rather than a crash
    except (AttributeError, ValueError):
        pass
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
