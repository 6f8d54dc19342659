"""Shared by ``pigeon search``/``count``/``tag``/``index``: open the index cheaply.

``search`` and ``count`` must start fast: they read config.toml themselves (the state directory
and the ``[searches]`` table) instead of building the whole App with its plugins, and keep what
they read in a small cache (``$XDG_CACHE_HOME/pigeon/settings.marshal``, marshal being built in)
keyed by the file's inode, size and times, which spares them tomllib (~5 ms with typing).
"""

from __future__ import annotations

import marshal
import os
import sys
import time

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

#: the keys of config.toml these commands read
_KEYS = ("state_dir", "searches")
#: configs remembered in the cache (one per config directory in use)
_CACHE_ENTRIES = 8


def light_settings(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The index path and the saved searches, read straight from config.toml.

    Same rules as :mod:`pigeon.core.paths`, with ``os.path`` (pathlib costs ~5 ms to import).
    """
    from pigeon.core.errors import ConfigError

    env = os.environ
    directory = getattr(args, "config_dir", None) or env.get("PIGEON_CONFIG_DIR") or _xdg("XDG_CONFIG_HOME", ".config")
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
    base = state or env.get("PIGEON_STATE_DIR") or _xdg("XDG_STATE_HOME", ".local/state")
    if not base:
        from pigeon.core import paths

        base = str(paths.state_dir(None))
    return os.path.join(os.path.expanduser(base), "index.sqlite"), {str(k): str(v) for k, v in searches.items()}


def _xdg(variable: str, default: str) -> str | None:
    """``$variable/pigeon``, else the XDG default under the home directory where platformdirs
    would use it (Linux and the BSDs: its Unix rules), else None (ask :mod:`pigeon.core.paths`)."""
    value = os.environ.get(variable)
    if value:
        return os.path.join(value, "pigeon")
    if sys.platform in ("win32", "darwin"):
        return None
    return os.path.join(os.path.expanduser("~"), default, "pigeon")


def _cache_path() -> str:
    base = _xdg("XDG_CACHE_HOME", ".cache")
    if base is None:
        import platformdirs

        base = platformdirs.user_cache_dir("pigeon")
    return os.path.join(base, "settings.marshal")


def _read_toml(directory: str) -> dict[str, Any]:
    """What config.toml says of ``state_dir`` and ``searches`` (only those keys)."""
    path = os.path.join(directory, "config.toml")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError:
        st = None
    stamp = None if st is None else [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    cache_file = _cache_path()
    cache = _load_cache(cache_file)
    hit = cache.get(path)
    if stamp is not None and hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError:
        data = b"\xff"  # let the full reader phrase the error
    if b"state_dir" not in data and b"searches" not in data:
        return {}  # nothing this command reads: spare the TOML parser (a full check is pigeon doctor's)
    import tomllib

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        from pathlib import Path

        from pigeon.core.config import read_raw

        raw = read_raw(Path(directory))[0]  # raises ConfigError naming the file and line
    wanted = {k: raw[k] for k in _KEYS if k in raw}
    # A file changed twice within the clock's granularity could keep its stamp: cache only a
    # file that has been left alone for a while.
    if stamp is not None and time.time_ns() - st.st_mtime_ns > 2_000_000_000:
        cache.pop(path, None)
        cache[path] = [stamp, wanted]
        _store_cache(cache_file, dict(list(cache.items())[-_CACHE_ENTRIES:]))
    return wanted


def _load_cache(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            cache = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return cache if isinstance(cache, dict) and all(_valid(k, v) for k, v in cache.items()) else {}


def _valid(path: object, entry: object) -> bool:
    return (isinstance(path, str) and isinstance(entry, list) and len(entry) == 2
            and isinstance(entry[0], list) and isinstance(entry[1], dict))


def _store_cache(path: str, cache: dict[str, Any]) -> None:
    """Atomically, best effort: a cache that cannot be written only costs the parse next time."""
    try:
        data = marshal.dumps(cache)
    except ValueError:
        return  # a value marshal cannot hold (a TOML date): parse each time
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def open_for_reading(args: argparse.Namespace) -> Any:
    """A read-only Index for the query commands."""
    from pigeon.core.index import Index

    path, saved = light_settings(args)
    return Index(path, saved=saved, readonly=True)


def query_of(words: list[str]) -> str:
    """The query words of the command line joined back into one query."""
    return " ".join(words).strip() or "*"
