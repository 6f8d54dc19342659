"""Helpers shared by the tests (importable as ``helpers``; conftest.py holds the fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
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
