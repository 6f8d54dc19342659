"""Where pigeon keeps its configuration and its state."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``--config-dir``, else ``$PIGEON_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/pigeon``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("PIGEON_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "pigeon"
    import platformdirs

    return Path(platformdirs.user_config_dir("pigeon"))


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``[settings] state_dir``, else ``$PIGEON_STATE_DIR``, else ``$XDG_STATE_HOME/pigeon``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("PIGEON_STATE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg:
        return Path(xdg) / "pigeon"
    import platformdirs

    return Path(platformdirs.user_state_dir("pigeon"))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
