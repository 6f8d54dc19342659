"""Account hooks: where secrets come from."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pigeon.hooks import hookspec

if TYPE_CHECKING:
    from pigeon.hooks.types import AccountConfig, Credentials


@hookspec(firstresult=True)
def pigeon_credentials(account: AccountConfig, purpose: str, username: str) -> Credentials | None:
    """Supply the secret for an account's server.

    Called each time a connection needs to authenticate. Built-in providers: the account's
    ``password_command`` (run without a shell, first line of its output), the system keyring,
    and OAuth2 tokens. The user's implementations run first.

    ``pigeon sync`` asks the built-in provider at once, before the plugins load, when nothing
    else can answer: no file of the user's plugins names this hook and no installed package
    declares pigeon plugins. An implementation registered from elsewhere (a module a user
    file imports and registers under another name) should be named in that file, or the
    account's ``password_command`` may be used for the sync's login.

    :param account: the account being connected.
    :param purpose: ``"imap"``, ``"smtp"`` or ``"pop3"``; with ``":refresh"`` appended
        (``"imap:refresh"``) when the server just rejected the OAuth2 token supplied: return
        a refreshed one.
    :param username: the login name configured for that server.
    :return: ``Credentials`` (kind ``"password"`` or ``"oauth2"``), or None for "not mine".

    Semantics: firstresult.
    """


@hookspec(firstresult=True)
def pigeon_sign_in(account: AccountConfig, method: str, say: Callable[[str], None], open_browser: bool, timeout: float) -> str | None:
    """Sign in to an account's identity provider interactively and keep what it grants.

    Called by ``pigeon auth ACCOUNT``. The built-in OAuth2 plugin runs the device-authorization
    grant (RFC 8628) or the loopback redirect with PKCE (RFC 7636) against the account's
    ``oauth2`` endpoints and stores the refresh token where ``pigeon_credentials`` finds it.

    :param account: the account to sign in.
    :param method: ``"device"``, ``"browser"``, or ``""`` to let the implementation choose.
    :param say: prints one line to the user (already sanitised; never pass it a secret).
    :param open_browser: whether a browser may be opened on this machine.
    :param timeout: seconds to wait for the user before giving up.
    :return: where the credential was stored (shown to the user), or None for "not mine".

    Semantics: firstresult.
    """
