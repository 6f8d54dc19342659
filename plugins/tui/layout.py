"""Drawing the state: windows from the split tree, a mode line each, the minibuffer, the styles."""

from __future__ import annotations

from typing import Any

from pigeon.plugins.tui.model import (
    ComposeBuffer,
    MessageBuffer,
    MessageListBuffer,
    Pane,
    Split,
    TextBuffer,
)
from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer as PTBuffer
from prompt_toolkit.completion import DynamicCompleter, ThreadedCompleter
from prompt_toolkit.filters import Condition
from prompt_toolkit.layout import (
    ConditionalContainer,
    DynamicContainer,
    Float,
    FloatContainer,
    HSplit,
    Layout,
    VSplit,
    Window,
)
from prompt_toolkit.layout.containers import Container
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl, UIContent, UIControl
from prompt_toolkit.layout.menus import CompletionsMenu
from prompt_toolkit.layout.processors import BeforeInput, ConditionalProcessor, PasswordProcessor
from prompt_toolkit.styles import Style

STYLE = Style.from_dict(
    {
        "modeline": "reverse",
        "modeline.active": "bold",
        "modeline.inactive": "fg:ansibrightblack",
        "cursor-line": "reverse",
        "unread": "bold",
        "flags": "",
        "date": "fg:ansicyan",
        "sender": "",
        "subject": "",
        "tags": "fg:ansiyellow",
        "warning": "fg:ansired bold",
        "quote": "fg:ansigreen",
        "header-name": "bold",
        "header-value": "",
        "heading": "bold underline",
        "search-hit": "bg:ansiyellow fg:ansiblack",
        "echo.error": "fg:ansired",
        "mb-prompt": "bold",
        "separator": "reverse",
    }
)


class ModelControl(UIControl):
    """Draws only the rows a window shows, so a 100,000-line list costs what a screen costs."""

    def __init__(self, tui: Any, pane: Pane) -> None:
        self.tui = tui
        self.pane = pane

    def is_focusable(self) -> bool:
        return True

    def create_content(self, width: int, height: int) -> UIContent:
        buf = self.pane.buffer
        buf.width = width
        if isinstance(buf, TextBuffer) and buf.kind in ("help", "output"):
            buf.wrap(width - 1)
        if (
            isinstance(buf, MessageBuffer)
            and self.pane is self.tui.tree.current  # two windows on one message must not take turns
            and buf.rendered_width
            and buf.rendered_width != self.tui.view_width(width)
        ):
            self.tui.render_into(buf, width, keep_place=True)  # the terminal was resized
        buf.scroll_into_view(height)
        top = buf.top
        count = max(0, min(height, buf.line_count() - top))
        hit = buf.search_hit
        active = self.pane is self.tui.tree.current
        lines = []
        for i in range(count):
            idx = top + i
            try:
                frags = list(buf.line(idx, width))
            except Exception as exc:  # one broken row must not take the screen down
                frags = [("class:warning", f"[cannot show this line: {type(exc).__name__}]")]
            if hit is not None and hit[0] == idx:
                frags = _highlight(frags, hit[1], hit[2])
            if buf.highlight_cursor and idx == buf.cursor:
                used = sum(len(t) for _, t in frags)
                style = " class:cursor-line" if active else " underline"
                frags = [(s + style, t) for s, t in frags] + [(style, " " * max(0, width - used))]
            lines.append(frags)
        if isinstance(buf, MessageListBuffer) and buf.threaded is None:
            # the next screenful (and the previous) are read in the background meanwhile
            self.tui.prefetch_summaries(buf, top + height, top + 2 * height)
            self.tui.prefetch_summaries(buf, max(0, top - height), top)
        return UIContent(get_line=lambda i: lines[i], line_count=count, show_cursor=False)


def _highlight(frags: list[tuple[str, str]], start: int, end: int) -> list[tuple[str, str]]:
    out = []
    pos = 0
    for style, text in frags:
        a, b = pos, pos + len(text)
        if b <= start or a >= end:
            out.append((style, text))
        else:
            s, e = max(start, a) - a, min(end, b) - a
            out.extend([(style, text[:s]), (style + " class:search-hit", text[s:e]), (style, text[e:])])
        pos = b
    return out


class Windows:
    """Builds (and caches) the prompt_toolkit containers for the split tree."""

    def __init__(self, tui: Any) -> None:
        self.tui = tui
        self.key: Any = None
        self.container: Container | None = None
        self.windows: dict[int, Window] = {}
        self.controls: dict[tuple[int, int], Any] = {}

    def get(self) -> Container:
        tree = self.tui.tree
        key = (tree.version, tuple((p.id, id(p.buffer)) for p in tree.panes()))
        if key != self.key or self.container is None:
            self.key = key
            self.windows = {}
            self.container = self._build(tree.root)
        return self.container

    def _pane(self, pane: Pane) -> Container:
        buf = pane.buffer
        ckey = (pane.id, id(buf))
        if isinstance(buf, ComposeBuffer):
            if buf.editor is None:
                buf.editor = make_compose_editor(self.tui, buf)
            control = self.controls.get(ckey) or BufferControl(buffer=buf.editor)
            window = Window(control, wrap_lines=True)
        else:
            control = self.controls.get(ckey) or ModelControl(self.tui, pane)
            window = Window(control, wrap_lines=False, always_hide_cursor=True)
        self.controls[ckey] = control
        self.windows[pane.id] = window

        def mode_style() -> str:
            return "class:modeline " + ("class:modeline.active" if pane is self.tui.tree.current else "class:modeline.inactive")

        modeline = Window(FormattedTextControl(lambda: modeline_text(self.tui, pane)), height=1, style=mode_style)
        return HSplit([window, modeline])

    def _build(self, node: Pane | Split) -> Container:
        if isinstance(node, Pane):
            return self._pane(node)
        children = [self._build(c) for c in node.children]
        if node.vertical:
            parts: list[Container] = []
            for i, c in enumerate(children):
                if i:
                    parts.append(Window(width=1, char="│", style="class:separator"))
                parts.append(c)
            return VSplit(parts)
        return HSplit(children)


def modeline_text(tui: Any, pane: Pane) -> list[tuple[str, str]]:
    try:
        return _modeline_text(tui, pane)
    except Exception as exc:  # the mode line must never take the screen down
        return [("", f"-- {pane.buffer.name}  [mode line: {type(exc).__name__}]")]


def _modeline_text(tui: Any, pane: Pane) -> list[tuple[str, str]]:
    buf = pane.buffer
    acct = getattr(buf, "account", "") or ""
    modified = "**" if isinstance(buf, ComposeBuffer) and buf.editor is not None and buf.editor.text != buf.initial_text else "--"
    running = f"  [{tui.running_command}]" if tui.running_command else ""
    segs = tui.status_segments()
    sync = f"  {tui.sync_state}" if tui.sync_state else ""
    text = f"-{modified}- {buf.name}  ({buf.mode})  {buf.modeline_info()}  {acct}{sync}{running}  {segs}"
    return [("", text)]


def make_compose_editor(tui: Any, buf: ComposeBuffer) -> PTBuffer:
    from pigeon.plugins.tui.completion import ComposeCompleter

    return PTBuffer(
        multiline=True,
        completer=ThreadedCompleter(ComposeCompleter(tui)),
        complete_while_typing=False,
        name=buf.name,
        document=_doc(buf.initial_text),
    )


def _doc(text: str) -> Any:
    from prompt_toolkit.document import Document

    # the cursor starts on the first empty header (To: of a new message) or the body
    pos = len(text)
    for line_start, line in _lines_with_offsets(text):
        if line == "":
            pos = line_start + 1 if line_start + 1 <= len(text) else line_start
            break
        if line.endswith(": ") or line.endswith(":"):
            pos = line_start + len(line)
            break
    return Document(text, min(pos, len(text)))


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def echo_fragments(tui: Any) -> list[tuple[str, str]]:
    pending = tui.application.key_processor.key_buffer
    if pending and tui.reading_key is None:
        from pigeon.core.keymap import format_keys
        from prompt_toolkit.keys import Keys

        keys = [kp.key.value if isinstance(kp.key, Keys) else kp.key for kp in pending]
        return [("", format_keys(keys) + "-")]  # a prefix typed, as Emacs echoes it
    return [("class:echo.error" if tui.echo_error else "", tui.echo)]


def _isearch_changed(tui: Any) -> None:
    if tui.isearch is None:
        return
    try:
        tui.isearch_update()
    except Exception as exc:  # a line that cannot be read must not end the search, or the client
        import traceback

        tui._log_error(f"search: {type(exc).__name__}: {exc}", traceback.format_exc())


def build_application(tui: Any, input: Any = None, output: Any = None) -> Application[Any]:
    from pigeon.plugins.tui.keys import dynamic_key_bindings

    tui.mb_completer = None
    tui.mb = PTBuffer(
        multiline=False,
        completer=ThreadedCompleter(DynamicCompleter(lambda: tui.mb_completer)),
        complete_while_typing=Condition(lambda: tui.mb_kind in ("command", "buffer", "folder")),
        on_text_changed=lambda _: _isearch_changed(tui),
    )
    tui.mb_window = Window(
        BufferControl(buffer=tui.mb, input_processors=[
            # ask_secret: the passphrase is drawn as stars (prompt_toolkit's is_password); first,
            # so that the prompt itself stays readable
            ConditionalProcessor(PasswordProcessor(), filter=Condition(lambda: tui.mb_kind == "secret")),
            BeforeInput(lambda: [("class:mb-prompt", tui.mb_prompt)]),
        ]),
        height=1,
    )
    tui.windows = Windows(tui)
    active = Condition(lambda: tui.mb_active)
    body = HSplit(
        [
            DynamicContainer(tui.windows.get),
            ConditionalContainer(tui.mb_window, filter=active),
            ConditionalContainer(Window(FormattedTextControl(lambda: echo_fragments(tui)), height=1), filter=~active),
        ]
    )
    root = FloatContainer(
        body,
        floats=[Float(xcursor=True, ycursor=True, content=CompletionsMenu(max_height=12, scroll_offset=1))],
    )
    app: Application[Any] = Application(
        layout=Layout(root),
        key_bindings=dynamic_key_bindings(tui),
        style=STYLE,
        full_screen=True,
        mouse_support=False,
        input=input,
        output=output,
    )
    app.ttimeoutlen = 0.05  # ESC then a key within 50 ms is Meta; a lone ESC is not laggy
    app.timeoutlen = 2.0
    return app


def focus_current(tui: Any) -> None:
    """Give the keyboard to the minibuffer when it is reading, else to the current window."""
    app = tui.application
    try:
        if tui.mb_active:
            app.layout.focus(tui.mb_window)
            return
        tui.windows.get()
        window = tui.windows.windows.get(tui.tree.current.id)
        if window is not None:
            app.layout.focus(window)
    except ValueError:
        pass
