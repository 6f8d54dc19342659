"""Shared by ``pigeon search``/``count``/``tag``/``index``: open the index cheaply.

``search`` and ``count`` must start fast: they read config.toml themselves (the state directory
and the ``[searches]`` table) instead of building the whole App with its plugins.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def light_settings(args: argparse.Namespace) -> tuple[Path, dict[str, str]]:
    """The index path and the saved searches, read straight from config.toml."""
    from pigeon.core import paths
    from pigeon.core.errors import ConfigError

    directory = paths.config_dir(getattr(args, "config_dir", None))
    raw = _read_toml(directory)
    state = raw.get("state_dir") or None
    if state is not None and not isinstance(state, str):
        raise ConfigError(f"{directory / 'config.toml'}: state_dir: expected a string")
    searches = raw.get("searches") or {}
    if not isinstance(searches, dict):
        raise ConfigError(f"{directory / 'config.toml'}: searches: expected a table of name = \"query\"")
    base = paths.state_dir(state)
    return base / "index.sqlite", {str(k): str(v) for k, v in searches.items()}


def _read_toml(directory: Path) -> dict[str, Any]:
    import tomllib

    try:
        data = (directory / "config.toml").read_bytes()
    except FileNotFoundError:
        return {}
    except OSError:
        data = b"\xff"  # let the full reader phrase the error
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        from pigeon.core.config import read_raw

        return read_raw(directory)[0]  # raises ConfigError naming the file and line


def open_for_reading(args: argparse.Namespace) -> Any:
    """A read-only Index for the query commands."""
    from pigeon.core.index import Index

    path, saved = light_settings(args)
    return Index(path, saved=saved, readonly=True)


def query_of(words: list[str]) -> str:
    """The query words of the command line joined back into one query."""
    return " ".join(words).strip() or "*"
