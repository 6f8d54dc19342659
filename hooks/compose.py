"""Compose and send hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookspec

if TYPE_CHECKING:  # the email package costs ~7 ms to import: annotations only
    from email.message import EmailMessage


@hookspec
def pigeon_compose_defaults(draft: EmailMessage, account: Any, kind: str, original: EmailMessage | None) -> None:
    """Fill in a new draft (From, signature, extra headers). Mutate ``draft`` in place.

    Called once per draft, after the recipients, subject and quoted text are in place. The
    built-in ``identities`` plugin (it runs last) sets From to the identity the original was
    sent to (``pigeon.core.identities.choose_identity``) unless an earlier implementation
    changed From, and appends that identity's signature.

    :param draft: the draft being created.
    :param account: the sending ``AccountConfig``.
    :param kind: ``"new"``, ``"reply"``, ``"reply-all"`` or ``"forward"``.
    :param original: the message being answered or forwarded; None for a new message.

    Semantics: event.
    """


@hookspec(firstresult=True)
def pigeon_quote(original: EmailMessage, text: str, kind: str) -> str | None:
    """Produce the quoted text of a reply or forward, attribution line included.

    :param original: the message being answered.
    :param text: the original's body as the user saw it (rendered for quoting).
    :param kind: ``"reply"`` or ``"forward"``.
    :return: the body to start the draft with, or None for the default.

    Semantics: firstresult.
    """


@hookspec(firstresult=True)
def pigeon_invitation_reply(message: EmailMessage, answer: str, account: Any) -> EmailMessage | None:
    """Build the answer to a calendar invitation (an iTIP REPLY, RFC 5546, sent as iMIP).

    Called by ``pigeon invite`` and the ``invite-*`` commands; the core queues the message
    returned in the account's outbox. The core knows nothing of iCalendar: the built-in
    ``calendar`` plugin answers.

    :param message: the message holding the invitation (a ``text/calendar`` part with
        ``METHOD:REQUEST``).
    :param answer: ``"accept"``, ``"tentative"`` or ``"decline"``.
    :param account: the answering ``AccountConfig``.
    :return: the reply, ready to queue (From, To the organizer, Subject, a text part and a
        ``text/calendar; method=REPLY`` part), or None when this plugin cannot answer. Raise
        ``ValueError`` with a one-line reason when the message holds nothing to answer (a
        cancelled event, no invitation): the user sees the reason.

    Semantics: firstresult.
    """


@hookspec
def pigeon_before_send(message: EmailMessage, account: Any) -> str | None:
    """Inspect (and possibly edit) a message just before it is sent.

    :param message: the message about to go out; may be edited in place.
    :param account: the sending ``AccountConfig``.
    :return: None to let it go, or a reason (a string) to veto sending; the user sees the reason
        and the message stays queued.

    Semantics: collect (any returned reason vetoes).
    """


@hookspec
def pigeon_after_send(message: EmailMessage, account: Any, recipients: list[str]) -> None:
    """A message was handed to the SMTP server.

    :param message: the message as sent.
    :param account: the sending ``AccountConfig``.
    :param recipients: the envelope recipients.

    Semantics: event.
    """
