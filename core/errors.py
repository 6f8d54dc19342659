"""Exceptions the core raises. A ``PigeonError`` is a user error: one line, no traceback."""

from __future__ import annotations


class PigeonError(Exception):
    """An error the user can act on; the CLI prints its message on one line and exits 1."""


class ConfigError(PigeonError):
    """config.toml is unreadable or invalid; the message names the file, line and key."""


class CommandError(PigeonError):
    """A named command could not do what was asked."""


class StoreError(PigeonError):
    """The Maildir store refused an operation (bad folder name, missing message, full disk)."""
