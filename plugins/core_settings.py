"""Declares the settings that the core reads (render width, state directory, ...)."""

from __future__ import annotations

from pigeon.core.config import core_settings
from pigeon.hooks import hookimpl
from pigeon.hooks.types import SettingsRegistry


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    core_settings(settings)
