"""Making a batch of new files durable at once, before anything points at them.

A sync writes each downloaded message to ``tmp/`` and may link it into ``cur/`` or ``new/``
(and record it in the state) only once its bytes are on disk. An ``fsync`` per file costs a
journal commit each (ext4 groups only those in flight together), which is most of a first
sync's time. A :class:`Barrier` is opened on the directory *before* the batch is written;
:meth:`Barrier.wait` then makes the whole batch durable with one ``syncfs(2)``: the file
system's dirty data written back and one commit. Linux reports writeback errors to
``syncfs`` only from 5.8 on, and only those since the descriptor was opened, hence the
kernel check and the early open. ``syncfs`` is used only on local file systems known to
write everything back and commit on it (ext4, XFS, Btrfs, F2FS, tmpfs): on FUSE (sshfs,
gocryptfs) or a network file system it may return before the data is safe. Elsewhere (another
OS, an older kernel, another file system, no ``syncfs`` in the C library) each file is
fsynced, as before.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

_syncfs: Any = None  # the C library's syncfs once looked up, False where it cannot be used
TRUSTED = frozenset({"ext4", "ext3", "xfs", "btrfs", "f2fs", "tmpfs"})


def _kernel_reports_errors() -> bool:
    """Linux 5.8 or later: ``syncfs`` returns writeback errors (it used to return 0 always)."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except (ValueError, AttributeError):
        return False
    return (major, minor) >= (5, 8)


def _lookup() -> Any:
    global _syncfs
    if _syncfs is None:
        _syncfs = False
        if sys.platform.startswith("linux") and _kernel_reports_errors():
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).syncfs  # the GIL is released while it runs
                fn.argtypes = [ctypes.c_int]
                _syncfs = fn
            except (OSError, AttributeError):
                pass
    return _syncfs


def fs_type(dev: int) -> str:
    """The type of the file system whose device is ``dev`` (an ``st_dev``), or "". Read each
    time, not cached: an unmounted tmpfs's device number may come back as a FUSE mount's."""
    want = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and fields[2] == want and "-" in fields:
                    return fields[fields.index("-") + 1]
    except OSError:
        pass
    return ""


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync one file or directory by its path."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Barrier:
    """Open on the directory the batch's files are written to, before writing them."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.fd: int | None = None
        if _lookup():
            try:
                self.fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                return
            if fs_type(os.fstat(self.fd).st_dev) not in TRUSTED:
                self.close()

    def wait(self, paths: Iterable[str], run: Callable[[Callable[[str], None], list[str]], Any] | None = None) -> None:
        """Make ``paths`` (written in the directory since the barrier was opened) durable;
        raises ``OSError`` when the file system reports a write that failed. ``run(fn,
        items)`` runs the per-file fsyncs of the fallback in parallel, when given."""
        paths = list(paths)
        if not paths:
            return
        if self.fd is not None:
            import ctypes

            if _syncfs(self.fd) == 0:
                return
            err = ctypes.get_errno()
            if err not in (errno.ENOSYS, errno.EINVAL):
                raise OSError(err, f"writing to disk failed: {os.strerror(err)}")
        if run is not None and len(paths) > 1:
            run(fsync_path, paths)
        else:
            for p in paths:
                fsync_path(p)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Barrier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
