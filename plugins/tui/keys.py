"""Translation layer: the keymap registry (mode -> keys -> command name) as prompt_toolkit bindings.

Every bound sequence becomes one binding whose filter asks the registry whether the current
mode binds it, and whose handler queues the command by name. Rebinding from ``init.py`` only
rebuilds this table. The minibuffer, incremental search and ``C-h k`` key reading have their
own bindings on top.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import DynamicKeyBindings, KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

#: Commands that the text widget of a compose buffer does itself (its Emacs editing keys).
NATIVE_EDITING = {
    "next-line",
    "previous-line",
    "scroll-up-command",
    "scroll-down-command",
    "beginning-of-buffer",
    "end-of-buffer",
    "isearch-forward",
    "isearch-backward",
}

_NOT_KEYS = {Keys.Any, Keys.CPRResponse, Keys.Vt100MouseEvent, Keys.WindowsMouseEvent, Keys.BracketedPaste, Keys.SIGINT, Keys.Ignore, Keys.ScrollUp, Keys.ScrollDown}


def binding_active(tui: Any, seq: tuple[str, ...]) -> bool:
    if tui.reading_key is not None or tui.mb_active or tui.busy:
        return False
    mode = tui.mode
    editing = mode == "compose"
    if editing and seq[0] == "c-h":  # backspace, to a terminal
        return False
    km = tui.app.keymaps
    cmd = km.lookup(mode, seq)
    if cmd is None:
        return km.is_prefix(mode, seq)
    return not (editing and cmd in NATIVE_EDITING)


def _dispatch(tui: Any, seq: tuple[str, ...], event: KeyPressEvent) -> None:
    tui.echo = ""
    tui.echo_error = False
    name = tui.app.keymaps.lookup(tui.mode, seq)
    if name is not None:
        try:
            tui.run_command(name, keys=seq)
        except Exception as exc:  # nothing a key does may reach the event loop
            import traceback

            tui._log_error(f"{name}: {type(exc).__name__}: {exc}", traceback.format_exc())


def _safe(tui: Any, fn: Any) -> Any:
    """A key handler whose failure lands in *Messages*, never in the event loop."""

    def handler(event: KeyPressEvent) -> None:
        try:
            fn(event)
        except Exception as exc:
            import traceback

            tui._log_error(f"{type(exc).__name__}: {exc}", traceback.format_exc())

    return handler


def build_key_bindings(tui: Any) -> KeyBindings:
    kb = KeyBindings()
    km = tui.app.keymaps
    for seq in sorted(km.sequences()):
        try:
            kb.add(*seq, filter=Condition(partial(binding_active, tui, seq)))(partial(_dispatch, tui, seq))
        except ValueError as exc:
            tui.messages.append(f"cannot bind {seq}: {exc}")

    in_mb = Condition(lambda: tui.mb_active)
    searching = Condition(lambda: tui.isearch is not None)

    def _complete(event: KeyPressEvent) -> None:
        b = tui.mb
        if b.complete_state:
            b.complete_next()
        else:
            b.start_completion(insert_common_part=True)

    kb.add("c-m", filter=in_mb)(_safe(tui, lambda e: tui.mb_accept()))
    kb.add("c-g", filter=in_mb)(_safe(tui, lambda e: tui.mb_cancel()))
    kb.add("escape", "escape", filter=in_mb)(_safe(tui, lambda e: tui.mb_cancel()))
    kb.add("c-i", filter=in_mb & ~searching)(_safe(tui, _complete))
    kb.add("c-s", filter=searching)(_safe(tui, lambda e: tui.isearch_update(again=True, backward=False)))
    kb.add("c-r", filter=searching)(_safe(tui, lambda e: tui.isearch_update(again=True, backward=True)))

    reading = Condition(lambda: tui.reading_key is not None)

    def _read(event: KeyPressEvent) -> None:
        for kp in event.key_sequence:
            key = kp.key.value if isinstance(kp.key, Keys) else kp.key
            if tui.reading_key is None:
                break
            tui.key_read(key)

    read = _safe(tui, _read)
    for key in Keys:
        if key not in _NOT_KEYS:
            kb.add(key, filter=reading)(read)
    kb.add(Keys.Any, filter=reading)(read)

    holding = Condition(tui.holding_keys)

    def _hold(event: KeyPressEvent) -> None:
        for kp in event.key_sequence:
            tui.hold_key(kp)

    for key in Keys:
        if key not in _NOT_KEYS:
            kb.add(key, filter=holding)(_hold)
    kb.add(Keys.Any, filter=holding)(_hold)

    @kb.add("c-g", filter=holding)
    def _let_go(event: KeyPressEvent) -> None:  # C-g is never held: it lets a slow command go
        tui.detach_commands()

    # An unbound key in a list or a view says so, as Emacs does, instead of doing nothing.
    not_editing = Condition(lambda: tui.mode != "compose" and not tui.mb_active and tui.reading_key is None and not tui.busy)

    @kb.add(Keys.Any, filter=not_editing)
    def _undefined(event: KeyPressEvent) -> None:
        from pigeon.core.keymap import format_keys

        keys = [kp.key.value if isinstance(kp.key, Keys) else kp.key for kp in event.key_sequence]
        tui.message(f"{format_keys(keys)} is undefined", True)

    return kb


def refresh_key_bindings(tui: Any) -> None:
    tui._key_bindings = build_key_bindings(tui)
    tui._key_generation = (id(tui.app.keymaps), tui.app.keymaps.generation)


def dynamic_key_bindings(tui: Any) -> DynamicKeyBindings:
    def get() -> KeyBindings:
        km = tui.app.keymaps
        if getattr(tui, "_key_generation", None) != (id(km), km.generation):
            refresh_key_bindings(tui)
        return tui._key_bindings

    return DynamicKeyBindings(get)
