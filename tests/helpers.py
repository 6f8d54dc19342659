"""Helpers shared by the tests (importable as ``helpers``; conftest.py holds the fixtures)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def _find_corpus() -> Path:
    """``$PIGEON_CORPUS``, else ``shared/corpus`` beside the checkout or one level up (worktrees)."""
    env = os.environ.get("PIGEON_CORPUS")
    if env:
        return Path(env)
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "corpus").is_dir():
            return base / "shared" / "corpus"
    return REPO.parent / "shared" / "corpus"


CORPUS = _find_corpus()


def run_pigeon(
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``pigeon`` in a subprocess, as a user would."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pigeon.core.cli", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` (``"256k"``) mounted at ``path``, so that ENOSPC comes from the
    kernel (root only, as in CI); unmounted afterwards."""
    import pytest

    path.mkdir(exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (run as root): {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def disk_failing_at_writeback(path: Path, free_kib: int = 20 * 1024) -> Iterator[tuple[Path, Path]]:
    """An ext4 file system (at ``path/mnt``) on a loop device whose image lives on a tmpfs
    with room for ``free_kib`` more: once that is used, writing dirty pages back fails in the
    kernel, as on a disk that fails after ``write()`` returned. Yields (mount point, backing
    tmpfs); remounting the latter larger mends the disk. Root only, as in CI."""
    import pytest

    backing, mnt = path / "backing", path / "mnt"
    backing.mkdir()
    mnt.mkdir()
    loop = ""

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()

    try:
        run("mount", "-t", "tmpfs", "-o", "size=128m,mode=0700", "tmpfs", str(backing))
        image = backing / "disk.img"
        run("truncate", "-s", "96m", str(image))
        loop = run("losetup", "-f", "--show", str(image))
        run("mkfs.ext4", "-q", loop)
        run("mount", loop, str(mnt))
        used_kib = image.stat().st_blocks // 2
        run("mount", "-o", f"remount,size={used_kib + free_kib}k", str(backing))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        _undo(mnt, loop, backing)
        why = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        pytest.fail(f"cannot build a disk that fails (root, loop devices and mkfs.ext4 needed): {why}")
    try:
        yield mnt, backing
    finally:
        _undo(mnt, loop, backing)


def _undo(mnt: Path, loop: str, backing: Path) -> None:
    subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)
    if loop:
        subprocess.run(["losetup", "-d", loop], check=False, capture_output=True)
    subprocess.run(["umount", "-l", str(backing)], check=False, capture_output=True)
