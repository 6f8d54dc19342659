"""Live configuration: editing ``init.py`` or ``plugins/*.py`` reloads it in the running client."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


def start_config_watcher(tui: Any) -> Any | None:
    """A watchdog observer on the config directory; changes are debounced and applied on the loop."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    config_dir = Path(tui.app.config_dir)
    if not config_dir.is_dir():
        return None  # nothing to reload yet
    timers: dict[Path, threading.Timer] = {}

    def wanted(path: Path) -> bool:
        if path.suffix != ".py":
            return False
        return path == config_dir / "init.py" or path.parent == config_dir / "plugins"

    def fire(path: Path) -> None:
        timers.pop(path, None)
        tui.post(tui.reload_user_file, path)

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.is_directory:
                return
            for raw in (event.src_path, getattr(event, "dest_path", "") or ""):
                if not raw:
                    continue
                path = Path(str(raw))
                if wanted(path):
                    old = timers.pop(path, None)
                    if old:
                        old.cancel()
                    t = threading.Timer(0.2, fire, (path,))  # editors write in several steps
                    t.daemon = True
                    timers[path] = t
                    t.start()

    observer = Observer()
    observer.daemon = True
    observer.schedule(Handler(), str(config_dir), recursive=False)
    plugins = config_dir / "plugins"
    if plugins.is_dir():
        observer.schedule(Handler(), str(plugins), recursive=False)
    observer.start()
    return observer
