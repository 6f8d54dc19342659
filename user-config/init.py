"""My pigeon init file: ~/.config/pigeon/init.py, loaded after every plugin, so it wins.

Like Emacs's init.el, it is an ordinary plugin: functions named after hooks, marked with
@hookimpl. If it fails to load, pigeon says so (`pigeon plugins` shows the error) and runs
without it. Edit it while pigeon runs and it is loaded again.
"""

from __future__ import annotations

import time
from pathlib import Path

from pigeon.hooks import hookimpl

STATE = {"log": None}


@hookimpl
def pigeon_configure(config):
    """Settings in code: also show the List-Id header above messages."""
    headers = config.settings["render.show_headers"]
    if "List-Id" not in headers:
        config.settings["render.show_headers"] = [*headers, "List-Id"]
    # where the arrival log goes (see pigeon_message_arrived below)
    from pigeon.core import paths

    STATE["log"] = paths.state_dir(config.get("state_dir") or None) / "arrivals.log"


# ---------------------------------------------------------------- a command, and a key for it


def count_unread(ctx, folder=""):
    """Print how many unread messages each folder of the current account holds."""
    store = ctx.app.store(ctx.account)
    folders = [folder] if folder else store.folders()
    for name in folders:
        unread = sum(1 for e in store.list(name) if "S" not in e.flags)
        ctx.print(f"{name or '(root)'}: {unread} unread")


@hookimpl
def pigeon_register_commands(register):
    register(count_unread)  # the command "count-unread" (M-x count-unread)


@hookimpl
def pigeon_register_keymaps(keymaps):
    # In the message list, C-c v runs count-unread; "g" keeps its built-in meaning.
    keymaps.bind("list", "C-c v", "count-unread")


# ---------------------------------------------------------------- reacting to an event


@hookimpl
def pigeon_message_arrived(message, ref):
    """Keep a log of arrivals: time, folder, sender and subject, one line each."""
    log = STATE["log"]
    if log is None:
        return
    sender = " ".join(str(message.get("From", "")).split())
    subject = " ".join(str(message.get("Subject", "")).split())
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M')}\t{ref.folder}\t{sender}\t{subject}\n")
