"""The minibuffer: prompts read from a command's thread, incremental search, reading a key.

A mixin of ``TUI`` (``ui.py``).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from pigeon.core.errors import CommandError


class Quit(CommandError):
    """C-g: the user cancelled."""

    def __init__(self) -> None:
        super().__init__("Quit")


class MinibufferMixin:
    """Prompts, isearch and key reading for ``TUI``."""

    app: Any

    # ================================================================== minibuffer

    def ask(self, question: str, default: str = "", kind: str = "") -> str:
        """Read a string in the minibuffer (from a command's thread); C-g raises Quit."""
        if self.on_loop():
            raise CommandError("cannot prompt from the UI thread")
        fut: concurrent.futures.Future[str] = concurrent.futures.Future()
        self.call(self._open_minibuffer, question, default, kind, fut)
        return fut.result()

    def ask_secret(self, question: str) -> str | None:
        """Read a passphrase (gpg's loopback pinentry, through the PGP plugin): the input is
        drawn as ``*``, never kept in history, the kill ring or a log, and the minibuffer is
        emptied as soon as it closes. C-g (or a prompt from the UI thread, which cannot wait)
        gives None: gpg then reports the missing passphrase as its error."""
        if self.on_loop():
            return None
        fut: concurrent.futures.Future[str] = concurrent.futures.Future()
        self.call(self._open_minibuffer, question, "", "secret", fut)
        try:
            return fut.result()
        except Quit:
            return None

    def _open_minibuffer(self, prompt: str, default: str, kind: str, fut: Any) -> None:
        from pigeon.plugins.tui.completion import completer_for
        from prompt_toolkit.document import Document

        self.mb_prompt = prompt
        self.mb_kind = kind
        if kind == "secret":  # C-k/C-w while typing a passphrase must not leave it in the kill ring
            self._saved_clipboard = self.application.clipboard.get_data()
        self.mb_future = fut
        self.mb_completer = completer_for(self, kind)
        self.mb.reset(Document(default, len(default)))
        self.mb_active = True
        self.sync_focus()
        if kind == "command":
            self.mb.start_completion(select_first=False)
        if self.typeahead:
            self.post(self.flush_typeahead)

    def mb_accept(self) -> None:
        text = self.mb.text
        state = self.mb.complete_state
        if state is not None and state.current_completion is not None:
            self.mb.apply_completion(state.current_completion)
            text = self.mb.text
        if self.mb_kind in ("command", "folder", "buffer") and not self._exact(text):
            from prompt_toolkit.document import Document

            comps = list(self.mb_completer.get_completions(Document(text, len(text)), None))
            if not comps:
                self.message(f"[No match: {text}]", True)
                return
            text = comps[0].text
        if self.isearch is not None:
            self.isearch = None
            self._close_minibuffer()
            return
        fut = self.mb_future
        self._close_minibuffer()
        if fut is not None and not fut.done():
            fut.set_result(text)

    def _exact(self, text: str) -> bool:
        if self.mb_kind == "command":
            return text.split(" ", 1)[0] in self.app.commands
        if self.mb_kind == "buffer":
            return text == "" or self.buffer_named(text) is not None
        from pigeon.plugins.tui.completion import folder_names

        return text in folder_names(self.app)

    def mb_cancel(self) -> None:
        if self.isearch is not None:
            buf = self.isearch["buffer"]
            buf.cursor, buf.top = self.isearch["start"]
            buf.search_hit = None
            self.isearch = None
        fut = self.mb_future
        self._close_minibuffer()
        if fut is not None and not fut.done():
            fut.set_exception(Quit())
        self.message("Quit")

    def _close_minibuffer(self) -> None:
        if self.mb_kind == "secret":
            from prompt_toolkit.document import Document

            self.mb.reset(Document("", 0))  # the passphrase does not linger in the buffer, its undo
            saved = getattr(self, "_saved_clipboard", None)  # stack or the kill ring
            if saved is not None:
                self.application.clipboard.set_data(saved)
            self._saved_clipboard = None
        self.mb_active = False
        self.mb_future = None
        self.mb_kind = ""
        self.mb.complete_state = None
        self.sync_focus()

    # ---- incremental search

    def start_isearch(self, backward: bool) -> None:
        from prompt_toolkit.document import Document

        buf = self.current
        self.isearch = {"buffer": buf, "start": (buf.cursor, buf.top), "backward": backward, "last": ""}
        self.mb_prompt = "I-search backward: " if backward else "I-search: "
        self.mb_kind = "isearch"
        self.mb_completer = None
        self.mb.reset(Document("", 0))
        self.mb_active = True
        self.sync_focus()

    def isearch_update(self, again: bool = False, backward: bool | None = None) -> None:
        st = self.isearch
        if st is None:
            return
        buf = st["buffer"]
        text = self.mb.text or (st["last"] if again else "")
        if again and not self.mb.text and text:
            from prompt_toolkit.document import Document

            self.mb.document = Document(text, len(text))
            return
        if backward is not None:
            st["backward"] = backward
        back = st["backward"]
        start = buf.cursor + ((-1 if back else 1) if again else 0)
        if not again:
            start = st["start"][0]
        hit = buf.search(text, max(0, start), back)
        if hit is None:
            self.mb_prompt = ("Failing I-search backward: " if back else "Failing I-search: ")
        else:
            self.mb_prompt = "I-search backward: " if back else "I-search: "
            buf.goto(hit)
            st["last"] = text

    # ---- reading a key sequence (C-h k)

    def read_key_sequence(self, prompt: str) -> tuple[str, ...]:
        fut: concurrent.futures.Future[tuple[str, ...]] = concurrent.futures.Future()

        def start() -> None:
            self.reading_key = []
            self.key_future = fut
            self.echo = prompt
            self.echo_error = False
            if self.typeahead:
                self.post(self.flush_typeahead)

        self.call(start)
        return fut.result()

    def key_read(self, key: str) -> None:
        assert self.reading_key is not None
        self.reading_key.append(key)
        seq = tuple(self.reading_key)
        if key == "c-g" and len(seq) == 1:
            fut = self.key_future
            self.reading_key = None
            if fut:
                fut.set_exception(Quit())
            return
        if self.app.keymaps.is_prefix(self.mode, seq) and self.app.keymaps.lookup(self.mode, seq) is None:
            from pigeon.core.keymap import format_keys

            self.echo = f"Describe key: {format_keys(seq)}-"
            return
        fut = self.key_future
        self.reading_key = None
        self.echo = ""
        if fut:
            fut.set_result(seq)
