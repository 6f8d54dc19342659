"""SQLite through ``_sqlite3``, the C module that the ``sqlite3`` package re-exports.

``import sqlite3`` also imports datetime and collections for its date adapters (deprecated since
Python 3.12), about 3 ms of a ``pigeon search`` that must answer in about 20. pigeon stores
dates as integers and uses none of them. The classes and exceptions are the same objects, so
code importing ``sqlite3`` elsewhere interoperates. An interpreter without the C module gets the
package.
"""

from __future__ import annotations

try:
    from _sqlite3 import DatabaseError, IntegrityError, OperationalError, connect
except ImportError:  # pragma: no cover - another Python implementation
    from sqlite3 import DatabaseError, IntegrityError, OperationalError, connect

__all__ = ["DatabaseError", "IntegrityError", "OperationalError", "connect", "read_only_uri"]


def read_only_uri(path: str) -> str:
    """The ``file:`` URI that opens ``path`` read-only (``connect(..., uri=True)``): the
    characters a URI gives a meaning to (``%``, ``?``, ``#``) escaped, so any file name works."""
    import os

    path = os.path.abspath(path)
    for char, code in (("%", "%25"), ("?", "%3f"), ("#", "%23")):
        path = path.replace(char, code)
    return f"file:{path}?mode=ro"
