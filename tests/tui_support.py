"""Helpers for the client's tests: a small real Maildir, a configured account, and a driver
that runs the full-screen Application on prompt_toolkit's pipe input and a dummy output."""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

SENDERS = [("Alice Liddell", "alice@example.org"), ("Bob Marley", "bob@example.net"), ("Carol Danvers", "carol@example.com")]


def make_message(n: int, subject: str = "", sender: tuple[str, str] | None = None, parent: str = "", body: str = "", when: float | None = None, attachment: bool = False) -> EmailMessage:
    msg = EmailMessage()
    name, addr = sender or SENDERS[n % len(SENDERS)]
    msg["From"] = email.utils.formataddr((name, addr))
    msg["To"] = "Me <me@example.org>"
    msg["Subject"] = subject or f"Message number {n}"
    msg["Date"] = email.utils.formatdate(when or (1_700_000_000 + n * 60), localtime=False)
    msg["Message-ID"] = f"<msg{n}@example.org>"
    if parent:
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    msg.set_content(body or f"Hello, this is message {n}.\nSecond line of message {n}.\n")
    if attachment:
        msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="report.pdf")
    return msg


def write_maildir(root: Path, folders: dict[str, list[EmailMessage]], seen: bool = False) -> None:
    for folder, messages in folders.items():
        base = root / folder if folder else root
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        for i, msg in enumerate(messages):
            ts = 1_700_000_000 + i * 60
            name = f"{ts}.M{i}P{os.getpid()}.test"
            flags = "S" if seen else ""
            (base / "cur" / f"{name}:2,{flags}").write_bytes(msg.as_bytes())


def configure(config_dir: Path, maildir: Path, extra: str = "") -> None:
    (config_dir / "config.toml").write_text(
        f'[accounts.test]\naddress = "me@example.org"\nreal_name = "Me Myself"\nmaildir = "{maildir}"\n{extra}'
    )


def standard_mailbox(tmp: Path) -> Path:
    root = tmp / "Mail"
    inbox = [make_message(i) for i in range(30)]
    inbox.append(make_message(30, subject="Re: Message number 3", parent="<msg3@example.org>", sender=SENDERS[0]))
    inbox.append(make_message(31, subject="With a file", attachment=True))
    write_maildir(root, {"INBOX": inbox, "Archive": [], "Trash": [], "Sent": [], "Drafts": []})
    return root


class Driver:
    """Runs a TUI on pipe input; ``keys()`` types and waits until the client is idle."""

    def __init__(self, app: Any) -> None:
        from pigeon.plugins.tui.ui import TUI
        from prompt_toolkit.input import create_pipe_input
        from prompt_toolkit.output import DummyOutput

        self._input_cm = create_pipe_input()
        self.input = self._input_cm.__enter__()
        self.tui = TUI(app, input=self.input, output=DummyOutput(), watch=False)
        self.task: asyncio.Task[int] | None = None

    async def start(self) -> Driver:
        self.task = asyncio.get_running_loop().create_task(self.tui.run_async())
        await self.settle()
        return self

    async def settle(self, timeout: float = 10.0, until: Any = None) -> None:
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            t = self.tui
            ok = self.input_drained() and (t.pending == 0 or t.mb_active or t.reading_key is not None) and (until is None or until())
            quiet = quiet + 1 if ok else 0
            if quiet >= 3:
                return
        raise AssertionError(f"the client did not settle: pending={self.tui.pending} echo={self.tui.echo!r}")

    def input_drained(self) -> bool:
        """Every byte typed has been read by the client and turned into handled key presses."""
        import fcntl
        import struct
        import termios

        raw = fcntl.ioctl(self.input.pipe.read_fd, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", raw)[0] == 0 and not self.tui.application.key_processor.input_queue

    async def keys(self, text: str, until: Any = None) -> None:
        self.input.send_text(text)
        await self.settle(until=until)

    def screen(self) -> str:
        """What the terminal shows, from the renderer's last screen."""
        self.tui.application.invalidate()
        screen = self.tui.application.renderer._last_screen
        if screen is None:
            return ""
        rows = []
        width = self.tui.application.output.get_size().columns
        for y in range(self.tui.application.output.get_size().rows):
            line = screen.data_buffer[y]
            rows.append("".join(line[x].char for x in range(width)).rstrip())
        return "\n".join(rows)

    async def stop(self) -> int:
        if self.tui.application.is_running:
            self.tui.exit(0)
        status = await asyncio.wait_for(self.task, 10) if self.task else 0
        self._input_cm.__exit__(None, None, None)
        return status
