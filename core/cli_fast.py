"""The command line of ``search``, ``count`` and ``sync`` read without argparse, which with its
gettext and the parser it builds costs ~5 ms of a command that must answer in about 20.

A command module opts in with ``FAST_OPTIONS``: ``{"--name": (dest, kind)}``, ``kind`` being
``"flag"`` (store_true), ``int``, ``str``, ``"append"`` (a string each time, into a list), a
frozenset of choices, or ``("const", value)``; with
``FAST_DEFAULTS`` (every dest and its default) and ``FAST_POSITIONAL`` (the dest of its ``*``
positional). :func:`parse` answers only plain command lines: anything else — help, an
abbreviated or unknown option, ``--``, a value that starts with ``-``, words on both sides of an
option, a bad number or choice — returns None and argparse parses it, phrasing any error.
tests/test_cli_fast.py holds both parsers to the same namespace on every line this one answers.
"""

from __future__ import annotations


class Namespace:
    """argparse's Namespace without argparse (``types`` is also a module more to import)."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Namespace({self.__dict__!r})"

#: the options every command takes (see ``_common`` in :mod:`pigeon.core.cli_parser`)
COMMON = {"--config-dir": ("config_dir", str), "--debug": ("debug", "flag")}


def parse(argv: list[str], command: str, module: object) -> Namespace | None:
    """The namespace argparse would give for ``argv`` (which holds ``command``), or None."""
    options = getattr(module, "FAST_OPTIONS", None)
    if options is None:
        return None
    values: dict[str, object] = {"version": False, "config_dir": None, "debug": False, "command": command}
    values.update(module.FAST_DEFAULTS)  # type: ignore[attr-defined]
    words: list[str] = []
    words_ended = False
    seen_command = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            if not seen_command:
                if arg != command:
                    return None
                seen_command = True
            elif words_ended:
                return None  # argparse takes one run of words; it reports the rest
            else:
                words.append(arg)
            continue
        if words:
            words_ended = True
        name, eq, inline = arg.partition("=")
        spec = (options.get(name) if seen_command else None) or COMMON.get(name)
        if spec is None:
            return None
        dest, kind = spec
        if kind == "flag" or isinstance(kind, tuple):
            if eq:
                return None
            values[dest] = True if kind == "flag" else kind[1]
            continue
        if eq:
            value = inline
        elif i < len(argv) and not argv[i].startswith("-"):
            value = argv[i]
            i += 1
        else:
            return None
        if kind is int:
            try:
                values[dest] = int(value)
            except ValueError:
                return None
        elif kind is str:
            values[dest] = value
        elif kind == "append":
            values[dest] = [*(values[dest] or ()), value]  # type: ignore[misc]
        elif value in kind:
            values[dest] = value
        else:
            return None
    if not seen_command:
        return None
    values[module.FAST_POSITIONAL] = words  # type: ignore[attr-defined]
    values["_module"] = module
    return Namespace(**values)
