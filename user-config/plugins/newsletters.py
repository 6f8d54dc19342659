"""Tag newsletters by their List-Id.

A new message is a newsletter when its List-Id matches one of ``[newsletters] lists`` in
config.toml, or when it comes from an announce-only list (List-Id and List-Unsubscribe, but no
List-Post). It gets the tag ``[newsletters] tag`` (default "newsletter") and a tag naming the
list, "list/<list id>", so ``tag:newsletter`` and ``tag:list/weekly.news.example.com`` find it.
Messages from discussion lists get only the "list/<list id>" tag.
"""

from __future__ import annotations

import re

from pigeon.hooks import hookimpl
from pigeon.hooks.types import Verdict

SETTINGS = {"tag": "newsletter", "lists": []}


@hookimpl
def pigeon_add_settings(settings):
    settings.add("newsletters.tag", str, "newsletter", "The tag given to newsletters.")
    settings.add("newsletters.lists", list, [], "List-Id values (or parts) that are always newsletters.")


@hookimpl
def pigeon_configure(config):
    SETTINGS["tag"] = config.get("newsletters.tag", "newsletter")
    SETTINGS["lists"] = [str(x).lower() for x in config.get("newsletters.lists", [])]


def list_id(message) -> str:
    """The machine part of List-Id: "Name <id.example.org>" gives "id.example.org"."""
    raw = str(message.get("List-Id", "") or "")
    m = re.search(r"<([^<>\s]+)>", raw)
    return (m.group(1) if m else raw.strip()).lower()


@hookimpl
def pigeon_filter_message(message, ref):
    lid = list_id(message)
    if not lid:
        return None
    tags = [f"list/{lid}"]
    announce_only = message.get("List-Unsubscribe") and not message.get("List-Post")
    if announce_only or any(part in lid for part in SETTINGS["lists"]):
        tags.insert(0, SETTINGS["tag"])
    return Verdict(add_tags=tags, reason=f"List-Id {lid}", source="newsletters")
