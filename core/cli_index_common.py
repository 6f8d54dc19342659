"""Shared by ``pigeon search``/``count``/``tag``/``index``: open the index cheaply.

``search`` and ``count`` must start fast: they read config.toml themselves (the state directory
and the ``[searches]`` table) instead of building the whole App with its plugins.
"""

from __future__ import annotations

import argparse
import os

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def light_settings(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The index path and the saved searches, read straight from config.toml.

    Same rules as :mod:`pigeon.core.paths`, with ``os.path`` (pathlib costs ~5 ms to import).
    """
    from pigeon.core.errors import ConfigError

    env = os.environ
    directory = (getattr(args, "config_dir", None) or env.get("PIGEON_CONFIG_DIR")
                 or (env.get("XDG_CONFIG_HOME") and os.path.join(env["XDG_CONFIG_HOME"], "pigeon")))
    if not directory:
        from pigeon.core import paths

        directory = str(paths.config_dir(None))
    directory = os.path.expanduser(directory)
    raw = _read_toml(directory)
    state = raw.get("state_dir") or None
    if state is not None and not isinstance(state, str):
        raise ConfigError(f"{os.path.join(directory, 'config.toml')}: state_dir: expected a string")
    searches = raw.get("searches") or {}
    if not isinstance(searches, dict):
        raise ConfigError(f"{os.path.join(directory, 'config.toml')}: searches: expected a table of name = \"query\"")
    base = state or env.get("PIGEON_STATE_DIR") or (env.get("XDG_STATE_HOME") and os.path.join(env["XDG_STATE_HOME"], "pigeon"))
    if not base:
        from pigeon.core import paths

        base = str(paths.state_dir(None))
    return os.path.join(os.path.expanduser(base), "index.sqlite"), {str(k): str(v) for k, v in searches.items()}


def _read_toml(directory: str) -> dict[str, Any]:
    import tomllib

    try:
        with open(os.path.join(directory, "config.toml"), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError:
        data = b"\xff"  # let the full reader phrase the error
    if b"state_dir" not in data and b"searches" not in data:
        return {}  # nothing this command reads: spare the TOML parser (a full check is pigeon doctor's)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        from pathlib import Path

        from pigeon.core.config import read_raw

        return read_raw(Path(directory))[0]  # raises ConfigError naming the file and line


def open_for_reading(args: argparse.Namespace) -> Any:
    """A read-only Index for the query commands."""
    from pigeon.core.index import Index

    path, saved = light_settings(args)
    return Index(path, saved=saved, readonly=True)


def query_of(words: list[str]) -> str:
    """The query words of the command line joined back into one query."""
    return " ".join(words).strip() or "*"
