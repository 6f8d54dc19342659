"""The client's command loop: named commands run one at a time on a worker thread, in order;
arguments the caller did not give are read in the minibuffer; C-g lets a running command go on
in the background; keys pressed meanwhile wait for it (type-ahead).

A mixin of ``TUI`` (``ui.py``).
"""

from __future__ import annotations

import concurrent.futures
import inspect
import traceback
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import PigeonError
from pigeon.plugins.tui.minibuffer import Quit
from pigeon.plugins.tui.model import FolderBuffer, MessageBuffer, MessageListBuffer

#: Argument names -> what the minibuffer completes for them.
ARG_KINDS = {
    "folder": "folder",
    "dest": "folder",
    "tag": "tag",
    "tags": "tag",
    "to": "address",
    "address": "address",
    "file": "file",
    "path": "file",
    "query": "query",
    "command": "command",
    "name": "command",
    "buffer": "buffer",
    "expression": "python",
    "link": "link",
}


class CommandLoopMixin:
    """Running named commands for ``TUI``."""

    app: Any

    # ================================================================== commands

    def context(self) -> CommandContext:
        buf = self.current
        account = getattr(buf, "account", None)
        folder = getattr(buf, "folder", None)
        message = None
        if isinstance(buf, MessageListBuffer):
            row = buf.row()
            try:
                message = buf.listing.file(row) if row else None
            except PigeonError:  # a thread line has no file
                message = None
        elif isinstance(buf, MessageBuffer):
            message = buf.path
        elif isinstance(buf, FolderBuffer) and buf.current():
            account, folder = buf.current()  # type: ignore[misc]
        return CommandContext(self.app, output=lambda s: None, prompt=self.ask, account=account, folder=folder, message=message, ui=self, data={"buffer": buf})

    def run_command(self, name: str, *args: str, keys: tuple[str, ...] | None = None) -> concurrent.futures.Future[Any]:
        """Queue a named command (from a key, M-x or code). Returns a future of its result."""
        ctx = self.context()
        ctx.data["keys"] = keys
        out: list[str] = []
        ctx.output = out.append
        rid = next(self._run_ids)
        with self.lock:
            self.pending += 1
            self.active_runs.add(rid)
        fut = self.worker.submit(self._run, name, args, ctx, out, rid)

        def cancelled(f: concurrent.futures.Future[Any]) -> None:
            if f.cancelled():  # dropped by C-g before it started
                with self.lock:
                    self.pending -= 1
                    self.active_runs.discard(rid)

        fut.add_done_callback(cancelled)
        return fut

    @property
    def busy(self) -> bool:
        """A command the keys must wait for is queued or running."""
        return any(r > self.detach_mark for r in self.active_runs)

    def detach_commands(self) -> None:
        """C-g while a command runs: stop waiting for it. It finishes on its own thread; the
        commands queued behind it are dropped, and the keys held for them too."""
        if not self.active_runs:
            return
        self.detach_mark = max(self.active_runs)
        old, self.worker = self.worker, concurrent.futures.ThreadPoolExecutor(1, "pigeon-command")
        old.shutdown(wait=False, cancel_futures=True)
        self.typeahead.clear()
        name = self.running_command or "the command"
        self.message(f"Quit ({name} goes on in the background)")

    def _run(self, name: str, args: tuple[str, ...], ctx: CommandContext, out: list[str], rid: int = 0) -> Any:
        self.running_command = name
        try:
            registry = self.app.commands
            cmd = registry.get(name)
            args = tuple(args) + tuple(self._interactive_args(cmd, len(args)))
            result = registry.run(name, ctx, *args)
            if out:
                self.call(self._show_output, name, out)
            return result
        except Quit:
            self.call(self.message, "Quit")
        except PigeonError as exc:
            if out:
                self.call(self._show_output, name, out)
            self.call(self.message, str(exc), True)
        except Exception as exc:
            tb = traceback.format_exc()
            inner = ctx.data.get("command", name)
            self.call(self._log_error, f"command {inner} failed: {type(exc).__name__}: {exc}", tb)
        finally:
            self.running_command = None
            with self.lock:
                self.pending -= 1
                self.active_runs.discard(rid)
            self.post(self.flush_typeahead)
        return None

    # ---- type-ahead: keys pressed while a command runs wait for it, in order

    def holding_keys(self) -> bool:
        return self.busy and not self.mb_active and self.reading_key is None

    def hold_key(self, key_press: Any) -> None:
        self.typeahead.append(key_press)

    def flush_typeahead(self) -> None:
        if not self.typeahead or self.holding_keys():
            return
        keys, self.typeahead = self.typeahead, []
        kp = self.application.key_processor
        kp.feed_multiple(keys, first=True)
        kp.process_keys()

    def _show_output(self, name: str, lines: list[str]) -> None:
        if len(lines) == 1:
            self.message(lines[0])
        else:
            self.show_text("*Output*", "\n".join(lines), kind="output")
            self.message(f"{name}: {len(lines)} lines")

    def _interactive_args(self, cmd: Any, given: int) -> list[str]:
        """Read required arguments the caller did not give, in the minibuffer (Emacs's interactive)."""
        params = list(inspect.signature(cmd.func).parameters.values())[1:]
        out = []
        for p in params[given:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) or p.default is not p.empty:
                break
            kind = ARG_KINDS.get(p.name, "")
            out.append(self.ask(f"{cmd.name} {p.name.replace('_', ' ')}: ", kind=kind))
        return out
