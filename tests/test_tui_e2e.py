"""End to end in a real terminal (tmux): ``pigeon demo`` starts, shows the list, opens a message,
quits with C-x C-c, and leaves the terminal as it found it. Then ``pigeon shell`` on a tty."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import REPO


class Tmux:
    def __init__(self, tmp: Path) -> None:
        self.socket = f"pigeon-test-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        script = f"export {exports}; {command}; echo EXITED:$?; sleep 30"
        self.run("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "sh", "-c", script)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def wait(self, pred: Callable[[str], bool], timeout: float = 45) -> str:  # generous: loaded CI machines
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if pred(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(tmp_path)
    yield t
    t.kill()


def _env(isolated_env: dict[str, Path]) -> dict[str, str]:
    return {
        "PIGEON_CONFIG_DIR": str(isolated_env["config"]),
        "PIGEON_STATE_DIR": str(isolated_env["state"]),
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }


def test_pigeon_demo_in_a_real_terminal(tmux: Tmux, isolated_env: dict[str, Path]) -> None:
    tmux.start(f"{shlex.quote(sys.executable)} -m pigeon.core.cli demo", _env(isolated_env))
    # the list fills in the background: wait for its rows, not only for the mode line
    screen = tmux.wait(lambda s: "INBOX [demo]" in s and "Your account has been limited" in s)
    assert "(list)" in screen
    tmux.keys("C-s")
    tmux.wait(lambda s: "I-search:" in s)
    tmux.keys("paypal", "Enter")
    tmux.wait(lambda s: "I-search" not in s)
    tmux.keys("Enter")
    screen = tmux.wait(lambda s: "(message)" in s and "invoice.pdf.exe" in s)
    assert "double extension" in screen
    tmux.keys("q")
    tmux.wait(lambda s: "INBOX [demo]" in s)
    # the demo is indexed: search speaks the query language there (in its own state directory)
    tmux.keys("M-x")
    tmux.wait(lambda s: "M-x" in s.splitlines()[-1])
    tmux.keys("search")
    tmux.wait(lambda s: "M-x search" in s)
    tmux.keys("Enter")
    tmux.wait(lambda s: "search query:" in s)
    tmux.keys("from:carla and subject:report", "Enter")
    screen = tmux.wait(lambda s: "message(s) match from:carla" in s)
    assert "2 message(s) match" in screen and "Quarterly report draft" in screen
    assert "Lunch tomorrow?" not in screen
    assert not (isolated_env["state"] / "index.sqlite").exists()  # not in the user's index
    tmux.keys("C-x", "C-c")
    screen = tmux.wait(lambda s: "EXITED:" in s)
    assert "EXITED:0" in screen
    assert "INBOX [demo]" not in screen and "(list)" not in screen  # the list went with the alternate screen
    assert tmux.run("display-message", "-p", "#{alternate_on}").strip() == "0"
    assert "Traceback" not in screen


def test_pigeon_shell_on_a_terminal_completes_and_keeps_history(tmux: Tmux, isolated_env: dict[str, Path], tmp_path: Path) -> None:
    from tui_support import configure, standard_mailbox

    configure(isolated_env["config"], standard_mailbox(tmp_path))
    tmux.start(f"{shlex.quote(sys.executable)} -m pigeon.core.cli shell", _env(isolated_env))
    tmux.wait(lambda s: "pigeon>" in s)
    tmux.keys("list Arc", "Tab")
    tmux.wait(lambda s: "list Archive" in s)
    tmux.keys("C-a", "C-k", "list INBOX 2", "Enter")
    tmux.wait(lambda s: "With a file" in s and "... 30 more" in s)
    tmux.keys("C-d")
    tmux.wait(lambda s: "EXITED:0" in s)
    history = (isolated_env["state"] / "shell_history").read_text()
    assert "list INBOX 2" in history
    assert REPO.exists()
