"""Declares the index settings: saved searches (``[searches]``) and the tags of new mail."""

from __future__ import annotations

from pigeon.hooks import hookimpl
from pigeon.hooks.types import SettingsRegistry


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add(
        "searches",
        dict,
        {},
        "Saved searches, name = \"query\"; each is a virtual folder across accounts and the"
        " query term search:NAME (e.g. inbox = \"tag:inbox and not tag:spam\").",
    )
    settings.add("index.new_tags", list, ["inbox", "unread"],
                 "Tags every newly indexed message gets (unread is then kept in step with the S flag).")
