"""Account hooks: where secrets come from."""

from __future__ import annotations

from pigeon.hooks import hookspec
from pigeon.hooks.types import AccountConfig, Credentials


@hookspec(firstresult=True)
def pigeon_credentials(account: AccountConfig, purpose: str, username: str) -> Credentials | None:
    """Supply the secret for an account's server.

    Called each time a connection needs to authenticate. Built-in providers: the account's
    ``password_command`` (run without a shell, first line of its output), the system keyring,
    and OAuth2 tokens. The user's implementations run first.

    :param account: the account being connected.
    :param purpose: ``"imap"``, ``"smtp"`` or ``"pop3"``; with ``":refresh"`` appended
        (``"imap:refresh"``) when the server just rejected the OAuth2 token supplied: return
        a refreshed one.
    :param username: the login name configured for that server.
    :return: ``Credentials`` (kind ``"password"`` or ``"oauth2"``), or None for "not mine".

    Semantics: firstresult.
    """
