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
