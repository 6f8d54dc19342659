"""``pigeon sync`` and ``pigeon watch`` for a POP3 account (``pop3`` and no ``imap``).

POP3 only downloads: each message the server lists (UIDL) is fetched once into the INBOX folder
(``pigeon.core.pop3.fetch_account``, with ``[accounts.NAME.sync] leave_on_server``). The new
messages go through the same arrival path as an IMAP sync's (``fire_arrivals``: filters, then
``pigeon_message_arrived``), and the sync hooks fire around it. The first download into a new
record is an import, not news, unless ``[sync] events_on_first_sync = true`` (as for IMAP).
"""

from __future__ import annotations

from typing import Any


def sync_pop3(app: Any, account: Any, options: Any, progress: Any = None) -> Any:
    """Download ``account``'s POP3 mail; a ``pigeon.core.sync.Result`` like an IMAP sync's.
    ``progress`` (a ``pigeon.core.sync.Progress``) hears of the messages as they are stored."""
    from pigeon.core.pop3 import FetchRecord, fetch_account
    from pigeon.core.sync import Result
    from pigeon.hooks.types import SyncReport

    pm = app.pm
    pm.hook.pigeon_sync_started(account=account.name)
    res = Result(SyncReport(account.name))
    try:
        if options.dry_run:
            res.notes.append("POP3: a dry run does not connect (a download changes nothing on the server by default)")
            return res
        trace = None
        if getattr(app.options, "debug", False):
            from pigeon.core.transport import ProtocolTrace

            trace = ProtocolTrace(True)
        first = not FetchRecord.path_for(app.state_dir, account.name, account.pop3).exists()
        report = fetch_account(app, account, trace=trace, progress=progress)
        res.report.downloaded = report.fetched
        res.report.deleted_remote = report.deleted
        res.report.errors.extend(report.errors)
        if first and not options.events_on_first_sync:
            if report.fetched:
                res.notes.append(f"POP3: first download of {report.fetched} messages: imported, not announced as new")
        else:
            res.arrived = list(report.arrived)
            if res.arrived:
                from pigeon.core.sync_events import fire_arrivals

                fire_arrivals(app, account, res)
    except Exception as exc:  # noqa: BLE001 - reported through the result and the hook, like IMAP
        res.report.errors.append(str(exc) or type(exc).__name__)
        res.failed.setdefault("(connection)", str(exc) or type(exc).__name__)
    finally:
        pm.hook.pigeon_sync_finished(account=account.name, report=res.report)
    return res
