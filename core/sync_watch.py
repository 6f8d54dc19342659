"""``pigeon watch``: keep every account in sync while it runs.

For each account:

* an **IDLE** connection on INBOX; where the server offers NOTIFY, the same connection also
  hears about every other folder (``NOTIFY SET … (PERSONAL …)``); otherwise up to
  ``watch.connections`` connections IDLE on INBOX and the next folders;
* the **Maildir watcher** (``pigeon.core.watch``): a local change (flags, moves, deletions, new
  drafts and sent copies) schedules a sync after ``watch.push_delay`` seconds, so a burst of
  changes goes up in one pass;
* a **periodic** full sync every ``watch.interval`` seconds;
* the **outbox** sent after each successful sync when ``pigeon.core.outbox`` provides a sender.

Every trigger ends in the same place: one sync of the account (``sync_account``), serialised
per account, which costs a few round trips when nothing changed. A sync or IDLE connection
that fails is retried with exponential backoff (1 s doubling to 60 s), so a network outage or
a server restart is ridden out. ``stop()`` (SIGTERM/SIGINT in the CLI) ends the loops within
a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("pigeon.watch")

IDLE_SLICE = 5.0  # seconds per IDLE command: the stop flag is checked between slices
BACKOFF_MAX = 60.0


class AccountWatch:
    """The watch loops of one account."""

    def __init__(self, service: WatchService, account: Any) -> None:
        self.service = service
        self.app = service.app
        self.account = account
        self.name = account.name
        self.wake = threading.Event()
        self.due_at: float | None = 0.0  # sync at start
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.watcher: Any = None
        self.syncs = 0
        self.failures = 0
        self.last_result: Any = None

    # ------------------------------------------------------------------ triggers

    def request(self, delay: float = 0.0, why: str = "") -> None:
        """Ask for a sync in ``delay`` seconds (the earliest request wins)."""
        at = time.monotonic() + delay
        with self.lock:
            if self.due_at is None or at < self.due_at:
                self.due_at = at
        if why:
            log.debug("%s: sync requested (%s) in %.1fs", self.name, why, delay)
        self.wake.set()

    def _local_change(self, kind: str, entry: Any, old: Any) -> None:
        if self.service.syncing.get(self.name):
            # our own writes during a sync: the sync's settle step sees them; still look once
            # more afterwards in case someone else wrote at the same moment
            self.request(self.service.push_delay, "local change during sync")
            return
        self.request(self.service.push_delay, f"local {kind}")

    # ------------------------------------------------------------------ loops

    def start(self) -> None:
        t = threading.Thread(target=self._sync_loop, name=f"pigeon-watch-sync-{self.name}", daemon=True)
        t.start()
        self.threads.append(t)
        if self.account.imap is not None:
            t = threading.Thread(target=self._idle_loop, args=("INBOX", True), name=f"pigeon-watch-idle-{self.name}", daemon=True)
            t.start()
            self.threads.append(t)
        try:
            from pigeon.core.watch import MaildirWatcher

            self.watcher = MaildirWatcher(self.app.store(self.account), self._watch_callback())
            self.watcher.start()
        except Exception as exc:  # noqa: BLE001 - watching is best effort; periodic sync remains
            log.warning("%s: cannot watch the Maildir: %s", self.name, exc)

    def _watch_callback(self) -> Any:
        """Local changes trigger a push, and reach the automation hooks (flags changed, removed,
        folder changed; the search index follows them). Arrivals are fired by the sync itself."""
        from pigeon.core.events import StoreEventBridge, tee

        return tee(self._local_change, StoreEventBridge(self.app.pm, self.name, arrivals=False))

    def stop(self) -> None:
        self.wake.set()
        if self.watcher is not None:
            try:
                self.watcher.stop()
            except Exception:  # noqa: BLE001, S110
                pass

    def join(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))

    def _sync_loop(self) -> None:
        svc = self.service
        backoff = 1.0
        while not svc.stopping.is_set():
            with self.lock:
                due = self.due_at
            now = time.monotonic()
            if due is None or due > now:
                timeout = (due - now) if due is not None else None
                self.wake.wait(timeout)
                self.wake.clear()
                continue
            with self.lock:
                self.due_at = None
            ok = self._sync_once()
            if svc.stopping.is_set():
                break
            if ok:
                backoff = 1.0
                self.request(svc.interval)  # the next periodic sync
            else:
                log.info("%s: retrying in %.0fs", self.name, backoff)
                self.request(backoff, "retry")
                backoff = min(backoff * 2, BACKOFF_MAX)

    def _sync_once(self) -> bool:
        from pigeon.core.sync import SyncOptions, sync_account

        svc = self.service
        svc.syncing[self.name] = True
        try:
            res = sync_account(self.app, self.account, SyncOptions(guard_share=svc.guard_share, guard_min=svc.guard_min,
                                                                  lock_wait=svc.lock_wait))
        except Exception as exc:  # noqa: BLE001 - logged, retried
            log.warning("%s: sync failed: %s", self.name, exc)
            self.failures += 1
            return False
        finally:
            svc.syncing[self.name] = False
        self.syncs += 1
        self.last_result = res
        r = res.report
        if r.downloaded or r.uploaded or r.flags_up or r.flags_down or r.deleted_local or r.deleted_remote or r.moved:
            from pigeon.core.sync import summary

            log.info("%s: %s", self.name, summary([res]))
        for folder, why in res.failed.items():
            log.warning("%s: %s: %s", self.name, folder, why)
        if "(connection)" in res.failed or "(busy)" in res.failed:  # retried with backoff
            self.failures += 1
            return False
        self._send_outbox()
        return True

    def _send_outbox(self) -> None:
        if getattr(self.account, "smtp", None) is None:
            return
        try:
            from pigeon.core import outbox  # written by the transport work; optional here
        except ImportError:
            return
        for name in ("send_all", "send_queued", "send"):
            fn = getattr(outbox, name, None)
            if callable(fn):
                try:
                    fn(self.app, self.account)
                except Exception as exc:  # noqa: BLE001 - a message stays queued with its error
                    log.warning("%s: sending the outbox failed: %s", self.name, exc)
                return

    def _idle_loop(self, folder: str, notify: bool) -> None:
        """IDLE on ``folder`` and ask for a sync whenever the server says something changed."""
        from pigeon.core.sync import open_session

        svc = self.service
        backoff = 1.0
        while not svc.stopping.is_set():
            session = None
            try:
                session = open_session(self.app, self.account)
                extra = self._setup_idle(session, folder, notify)
                for f in extra:
                    t = threading.Thread(target=self._idle_loop, args=(f, False), name=f"pigeon-watch-idle-{self.name}-{f}", daemon=True)
                    t.start()
                    self.threads.append(t)
                notify = False  # extra connections are made once
                backoff = 1.0
                log.info("%s: watching %s", self.name, folder)
                while not svc.stopping.is_set():
                    events = session.idle(IDLE_SLICE)
                    if events:
                        self.request(0.2, f"server change in {folder}")
            except Exception as exc:  # noqa: BLE001 - reconnect with backoff
                if svc.stopping.is_set():
                    break
                log.info("%s: IDLE on %s lost (%s); reconnecting in %.0fs", self.name, folder, exc, backoff)
                svc.stopping.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                self.request(0.0, "reconnected")  # catch up on what happened meanwhile
            finally:
                if session is not None:
                    try:
                        session.logout()
                    except Exception:  # noqa: BLE001, S110
                        pass

    def _setup_idle(self, session: Any, folder: str, notify: bool) -> list[str]:
        """EXAMINE the folder; with NOTIFY, listen to every folder; else name extra folders."""
        session.select(folder, readonly=True)
        if not notify:
            return []
        if session.has("NOTIFY"):
            from pigeon.core.sync_remote import Remote

            try:
                Remote(session)._run(b"NOTIFY", [b"SET", b"(SELECTED (MessageNew MessageExpunge FlagChange))",
                                                 b"(PERSONAL (MessageNew MessageExpunge FlagChange MailboxName))"])
                return []
            except Exception as exc:  # noqa: BLE001 - fall back to more connections
                log.info("%s: NOTIFY refused (%s); using extra connections", self.name, exc)
        n = self.service.connections - 1
        if n <= 0:
            return []
        names = [f.name for f in session.list_folders() if f.selectable and f.name.upper() != "INBOX"]
        return sorted(names)[:n]


class WatchService:
    """All accounts' watch loops, started and stopped together."""

    def __init__(self, app: Any, accounts: list[Any], *, interval: float = 300.0, connections: int = 1,
                 push_delay: float = 2.0, guard_share: float = 0.5, guard_min: int = 20, lock_wait: float = 60.0) -> None:
        self.app = app
        self.interval = interval
        self.connections = connections
        self.push_delay = push_delay
        self.guard_share = guard_share
        self.guard_min = guard_min
        self.lock_wait = lock_wait  # for a sync another process (a pigeon sync) is running
        self.stopping = threading.Event()
        self.syncing: dict[str, bool] = {}
        self.accounts = [AccountWatch(self, a) for a in accounts]

    def start(self) -> None:
        for a in self.accounts:
            a.start()
        self._deliverer = threading.Thread(target=self._deliver_loop, name="pigeon-deliver", daemon=True)
        self._deliverer.start()

    def _deliver_loop(self) -> None:
        """Send held messages (undo-send delay over, send-later time come) when they fall due.

        The journal is asked once a second (a cheap indexed query); the Outbox lock keeps this
        and a client that runs too from both sending the same message."""
        from pigeon.core.journal import open_journal

        tried: dict[str, tuple[float, float]] = {}  # account -> (due, when tried): a failure waits 30 s
        while not self.stopping.wait(1.0):
            try:
                with open_journal(self.app) as j:
                    due = {a.account.name: t for a in self.accounts
                           if (t := j.next_due(a.account.name)) is not None and t <= time.time()}
            except Exception as exc:  # noqa: BLE001 - logged; the next second tries again
                log.warning("reading the journal failed: %s", exc)
                continue
            for a in self.accounts:
                name = a.account.name
                if name not in due or a.account.smtp is None:
                    continue
                last = tried.get(name)
                if last is not None and last[0] == due[name] and time.monotonic() - last[1] < 30:
                    continue
                tried[name] = (due[name], time.monotonic())
                log.info("%s: sending what fell due in the Outbox", name)
                a._send_outbox()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for a in self.accounts:
            a.stop()
        end = time.monotonic() + timeout
        for a in self.accounts:
            a.join(max(0.0, end - time.monotonic()))

    def wait(self) -> None:
        while not self.stopping.wait(0.5):
            pass
