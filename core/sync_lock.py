"""One sync of an account at a time, across processes.

Two syncs of one account running at once each see the other's work as news: the files one
downloads look to the other like messages written here, and go back up as duplicates; the
state each commits describes only what it did. A cron job's ``pigeon sync`` beside ``pigeon
watch`` or a second terminal is enough. So a sync holds an exclusive ``flock`` on
``sync/<account>.lock`` beside the account's state while it runs (mbsync and offlineimap lock
theirs too). The kernel drops the lock when its process ends, however it ends, so a sync killed
with -9 leaves nothing to clean up. The file names the holder (its pid and command) for the
message of whoever waits.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pigeon.core.errors import PigeonError


class SyncBusy(PigeonError):
    """Another sync of the account held its lock for longer than this one would wait."""


def lock_path(state_file: Path) -> Path:
    """The lock beside an account's state file (``sync/<account>.sqlite``)."""
    return Path(state_file).with_suffix(".lock")


def waiting_line(account: str, holder: str) -> str:
    """What a sync says while another sync of its account holds the lock."""
    return f"{account}: waiting for another sync of this account ({holder or 'another process'})"


def _command() -> str:
    words = [os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python", *sys.argv[1:2]]
    return " ".join(w for w in words if w and not w.startswith("-"))


class AccountLock:
    """The sync lock of one account: :meth:`acquire` waits for it, :meth:`release` frees it."""

    POLL = 0.05

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (``"pid 1234: pigeon watch"``), or ``""``."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return ""
        pid, _, command = text.partition(" ")
        return f"pid {pid}: {command}" if pid.isdigit() and command else (f"pid {pid}" if pid.isdigit() else "")

    def acquire(self, wait: float, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds for another sync to finish;
        ``on_wait(holder)`` is called once if it has to wait. Raises ``SyncBusy`` after that."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                if not told:
                    told = True
                    if on_wait is not None:
                        on_wait(self.holder())
                if time.monotonic() >= deadline:
                    held = self.holder()
                    raise SyncBusy(f"another sync of this account ({held or 'another process'}) is still running;"
                                   f" gave up waiting after {wait:g}s ([sync] lock_wait)")
                time.sleep(self.POLL)
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for a sync that has to wait: written after the lock is ours.
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {_command()}\n".encode(), 0)
        except OSError:
            pass  # only the waiting message loses its detail
        self._fd = fd

    def release(self) -> None:
        """Free the lock (closing the file is what releases a ``flock``)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
