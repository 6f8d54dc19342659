"""Answering calendar invitations, without knowing iCalendar: the ``pigeon_invitation_reply``
hook builds the reply; the core finds the message, picks the account and queues the answer.

Queueing: the outbox is the account's ``outbox`` folder (a Maildir folder, ``Outbox`` by
default) that ``pigeon send`` and ``pigeon watch`` deliver from.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pigeon.core.errors import PigeonError

ANSWERS = ("accept", "tentative", "decline")


def load_message(app: Any, target: Any) -> EmailMessage:
    """The message TARGET names: a path (str or ``Path``), a ``MessageRef``, or ``-`` for stdin."""
    from pigeon.core import mime
    from pigeon.core.cli_show import load_target

    if isinstance(target, EmailMessage):
        return target
    path = getattr(target, "path", None)
    data, _name = load_target(app, str(path if path is not None else target))
    return mime.parse_bytes(data)


def build_answer(app: Any, message: EmailMessage, answer: str, account: Any) -> EmailMessage:
    """The reply the plugins build; a plugin's ``ValueError`` is the user's one-line error."""
    if answer not in ANSWERS:
        raise PigeonError(f"answer with accept, tentative or decline, not {answer!r}")
    try:
        reply = app.pm.hook.pigeon_invitation_reply(message=message, answer=answer, account=account)
    except ValueError as exc:
        raise PigeonError(str(exc)) from None
    if not isinstance(reply, EmailMessage):
        raise PigeonError("no plugin answers calendar invitations (is the calendar plugin disabled?)")
    return reply


def queue(app: Any, account: Any, message: EmailMessage) -> Path:
    """Put ``message`` in the account's outbox folder; the path of the queued file."""
    store = app.store(account)
    folder = account.folder("outbox")
    if not store.has_folder(folder):
        store.create_folder(folder)
    entry = store.add(folder, message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
    return entry.path


def answer_invitation(app: Any, target: Any, answer: str, account: Any = None) -> tuple[EmailMessage, str]:
    """Build the answer to the invitation in ``target`` and queue it; (reply, where queued).
    ``account`` is a name, an ``AccountConfig`` or None for the default account."""
    from pigeon.hooks.types import AccountConfig

    acct = account if isinstance(account, AccountConfig) else app.account(account or None)
    reply = build_answer(app, load_message(app, target), answer, acct)
    path = queue(app, acct, reply)
    return reply, f"{acct.name}/{acct.folder('outbox')} ({path.name})"
