"""Value types that hooks receive and return.

These are plain dataclasses and protocols; nothing here imports ``pigeon.core``, so a plugin
can depend on this module alone. ``from pigeon.hooks.types import X`` works for every type.

Building a dataclass costs ~0.3 ms (its methods are compiled at import), and a command uses
few of the ~20 here (``pigeon sync``: those of the configuration and its report), so they live
in themed modules (``types_config``, ``types_render``, ``types_filter``, ``types_crypto``,
``types_automation``, ``types_ui``) that load on first use of one of their names (PEP 562).
A module that only annotates with a type imports it under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

Severity = Literal["info", "ok", "notice", "warning", "danger"]
SEVERITY_ORDER: dict[str, int] = {"ok": 0, "info": 0, "notice": 1, "warning": 2, "danger": 3}

#: theme module (``pigeon.hooks.types_<theme>``) -> the names it holds
THEMES: dict[str, tuple[str, ...]] = {
    "config": ("ServerConfig", "AccountConfig", "Setting", "SettingsRegistry", "Credentials"),
    "render": ("MessageRef", "Link", "Rendered", "RenderContext", "Attachment", "Banner"),
    "filter": ("Finding", "Verdict"),
    "crypto": ("SignatureStatus", "DecryptResult", "KeyInfo", "SendPolicy"),
    "automation": ("Notification", "SyncReport"),
    "ui": ("Command", "CommandRegistrar", "KeymapRegistrar", "Completion", "StatusSegment"),
}
_THEME_OF = {name: theme for theme, names in THEMES.items() for name in names}

__all__ = [  # a literal list: linters see the lazily loaded names as exported
    "SEVERITY_ORDER", "Severity",
    "AccountConfig", "Attachment", "Banner", "Command", "CommandRegistrar", "Completion", "Credentials",
    "DecryptResult", "Finding", "KeyInfo", "KeymapRegistrar", "Link", "MessageRef", "Notification",
    "RenderContext", "Rendered", "SendPolicy", "ServerConfig", "Setting", "SettingsRegistry",
    "SignatureStatus", "StatusSegment", "SyncReport", "Verdict",
]


def __getattr__(name: str) -> Any:
    theme = _THEME_OF.get(name)
    if theme is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    modname = f"{__name__}_{theme}"
    __import__(modname)  # importlib would be one module more to import
    import sys

    value = getattr(sys.modules[modname], name)
    globals()[name] = value  # later look-ups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_THEME_OF})


if TYPE_CHECKING:
    from pigeon.hooks.types_automation import Notification, SyncReport
    from pigeon.hooks.types_config import (
        AccountConfig,
        Credentials,
        ServerConfig,
        Setting,
        SettingsRegistry,
    )
    from pigeon.hooks.types_crypto import DecryptResult, KeyInfo, SendPolicy, SignatureStatus
    from pigeon.hooks.types_filter import Finding, Verdict
    from pigeon.hooks.types_render import (
        Attachment,
        Banner,
        Link,
        MessageRef,
        RenderContext,
        Rendered,
    )
    from pigeon.hooks.types_ui import (
        Command,
        CommandRegistrar,
        Completion,
        KeymapRegistrar,
        StatusSegment,
    )
