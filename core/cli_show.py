"""pigeon show: a message as the client renders it, plugins applied (``--raw`` for the source)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a message file, or - for standard input")
    parser.add_argument("--raw", action="store_true", help="print the message source")
    parser.add_argument("--width", type=int, default=0, help="wrap at this width (default: terminal)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app

    make_app(args)
    raise NotImplementedError("rendering: being written")
