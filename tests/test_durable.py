"""Making a batch of new files durable together (pigeon.core.durable), on real files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from pigeon.core import durable


def _written(d: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        p = d / f"m{i}"
        p.write_bytes(b"x" * 1000)
        paths.append(str(p))
    return paths


def test_one_syncfs_on_a_linux_that_reports_its_errors(tmp_path: Path) -> None:
    """Linux 5.8 and later: the barrier holds a descriptor opened before the writes (so the
    errors of their write-back reach it) and makes the batch durable in one call."""
    if not sys.platform.startswith("linux") or not durable._kernel_reports_errors():  # noqa: SLF001
        pytest.fail(f"this test expects Linux 5.8 or later, as CI runs (found {os.uname().release})")
    with durable.Barrier(tmp_path) as barrier:
        assert barrier.fd is not None
        paths = _written(tmp_path, 3)
        asked: list[list[str]] = []
        barrier.wait(paths, run=lambda fn, items: asked.append(items))
        assert asked == []  # no fsync per file
    assert barrier.fd is None


def test_only_file_systems_known_to_commit_on_syncfs_get_it(tmp_path: Path) -> None:
    """The type comes from /proc/self/mountinfo by device number; proc (as FUSE or NFS
    would) gets the per-file fallback."""
    import subprocess

    shown = subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
    kind = durable.fs_type(os.stat(tmp_path).st_dev)
    assert kind and (kind == shown or kind.startswith(shown[:3])), (kind, shown)
    assert durable.fs_type(os.stat("/proc/self").st_dev) == "proc"
    assert durable.Barrier("/proc/self").fd is None


def test_elsewhere_each_file_is_fsynced(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Without a syncfs that reports errors, each file gets its own fsync, through ``run``
    when given (the sync's writer threads); a file gone since fails the wait."""
    monkeypatch.setattr(durable, "_syncfs", False)
    barrier = durable.Barrier(tmp_path)
    assert barrier.fd is None
    paths = _written(tmp_path, 3)
    asked: list[list[str]] = []

    def run(fn, items):  # noqa: ANN001, ANN202
        asked.append(items)
        for p in items:
            fn(p)

    barrier.wait(paths, run=run)
    assert asked == [paths]
    os.unlink(paths[1])
    with pytest.raises(FileNotFoundError):
        barrier.wait(paths)


def test_the_kernel_version_is_read_as_numbers(monkeypatch) -> None:  # noqa: ANN001
    class U:
        def __init__(self, release: str) -> None:
            self.release = release

    for release, expected in (("5.8.0", True), ("6.18.44-fc", True), ("5.7.19", False), ("4.19.0-21-amd64", False), ("x", False)):
        monkeypatch.setattr(os, "uname", lambda r=release: U(r))
        assert durable._kernel_reports_errors() is expected, release  # noqa: SLF001
