"""The ``pigeon`` command: a thin dispatcher that imports only the subcommand it runs.

Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``.
Exit status 0 on success, 1 with a one-line cause on stderr otherwise; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~2 ms to import; annotations are strings here
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

#: subcommand -> (module, one-line help). Modules are imported only when their command runs.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pigeon.core.cli_demo", "the full-screen client on a generated local demo mailbox"),
    "show": ("pigeon.core.cli_show", "a message as the client renders it (--raw for the source)"),
    "plugins": ("pigeon.core.cli_plugins", "the plugins, where each came from, the hooks each implements"),
    "invite": ("pigeon.core.cli_invite", "answer a calendar invitation: accept, tentative or decline"),
    "doctor": ("pigeon.core.cli_doctor", "audit the configuration for unsafe or broken settings"),
    "compose": ("pigeon.core.cli_compose", "write a message into the Outbox (flags, mailto: URL, or $EDITOR)"),
    "send": ("pigeon.core.cli_send", "send the messages waiting in the Outbox"),
    "search": ("pigeon.core.cli_search", "messages or threads matching a query (--json, --threads)"),
    "count": ("pigeon.core.cli_count", "how many messages (or threads) match a query"),
    "tag": ("pigeon.core.cli_tag", "add and remove tags: tag +a -b -- QUERY"),
    "index": ("pigeon.core.cli_index", "bring the search index up to date (--rebuild)"),
    "assess": ("pigeon.core.cli_assess", "phishing and spoofing findings for a message file"),
    "spam": ("pigeon.core.cli_spam", "train the spam filter and score messages"),
    "why": ("pigeon.core.cli_why", "which automated changes touched a message, and why"),
    "undo": ("pigeon.core.cli_undo", "revert the latest change (yours or automated), or a chosen one"),
    "flag": ("pigeon.core.cli_flag", "set and clear flags on messages: flag +flagged -seen MESSAGE..."),
    "move": ("pigeon.core.cli_move", "move messages to a folder (undo with pigeon undo)"),
    "delete": ("pigeon.core.cli_delete", "move messages to Trash (undo with pigeon undo)"),
    "pending": ("pigeon.core.cli_pending", "your changes and sends not yet on the server (--json, --all)"),
    "rules": ("pigeon.core.cli_rules", "check, test and apply the filter rules; compile and upload them as Sieve"),
    "keys": ("pigeon.core.cli_keys", "the PGP keys pigeon would use for an address, and why"),
    "shell": ("pigeon.core.cli_shell", "an interactive prompt over the named commands (reads a pipe too)"),
    "sync": ("pigeon.core.cli_sync", "two-way sync of Maildirs with IMAP servers (--dry-run, --force)"),
    "watch": ("pigeon.core.cli_watch", "stay running: IDLE, periodic sync, local changes pushed, outbox sent"),
    "auth": ("pigeon.core.cli_auth", "sign in to an OAuth2 account (device code or browser with PKCE)"),
}

DESCRIPTION = "pigeon: a terminal mail client in the spirit of Emacs."


def _module(name: str):  # noqa: ANN202 - a module
    """``importlib.import_module`` without importing importlib (and warnings) for it."""
    __import__(name)
    return sys.modules[name]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pigeon-mail")
    except PackageNotFoundError:
        return "unknown"


#: the collector's thresholds before :func:`console` raised them for the start
_thresholds: tuple[int, ...] | None = None


def console() -> None:
    """The ``pigeon`` program: :func:`main`, then :func:`leave`.

    While the command starts, the cyclic garbage collector runs seldom: importing allocates
    tens of thousands of objects that live as long as the process, and collecting them over and
    over cost ~6 ms of a sync. :func:`settle` puts the thresholds back once the App is built."""
    global _thresholds
    import gc

    _thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 10, 10)
    leave(main())


def settle() -> None:
    """The start is over: what was allocated so far stays out of later collections
    (``gc.freeze``), which run as often as usual again."""
    global _thresholds
    if _thresholds is not None:
        import gc

        gc.freeze()
        gc.set_threshold(*_thresholds)
        _thresholds = None


def leave(status: int) -> None:
    """End the process with ``status`` without tearing the interpreter down: that teardown (a
    last garbage collection over every object, then each module freed one by one) costs about
    15 ms of a sync that takes 150, and the OS frees the memory at once anyway. What must still
    happen does: atexit handlers (plugins', logging's) run and the output is flushed. With a
    non-daemon thread still running, the normal exit waits for it as Python's exit would."""
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(status)
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            status = status or 120  # what Python's own exit gives when the output cannot be flushed
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and command not in SUBCOMMANDS:
        # An option's value (``--config-dir X``) may come first; find the real command.
        command = next((a for a in argv if a in SUBCOMMANDS), command)
    debug = "--debug" in argv or bool(os.environ.get("PIGEON_DEBUG"))
    try:
        args = None
        if command in SUBCOMMANDS:
            from pigeon.core.cli_fast import parse

            args = parse(argv, command, _module(SUBCOMMANDS[command][0]))
        if args is None:
            from pigeon.core.cli_parser import build_parser

            args = build_parser(command if command in SUBCOMMANDS else None).parse_args(argv)
        if args.version:
            print(f"pigeon {_version()}")
            return 0
        module = getattr(args, "_module", None)
        if module is None:
            from pigeon.core.cli_demo import run_main

            return run_main(args)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("pigeon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 1
    except SystemExit:
        raise
    except Exception as exc:
        from pigeon.core.errors import PigeonError

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, PigeonError):
            print(f"pigeon: {_one_line(str(exc))}", file=sys.stderr)
        else:
            hint = "" if debug else " (run with --debug for the traceback)"
            print(f"pigeon: internal error: {type(exc).__name__}: {_one_line(str(exc))}{hint}", file=sys.stderr)
        return 1


def _one_line(text: str) -> str:
    from pigeon.core.sanitize import sanitize_line

    return sanitize_line(text)


def make_app(args: argparse.Namespace, **kwargs):  # noqa: ANN201 - App, imported lazily
    """Build the App for a subcommand from ``--config-dir`` and ``--debug``."""
    from pigeon.core.app import App, AppOptions

    debug = bool(getattr(args, "debug", False)) or bool(os.environ.get("PIGEON_DEBUG"))
    options = kwargs.pop("options", None) or AppOptions(debug=debug)
    app = App.create(getattr(args, "config_dir", None), options=options, **kwargs)
    settle()
    return app


if __name__ == "__main__":  # pragma: no cover
    # The module itself, not this copy of it run as __main__: make_app settles its state.
    from pigeon.core.cli import console as _console

    _console()
