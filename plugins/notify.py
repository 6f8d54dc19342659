"""Built-in plugin: notifications. Desktop notifications through ``notify-send`` where there is
a graphical session, else the terminal bell; the last one also shows in the mode line.
Quiet hours (``notify.quiet_hours = "22:00-07:00"``) hold back all but critical ones.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from pigeon.hooks.types import Notification, SettingsRegistry, StatusSegment

STATUS_SECONDS = 60  # how long the last notification stays in the mode line

_state: dict[str, Any] = {"config": None, "last": None}


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add("notify.enabled", bool, True, "Tell the user about new mail and failures outside the message view.")
    settings.add("notify.desktop", bool, True, "Use desktop notifications (notify-send) when a graphical session is there.")
    settings.add("notify.bell", bool, True, "Ring the terminal bell when there is no desktop notification.")
    settings.add("notify.quiet_hours", str, "", 'Hold notifications back in these hours, e.g. "22:00-07:00" (critical ones still ring).')


@hookimpl
def pigeon_configure(config: Any) -> None:
    _state["config"] = config


def _setting(name: str, default: Any) -> Any:
    config = _state["config"]
    return config.get(name, default) if config is not None else default


def in_quiet_hours(spec: str, now: datetime | None = None) -> bool:
    """True when ``now`` falls in ``HH:MM-HH:MM`` (which may wrap past midnight)."""
    if not spec or "-" not in spec:
        return False
    try:
        start_s, end_s = (p.strip() for p in spec.split("-", 1))
        sh, sm = (int(x) for x in start_s.split(":"))
        eh, em = (int(x) for x in end_s.split(":"))
    except ValueError:
        return False
    now = now or datetime.now()
    minute = now.hour * 60 + now.minute
    start, end = sh * 60 + sm, eh * 60 + em
    return start <= minute < end if start <= end else (minute >= start or minute < end)


def _desktop(note: Notification, title: str, body: str) -> bool:
    if not _setting("notify.desktop", True):
        return False
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import shutil
    import subprocess  # here, not at the top: every command imports this plugin

    exe = shutil.which("notify-send")
    if exe is None:
        return False
    try:
        res = subprocess.run(
            [exe, "--app-name=pigeon", "-u", note.urgency, "--", title, body],
            capture_output=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def _bell() -> None:
    if not _setting("notify.bell", True):
        return
    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\a")
    except OSError:
        if sys.stderr.isatty():
            sys.stderr.write("\a")
            sys.stderr.flush()


@hookimpl(trylast=True)
def pigeon_notify(note: Notification) -> None:
    from pigeon.core.sanitize import sanitize_line

    if not _setting("notify.enabled", True):
        return
    if note.urgency != "critical" and in_quiet_hours(_setting("notify.quiet_hours", "")):
        return
    title = sanitize_line(note.title)[:200]
    body = sanitize_line(note.body)[:500]
    _state["last"] = (time.time(), title, body, note.urgency)
    if not _desktop(note, title, body):
        _bell()


@hookimpl
def pigeon_status_segments(app: Any) -> list[StatusSegment] | None:
    from pigeon.hooks.types import StatusSegment

    last = _state["last"]
    if not last or time.time() - last[0] > STATUS_SECONDS:
        return None
    _, title, body, urgency = last
    text = f"{title}: {body}" if body else title
    return [StatusSegment(text[:80], "notify.critical" if urgency == "critical" else "notify")]
