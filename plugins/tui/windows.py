"""The client's windows as plain objects: panes, each showing one buffer, and the split tree
that arranges them (pyvim's split). ``layout.py`` draws the tree; nothing here imports
prompt_toolkit. Re-exported by ``model.py``, the home of the buffers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pigeon.plugins.tui.model import Buffer


class Pane:
    """A window showing one buffer."""

    _next = 0

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer
        Pane._next += 1
        self.id = Pane._next


class Split:
    """Panes side by side (``vertical``: C-x 3) or stacked (C-x 2)."""

    def __init__(self, vertical: bool, children: list[Any]) -> None:
        self.vertical = vertical
        self.children = children


class WindowTree:
    """The split tree and which pane has the focus."""

    def __init__(self, buffer: Buffer) -> None:
        self.root: Pane | Split = Pane(buffer)
        self.current: Pane = self.root  # type: ignore[assignment]
        self.version = 0

    def panes(self) -> list[Pane]:
        out: list[Pane] = []

        def walk(node: Pane | Split) -> None:
            if isinstance(node, Pane):
                out.append(node)
            else:
                for c in node.children:
                    walk(c)

        walk(self.root)
        return out

    def _parent(self, target: Pane | Split) -> Split | None:
        def walk(node: Pane | Split) -> Split | None:
            if isinstance(node, Split):
                for c in node.children:
                    if c is target:
                        return node
                    found = walk(c)
                    if found:
                        return found
            return None

        return walk(self.root)

    def split(self, vertical: bool) -> Pane:
        new = Pane(self.current.buffer)
        parent = self._parent(self.current)
        if parent is not None and parent.vertical == vertical:
            parent.children.insert(parent.children.index(self.current) + 1, new)
        else:
            node = Split(vertical, [self.current, new])
            if parent is None:
                self.root = node
            else:
                parent.children[parent.children.index(self.current)] = node
        self.version += 1
        return new

    def other(self, n: int = 1) -> Pane:
        panes = self.panes()
        self.current = panes[(panes.index(self.current) + n) % len(panes)]
        return self.current

    def only(self) -> None:
        self.root = self.current
        self.version += 1

    def delete(self) -> bool:
        parent = self._parent(self.current)
        if parent is None:
            return False
        i = parent.children.index(self.current)
        parent.children.pop(i)
        if len(parent.children) == 1:
            grand = self._parent(parent)
            survivor = parent.children[0]
            if grand is None:
                self.root = survivor
            else:
                grand.children[grand.children.index(parent)] = survivor
        self.current = self.panes()[max(0, min(i, len(self.panes()) - 1))]
        self.version += 1
        return True

    def showing(self, buffer: Buffer) -> list[Pane]:
        return [p for p in self.panes() if p.buffer is buffer]
