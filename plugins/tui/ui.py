"""The full-screen client: state, the command loop, the minibuffer. prompt_toolkit lives here.

Keys resolve to command names (``pigeon.core.keymap``); a command runs on one worker thread, in
order, so a command may prompt (``ctx.ask``) and wait for the minibuffer without freezing the
screen. Commands touch the UI through ``ui.call(fn)``, which runs ``fn`` on the event loop.
Slow work (scanning, rendering, counting) goes to a background pool and posts its result back.
The command loop is ``ui_commands.py``, the minibuffer ``minibuffer.py`` and the mail side
``mail.py``: mixins of ``TUI``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.core.sanitize import sanitize_line
from pigeon.plugins.tui.mail import MailMixin
from pigeon.plugins.tui.minibuffer import MinibufferMixin, Quit
from pigeon.plugins.tui.model import (
    Buffer,
    ComposeBuffer,
    FolderBuffer,
    MessageBuffer,
    MessageListBuffer,
    TextBuffer,
    WindowTree,
)
from pigeon.plugins.tui.source import get_store
from pigeon.plugins.tui.ui_commands import CommandLoopMixin

#: The clients running in this process (hooks without an ``app`` argument reach them here).
RUNNING: weakref.WeakSet[Any] = weakref.WeakSet()


class TUI(CommandLoopMixin, MailMixin, MinibufferMixin):
    """One running client. ``app.ui`` points here while it runs."""

    def __init__(self, app: Any, *, input: Any = None, output: Any = None, watch: bool = True) -> None:
        from pigeon.plugins.tui.layout import build_application

        self.app = app
        app.ui = self
        self.buffers: list[Buffer] = []  # most recently shown first
        self.messages = TextBuffer("*Messages*")
        self.folders = FolderBuffer([])
        self.tree = WindowTree(self.folders)
        self._add(self.messages)
        self._add(self.folders)
        self.echo = ""
        self.echo_error = False
        self.mb_active = False
        self.mb_prompt = ""
        self.mb_kind = ""
        self.mb_future: concurrent.futures.Future[str] | None = None
        self.isearch: dict[str, Any] | None = None
        self.reading_key: list[str] | None = None
        self.key_future: concurrent.futures.Future[tuple[str, ...]] | None = None
        self.running_command: str | None = None
        self.active_runs: set[int] = set()  # commands queued or running on the command thread
        self.detach_mark = 0  # runs up to this one were let go by C-g: keys no longer wait for them
        self._run_ids = iter(range(1, 1 << 62))
        self.typeahead: list[Any] = []  # keys pressed while a command ran, replayed after it
        self.pending = 0
        self.lock = threading.Lock()
        self.worker = concurrent.futures.ThreadPoolExecutor(1, "pigeon-command")
        self.pool = concurrent.futures.ThreadPoolExecutor(2, "pigeon-background")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.watch = watch
        self._watchers: list[Any] = []
        self._dir_mtimes: dict[int, tuple[float, float]] = {}
        self._segments: tuple[float, str] = (0.0, "")
        self.sync_state = ""
        self.stopping = threading.Event()  # set on exit: long background work gives up
        self._assess_queue: list[Any] = []
        self._assessing = False
        self._prefetching_rows = False
        self._tag_index: Any = False  # not looked for yet
        self._reporter = self._on_plugin_error
        app.pm.reporters.append(self._reporter)
        for err in list(app.pm.errors):
            self._log_error(err.line(), err.traceback)
        self.application = build_application(self, input=input, output=output)
        RUNNING.add(self)
        self._load_folders()

    # ================================================================== threads

    def on_loop(self) -> bool:
        return self.loop is None or threading.get_ident() == self.loop_thread

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the event loop and return its result (directly when already there)."""
        if self.on_loop():
            result = fn(*args, **kwargs)
            self.invalidate()
            return result
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                fut.set_exception(exc)
            self.invalidate()

        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError:  # the client is gone
            raise CommandError("the client has exited") from None
        return fut.result()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the event loop later (from any thread)."""
        if self.loop is None:
            fn(*args)
            return

        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:
                self._log_error(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            self.invalidate()

        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop has closed: the client is exiting
            pass

    def spawn(self, fn: Callable[[], Any], then: Callable[[Any], None] | None = None, what: str = "") -> None:
        """Run ``fn`` in the background pool; ``then(result)`` runs on the loop afterwards."""
        with self.lock:
            self.pending += 1

        def work() -> None:
            try:
                result = fn()
            except Exception as exc:
                self.post(self._log_error, f"{what or 'background task'} failed: {type(exc).__name__}: {exc}", traceback.format_exc())
            else:
                if then is not None:
                    self.post(then, result)
            finally:
                with self.lock:
                    self.pending -= 1
                self.invalidate()

        self.pool.submit(work)

    def in_terminal(self, func: Callable[[], Any]) -> Any:
        """Suspend the screen, run ``func`` (an editor) in the terminal, then redraw."""
        from prompt_toolkit.application import run_in_terminal

        if self.loop is None:
            return func()

        async def go() -> Any:
            return await run_in_terminal(func, in_executor=True)

        return asyncio.run_coroutine_threadsafe(go(), self.loop).result()

    def invalidate(self) -> None:
        try:
            self.application.invalidate()
        except Exception:
            pass

    def idle(self) -> bool:
        """Nothing queued or running (tests wait for this)."""
        return self.pending == 0 and not self.mb_active and self.reading_key is None

    # ================================================================== messages and echo

    def message(self, text: str, error: bool = False) -> None:
        """Show a line in the echo area and keep it in *Messages* (like Emacs's ``message``)."""
        line = sanitize_line(text)
        self.echo = line
        self.echo_error = error
        self.messages.append(line)

    def _log_error(self, line: str, tb: str = "") -> None:
        self.messages.append(time.strftime("[%H:%M:%S] ") + line)
        if tb:
            self.messages.append(tb.rstrip())
        self.echo = sanitize_line(line) + "  (C-h e: *Messages*)"
        self.echo_error = True

    def _on_plugin_error(self, error: Any) -> None:
        if self.on_loop():
            self._log_error(error.line(), error.traceback)
            self.invalidate()
        else:
            self.post(self._log_error, error.line(), error.traceback)

    # ================================================================== buffers and windows

    @property
    def current(self) -> Buffer:
        return self.tree.current.buffer

    @property
    def mode(self) -> str:
        return self.current.mode

    def _add(self, buf: Buffer) -> None:
        if buf in self.buffers:
            self.buffers.remove(buf)
        self.buffers.insert(0, buf)

    def show(self, buf: Buffer) -> None:
        """Show ``buf`` in the current window."""
        self._add(buf)
        self.tree.current.buffer = buf
        self.tree.version += 1
        self.sync_focus()

    def buffer_named(self, name: str) -> Buffer | None:
        return next((b for b in self.buffers if b.name == name), None)

    def other_buffer(self, exclude: Buffer) -> Buffer:
        shown = {p.buffer for p in self.tree.panes()}
        for b in self.buffers:
            if b is not exclude and b not in shown:
                return b
        return next((b for b in self.buffers if b is not exclude), self.folders)

    def bury(self, buf: Buffer | None = None) -> None:
        buf = buf or self.current
        nxt = self.other_buffer(buf)
        self.buffers.remove(buf)
        self.buffers.append(buf)
        for pane in self.tree.showing(buf):
            pane.buffer = nxt
        self.tree.version += 1
        self.sync_focus()

    def kill(self, buf: Buffer) -> None:
        if buf is self.messages or buf is self.folders:
            self.bury(buf)
            return
        nxt = self.other_buffer(buf)
        for pane in self.tree.showing(buf):
            pane.buffer = nxt
        self.buffers.remove(buf)
        if isinstance(buf, MessageListBuffer):
            buf.listing.cache.save()
        self.tree.version += 1
        self.sync_focus()

    def show_text(self, name: str, text: str, kind: str = "help") -> TextBuffer:
        buf = self.buffer_named(name)
        if not isinstance(buf, TextBuffer) or isinstance(buf, MessageBuffer):
            buf = TextBuffer(name)
        buf.kind = kind
        buf.set_text(text)
        buf.cursor = buf.top = 0
        panes = self.tree.panes()
        if kind in ("help", "table") and len(panes) > 1 and self.tree.current.buffer is not buf:
            # as Emacs does: help goes to another window, the focus stays
            target = next((p for p in panes if p.buffer is buf), None) or panes[(panes.index(self.tree.current) + 1) % len(panes)]
            target.buffer = buf
            self._add(buf)
            self.tree.version += 1
            self.sync_focus()
            return buf
        self.show(buf)
        return buf

    def sync_focus(self) -> None:
        from pigeon.plugins.tui.layout import focus_current

        focus_current(self)

    # ================================================================== mode line

    def status_segments(self) -> str:
        now = time.monotonic()
        if now - self._segments[0] > 2:
            try:
                results = self.app.pm.hook.pigeon_status_segments(app=self.app)
            except Exception:
                results = []
            texts = [sanitize_line(s.text) for r in results or [] for s in (r or [])]
            self._segments = (now, "  ".join(texts))
        return self._segments[1]

    # ================================================================== live configuration

    def reload_user_file(self, path: Path) -> None:
        from pigeon.core.pluginmanager import reload_user_file

        ok = reload_user_file(self.app.pm, path)
        self.app.reload_commands()
        from pigeon.plugins.tui.keys import refresh_key_bindings

        refresh_key_bindings(self)
        self.message(f"reloaded {path.name}" if ok else f"{path.name} has errors; the previous definitions stay (C-h e)", not ok)

    def _start_watchers(self) -> None:
        from pigeon.plugins.tui.watch import start_config_watcher

        try:
            watcher = start_config_watcher(self)
            if watcher is not None:
                self._watchers.append(watcher)
        except Exception as exc:
            self._log_error(f"cannot watch the config directory: {exc}", traceback.format_exc())
        try:
            from pigeon.core.watch import MaildirWatcher
        except ImportError:
            return  # the 1-second poll of open folders still sees new mail
        for acct in self.accounts():
            try:
                watcher = MaildirWatcher(get_store(self.app, acct), self._mail_callback(acct.name))
                watcher.start()
                self._watchers.append(watcher)
            except Exception as exc:
                self._log_error(f"cannot watch {acct.name}'s Maildir: {exc}", traceback.format_exc())

    def _mail_callback(self, account: str) -> Any:
        """The open views follow the Maildir, and so do the automation hooks (flags changed,
        removed, folder changed; the search index follows them). Not arrivals: the sync that
        downloads a message fires its arrival, whichever process runs it."""
        from pigeon.core.events import StoreEventBridge, tee

        return tee(functools.partial(self._mail_event, account), StoreEventBridge(self.app.pm, account, arrivals=False))

    def _mail_event(self, account: str, kind: str, entry: Any, old: Any) -> None:
        """From the Maildir watcher's thread: another program (or sync) changed a folder."""

        def apply() -> None:
            for buf in list(self.buffers):
                if not (isinstance(buf, MessageListBuffer) and buf.account == account and buf.listing.loaded):
                    continue
                if kind == "flags" and buf.folder == entry.folder:
                    if Path(entry.path).name not in buf.listing.names:  # not our own change
                        buf.listing.refresh_row(entry.key, Path(entry.path))
                elif buf.folder in (entry.folder, getattr(old, "folder", None)) and buf.name.endswith("]"):
                    if self._folder_mtimes(buf) != self._dir_mtimes.get(id(buf)):
                        self._dir_mtimes[id(buf)] = self._folder_mtimes(buf)
                        self.rescan(buf)

        self.post(apply)

    async def _poll_mail(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self.check_new_mail()
            except Exception as exc:
                self._log_error(f"checking for new mail: {exc}", traceback.format_exc())

    # ================================================================== run

    def start_view(self) -> None:
        opts = self.app.options
        folder = opts.initial_folder
        accts = self.accounts()
        if not accts:
            self.message("no account configured: see `pigeon setup`, or try `pigeon demo`")
            return
        acct = self.app.account()
        if folder is None:
            names = {f for a, f in self.folders.entries if a == acct.name}
            folder = next((f for f in (acct.folder("inbox"), "INBOX", "") if f in names), None)
        if folder is not None:
            self.open_folder(acct.name, folder)
        self.message("pigeon: C-h b for the keys, M-x for every command, C-x C-c to quit")

    async def run_async(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        if self.watch:
            self._start_watchers()
        poller = self.loop.create_task(self._poll_mail())
        from pigeon.plugins.tui.commands_journal import deliver_loop

        deliverer = self.loop.create_task(deliver_loop(self))  # held and send-later messages
        self.start_view()
        try:
            result = await self.application.run_async()
        finally:
            poller.cancel()
            deliverer.cancel()
            self.close()
        return int(result or 0)

    def run(self) -> int:
        return asyncio.run(self.run_async())

    def exit(self, status: int = 0) -> None:
        if self.application.is_running:
            self.application.exit(result=status)

    def close(self) -> None:
        RUNNING.discard(self)
        self.stopping.set()
        # a command waiting for an answer must not keep the process alive
        for fut in (self.mb_future, self.key_future):
            if fut is not None and not fut.done():
                fut.set_exception(Quit())
        if self._tag_index not in (False, None):
            try:
                self._tag_index.close()
            except Exception:
                pass
        for w in self._watchers:
            try:
                w.stop()
            except Exception:
                pass
        self._watchers.clear()
        for b in self.buffers:
            if isinstance(b, MessageListBuffer):
                try:
                    b.listing.cache.save()
                except OSError:
                    pass
        if self._reporter in self.app.pm.reporters:
            self.app.pm.reporters.remove(self._reporter)
        self.worker.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if getattr(self.app, "ui", None) is self:
            self.app.ui = None


def ui_of(ctx: CommandContext) -> TUI:
    """The running full-screen client of a command, or a CommandError in ``pigeon shell``."""
    ui = ctx.ui
    if not isinstance(ui, TUI):
        raise CommandError("this command needs the full-screen client")
    return ui


__all__ = ["TUI", "Quit", "ui_of", "ComposeBuffer"]
