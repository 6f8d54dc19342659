"""pigeon auth: sign in to an account's OAuth2 provider and keep the refresh token.

``--method device`` shows a code to enter at the provider's address on any device (RFC 8628);
``--method browser`` opens the provider's sign-in page and catches the redirect on 127.0.0.1
(PKCE S256). Without ``--method`` the account's ``oauth2.method`` decides, else the browser when
this machine has a display (or the provider allows no device flow) and the device flow
otherwise. The refresh token goes to the keyring (``keyring = true``) or a 0600 file in the
state directory; no token is ever printed. ``--check`` signs nothing in: it makes sure a token
can be had now (what every connection does), or says how to sign in again.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="the account to sign in (its [accounts.NAME.oauth2] table)")
    parser.add_argument("--method", choices=("device", "browser"), help="device code or browser redirect (default: chosen for this machine)")
    parser.add_argument("--no-browser", action="store_true", help="print the sign-in address instead of opening a browser")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds to wait for the sign-in (default 600)")
    parser.add_argument("--check", action="store_true", help="do not sign in: check that a token can be had now (refreshing it)")


def run(args: argparse.Namespace) -> int:
    from pigeon.core.cli import make_app
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    app = make_app(args)
    account = app.config.accounts.get(args.account)
    if account is None:
        raise PigeonError(f"no account named {args.account!r} in config.toml")
    if not account.oauth2:
        raise PigeonError(
            f"account {account.name} has no [accounts.{account.name}.oauth2] table; a password account needs no "
            "sign-in (use password_command or keyring = true)"
        )

    if args.check:
        return _check(app, account)

    def say(line: str) -> None:
        print(sanitize_line(line), flush=True)

    where = app.pm.hook.pigeon_sign_in(
        account=account, method=args.method or "", say=say, open_browser=not args.no_browser, timeout=args.timeout
    )
    if where is None:
        raise PigeonError(f"account {account.name}: no plugin can sign in to this provider")
    say(f"Signed in: account {account.name}; the refresh token is kept in {where}")
    return 0


def _check(app, account) -> int:  # noqa: ANN001
    """Ask for an access token the way a connection would (a refresh if none is cached)."""
    from pigeon.core.errors import PigeonError
    from pigeon.core.sanitize import sanitize_line

    servers = [s for s in (account.imap, account.pop3, account.smtp) if s is not None and s.auth != "password"]
    if not servers:
        raise PigeonError(f"account {account.name}: no server uses auth = \"oauth2\", \"xoauth2\" or \"oauthbearer\"")
    server = servers[0]
    creds = app.pm.hook.pigeon_credentials(account=account, purpose=server.protocol, username=server.username or account.address)
    if creds is None or creds.kind != "oauth2":
        raise PigeonError(f"account {account.name}: no OAuth2 token; run `pigeon auth {account.name}`")
    print(sanitize_line(f"account {account.name}: signed in; a fresh access token was obtained (not shown)"))
    return 0
