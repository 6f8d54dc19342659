"""Commands on folders and messages: open, move, flag, tag, search, attachments, links."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pigeon.core.commands import CommandContext
from pigeon.core.errors import CommandError
from pigeon.core.sanitize import sanitize_line, sanitize_text
from pigeon.plugins.tui.commands import _buf, _list_and_key, command, on_ui
from pigeon.plugins.tui.model import (
    BufferList,
    FolderBuffer,
    MessageBuffer,
    MessageListBuffer,
)
from pigeon.plugins.tui.ui import TUI, ui_of

# ====================================================================== folders and messages


def _split_folder(ctx: CommandContext, text: str) -> tuple[str, str]:
    accounts = ctx.app.config.accounts
    if ":" in text and text.split(":", 1)[0] in accounts and len(accounts) > 1:
        acct, folder = text.split(":", 1)
        return acct, folder
    return (ctx.account or ctx.app.account().name), text


@command()
def open_folder(ctx: CommandContext, folder: str) -> None:
    """Show a folder's messages (``account:folder`` when there are several accounts)."""
    ui = ui_of(ctx)
    acct, name = _split_folder(ctx, folder)
    store_folders = ui.call(lambda: [f for a, f in ui.folders.entries if a == acct])
    if name not in store_folders:
        raise CommandError(f"no folder {name!r} in account {acct}")
    ui.call(ui.open_folder, acct, name)


@command()
@on_ui
def list_folders(ctx: CommandContext) -> None:
    """Show the folders of every account with their unread and total counts."""
    ui = ui_of(ctx)
    ui._load_folders()
    ui.show(ui.folders)


@command()
@on_ui
def select(ctx: CommandContext) -> None:
    """Open what is at point: a folder, a message, a buffer."""
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, FolderBuffer):
        saved = buf.search_at(buf.cursor)
        if saved is not None:
            if ui.open_search(saved[1], saved[0]) is None:
                raise CommandError("saved searches need the index: run `pigeon index`")
            return
        cur = buf.current()
        if cur:
            ui.open_folder(*cur)
    elif isinstance(buf, MessageListBuffer):
        if getattr(buf.listing, "by_thread", False):  # a thread line of the index: its messages
            ts = buf.listing.thread_at(buf.cursor)
            if ts is not None:
                ui.open_search(f"thread:{ts.thread}", label=f"thread: {ts.subject}")
            return
        if buf.threaded is not None and buf.threaded.visible:
            _, depth, size = buf.threaded.visible[buf.cursor]
            if size > 1 and depth == 0 and buf.row_index(buf.cursor) not in buf.threaded.expanded:
                buf.toggle_thread()
                return
        ui.open_message(buf)
    elif isinstance(buf, BufferList):
        if 0 <= buf.cursor < len(buf.targets):
            target = ui.buffer_named(buf.targets[buf.cursor])
            if target is not None:
                ui.show(target)


def _step_message(ctx: CommandContext, n: int) -> None:
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, MessageBuffer) and buf.source_list is not None:
        lst = buf.source_list
        before = lst.cursor
        lst.move(n)
        if lst.cursor == before:
            raise CommandError("no more messages")
        ui.open_message(lst, buf)
    else:
        buf.move(n)


@command("message", "list")
@on_ui
def next_message(ctx: CommandContext) -> None:
    """Show the next message of the list."""
    _step_message(ctx, 1)


@command("message", "list")
@on_ui
def previous_message(ctx: CommandContext) -> None:
    """Show the previous message of the list."""
    _step_message(ctx, -1)


@command("list", "message")
@on_ui
def read_on(ctx: CommandContext) -> None:
    """SPC: the next screenful of the message, or the next message at its end (mutt, Gnus).

    In a list, it opens the message at point, or pages the message shown in another window.
    """
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, MessageListBuffer):
        shown = next((p.buffer for p in ui.tree.panes() if isinstance(p.buffer, MessageBuffer) and p.buffer.source_list is buf), None)
        row = buf.row()
        if shown is None or row is None or shown.key != row.key:
            ui.open_message(buf)
        elif shown.top + shown.height >= shown.line_count():
            buf.move(1)
            ui.open_message(buf)
        else:
            shown.page(1)
        return
    if isinstance(buf, MessageBuffer) and buf.top + buf.height >= buf.line_count():
        _step_message(ctx, 1)
        return
    buf.page(1)


@command("list")
@on_ui
def toggle_threads(ctx: CommandContext) -> None:
    """Show the list by thread (folded) or by message.

    With the index, a folder's threads come from it a page at a time (RET opens a thread);
    without, the folder's headers are read once in the background and threaded here.
    """
    ui = ui_of(ctx)
    buf = ui.current
    if not isinstance(buf, MessageListBuffer):
        raise CommandError("not a message list")
    if getattr(buf.listing, "by_thread", False):
        ui.bury(buf)
        return
    from pigeon.plugins.tui.indexed import IndexListing

    if isinstance(buf.listing, IndexListing):
        query = buf.listing.query
    else:
        folder = buf.folder if " " not in buf.folder else '"' + buf.folder.replace('"', "") + '"'
        query = f"folder:{folder} and account:{buf.account}"
    if buf.threaded is None and ui.open_search(query, label=f"threads: {buf.listing.folder}", threads=True) is not None:
        return
    ui.thread_view(buf, buf.threaded is None)


@command("list")
@on_ui
def toggle_thread(ctx: CommandContext) -> None:
    """Fold or unfold the thread at point."""
    buf = _buf(ctx)
    if isinstance(buf, MessageListBuffer):
        buf.toggle_thread()


@command()
@on_ui
def refresh(ctx: CommandContext) -> None:
    """Re-read the folder and the folder counts; sync the accounts that have a server, in the
    background (the mode line shows its progress)."""
    ui = ui_of(ctx)
    buf = ui.current
    if isinstance(buf, MessageListBuffer):
        for s in list(buf.listing.cache.data.values()):
            s.tags_checked = False  # tags may have changed elsewhere (pigeon tag, filters)
        ui.rescan(buf)
    ui._load_folders()
    if "sync" in ctx.app.commands and any(a.imap for a in ctx.app.config.accounts.values()):
        ui.run_command("sync")


@command()
def sync(ctx: CommandContext, account: str = "") -> None:
    """Two-way sync with the IMAP server (ACCOUNT, or every account that has one).

    In the client it runs in the background: keep reading; new mail shows as it lands.
    """
    accounts = [ctx.app.account(account)] if account else [a for a in ctx.app.config.accounts.values() if a.imap]
    if not accounts or any(a.imap is None for a in accounts):
        raise CommandError("no IMAP server configured for " + (account or "any account"))
    try:
        from pigeon.core.sync import Progress, problems, summary, sync_account
    except ImportError:
        raise CommandError("this pigeon has no sync engine") from None

    class Said(Progress):
        """Says so when another sync of the account (pigeon watch, a cron job) holds it up."""

        def __init__(self, account: str) -> None:
            self.account = account

        def waiting(self, holder: str) -> None:
            from pigeon.core.sync_lock import waiting_line

            line = f"sync {waiting_line(self.account, holder)}"
            if isinstance(ctx.ui, TUI):
                ctx.ui.post(ctx.ui.message, line)
            else:
                ctx.print(line)

    def work() -> tuple[str, list[str]]:
        results = [sync_account(ctx.app, a, progress=Said(a.name)) for a in accounts]
        return summary(results), problems(results)

    def said(done: tuple[str, list[str]]) -> None:
        # What failed, first: the summary of what went through follows it.
        line, wrong = done
        for p in wrong[1:]:
            ui.messages.append(f"sync: {p}")
        more = f" (and {len(wrong) - 1} more: C-h e)" if len(wrong) > 1 else ""
        ui.message(f"sync: {wrong[0]}{more} ({line})" if wrong else f"sync: {line}", bool(wrong))

    if isinstance(ctx.ui, TUI):
        ui = ctx.ui
        ui.call(ui.spawn, work, said, "sync")
        return
    line, wrong = work()
    ctx.print(line)
    if wrong:
        raise CommandError("; ".join(wrong))


def _flag(ctx: CommandContext, letter: str, toggle_on_missing: bool = True) -> None:
    ui = ui_of(ctx)
    lst, key = _list_and_key(ctx)
    i = lst.listing.index_of(key, lst.row_index(lst.cursor))
    if i is None:
        raise CommandError("the message is gone")
    row = lst.listing.rows[i]
    if letter in row.flags:
        ui.set_flags(lst, key, remove=letter)
    else:
        ui.set_flags(lst, key, add=letter)


@command("list", "message")
@on_ui
def toggle_flag(ctx: CommandContext) -> None:
    """Flag (star) the message, or unflag it."""
    _flag(ctx, "F")


@command("list", "message")
@on_ui
def toggle_unread(ctx: CommandContext) -> None:
    """Mark the message unread, or read."""
    _flag(ctx, "S")


def _move(ctx: CommandContext, role: str) -> None:
    ui = ui_of(ctx)
    lst, key = _list_and_key(ctx)
    i = lst.listing.index_of(key, lst.row_index(lst.cursor))
    row = lst.listing.rows[i] if i is not None else None
    acct = ctx.app.account((row.account if row is not None and row.account else None) or lst.account)
    dest = acct.folder(role)
    if (row.folder if row is not None and row.folder is not None else lst.folder) == dest:
        if role == "trash":
            ui.set_flags(lst, key, add="T")
            ui.message("marked deleted (T)")
            return
        raise CommandError(f"already in {dest}")
    buf = ui.current
    ui.move_message(lst, key, dest)
    lst.goto(lst.cursor)
    ui.message(f"moved to {dest}")
    if isinstance(buf, MessageBuffer):
        if lst.row() is not None:
            ui.open_message(lst, buf)
        else:
            ui.bury(buf)


@command("list", "message")
@on_ui
def archive(ctx: CommandContext) -> None:
    """Move the message to the account's Archive folder."""
    _move(ctx, "archive")


@command("list", "message")
@on_ui
def delete(ctx: CommandContext) -> None:
    """Move the message to Trash (in Trash: mark it deleted)."""
    _move(ctx, "trash")


def _index() -> Any:
    try:
        from pigeon.core import index  # type: ignore[attr-defined]
    except ImportError:
        return None
    return index


@command("list", "message")
def tag_add(ctx: CommandContext, tag: str) -> None:
    """Add a tag to the message (kept in the index)."""
    _tag(ctx, f"+{tag}")


@command("list", "message")
def tag_remove(ctx: CommandContext, tag: str) -> None:
    """Remove a tag from the message."""
    _tag(ctx, f"-{tag}")


def _tag(ctx: CommandContext, change: str) -> None:
    from pigeon.plugins.tui.indexed import tag_message

    ui = ui_of(ctx)
    lst, key = ui.call(_list_and_key, ctx)

    def summary() -> Any:
        i = lst.listing.index_of(key, lst.row_index(lst.cursor))
        return lst.listing.summary(lst.listing.rows[i]) if i is not None else None

    s = ui.call(summary)
    if s is None or not s.message_id:
        raise CommandError("this message has no Message-ID to tag it by")
    tag = change[1:]
    changed = tag_message(ctx.app, s.message_id, [tag] if change[0] == "+" else [], [tag] if change[0] == "-" else [])

    def show() -> None:
        tags = [t for t in s.tags if t != tag] + ([tag] if change[0] == "+" else [])
        s.tags = tags
        lst.tags[key] = tags
        # the same message in other lists: look its tags up again when next drawn
        for b in ui.buffers:
            if isinstance(b, MessageListBuffer) and b is not lst:
                for other in list(b.listing.cache.data.values()):
                    if other.message_id == s.message_id:
                        other.tags_checked = False
        ui.message(f"{change} ({changed} message(s))")

    ui.call(show)


@command()
def search(ctx: CommandContext, query: str) -> None:
    """Search: the index's query language when it exists, else words in this folder's list."""
    if not isinstance(ctx.ui, TUI):
        from pigeon.plugins.tui.shell import search_text

        search_text(ctx, query)
        return
    ui = ui_of(ctx)
    if ui.call(ui.open_search, query) is not None:
        return
    acct = ctx.account or ctx.app.account().name
    folder = ctx.folder if ctx.folder is not None else ctx.app.account(acct).folder("inbox")
    from pigeon.plugins.tui.search import search_listing

    listing = ui.call(lambda: next((b.listing for b in ui.buffers if isinstance(b, MessageListBuffer) and b.account == acct and b.folder == folder), None))
    result = search_listing(ctx.app, acct, folder, query, listing)
    buf = MessageListBuffer(result, name=f"*search: {sanitize_line(query)[:30]}*")
    ui.call(ui.show, buf)
    # said, so that a query that found nothing is not taken for an answer of the index
    ui.call(ui.message, f"{len(result)} message(s) with these words in {folder} (no index yet: "
                        "'pigeon index' makes one for the query language)")


# ====================================================================== the message view


def _message_path(ctx: CommandContext) -> Path:
    if ctx.message is None:
        raise CommandError("no message here")
    return Path(ctx.message)


@command("message", "list")
def view_source(ctx: CommandContext) -> None:
    """Show the message's source (control characters neutralised)."""
    ui = ui_of(ctx)
    data = _message_path(ctx).read_bytes()
    ui.call(ui.show_text, "*Source*", sanitize_text(data.decode("utf-8", "replace")).expandtabs(8), "source")


def _attachments(ctx: CommandContext) -> list[Any]:
    from pigeon.plugins.tui.view import render_view

    acct = ctx.app.config.accounts.get(ctx.account or "")
    return render_view(ctx.app, _message_path(ctx), 80, acct, ctx.folder or "").attachments


def _pick_attachment(ctx: CommandContext) -> Any:
    atts = [a for a in _attachments(ctx) if a.part is not None]
    if not atts:
        raise CommandError("this message has no attachment")
    if len(atts) == 1:
        return atts[0]
    ui = ui_of(ctx)
    listing = ", ".join(f"{n}: {a.name}" for n, a in enumerate(atts, 1))
    answer = ui.ask(f"Attachment ({listing}): ", default="1")
    try:
        return atts[int(answer) - 1]
    except (ValueError, IndexError):
        raise CommandError(f"no attachment {answer!r}") from None


def _payload(att: Any) -> bytes:
    data = att.part.get_payload(decode=True)
    return data if isinstance(data, bytes) else str(att.part.get_payload()).encode()


@command("message", "list")
def save_attachment(ctx: CommandContext) -> None:
    """Save an attachment to a file (file-name completion; nothing is overwritten silently)."""
    from pigeon.plugins.tui.view import safe_file_name

    ui = ui_of(ctx)
    att = _pick_attachment(ctx)
    downloads = Path("~/Downloads").expanduser()
    base = downloads if downloads.is_dir() else Path.cwd()
    default = str(base / safe_file_name(att.name))
    answer = ui.ask("Save attachment to: ", default=default, kind="file")
    target = Path(answer).expanduser()
    if target.is_dir():
        target = target / safe_file_name(att.name)
    if target.exists() and ui.ask(f"{target} exists; overwrite? (yes or no) ").strip().lower() not in ("yes", "y"):
        return
    target.write_bytes(_payload(att))
    ui.call(ui.message, f"saved {target}")


@command("message", "list")
def open_attachment(ctx: CommandContext) -> None:
    """Open an attachment with the desktop's program (xdg-open), from a private temporary copy."""
    from pigeon.plugins.tui.view import safe_file_name

    ui = ui_of(ctx)
    att = _pick_attachment(ctx)
    if att.warnings:  # a double extension, an executable: the user decides, having read why
        why = "; ".join(sanitize_line(w) for w in att.warnings)
        if ui.ask(f"{sanitize_line(att.name)}: {why}. Open it anyway? (yes or no) ").strip().lower() != "yes":
            ui.call(ui.message, "not opened")
            return
    opener = shutil.which("xdg-open") or shutil.which("open")
    if opener is None:
        raise CommandError("no program to open files with (xdg-open); use S to save it")
    tmp = Path(tempfile.mkdtemp(prefix="pigeon-"))
    path = tmp / safe_file_name(att.name)
    path.write_bytes(_payload(att))
    path.chmod(0o600)
    subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ui.call(ui.message, f"opened {path.name}")


@command("message")
def open_link(ctx: CommandContext, link: str) -> None:
    """Open link N of the message in the browser, after showing its real target (TAB lists them)."""
    from pigeon.plugins.tui.completion import message_links

    ui = ui_of(ctx)
    links = ui.call(message_links, ui.current)
    number = link.strip().split()[0] if link.strip() else ""
    target = next((t for n, t in links if n == number), None)
    if target is None:
        raise CommandError(f"no link {number!r}" if links else "this message has no link")
    target = sanitize_line(target)
    browser = os.environ.get("BROWSER") or shutil.which("xdg-open")
    if not browser:
        ui.call(ui.message, f"[{number}] {target}")
        return
    if ui.ask(f"Open {target}? (yes or no) ").strip().lower() not in ("yes", "y"):
        return
    subprocess.Popen([*shlex.split(browser), target], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
