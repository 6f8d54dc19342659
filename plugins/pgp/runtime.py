"""The plugin's per-process state: the configuration it was given, the gpg wrapper, the prompt.

Nothing secret is kept here: a passphrase goes from the prompt to gpg and is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # gpg.py is imported only when a crypto hook really runs
    from pigeon.plugins.pgp.gpg import Gpg, PassphrasePrompt

_config: Any = None
_app: Any = None
_gpgs: dict[str, Gpg] = {}
_prompt: PassphrasePrompt | None = None


def configure(config: Any) -> None:
    global _config
    _config = config


def started(app: Any) -> None:
    global _app
    _app = app


def _ui_prompt() -> PassphrasePrompt | None:
    """The running UI's own secret prompt (``app.ui.ask_secret(question) -> str | None``), used
    as gpg's loopback pinentry so that no pinentry tears the full-screen client."""
    ask = getattr(getattr(_app, "ui", None), "ask_secret", None)
    if not callable(ask):
        return None
    return lambda hint: ask(f"Passphrase to {hint}: ")


def setting(name: str, default: Any = None, ctx: Any = None) -> Any:
    """A setting from the render context, else from config.toml, else ``default``."""
    settings = getattr(ctx, "settings", None) if ctx is not None else None
    if settings and name in settings:
        return settings[name]
    if _config is not None:
        value = _config.get(name)
        if value is not None:
            return value
    return default


def set_passphrase_prompt(prompt: PassphrasePrompt | None) -> None:
    """Set the passphrase prompt explicitly (tests, embedding). A UI may instead offer
    ``app.ui.ask_secret``. Without either, gpg-agent asks through its own pinentry.
    """
    global _prompt
    _prompt = prompt


def gnupghome() -> str:
    return str(setting("pgp.gnupghome", "") or os.environ.get("GNUPGHOME", "") or "")


def gpg() -> Gpg:
    from pigeon.plugins.pgp.gpg import Gpg

    home = gnupghome()
    if home not in _gpgs:
        _gpgs[home] = Gpg(home or None)
    _gpgs[home].passphrase_prompt = _prompt or _ui_prompt()
    return _gpgs[home]


def state_dir() -> Path:
    from pigeon.core import paths

    override = _config.get("state_dir") if _config is not None else None
    return paths.state_dir(override or None)


def keybook():  # noqa: ANN201 - KeyBook, imported lazily
    from pigeon.plugins.pgp.keys import KeyBook

    return KeyBook(gpg(), state_dir() / "pgp" / "autocrypt.sqlite")
