"""The plugin contract of pigeon: hook specifications and the value types they exchange.

Plugin authors write::

    from pigeon.hooks import hookimpl

    @hookimpl
    def pigeon_message_arrived(message, ref, ctx):
        ...

Every hook is named ``pigeon_*`` and documented in its module's docstring and in
``docs/hooks.md``.  This package imports nothing from ``pigeon.core``: it is the stable API.
"""

from __future__ import annotations

import pluggy

PROJECT = "pigeon"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The modules that hold hook specifications, one per concern.
SPEC_MODULES: tuple[str, ...] = (
    "pigeon.hooks.lifecycle",
    "pigeon.hooks.accounts",
    "pigeon.hooks.render",
    "pigeon.hooks.crypto",
    "pigeon.hooks.filtering",
    "pigeon.hooks.compose",
    "pigeon.hooks.automation",
    "pigeon.hooks.ui",
)

__all__ = ["PROJECT", "SPEC_MODULES", "hookimpl", "hookspec"]
