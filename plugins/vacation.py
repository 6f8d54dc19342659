"""Built-in plugin: the vacation responder (RFC 3834 rules for automatic responses).

While ``[vacation] enabled = true`` (and between ``start`` and ``end`` when they are set), a
message that arrives in the inbox, passes the filters (not spam, not suspicious) and is
addressed to the user directly gets one reply per sender every ``days`` days. Lists, bulk mail,
automatic messages and null senders are never answered. The reply goes into the account's
Outbox folder, from where the sending machinery sends it; ``pigeon undo`` withdraws it.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

# sqlite3 and the email package are imported where used: every command imports this plugin
if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import MessageRef, SettingsRegistry

SOURCE = "vacation"
DB_FILE = "vacation.sqlite"
# A pattern, not compiled at import (~0.2 ms for every command): ``re`` compiles and caches it
# when a reply is first considered.
NEVER_ANSWER = (
    r"(?i)^(mailer-daemon|postmaster|listserv|majordomo|.*-request|owner-.*|.*-owner|.*-bounces?|bounces?[-+].*|"
    r"no-?reply.*|do-?not-?reply.*|.*noreply|notifications?)@"
)


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add("vacation.enabled", bool, False, "Answer new mail automatically while you are away.")
    settings.add("vacation.subject", str, "Away: {subject}", "Subject of the reply; {subject} is the original subject.")
    settings.add("vacation.body", str, "I am away and will read your message when I am back.\n", "Text of the reply.")
    settings.add("vacation.days", int, 7, "Answer each sender at most once in this many days.")
    settings.add("vacation.start", str, "", "First day of the absence (YYYY-MM-DD); empty: now.")
    settings.add("vacation.end", str, "", "Last day of the absence (YYYY-MM-DD); empty: until disabled.")
    settings.add("vacation.addresses", list, [], "More addresses of yours that mail to you may be sent to.")


def active(config: Any, today: date | None = None) -> bool:
    if not config.get("vacation.enabled", False):
        return False
    today = today or date.today()
    try:
        start = config.get("vacation.start", "")
        end = config.get("vacation.end", "")
        if start and today < date.fromisoformat(start):
            return False
        if end and today > date.fromisoformat(end):
            return False
    except ValueError:
        return False
    return True


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, "") or "").strip()
    except Exception:
        return ""


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    out = []
    try:
        for value in msg.get_all(name) or []:
            out.extend(a.addr_spec.lower() for a in value.addresses)
    except Exception:
        pass
    return out


def why_not(msg: EmailMessage, own: set[str]) -> str | None:
    """Why a message must not be answered (RFC 3834 §2), or None when a reply is allowed."""
    auto = _header(msg, "auto-submitted").lower()
    if auto and auto != "no":
        return "it was sent automatically"
    if any(_header(msg, h) for h in ("list-id", "list-post", "list-unsubscribe", "mailing-list")):
        return "it came through a mailing list"
    if _header(msg, "precedence").lower() in ("bulk", "list", "junk"):
        return "it is bulk mail"
    if _header(msg, "x-auto-response-suppress").lower() in ("all", "oof", "autoreply"):
        return "the sender asked for no automatic replies"
    if _header(msg, "return-path") == "<>":
        return "it has a null sender"
    sender = reply_address(msg)
    if not sender or "@" not in sender:
        return "it has no usable sender address"
    if sender in own:
        return "it is from you"
    if re.match(NEVER_ANSWER, sender):
        return f"{sender} is an automatic address"
    if not (set(_addresses(msg, "to")) | set(_addresses(msg, "cc"))) & own:
        return "it was not addressed to you directly"
    return None


def reply_address(msg: EmailMessage) -> str:
    """Where an automatic reply goes: the Return-Path (RFC 3834 §4), else From."""
    rp = _header(msg, "return-path").strip("<>").lower()
    if rp and "@" in rp:
        return rp
    froms = _addresses(msg, "from")
    return froms[0] if froms else ""


class Limiter:
    """When each sender was last answered."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(str(path), timeout=10)
        self.db.execute("CREATE TABLE IF NOT EXISTS replied (sender TEXT PRIMARY KEY, at REAL NOT NULL)")

    def allowed(self, sender: str, days: int) -> bool:
        row = self.db.execute("SELECT at FROM replied WHERE sender = ?", (sender,)).fetchone()
        return row is None or time.time() - row[0] >= days * 86400

    def note(self, sender: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO replied VALUES (?, ?)", (sender, time.time()))

    def close(self) -> None:
        self.db.close()


def build_reply(msg: EmailMessage, account: Any, config: Any, to: str) -> EmailMessage:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    subject = _header(msg, "subject") or "your message"
    reply = EmailMessage()
    reply["From"] = f"{account.real_name} <{account.address}>" if account.real_name else account.address
    reply["To"] = to
    reply["Subject"] = config.get("vacation.subject", "Away: {subject}").replace("{subject}", subject)
    reply["Date"] = format_datetime(datetime.now().astimezone())
    reply["Message-ID"] = make_msgid(domain=account.address.rsplit("@", 1)[-1])
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    mid = _header(msg, "message-id")
    if mid:
        reply["In-Reply-To"] = mid
        refs = _header(msg, "references")
        reply["References"] = f"{refs} {mid}".strip()
    reply.set_content(config.get("vacation.body", ""))
    return reply


def respond(app: Any, message: EmailMessage, ref: MessageRef, tags: list[str]) -> str | None:
    """Queue a vacation reply for a message that stayed in the inbox; returns the Outbox path."""
    config = app.config
    if not active(config) or {"spam", "suspicious", "unsure"} & set(tags):
        return None
    account = app.account(ref.account or None)
    own = {account.address.lower()} | {str(a).lower() for a in config.get("vacation.addresses", [])}
    if why_not(message, own) is not None:
        return None
    to = reply_address(message)
    limiter = Limiter(Path(app.state_dir) / DB_FILE)
    try:
        if not limiter.allowed(to, int(config.get("vacation.days", 7))):
            return None
        reply = build_reply(message, account, config, to)
        entry = app.store(account).add(account.folder("outbox"), bytes(reply), flags="")
        limiter.note(to)
    finally:
        limiter.close()
    from pigeon.core.filtering import open_journal

    with open_journal(app) as journal:
        journal.record(journal.new_batch(), account.name, _header(message, "message-id") or f"path:{ref.path}", SOURCE,
                       "reply", {}, {"folder": entry.folder, "path": str(entry.path), "to": to}, "vacation responder")
    return str(entry.path)
