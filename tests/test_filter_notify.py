"""Notifications: the terminal bell (no desktop session here), quiet hours, the mode line."""

from __future__ import annotations

import os
import pty
import sys
from datetime import datetime
from pathlib import Path

from pigeon.core.app import App
from pigeon.hooks.types import Notification
from pigeon.plugins.notify import in_quiet_hours

CHILD = """
import sys
from pigeon.core.app import App
from pigeon.hooks.types import Notification
app = App.create(sys.argv[1], load_entrypoints=False)
app.pm.hook.pigeon_notify(note=Notification("New mail from Alice", "lunch?", sys.argv[2]))
print("done", flush=True)
"""


def _run_on_a_terminal(config_dir: Path, urgency: str = "normal") -> bytes:
    """Run a notification in a child whose controlling terminal is a pty; return what it showed."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execve(sys.executable, [sys.executable, "-c", CHILD, str(config_dir), urgency], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out


def test_bell_rings_on_the_terminal(config_dir: Path) -> None:
    out = _run_on_a_terminal(config_dir)
    assert b"done" in out
    assert b"\a" in out


def test_quiet_hours_hold_back_all_but_critical(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text('[notify]\nquiet_hours = "00:00-23:59"\n')
    now = datetime.now()
    if now.hour == 23 and now.minute == 59:  # the one minute outside the window
        return
    out = _run_on_a_terminal(config_dir)
    assert b"done" in out and b"\a" not in out
    out = _run_on_a_terminal(config_dir, "critical")
    assert b"\a" in out


def test_quiet_hours_window() -> None:
    assert in_quiet_hours("22:00-07:00", datetime(2026, 1, 1, 23, 30))
    assert in_quiet_hours("22:00-07:00", datetime(2026, 1, 1, 6, 59))
    assert not in_quiet_hours("22:00-07:00", datetime(2026, 1, 1, 7, 0))
    assert in_quiet_hours("12:00-13:00", datetime(2026, 1, 1, 12, 30))
    assert not in_quiet_hours("", datetime(2026, 1, 1, 12, 30))
    assert not in_quiet_hours("nonsense", datetime(2026, 1, 1, 12, 30))


def test_last_notification_in_the_mode_line(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text("[notify]\nbell = false\n")
    app = App.create(config_dir, load_entrypoints=False)
    app.pm.hook.pigeon_notify(note=Notification("New mail from \x1b[31mEve", "hi"))
    segments = [s for r in app.pm.hook.pigeon_status_segments(app=app) for s in (r or [])]
    assert [s.text for s in segments] == ["New mail from Eve: hi"]
