"""pigeon watch: stay running and keep every account in sync (IDLE, local changes, periodic).

Logs to ``<state dir>/logs/watch.log`` (and to stderr with ``--verbose``). Stops cleanly on
SIGTERM or SIGINT: the running sync finishes its current step, connections log out.
"""

from __future__ import annotations

import argparse
import signal
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("accounts", nargs="*", metavar="ACCOUNT", help="accounts to watch (default: all with an IMAP or POP3 server)")
    parser.add_argument("--interval", type=float, metavar="S", help="seconds between full syncs (default: [watch] interval, 300)")
    parser.add_argument("--push-delay", type=float, metavar="S", help="seconds to gather local changes before pushing (default 2)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log to stderr too")


def run(args: argparse.Namespace) -> int:
    import logging

    from pigeon.core.cli import make_app
    from pigeon.core.cli_sync import server_accounts
    from pigeon.core.sync_watch import WatchService

    app = make_app(args)
    chosen = server_accounts(app, args.accounts, "watch")

    logdir = app.state_dir / "logs"
    logdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    logger = logging.getLogger("pigeon")
    logger.setLevel(logging.DEBUG if args.debug else logging.INFO)
    handler = logging.FileHandler(logdir / "watch.log", encoding="utf-8")
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    if args.verbose:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(fmt)
        logger.addHandler(err)

    cfg = app.config
    service = WatchService(
        app,
        chosen,
        interval=args.interval if args.interval is not None else float(cfg.get("watch.interval", 300)),
        connections=int(cfg.get("watch.connections", 1)),
        push_delay=args.push_delay if args.push_delay is not None else float(cfg.get("watch.push_delay", 2.0)),
        guard_share=float(cfg.get("sync.guard_share", 0.5)),
        guard_min=int(cfg.get("sync.guard_min", 20)),
        lock_wait=float(cfg.get("sync.lock_wait", 60)),
    )

    def stop(signum: int, _frame: object) -> None:
        logger.info("signal %d: stopping", signum)
        service.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("watching %s", ", ".join(a.name for a in chosen))
    if not args.verbose:  # otherwise a terminal shows nothing at all, and it looks hung
        print(
            f"pigeon watch: watching {', '.join(a.name for a in chosen)}; log in {logdir / 'watch.log'}"
            " (-v shows it here); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
    app.startup()
    service.start()
    try:
        service.wait()
    finally:
        service.stop()
        app.shutdown()
        logger.info("stopped")
    return 0
