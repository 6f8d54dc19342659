"""pigeon demo: the full-screen client on a generated local demo mailbox (no server, no account)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", metavar="DIR", help="where to make the demo Maildir (default: the state directory's demo/)")
    parser.add_argument("--print", dest="print_only", action="store_true", help="print the demo folders' summary instead of opening the client")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON (implies --print)")
    parser.add_argument("--reset", action="store_true", help="make the demo mailbox again from scratch")


def demo_dir(args: argparse.Namespace) -> Path:
    """``--dir``, else ``demo/`` in the state directory (read from config.toml, not yet validated)."""
    from pigeon.core import paths
    from pigeon.core.config import read_raw

    if getattr(args, "dir", None):
        return Path(args.dir).expanduser()
    raw, _text = read_raw(paths.config_dir(getattr(args, "config_dir", None)))
    configured = raw.get("state_dir")
    state = paths.state_dir(configured if isinstance(configured, str) and configured else None)
    return paths.ensure_private_dir(state) / "demo"


def run(args: argparse.Namespace) -> int:
    from pigeon.core.app import AppOptions
    from pigeon.core.cli import make_app
    from pigeon.core.demo import demo_account, ensure_demo

    directory = demo_dir(args)
    # Its own state (index, journal) beside the demo Maildir: nothing of the demo mixes with yours.
    options = AppOptions(debug=bool(getattr(args, "debug", False)), demo=True, initial_folder="INBOX",
                         state_dir=directory.parent / f"{directory.name}-state")
    # Validate the user's config first: a broken config.toml stops the demo too.
    app = make_app(args, options=options, accounts={"demo": demo_account(directory)})
    store = ensure_demo(directory, reset=bool(getattr(args, "reset", False)))
    if getattr(args, "json", False):
        json.dump(summary(store), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if getattr(args, "print_only", False):
        print_summary(store, directory)
        return 0
    _index(app)
    app.startup()
    try:
        status = app.pm.hook.pigeon_main(app=app)
    finally:
        app.shutdown()
    if status is None:
        # No user interface plugin answered (none installed yet, or disabled): show the mailbox.
        print("pigeon: no full-screen client is available; here is the demo mailbox", file=sys.stderr)
        print_summary(store, directory)
        return 0
    return int(status)


def _index(app: Any) -> None:
    """Index the demo mailbox (40 messages, a fraction of a second), so that the client's
    search speaks the query language there as it will on your mail."""
    from pigeon.core.index import open_index

    with open_index(app) as index:
        index.update()


def run_main(args: argparse.Namespace) -> int:
    """``pigeon`` with no subcommand: the client on the configured accounts, or the demo."""
    from pigeon.core.cli import make_app

    app = make_app(args)
    if not app.config.accounts:
        args.dir = None
        args.print_only = False
        args.json = False
        args.reset = False
        return run(args)
    app.startup()
    try:
        status = app.pm.hook.pigeon_main(app=app)
    finally:
        app.shutdown()
    if status is None:
        from pigeon.core.errors import PigeonError

        raise PigeonError("no user interface plugin is enabled (is 'tui' disabled?)")
    return int(status)


# --------------------------------------------------------------------------- summary


def _parse(data: bytes) -> EmailMessage:
    try:
        from pigeon.core.mime import parse_bytes  # type: ignore[attr-defined]
    except ImportError:
        import email
        import email.policy

        return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]
    return parse_bytes(data)


def _header(msg: EmailMessage, name: str) -> str:
    try:
        from pigeon.core.mime import header_str  # type: ignore[attr-defined]
    except ImportError:
        try:
            return str(msg.get(name, "") or "")
        except Exception:  # a header the stdlib cannot parse: show it raw
            raw = msg.get_all(name) if hasattr(msg, "get_all") else None
            return str(raw[0]) if raw else ""
    return header_str(msg, name)


def _sender(msg: EmailMessage) -> str:
    try:
        from pigeon.core.mime import addresses  # type: ignore[attr-defined]

        pairs = addresses(msg, "From")
    except ImportError:
        from email.utils import getaddresses

        pairs = getaddresses([_header(msg, "From")])
    except Exception:
        pairs = []
    if not pairs:
        return _header(msg, "From")
    name, addr = pairs[0]
    return name or addr


def _date(msg: EmailMessage) -> tuple[str, float]:
    from email.utils import parsedate_to_datetime

    try:
        dt = parsedate_to_datetime(_header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return "", 0.0
    if dt is None:
        return "", 0.0
    stamp = dt.timestamp() if dt.tzinfo else dt.replace(tzinfo=datetime.now().astimezone().tzinfo).timestamp()
    return dt.strftime("%Y-%m-%d %H:%M"), stamp


def summary(store: Any) -> list[dict[str, Any]]:
    """Each folder with its counts and one row per message (sanitised), oldest first."""
    from pigeon.core.sanitize import sanitize_line

    out = []
    # INBOX first, then the rest in name order, as mail clients list them
    for folder in sorted(store.folders(), key=lambda f: (f != "INBOX", f)):
        rows = []
        for entry in store.list(folder):
            msg = _parse(store.read(entry))
            date, stamp = _date(msg)
            rows.append(
                {
                    "date": date,
                    "from": sanitize_line(_sender(msg)),
                    "subject": sanitize_line(_header(msg, "Subject")),
                    "flags": entry.flags,
                    "unread": "S" not in entry.flags,
                    "key": sanitize_line(entry.key),
                    "_stamp": stamp,
                }
            )
        rows.sort(key=lambda r: (r["_stamp"], r["key"]))
        for r in rows:
            del r["_stamp"]
        out.append(
            {
                "folder": sanitize_line(folder) or "(root)",
                "count": len(rows),
                "unread": sum(1 for r in rows if r["unread"]),
                "messages": rows,
            }
        )
    return out


def _cut(text: str, width: int) -> str:
    """``text`` cut and padded to ``width`` terminal cells (CJK takes two cells)."""
    from wcwidth import wcwidth

    def cells(ch: str) -> int:
        return max(wcwidth(ch), 0)

    total = sum(cells(c) for c in text)
    if total > width:
        out, used = [], 0
        for ch in text:
            if used + cells(ch) > width - 1:
                break
            out.append(ch)
            used += cells(ch)
        text, total = "".join(out) + "…", used + 1
    return text + " " * (width - total)


def print_summary(store: Any, directory: Path | None = None) -> None:
    """Folder, count, unread, then date, sender, subject and flags of each message."""
    from pigeon.core.sanitize import sanitize_line

    if directory is not None:
        print(f"demo mailbox: {sanitize_line(str(directory))}")
    for folder in summary(store):
        print()
        noun = "message" if folder["count"] == 1 else "messages"
        print(f"{folder['folder']}: {folder['count']} {noun}, {folder['unread']} unread")
        for r in folder["messages"]:
            # mutt's habit: N for unread, then the other flags
            flags = ("N" if r["unread"] else "") + r["flags"].replace("S", "")
            print(f"  {r['date']:<16}  {_cut(r['from'], 22)}  {_cut(r['subject'], 52)}  {flags}".rstrip())
