"""Automation events: what the user's own plugins react to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookspec

if TYPE_CHECKING:  # the email package costs ~7 ms to import: annotations only
    from email.message import EmailMessage

    from pigeon.hooks.types import MessageRef, Notification, SyncReport


@hookspec
def pigeon_message_arrived(message: EmailMessage, ref: MessageRef) -> None:
    """A new message arrived (sync, POP3, or another tool delivering into the Maildir).

    Called once per new message, after filters ran.

    :param message: the parsed message.
    :param ref: where it is stored.

    Semantics: event.
    """


@hookspec
def pigeon_flags_changed(ref: MessageRef, old: str, new: str) -> None:
    """A message's Maildir flags changed.

    :param ref: the message (its new path).
    :param old: the flag letters before, e.g. ``"S"``.
    :param new: the flag letters after, e.g. ``"FS"``.

    Semantics: event.
    """


@hookspec
def pigeon_message_removed(ref: MessageRef) -> None:
    """A message file left a folder (deleted, or moved away by another tool).

    :param ref: where it was.

    Semantics: event.
    """


@hookspec
def pigeon_folder_changed(account: str, folder: str) -> None:
    """The contents of a folder changed; views showing it should refresh.

    :param account: the account name.
    :param folder: the folder name.

    Semantics: event.
    """


@hookspec
def pigeon_sync_started(account: str) -> None:
    """A sync of an account begins.

    :param account: the account name.

    Semantics: event.
    """


@hookspec
def pigeon_sync_finished(account: str, report: SyncReport) -> None:
    """A sync of an account ended (also after errors; see ``report.errors``).

    :param account: the account name.
    :param report: what the sync did.

    Semantics: event.
    """


@hookspec
def pigeon_notify(note: Notification) -> None:
    """Tell the user something outside the message view (new mail, a failed send).

    The built-in ``notify`` plugin shows desktop notifications where available.

    :param note: title, body and urgency.

    Semantics: event.
    """


@hookspec
def pigeon_schedule(register: Any) -> None:
    """Register periodic jobs: ``register(seconds, func, name)``; ``func(app)`` runs off the UI loop.

    Called once when a long-running command starts (the client, ``pigeon shell``, ``pigeon
    watch``). Each job first runs one period after start, then every ``seconds``; a job that
    raises is reported with the plugin's name and keeps its schedule.

    :param register: the scheduler's registration callback.

    Semantics: collect (every plugin registers).
    """
