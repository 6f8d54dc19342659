"""Periodic jobs from pigeon_schedule run in long-running commands; a failing one is reported."""

from __future__ import annotations

import time
from pathlib import Path

from pigeon.core.app import App

PLUGIN = """
from pigeon.hooks import hookimpl

RUNS = []

@hookimpl
def pigeon_schedule(register):
    register(0.05, lambda app: RUNS.append(app), "tick")
    register(0.05, lambda app: 1 / 0, "broken")
"""


def test_jobs_run_periodically_and_failures_are_reported(config_dir: Path) -> None:
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "jobs.py").write_text(PLUGIN)
    app = App.create(load_entrypoints=False, report_to_stderr=False)
    import sys

    runs = sys.modules["pigeon_user.user_jobs"].RUNS
    app.startup()
    try:
        deadline = time.monotonic() + 10
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        app.shutdown()
    assert len(runs) >= 3 and runs[0] is app
    errors = [e for e in app.pm.errors if e.plugin == "user.jobs"]
    assert errors and errors[0].hook == "pigeon_schedule (broken)" and "ZeroDivisionError" in errors[0].message
    settled = len(runs)
    time.sleep(0.2)
    assert len(runs) == settled  # stopped with the app
