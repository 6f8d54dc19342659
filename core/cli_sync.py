"""pigeon sync: two-way sync of accounts' Maildirs with their IMAP servers (POP3 accounts download).

Shows progress per folder on a terminal (messages and bytes), ends with a summary line, and
exits 1 naming each folder that failed while the other folders still sync. ``--dry-run``
prints what would happen; ``--force`` lets a sync delete more than the mass-deletion guard
allows (``[sync] guard_share``, default half of a folder of at least ``guard_min`` = 20).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

#: the options for the quick reader (``pigeon.core.cli_fast``), which spares a sync argparse
FAST_OPTIONS = {"--folder": ("folder", "append"), "--dry-run": ("dry_run", "flag"), "--force": ("force", "flag"),
                "--json": ("json", "flag")}
FAST_DEFAULTS = {"folder": None, "dry_run": False, "force": False, "json": False}
FAST_POSITIONAL = "accounts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("accounts", nargs="*", metavar="ACCOUNT", help="accounts to sync (default: every account with an IMAP or POP3 server)")
    parser.add_argument("--folder", action="append", metavar="F", help="only this folder (local or server name; repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
    parser.add_argument("--force", action="store_true", help="go ahead even when the mass-deletion guard would stop")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


class TerminalProgress:
    """One self-overwriting line on stderr: account, folder, messages and bytes."""

    def __init__(self, account: str, stream: Any = None) -> None:
        self.account = account
        self.stream = stream or sys.stderr
        self.total = (0, 0)
        self.done = [0, 0]
        self.last = 0.0
        self.shown = False

    def folder(self, name: str, messages: int, nbytes: int) -> None:
        self.total = (messages, nbytes)
        self.done = [0, 0]
        self.name = name
        self._draw(force=True)

    def advance(self, name: str, messages: int, nbytes: int) -> None:
        self.done[0] += messages
        self.done[1] += nbytes
        self._draw()

    def done_folder(self) -> None:
        pass

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        from pigeon.core.sanitize import sanitize_line

        total_mb = f"/{self.total[1] / 1e6:.1f}" if self.total[1] else ""  # unknown for a streamed folder
        text = (f"{self.account} {self.name}: {self.done[0]}/{self.total[0]} messages, "
                f"{self.done[1] / 1e6:.1f}{total_mb} MB")
        self.stream.write("\r\x1b[K" + sanitize_line(text)[:200])
        self.stream.flush()
        self.shown = True

    def waiting(self, holder: str) -> None:
        from pigeon.core.sanitize import sanitize_line
        from pigeon.core.sync_lock import waiting_line

        self.stream.write("\r\x1b[K" + sanitize_line(waiting_line(self.account, holder))[:200])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def server_accounts(app: Any, names: list[str], verb: str) -> list[Any]:
    """The named accounts, or every account with an IMAP or POP3 server (``sync``, ``watch``)."""
    from pigeon.core.errors import PigeonError

    accounts = app.config.accounts
    if names:
        missing = [a for a in names if a not in accounts]
        if missing:
            raise PigeonError(f"no account named {missing[0]!r} in config.toml")
        return [accounts[a] for a in names]
    chosen = [a for a in accounts.values() if a.imap is not None or a.pop3 is not None]
    if not chosen:
        raise PigeonError(f"no account with an IMAP or POP3 server to {verb} (see [accounts.NAME] imap = {{...}} in config.toml)")
    return chosen


def run(args: argparse.Namespace) -> int:
    import os

    from pigeon.core.cli import make_app
    from pigeon.core.sync_connect import Opening, open_early

    # Connect first: the handshakes overlap with loading the plugins and the sync engine.
    debug = bool(getattr(args, "debug", False)) or bool(os.environ.get("PIGEON_DEBUG"))
    # The changed folders are read ahead on the connecting thread, except where the sync
    # would not read them all (a dry run, some folders only).
    openings, preread = open_early(getattr(args, "config_dir", None), args.accounts, debug,
                                   ahead=not args.dry_run and not args.folder)
    try:
        app = make_app(args, preread=preread)
        chosen = server_accounts(app, args.accounts, "sync")
        for acct in chosen:
            early = openings.get(acct.name)
            if early is not None and early.server != acct.imap:  # a plugin changed the account
                openings.pop(acct.name).discard()
            if acct.imap is not None and acct.name not in openings:
                openings[acct.name] = Opening(acct.imap, debug=debug, name=acct.name, list_folders=True)
            if acct.imap is not None:
                openings[acct.name].ready(app, acct)
        return _sync_all(app, chosen, args, openings)
    finally:
        end = time.monotonic() + 0.5  # one short wait for them all, not one each
        for opening in openings.values():  # those an early error left unused
            opening.discard(wait=max(0.0, end - time.monotonic()))


def _sync_all(app: Any, chosen: list[Any], args: argparse.Namespace, openings: dict[str, Any]) -> int:
    from pigeon.core.sanitize import sanitize_line
    from pigeon.core.sync import SyncOptions, problems, summary, sync_account

    settings = app.config
    options = SyncOptions(
        folders=args.folder or None,
        dry_run=args.dry_run,
        force=args.force,
        guard_share=float(settings.get("sync.guard_share", 0.5)),
        guard_min=int(settings.get("sync.guard_min", 20)),
        events_on_first_sync=bool(settings.get("sync.events_on_first_sync", False)),
        events=bool(settings.get("sync.events", True)),
        lock_wait=float(settings.get("sync.lock_wait", 60)),
    )
    tty = sys.stderr.isatty() and not args.json
    start = time.monotonic()
    results = []
    status = 0
    out: dict[str, Any] = {}
    for acct in chosen:
        if not args.dry_run:
            _send_waiting(app, acct, quiet=args.json)
        progress = TerminalProgress(acct.name) if tty else None
        try:
            res = sync_account(app, acct, options, progress=progress, opening=openings.pop(acct.name, None))
        except KeyboardInterrupt:
            if progress:
                progress.clear()  # the message below on a line of its own, not after the progress
            print(f"pigeon: sync {acct.name} interrupted: what it finished is kept; pigeon sync goes on from there",
                  file=sys.stderr)
            return 130
        if progress:
            progress.clear()
        results.append(res)
        if res.failed:
            status = 1
        if args.json:
            out[acct.name] = _as_json(res)
            continue
        if args.dry_run and res.plan is not None:
            for line in res.plan.describe():
                print(sanitize_line(f"{acct.name}: {line}"))
        for note in res.notes:
            print(sanitize_line(f"{acct.name}: {note}"), file=sys.stderr)
        for line in problems([res]):
            print(sanitize_line(f"pigeon: sync {line}"), file=sys.stderr)
    if args.json:
        import json

        print(json.dumps(out, indent=1, sort_keys=True))
    else:
        prefix = "would do: " if args.dry_run else ""
        print(prefix + summary(results if not args.dry_run else [_planned(r) for r in results], time.monotonic() - start))
    return status


def _send_waiting(app: Any, acct: Any, quiet: bool) -> None:
    """Replay the journal's sends first: the Sent copies then go up in the same sync."""
    from pigeon.core.actions import has_pending_sends
    from pigeon.core.sanitize import sanitize_line

    if acct.smtp is None or not has_pending_sends(app, acct.name):
        return
    from pigeon.core import outbox
    from pigeon.core.errors import PigeonError

    try:
        outcomes = outbox.send_queued(app, acct)
    except PigeonError as exc:
        outcomes = []
        print(sanitize_line(f"pigeon: sync {acct.name}: sending: {exc}"), file=sys.stderr)
    for out in outcomes:
        if quiet:
            continue
        if out.sent:
            print(sanitize_line(f"{acct.name}: sent: {out.subject or '(no subject)'} to {', '.join(out.recipients)}"))
        else:
            print(sanitize_line(f"{acct.name}: kept in the Outbox: {out.subject or '(no subject)'}: {out.error}"), file=sys.stderr)


def _planned(res: Any) -> Any:
    """A result whose report holds the plan's counts (for the --dry-run summary)."""
    from pigeon.core.sync import Result
    from pigeon.hooks.types import SyncReport

    counts = res.plan.counts() if res.plan is not None else {}
    return Result(SyncReport(res.report.account, **counts))


def _as_json(res: Any) -> dict[str, Any]:
    r = res.report
    d = {k: getattr(r, k) for k in ("downloaded", "uploaded", "flags_down", "flags_up", "deleted_local", "deleted_remote", "moved")}
    d["errors"] = list(r.errors)
    d["failed"] = dict(res.failed)
    d["notes"] = list(res.notes)
    d["skipped_unchanged"] = res.skipped
    if res.plan is not None:
        d["planned"] = res.plan.counts()
        d["actions"] = res.plan.describe()
    return d
