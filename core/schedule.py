"""Periodic jobs that plugins register through ``pigeon_schedule``.

Long-running commands (the client, ``pigeon shell``, ``pigeon watch``) start one scheduler
thread at start-up; each job runs off the UI loop, every ``seconds``, the first time one period
after start. A job that raises is reported with its plugin's name and keeps its schedule.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Job:
    seconds: float
    func: Callable[[Any], Any]
    name: str
    plugin: str
    due: float = 0.0


class Scheduler:
    """Collects jobs from the plugins and runs them in a daemon thread until stopped."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.jobs: list[Job] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def collect(self) -> None:
        for impl in self.app.pm.hook.pigeon_schedule.get_hookimpls():
            def register(seconds: float, func: Callable[[Any], Any], name: str = "", _plugin: str = impl.plugin_name) -> None:
                if not seconds or seconds <= 0:
                    raise ValueError(f"a job's period must be positive, not {seconds!r}")
                self.jobs.append(Job(float(seconds), func, name or getattr(func, "__name__", "job"), _plugin))

            try:
                impl.function(register=register)
            except Exception as exc:  # a broken plugin must not stop the others' jobs
                self._report(impl.plugin_name, exc)

    def start(self) -> None:
        self.collect()
        if not self.jobs:
            return
        now = time.monotonic()
        for job in self.jobs:
            job.due = now + job.seconds
        self._thread = threading.Thread(target=self._run, name="pigeon-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if job.due <= now and not self._stop.is_set():
                    try:
                        job.func(self.app)
                    except Exception as exc:
                        self._report(job.plugin, exc, job.name)
                    job.due = time.monotonic() + job.seconds
            wait = min(job.due for job in self.jobs) - time.monotonic()
            self._stop.wait(max(wait, 0.01))

    def _report(self, plugin: str, exc: Exception, job: str = "") -> None:
        from pigeon.core.pluginmanager import PluginError

        report = getattr(self.app.pm, "report", None)
        if report is not None:
            where = f"pigeon_schedule ({job})" if job else "pigeon_schedule"
            report(PluginError(plugin, where, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
