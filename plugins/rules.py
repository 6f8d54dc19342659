"""Built-in plugin: the user's ``[[rules]]`` from config.toml, applied to each new message.

The rules are validated when the configuration loads (a bad rule stops pigeon with a one-line
error). On arrival the message is indexed and every rule's query is asked of the index for that
message; the matching rules (up to one that says ``stop``) become one verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import MessageRef, SettingsRegistry, Verdict

_state: dict[str, Any] = {"rules": []}


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add("rules", list, [], "Filter rules, each a [[rules]] table with name, match (a search query) and actions.")


@hookimpl
def pigeon_configure(config: Any) -> None:
    if config.get("rules", []) in (None, []):
        _state["rules"] = []  # no rules: spare every command the rule module (and its regex)
        return
    from pigeon.core.errors import ConfigError
    from pigeon.core.rules import RuleError, rules_of

    try:
        _state["rules"] = rules_of(config)
    except RuleError as exc:
        raise ConfigError(f"{config.path}: {exc}") from None


def message_id_of(message: EmailMessage, ref: MessageRef) -> str:
    """The Message-ID the index knows the message by (its own name for one without)."""
    if ref.message_id:
        return ref.message_id
    try:
        mid = str(message.get("message-id", "") or "").strip()
    except Exception:
        mid = ""
    if mid:
        return mid
    import hashlib

    try:
        return "notmuch-sha1-" + hashlib.sha1(Path(ref.path).read_bytes(), usedforsecurity=False).hexdigest()
    except OSError:
        return ""


@hookimpl
def pigeon_filter_message(message: EmailMessage, ref: MessageRef) -> Verdict | None:
    rules = _state["rules"]
    if not rules:
        return None
    try:
        from pigeon.core.index import open_index
    except ImportError:
        return None
    from pigeon.core.rules import combined_verdict, matching
    from pigeon.plugins.arrival import current_app

    app = current_app()
    mid = message_id_of(message, ref)
    if app is None or not mid:
        return None
    with open_index(app) as index:
        if index.add_file(ref.path) is None:
            return None
        return combined_verdict(matching(index, rules, mid))
