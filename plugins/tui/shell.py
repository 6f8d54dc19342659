"""``pigeon shell``: line commands that print text, and the PromptSession that reads them.

The commands work in both places: in the full-screen client their output lands in ``*Output*``.
A session remembers the last listing, so ``list`` then ``show 3`` works the way ``ls`` then
``cat`` would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.core.sanitize import sanitize_line
from pigeon.plugins.tui.source import FolderListing, folder_counts, format_date, get_store


def _session(ctx: CommandContext) -> dict[str, Any]:
    return ctx.data.setdefault("session", {})


def _account(ctx: CommandContext, name: str = "") -> Any:
    return ctx.app.account(name or ctx.account or None)


def folders(ctx: CommandContext) -> None:
    """List every folder with its unread and total counts."""
    for acct in ctx.app.config.accounts.values():
        store = get_store(ctx.app, acct)
        for f in store.folders():
            total, unread = folder_counts(store, f)
            ctx.print(f"{unread:>6} {total:>7}  {acct.name}:{sanitize_line(f) or '(root)'}")


def _listing(ctx: CommandContext, folder: str) -> FolderListing:
    acct = _account(ctx)
    if ":" in folder and folder.split(":", 1)[0] in ctx.app.config.accounts:
        name, folder = folder.split(":", 1)
        acct = ctx.app.account(name)
    store = get_store(ctx.app, acct)
    if folder not in store.folders():
        raise CommandError(f"no folder {folder!r} in account {acct.name}")
    listing = FolderListing(store, acct.name, folder, ctx.app.state_dir / "tui-cache")
    listing.scan()
    return listing


def _print_rows(ctx: CommandContext, listing: FolderListing, limit: int) -> None:
    shown = [listing.rows[i] for i in range(min(limit, len(listing)) if limit > 0 else len(listing))]
    for n, row in enumerate(shown, 1):
        s = listing.summary(row)
        flags = ("N" if "S" not in row.flags else " ") + ("!" if "F" in row.flags else " ")
        ctx.print(f"{n:>5} {flags} {format_date(s.date).strip():>10}  {(s.sender or s.sender_addr)[:22]:<22}  {s.subject}")
    if limit > 0 and len(listing) > limit:
        ctx.print(f"      ... {len(listing) - limit} more (list {listing.folder} 0 shows all)")
    listing.cache.save()
    _session(ctx)["listing"] = listing


def list_messages(ctx: CommandContext, folder: str = "INBOX", limit: str = "20") -> None:
    """List the newest messages of a folder, numbered for ``show N``, ``reply N``, ``flag N``."""
    try:
        n = int(limit)
    except ValueError:
        raise CommandError(f"not a number: {limit!r}") from None
    _print_rows(ctx, _listing(ctx, folder), n)


def _target(ctx: CommandContext, which: str) -> tuple[Path, FolderListing | None, str]:
    """A message number of the last listing, or a file path."""
    if which.isdigit():
        listing = _session(ctx).get("listing")
        if listing is None:
            raise CommandError("no listing yet: run `list FOLDER` first")
        i = int(which) - 1
        if not 0 <= i < len(listing):
            raise CommandError(f"no message {which} in the last listing")
        row = listing.rows[i]
        return listing.file(row), listing, row.key
    path = Path(which).expanduser()
    if not path.is_file():
        raise CommandError(f"no message {which!r} (a number from `list`, or a file)")
    return path, None, ""


def show(ctx: CommandContext, message: str) -> None:
    """Print a message as the client renders it (a number from ``list``, or a file)."""
    from pigeon.plugins.tui.view import render_view

    path, listing, _ = _target(ctx, message)
    acct = ctx.app.config.accounts.get(listing.account) if listing else None
    view = render_view(ctx.app, path, 78, acct, listing.folder if listing else "")
    for line in view.lines:
        ctx.print(line)


def _set_flag(ctx: CommandContext, message: str, add: str = "", remove: str = "") -> None:
    path, listing, key = _target(ctx, message)
    if listing is None:
        raise CommandError("flags need a message number from `list`")
    row = listing.rows[int(message) - 1]
    new = "".join(sorted((set(row.flags) | set(add)) - set(remove)))
    store, folder = listing.locate(row)
    if hasattr(store, "set_flags") and hasattr(store, "get"):
        from pigeon.core import actions  # recorded in the journal: undo, pending

        account = row.account or listing.account
        new_path = Path(actions.set_flags(ctx.app, account, folder, key, add=add, remove=remove).path)
    else:
        new_path = path.parent.parent / "cur" / f"{key}:2,{new}"
        path.rename(new_path)
    listing.refresh_row(key, new_path, int(message) - 1)
    ctx.print(f"{message}: flags {new or '(none)'}")


def flag(ctx: CommandContext, message: str) -> None:
    """Flag message N of the last listing."""
    _set_flag(ctx, message, add="F")


def unflag(ctx: CommandContext, message: str) -> None:
    """Remove the flag of message N."""
    _set_flag(ctx, message, remove="F")


def mark_read(ctx: CommandContext, message: str) -> None:
    """Mark message N read."""
    _set_flag(ctx, message, add="S")


def mark_unread(ctx: CommandContext, message: str) -> None:
    """Mark message N unread."""
    _set_flag(ctx, message, remove="S")


def draft_reply(ctx: CommandContext, message: str, kind: str = "reply") -> None:
    """Print the draft of a reply (``reply``, ``reply-all`` or ``forward``) to message N."""
    from pigeon.plugins.tui.compose import draft_to_text, new_draft, parse_file

    if kind not in ("reply", "reply-all", "forward"):
        raise CommandError("kind is reply, reply-all or forward")
    path, listing, _ = _target(ctx, message)
    acct = ctx.app.account(listing.account) if listing else _account(ctx)
    ctx.print(draft_to_text(new_draft(ctx.app, acct, kind, parse_file(path))))


def search_text(ctx: CommandContext, query: str, limit: int = 50) -> None:
    """``search QUERY`` in the shell: numbered hits (the index when built, else INBOX's words)."""
    from pigeon.plugins.tui.indexed import IndexListing, open_index

    index = open_index(ctx.app)
    if index is not None:
        listing: Any = IndexListing(ctx.app, index, query, query)
        listing.scan()
    else:
        from pigeon.plugins.tui.search import search_listing

        acct = _account(ctx)
        listing = search_listing(ctx.app, acct.name, acct.folder("inbox"), query)
    _print_rows(ctx, listing, limit)
    ctx.print(f"{len(listing)} message(s) match")


def answer_in_shell(ctx: CommandContext, message: str, kind: str) -> None:
    """``reply N``: on a terminal, edit the draft in $EDITOR and send it; from a pipe, print it."""
    import os
    import shlex
    import subprocess
    import sys
    import tempfile

    from pigeon.plugins.tui.compose import (
        draft_to_text,
        new_draft,
        parse_file,
        queue_message,
        text_to_message,
    )

    if not message:
        raise CommandError(f"{kind} N: which message (a number from `list` or `search`)")
    path, listing, _ = _target(ctx, message)
    acct = ctx.app.account((listing.rows[int(message) - 1].account or listing.account) if listing else None) if listing else _account(ctx)
    text = draft_to_text(new_draft(ctx.app, acct, kind, parse_file(path)))
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or ctx.prompt is None:
        ctx.print(text)
        return
    with tempfile.TemporaryDirectory(prefix="pigeon-draft-") as tmp:
        draft = Path(tmp) / "draft.eml"
        draft.write_text(text, encoding="utf-8")
        editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        subprocess.run([*editor, str(draft)], check=False)
        text = draft.read_text(encoding="utf-8")
    from pigeon.plugins.tui.compose import key_choice

    lines, problems = key_choice(ctx.app, acct, text_to_message(text))
    for line in [*lines, *(f"REFUSED: {p}" for p in problems)]:
        ctx.print(line)  # the keys it will be signed with / encrypted to, before "Send it?"
    if ctx.ask("Send it? (yes or no) ").strip().lower() not in ("yes", "y"):
        ctx.print("not sent")
        return
    ctx.print(queue_message(ctx.app, acct, text_to_message(text), hold=0))  # "Send it?" was the chance to stop
    if acct.smtp is not None:
        from pigeon.plugins.tui.compose import send_outbox

        ctx.print(send_outbox(ctx.app, acct))


def tag(ctx: CommandContext, *changes: str) -> None:
    """``tag +a -b N``: change the tags of message N of the last listing (in the index)."""
    from pigeon.plugins.tui.indexed import tag_message

    if len(changes) < 2 or not all(c[:1] in "+-" and len(c) > 1 for c in changes[:-1]):
        raise CommandError("usage: tag +TAG -TAG ... N")
    path, listing, _ = _target(ctx, changes[-1])
    if listing is None:
        raise CommandError("tag needs a message number from `list` or `search`")
    s = listing.summary(listing.rows[int(changes[-1]) - 1])
    add = [c[1:] for c in changes[:-1] if c[0] == "+"]
    remove = [c[1:] for c in changes[:-1] if c[0] == "-"]
    n = tag_message(ctx.app, s.message_id, add, remove)
    ctx.print(f"{' '.join(changes[:-1])}: {n} message(s) changed")


def register_shell_commands(register: Any) -> None:
    register(tag)
    register(folders)
    register(list_messages, name="list")
    register(show)
    register(flag)
    register(unflag)
    register(mark_read)
    register(mark_unread)
    register(draft_reply)


# ---------------------------------------------------------------------------- the session


def prompt_session(app: Any, ctx: CommandContext) -> int:
    """Read and run command lines until EOF (C-d) or ``exit``."""
    from pigeon.core.sanitize import sanitize_line as clean
    from pigeon.plugins.tui.completion import CommandCompleter
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import ThreadedCompleter
    from prompt_toolkit.history import FileHistory

    class _Shell:  # the minimal face CommandCompleter needs
        def __init__(self) -> None:
            self.app = app
            self.buffers: list[Any] = []

    history = app.state_dir / "shell_history"
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)),
        completer=ThreadedCompleter(CommandCompleter(_Shell(), fuzzy=False)),
        complete_while_typing=False,
        enable_history_search=True,
    )
    ctx.prompt = lambda q, default="", kind="": session.prompt(q, default=default)
    while True:
        try:
            line = session.prompt("pigeon> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        line = line.strip()
        if line in ("exit", "quit"):
            break
        if not line:
            continue
        try:
            app.commands.run_line(line, ctx)
        except CommandError as exc:
            print(f"pigeon: {clean(str(exc))}")
        except Exception as exc:
            print(f"pigeon: {line.split()[0]} failed: {type(exc).__name__}: {clean(str(exc))}")
    return 0
