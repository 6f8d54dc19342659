"""The argparse parser of the ``pigeon`` command: the top level and the one subcommand that runs.

The other subcommands get a bare entry (their name, for the usage line and the error for an
unknown command) without importing their modules.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from pigeon.core.cli import DESCRIPTION, SUBCOMMANDS


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (with bz2, lzma...)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter; its width found without shutil, which argparse imports for it on
    every ``add_argument`` (~1.5 ms), help or not."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _RawDescriptionFormatter(_HelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _common(parser: argparse.ArgumentParser, *, sub: bool = False) -> None:
    # In a subcommand's parser the defaults are suppressed: otherwise its None would replace a
    # value given before the subcommand name (``pigeon --config-dir X show ...``).
    default: dict[str, object] = {"default": argparse.SUPPRESS} if sub else {}
    parser.add_argument("--config-dir", metavar="DIR", help="configuration directory (default: $PIGEON_CONFIG_DIR or $XDG_CONFIG_HOME/pigeon)", **default)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and protocol traces (secrets redacted)", **default)


def _description(doc: str) -> str:
    """A command's description for --help: its module docstring's first paragraph, as prose
    (the docstrings' ``literal`` markup is for readers of the code)."""
    return " ".join(doc.strip().split("\n\n")[0].split()).replace("``", "")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pigeon",
        description=DESCRIPTION,
        epilog="commands (pigeon COMMAND --help for its options):\n" + "\n".join(f"  {n:<10} {h}" for n, (_, h) in SUBCOMMANDS.items()),
        formatter_class=_RawDescriptionFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _common(parser)
    # The commands are listed once, in the epilog, one line each (no help= here: argparse
    # would list them a second time, wrapped).
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="one of the commands below; without one, the full-screen client")
    for name, (modname, help_) in SUBCOMMANDS.items():
        if name != command:
            sub.add_parser(name, add_help=False, formatter_class=_HelpFormatter)
            continue
        module = importlib.import_module(modname)
        p = sub.add_parser(name, description=_description(module.__doc__ or help_), formatter_class=_HelpFormatter)
        _common(p, sub=True)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser
