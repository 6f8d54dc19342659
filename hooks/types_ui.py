"""The value types of hooks for the user interface: commands, key bindings, completion, the mode line.

Import them from :mod:`pigeon.hooks.types`, which loads this module on first use of one of
its names (so a command pays only for the types it uses).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class Command:
    """A named command: what M-x, key bindings and ``pigeon shell`` run."""

    name: str
    func: Callable[..., Any]
    doc: str = ""
    modes: tuple[str, ...] = ("global",)
    source: str = ""


class CommandRegistrar(Protocol):
    """Handed to ``pigeon_register_commands``."""

    def __call__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        modes: Iterable[str] = ("global",),
    ) -> Callable[..., Any]: ...


class KeymapRegistrar(Protocol):
    """Handed to ``pigeon_register_keymaps``: binds key sequences (Emacs notation) to command names."""

    def bind(self, mode: str, keys: str, command: str) -> None: ...

    def unbind(self, mode: str, keys: str) -> None: ...


@dataclass(frozen=True)
class Completion:
    """A completion candidate offered by ``pigeon_complete``."""

    text: str
    display: str = ""
    meta: str = ""


@dataclass(frozen=True)
class StatusSegment:
    """A piece of the mode line."""

    text: str
    style: str = ""
