"""Drafts: replies, forwards and new messages as editable text, and that text back to a message.

The text a user edits is the mutt/message-mode shape: header lines, one empty line, the body.
Quoting and attribution come from ``pigeon_quote`` (the built-in ``quote`` plugin answers last);
defaults (From, signature) from ``pigeon_compose_defaults``. No prompt_toolkit here.
"""

from __future__ import annotations

import email.utils
import mimetypes
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pigeon.core.errors import CommandError
from pigeon.core.identities import identities
from pigeon.core.sanitize import sanitize_line, sanitize_text

EDIT_HEADERS = ("From", "To", "Cc", "Bcc", "Subject")
# X-Pigeon-Encrypt/-Sign: what the user asked for (a reply to encrypted mail starts with
# "X-Pigeon-Encrypt: yes"); shown so that it can be seen and removed, dropped before sending.
KEEP_HEADERS = ("In-Reply-To", "References", "X-Pigeon-Encrypt", "X-Pigeon-Sign")


def parse_file(path: Path) -> EmailMessage:
    try:
        from pigeon.core.mime import parse_file as core_parse

        return core_parse(path)
    except ImportError:
        import email
        import email.policy

        with open(path, "rb") as fh:
            return email.message_from_binary_file(fh, policy=email.policy.default)  # type: ignore[return-value]


def header(msg: EmailMessage, name: str) -> str:
    try:
        from pigeon.core.mime import header_str

        return header_str(msg, name)
    except ImportError:
        try:
            value = msg.get(name)
        except Exception:
            return ""
        return sanitize_line(str(value or "")).strip()


def body_text(app: Any, msg: EmailMessage) -> str:
    """The original's text as a reply quotes it."""
    try:
        from pigeon.core.render import quote_text

        return quote_text(app.pm, msg)
    except ImportError:
        pass
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
    except Exception:
        text = ""
    if part is not None and part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", "", text)
    return sanitize_text(text)


def default_quote(original: EmailMessage, text: str, kind: str) -> str:
    """``On DATE, NAME wrote:`` and ``> `` lines for a reply; a header block for a forward."""
    if kind == "forward":
        head = ["---------- Forwarded message ----------"]
        for name in ("From", "Date", "Subject", "To", "Cc"):
            value = header(original, name)
            if value:
                head.append(f"{name}: {value}")
        return "\n".join(head) + "\n\n" + text.rstrip("\n") + "\n"
    who = header(original, "From") or "someone"
    name, addr = email.utils.parseaddr(who)
    when = header(original, "Date")
    attribution = f"On {when}, {name or addr} wrote:" if when else f"{name or addr} wrote:"
    quoted = "\n".join((">" + line if line.startswith(">") or not line else "> " + line) for line in text.rstrip("\n").split("\n"))
    return f"{attribution}\n{quoted}\n"


def _strip_prefix(subject: str) -> str:
    return re.sub(r"^\s*((re|fwd?|aw|sv|tr)(\[\d+\])?\s*:\s*)+", "", subject, flags=re.I)


def _addr_list(values: list[str], drop: set[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for name, addr in email.utils.getaddresses(values):
        low = addr.lower()
        if not addr or low in drop or low in seen:
            continue
        seen.add(low)
        out.append(email.utils.formataddr((name, addr)))
    return out


def from_line(account: Any) -> str:
    return email.utils.formataddr((account.real_name, account.address)) if account.real_name else account.address


def new_draft(app: Any, account: Any, kind: str = "new", original: EmailMessage | None = None, to: str = "") -> EmailMessage:
    """A draft: From filled, and for replies/forwards the recipients, subject, references, body."""
    draft = EmailMessage()
    draft["From"] = from_line(account)
    body = ""
    if original is not None:
        subject = _strip_prefix(header(original, "Subject"))
        if kind == "forward":
            draft["Subject"] = f"Fwd: {subject}"
        else:
            draft["Subject"] = f"Re: {subject}"
            me = {i.address.lower() for i in identities(account)}  # all of this account's From addresses
            reply_to = header(original, "Reply-To") or header(original, "From")
            to_list = _addr_list([reply_to], set() if kind == "reply" else me)
            if kind == "reply-all":
                to_list += _addr_list([header(original, "To")], me | {a.lower() for _, a in email.utils.getaddresses(to_list)})
                cc = _addr_list([header(original, "Cc")], me | {a.lower() for _, a in email.utils.getaddresses(to_list)})
                if cc:
                    draft["Cc"] = ", ".join(cc)
            if to_list:
                draft["To"] = ", ".join(to_list)
            mid = header(original, "Message-ID")
            if mid:
                refs = header(original, "References").split()
                draft["In-Reply-To"] = mid
                draft["References"] = " ".join([*refs[-20:], mid])
        text = body_text(app, original)
        quote_kind = "forward" if kind == "forward" else "reply"
        quoted = app.pm.hook.pigeon_quote(original=original, text=text, kind=quote_kind)
        body = quoted if quoted is not None else default_quote(original, text, quote_kind)
    if to:
        draft["To"] = to
    draft.set_content(body)
    app.pm.hook.pigeon_compose_defaults(draft=draft, account=account, kind=kind, original=original)
    return draft


def draft_to_text(draft: EmailMessage) -> str:
    """The editable text of a draft."""
    lines = []
    for name in EDIT_HEADERS:
        lines.append(f"{name}: {sanitize_line(str(draft.get(name, '') or ''))}")
    for name in KEEP_HEADERS:
        if draft.get(name):
            lines.append(f"{name}: {sanitize_line(str(draft[name]))}")
    try:
        body = draft.get_content() if not draft.is_multipart() else (draft.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    except Exception:
        body = ""
    return "\n".join(lines) + "\n\n" + body


def text_to_message(text: str, attachments: list[Path] | None = None) -> EmailMessage:
    """Parse the edited text back. Header values cannot carry line breaks into new headers."""
    head, sep, body = text.partition("\n\n")
    if not sep:
        head, body = text, ""
    msg = EmailMessage()
    for raw in head.split("\n"):
        if not raw.strip():
            continue
        if ":" not in raw:
            raise CommandError(f"not a header line: {raw[:40]!r} (leave one empty line before the body)")
        name, _, value = raw.partition(":")
        name = name.strip()
        value = re.sub(r"[\r\n]+", " ", value).strip()
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise CommandError(f"bad header name {name!r}")
        if value:
            msg[name] = value
    if "Date" not in msg:
        msg["Date"] = email.utils.formatdate(localtime=True)
    if "Message-ID" not in msg:
        domain = email.utils.parseaddr(str(msg.get("From", "")))[1].rpartition("@")[2] or "pigeon.invalid"
        msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    msg.set_content(body)
    for path in attachments or []:
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def recipients(msg: EmailMessage) -> list[str]:
    values = [str(msg.get(h, "")) for h in ("To", "Cc", "Bcc")]
    return [a for _, a in email.utils.getaddresses(values) if a]


def key_choice(app: Any, account: Any, msg: EmailMessage) -> tuple[list[str], list[str]]:
    """Which key signs the draft and which key each recipient's copy is encrypted to (user ID
    and fingerprint, from ``pigeon_lookup_keys``), and the problems that forbid sending it:
    ``([], [])`` when the draft asks for neither (``X-Pigeon-Sign``/``X-Pigeon-Encrypt``)."""
    from pigeon.core.compose import key_plan

    sign = str(msg.get("X-Pigeon-Sign", "")).strip().lower() == "yes"
    encrypt = str(msg.get("X-Pigeon-Encrypt", "")).strip().lower() == "yes"
    sender = email.utils.parseaddr(str(msg.get("From", "")))[1] or account.address
    pgp = account.extra.get("pgp") if isinstance(getattr(account, "extra", None), dict) and isinstance(account.extra.get("pgp"), dict) else {}
    lines, problems = key_plan(app, sender, list(dict.fromkeys(recipients(msg))), sign=sign, encrypt=encrypt,
                               configured_key=str(pgp.get("key", "") or ""))
    return [sanitize_line(x) for x in lines], [sanitize_line(x) for x in problems]


def queue_message(app: Any, account: Any, msg: EmailMessage, *, at: float | None = None,
                  attachments: list[Path] | None = None, hold: float | None = None) -> str:
    """Send through the journal: held in the Outbox for ``send.undo_seconds`` (``undo-send``
    takes it back meanwhile) or until ``at`` (``send-later``), then delivered by the client or
    ``pigeon watch``, whichever runs; queued while offline."""
    import time

    from pigeon.core import actions

    if not recipients(msg):
        raise CommandError("no recipient: fill in To:")
    for name in ("To", "Cc", "Bcc"):  # prose typed on a header line is not an address
        for _, addr in email.utils.getaddresses([str(msg.get(name, ""))]):
            if addr and "@" not in addr.strip("@"):
                raise CommandError(f"{name}: {sanitize_line(addr)[:60]!r} is not an address")
    lines, problems = key_choice(app, account, msg)
    if problems:
        # never queued to go out plain: the user sees whose key is missing and decides
        raise CommandError("not sent: " + "; ".join(problems) + " (remove X-Pigeon-Encrypt: to send it unencrypted)")
    op = actions.send(app, account, msg, at=at, hold=hold, extra={"attachments": [str(p) for p in attachments or []]})
    if at is not None:
        return time.strftime("to be sent at %Y-%m-%d %H:%M (M-x pending; undo-send takes it back)", time.localtime(at))
    keys = f" ({len(lines)} key(s): M-x show-keys before sending lists them)" if lines else ""
    if op.due and op.due > time.time() + 0.5:
        return f"queued: sending in {op.due - time.time():.0f}s (M-x undo-send takes it back){keys}"
    return f"queued in the outbox{keys}"


def save_draft(app: Any, account: Any, msg: EmailMessage, previous: Path | None) -> Path:
    """Store the draft in the Drafts folder (flag D), replacing the previous save."""
    from pigeon.plugins.tui.source import get_store

    if str(msg.get("X-Pigeon-Encrypt", "")).strip().lower() == "yes":
        # a draft of an encrypted conversation is never stored in plaintext (RE-02)
        from pigeon.hooks.types import SendPolicy

        try:
            protected = app.pm.hook.pigeon_protect_outgoing(message=msg, policy=SendPolicy(encrypt=True, draft=True), account=account)
        except Exception as exc:
            raise CommandError(f"draft not saved: it must be stored encrypted, and {exc}") from None
        if protected is None:
            raise CommandError("draft not saved: it must be stored encrypted and no plugin can encrypt it")
        msg = protected
    store = get_store(app, account)
    folder = account.folder("drafts")
    if folder not in store.folders():
        store.create_folder(folder)
    entry = store.add(folder, msg.as_bytes(), flags="DS")
    path = Path(getattr(entry, "path", entry))
    if previous is not None and previous != path:
        try:
            previous.unlink()
        except OSError:
            pass
    return path
