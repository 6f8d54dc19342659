"""pigeon doctor: audit the configuration (and with --connect, the servers) for unsafe settings."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="store_true", help="also connect to each server")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app

    make_app(args)
    raise NotImplementedError("doctor: being written")
