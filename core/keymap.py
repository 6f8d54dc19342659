"""Key sequences bound to command names, per mode, in Emacs notation. No UI toolkit here.

A key sequence is parsed into a tuple of canonical key names that any terminal UI can map:
``"c-x"`` for Control-x, ``"escape"`` as the Meta prefix (``M-x`` is ``escape`` then ``x``),
``"c-m"`` for RET, ``"c-i"`` for TAB, ``" "`` for SPC, ``"up"``/``"pageup"``/``"f1"`` for
named keys, and the character itself otherwise. These are prompt_toolkit's key names, which
follow the terminal's: a terminal cannot tell RET from ``C-m`` or TAB from ``C-i`` either.

Lookup falls back from a mode to ``global`` (alot's rule), so a mode binds only what differs.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

from pigeon.core.errors import PigeonError

MODES: tuple[str, ...] = ("global", "folders", "list", "message", "compose", "text")

#: Emacs names of keys -> canonical names.
NAMED_KEYS: dict[str, str] = {
    "RET": "c-m",
    "TAB": "c-i",
    "SPC": " ",
    "ESC": "escape",
    "DEL": "c-h",  # terminals send ^? or ^H for backspace; prompt_toolkit calls both c-h
    "LFD": "c-j",
}

#: Names written ``<name>`` -> canonical names.
ANGLE_KEYS: dict[str, str] = {
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
    "prior": "pageup",
    "next": "pagedown",
    "pageup": "pageup",
    "pagedown": "pagedown",
    "home": "home",
    "end": "end",
    "delete": "delete",
    "deletechar": "delete",
    "insert": "insert",
    "backtab": "s-tab",
    "return": "c-m",
    "tab": "c-i",
    "escape": "escape",
    "backspace": "c-h",
    **{f"f{n}": f"f{n}" for n in range(1, 25)},
}

_CANONICAL_TO_EMACS: dict[str, str] = {
    "c-m": "RET",
    "c-i": "TAB",
    " ": "SPC",
    "escape": "ESC",
    "c-h": "C-h",
    "pageup": "<prior>",
    "pagedown": "<next>",
    "s-tab": "<backtab>",
}


class KeymapError(PigeonError):
    """A key sequence that cannot be parsed."""


def _parse_key(word: str) -> list[str]:
    """One Emacs key (``C-x``, ``M-<``, ``C-M-f``, ``RET``, ``<up>``, ``a``) -> canonical names."""
    meta = False
    ctrl = False
    rest = word
    while len(rest) > 2 and rest[1] == "-" and rest[0] in "CMS":
        if rest[0] == "C":
            ctrl = True
        elif rest[0] == "M":
            meta = True
        else:  # S- (shift) only makes sense with named keys; fold it into the key
            if rest[2:].startswith("<") and rest[2:-1].lower() == "<tab":
                return ["s-tab"]
            raise KeymapError(f"cannot bind {word!r}: use the upper-case character instead of S-")
        rest = rest[2:]
    if rest in NAMED_KEYS:
        key = NAMED_KEYS[rest]
    elif len(rest) > 2 and rest.startswith("<") and rest.endswith(">"):
        name = rest[1:-1].lower()
        if name not in ANGLE_KEYS:
            raise KeymapError(f"unknown key name {rest!r} in {word!r}")
        key = ANGLE_KEYS[name]
    elif len(rest) == 1:
        key = rest
    else:
        raise KeymapError(f"cannot parse key {word!r}")
    if ctrl:
        if len(key) == 1:
            ch = key.lower()
            if ch == " ":
                key = "c-@"
            elif ch.isalpha() or ch in "@\\]^_":
                key = f"c-{ch}"
            else:
                raise KeymapError(f"terminals cannot send {word!r}")
        elif key in ("up", "down", "left", "right", "home", "end", "delete") or key.startswith("f"):
            key = f"c-{key}"
        elif not key.startswith("c-"):
            raise KeymapError(f"terminals cannot send {word!r}")
    return ["escape", key] if meta else [key]


def parse_keys(keys: str | Iterable[str]) -> tuple[str, ...]:
    """``"C-x C-c"`` -> ``("c-x", "c-c")``; ``"M-x"`` -> ``("escape", "x")``.

    A tuple or list is taken as canonical names already.
    """
    if not isinstance(keys, str):
        return tuple(keys)
    words = keys.split()
    if not words:
        if keys == " ":
            return (" ",)
        raise KeymapError("empty key sequence")
    out: list[str] = []
    for word in words:
        out.extend(_parse_key(word))
    return tuple(out)


def format_keys(seq: Iterable[str]) -> str:
    """Canonical names back to Emacs notation: ``("escape", "x")`` -> ``"M-x"``."""
    out: list[str] = []
    meta = False
    for key in seq:
        if key == "escape" and not meta:
            meta = True
            continue
        if key in _CANONICAL_TO_EMACS:
            text = _CANONICAL_TO_EMACS[key]
        elif key.startswith("c-") and len(key) > 2:
            rest = key[2:]
            text = f"C-{rest}" if len(rest) == 1 else f"C-<{rest}>"
        elif len(key) == 1:
            text = key
        else:
            text = f"<{key}>"
        if meta:
            if key == "escape":
                text = "ESC"
            elif text.startswith("C-"):
                text = f"C-M-{text[2:]}"
            else:
                text = f"M-{text}"
            meta = False
        out.append(text)
    if meta:
        out.append("ESC")
    return " ".join(out)


class KeymapRegistry:
    """mode -> key sequence -> command name. Implements ``KeymapRegistrar``.

    A later ``bind`` of the same sequence in the same mode replaces the earlier one, and
    ``pigeon_register_keymaps`` implementations run in registration order (built-ins first), so
    a user's binding wins.
    """

    def __init__(self) -> None:
        self._maps: dict[str, dict[tuple[str, ...], str]] = {}
        self.source: dict[tuple[str, tuple[str, ...]], str] = {}
        self._source = ""
        self.generation = 0  # bumped on every change, so a UI knows to rebuild its tables

    @classmethod
    def from_plugins(cls, pm: Any) -> KeymapRegistry:
        registry = cls()
        for impl in pm.hook.pigeon_register_keymaps.get_hookimpls():  # registration order
            registry._source = impl.plugin_name
            try:
                impl.function(keymaps=registry)
            except Exception as exc:
                if hasattr(pm, "report"):
                    from pigeon.core.pluginmanager import PluginError

                    pm.report(PluginError(impl.plugin_name, "pigeon_register_keymaps", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        registry._source = ""
        return registry

    # ---------------------------------------------------------------- KeymapRegistrar

    def bind(self, mode: str, keys: str | Iterable[str], command: str) -> None:
        """Bind ``keys`` (Emacs notation) in ``mode`` to the command named ``command``."""
        seq = parse_keys(keys)
        table = self._maps.setdefault(mode, {})
        # A key that becomes a prefix, or a prefix that becomes a key, loses its old meaning.
        for other in [s for s in table if s != seq and (s[: len(seq)] == seq or seq[: len(s)] == s)]:
            del table[other]
            self.source.pop((mode, other), None)
        table[seq] = command
        self.source[(mode, seq)] = self._source
        self.generation += 1

    def unbind(self, mode: str, keys: str | Iterable[str]) -> None:
        seq = parse_keys(keys)
        self._maps.get(mode, {}).pop(seq, None)
        self.source.pop((mode, seq), None)
        self.generation += 1

    # ---------------------------------------------------------------- lookup

    def modes(self) -> list[str]:
        return sorted(self._maps)

    def chain(self, mode: str) -> tuple[str, ...]:
        return (mode, "global") if mode != "global" else ("global",)

    def lookup(self, mode: str, keys: str | Iterable[str]) -> str | None:
        """The command bound to ``keys`` in ``mode`` (or in ``global``), or None."""
        seq = parse_keys(keys)
        for m in self.chain(mode):
            table = self._maps.get(m, {})
            if seq in table:
                return table[seq]
            if any(s[: len(seq)] == seq for s in table):  # a prefix here hides global's key
                return None
        return None

    def is_prefix(self, mode: str, keys: str | Iterable[str]) -> bool:
        """True when ``keys`` starts a longer bound sequence in ``mode`` or ``global``."""
        seq = parse_keys(keys)
        n = len(seq)
        return any(len(s) > n and s[:n] == seq for m in self.chain(mode) for s in self._maps.get(m, {}))

    def bindings(self, mode: str | None = None, inherited: bool = False) -> list[tuple[str, str, str]]:
        """``(mode, keys in Emacs notation, command)`` rows, sorted; all modes when None."""
        modes = ([mode, "global"] if inherited and mode != "global" else [mode]) if mode else sorted(self._maps)
        rows = []
        for m in modes:
            for seq, cmd in self._maps.get(m, {}).items():
                rows.append((m, format_keys(seq), cmd))
        return sorted(rows, key=lambda r: (r[0] != mode, r[0], r[2], r[1]))

    def where_is(self, command: str, mode: str | None = None) -> list[str]:
        """Every key sequence bound to ``command`` (in ``mode`` and ``global`` when given)."""
        modes = self.chain(mode) if mode else sorted(self._maps)
        out = []
        for m in modes:
            for seq, cmd in self._maps.get(m, {}).items():
                if cmd == command and (mode is None or self.lookup(mode, seq) == command):
                    out.append(format_keys(seq))
        return sorted(set(out), key=lambda k: (len(k), k))

    def sequences(self) -> set[tuple[str, ...]]:
        """Every bound sequence in any mode (what a UI registers with its toolkit)."""
        return {seq for table in self._maps.values() for seq in table}

    def table(self, mode: str) -> dict[tuple[str, ...], str]:
        return dict(self._maps.get(mode, {}))
