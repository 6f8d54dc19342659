"""Building outgoing messages: headers that cannot be injected, attachments, mailto: URLs.

``new_message(app, account, to=..., cc=..., subject=..., body=..., attachments=...)`` returns an
``EmailMessage`` (``policy.default``) with From, Date and Message-ID set and the
``pigeon_compose_defaults`` hook applied. Every header value pigeon writes goes through
``check_header``: a CR or LF in it is refused (``PigeonError``), so no value can start a new
header. ``parse_mailto(url)`` honours only ``to``, ``cc``, ``subject``, ``body`` and
``in-reply-to`` (never ``attach``, ``bcc`` or unknown headers: SECURITY.md RE-03) and says what
it ignored; line breaks in its header values become spaces.

``template()`` / ``parse_template(text)`` are the ``$EDITOR`` round trip of ``pigeon compose``.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import Parser
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from pigeon.core.errors import PigeonError

MAILTO_FIELDS = ("to", "cc", "subject", "body", "in-reply-to")
#: Headers pigeon's own tools put on a queued message and remove before it is sent.
POLICY_HEADERS = ("X-Pigeon-Sign", "X-Pigeon-Encrypt")


def check_header(name: str, value: str) -> str:
    """``value`` if it is safe as a header value pigeon writes; else ``PigeonError``."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise PigeonError(f"the {name} header may not contain a line break")
    return value


def _addresses(values: list[str], name: str) -> str:
    joined = ", ".join(check_header(name, v.strip()) for v in values if v.strip())
    for _display, addr in getaddresses([joined]):
        if addr and "@" not in addr:
            raise PigeonError(f"{name}: {addr!r} is not an e-mail address")
    return joined


@dataclass
class Draft:
    """What the user asked for, before it becomes a message."""

    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    attachments: list[Path] = field(default_factory=list)
    sign: bool = False
    encrypt: bool = False


def new_message(app: Any, account: Any, draft: Draft, original: Any = None) -> EmailMessage:
    """The message for ``draft`` from ``account``, ready for the Outbox; ``original`` is the
    message it answers, when known (plugins see it in ``pigeon_compose_defaults``)."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = formataddr((check_header("From", account.real_name), account.address)) if account.real_name else account.address
    for name, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if values:
            msg[name] = _addresses(values, name)
    if not (draft.to or draft.cc or draft.bcc):
        raise PigeonError("no recipient: give --to (or --cc/--bcc)")
    msg["Subject"] = check_header("Subject", draft.subject)
    msg["Date"] = formatdate(localtime=True)
    domain = account.address.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    if draft.in_reply_to:
        ref = check_header("In-Reply-To", draft.in_reply_to.strip())
        if not re.fullmatch(r"<[^<>\s]+>", ref):
            raise PigeonError(f"In-Reply-To: {ref!r} is not a message id like <id@host>")
        msg["In-Reply-To"] = ref
        msg["References"] = ref
    if draft.sign:
        msg["X-Pigeon-Sign"] = "yes"
    if draft.encrypt:
        msg["X-Pigeon-Encrypt"] = "yes"
    body = draft.body if draft.body.endswith("\n") or not draft.body else draft.body + "\n"
    msg.set_content(body)
    for path in draft.attachments:
        attach(msg, path)
    if app is not None:
        app.pm.hook.pigeon_compose_defaults(draft=msg, account=account, kind="reply" if draft.in_reply_to else "new", original=original)
    return msg


def message_id(ident: str) -> str:
    """``<id@host>`` for ``id@host``, ``<id@host>`` or ``id:id@host`` (a search result's name)."""
    ident = ident.strip()
    if ident.startswith("id:"):
        ident = ident[3:]
    return ident if ident.startswith("<") else f"<{ident}>"


# --------------------------------------------------------------------------- key choice


def key_plan(app: Any, sender: str, recipients: list[str], *, sign: bool, encrypt: bool,
             configured_key: str = "") -> tuple[list[str], list[str]]:
    """Which key signs and which key each recipient is encrypted to, as lines to show the user,
    and the problems (a missing or expired key, named with its address) that forbid sending.

    Asked through ``pigeon_lookup_keys`` (local knowledge only): the core knows nothing of gpg.
    """
    lines: list[str] = []
    problems: list[str] = []
    if not (sign or encrypt):
        return lines, problems
    wanted = ([sender] if sign else []) + (recipients if encrypt else [])
    answers = app.pm.hook.pigeon_lookup_keys(addresses=[a.lower() for a in dict.fromkeys(wanted)], network=False)
    infos = [i for answer in answers or [] for i in answer or []]
    if not answers:
        return lines, ["no crypto plugin can sign or encrypt (is the pgp plugin disabled?)"]

    def show(info: Any) -> str:
        uid = info.uids[0] if info.uids else "(no user ID)"
        return f"{uid} {info.fingerprint}" + (f" ({info.source})" if info.source and info.source != "keyring" else "")

    if sign:
        mine = [i for i in infos if i.address == sender.lower() and i.secret]
        if configured_key:
            mine = [i for i in mine if configured_key.upper().replace(" ", "") in i.fingerprint.upper()] or mine
        good = [i for i in mine if i.usable]
        if good:
            lines.append(f"sign as {sender}: {show(good[0])}")
        elif mine:
            problems.append(f"cannot sign as {sender}: your key {mine[0].fingerprint} is {mine[0].reason}")
        else:
            problems.append(f"cannot sign as {sender}: no secret key for it in your keyring")
    if encrypt:
        for addr in recipients:
            known = [i for i in infos if i.address == addr.lower()]
            chosen = next((i for i in known if i.chosen), None)
            if chosen is not None:
                lines.append(f"encrypt to {addr}: {show(chosen)}")
                continue
            why = "; ".join(f"{i.fingerprint} {i.reason}" if i.fingerprint else i.reason for i in known) or "no key known"
            problems.append(f"cannot encrypt to {addr}: {why}")
    return lines, problems


def attach(msg: EmailMessage, path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PigeonError(f"cannot attach {path}: {exc.strerror}") from None
    ctype, encoding = mimetypes.guess_type(path.name)
    if ctype is None or encoding is not None:
        ctype = "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


# --------------------------------------------------------------------------- mailto


def parse_mailto(url: str) -> tuple[Draft, list[str]]:
    """A ``Draft`` from a mailto: URL and the names of the fields it ignored."""
    if not url.lower().startswith("mailto:"):
        raise PigeonError(f"not a mailto: URL: {url[:60]!r}")
    rest = url[7:]
    addr_part, _, query = rest.partition("?")
    draft = Draft()
    ignored: list[str] = []
    if addr_part:
        draft.to.extend(a.strip() for a in unquote(addr_part).split(",") if a.strip())
    for key, value in parse_qsl(query, keep_blank_values=True):
        k = key.lower()
        if k not in MAILTO_FIELDS:
            if k not in ignored:
                ignored.append(k)
            continue
        one_line = " ".join(value.splitlines()).replace("\0", "")
        if k == "to":
            draft.to.extend(a.strip() for a in one_line.split(",") if a.strip())
        elif k == "cc":
            draft.cc.extend(a.strip() for a in one_line.split(",") if a.strip())
        elif k == "subject":
            draft.subject = one_line
        elif k == "body":
            draft.body = value.replace("\r\n", "\n").replace("\0", "")
        elif k == "in-reply-to":
            draft.in_reply_to = one_line
    return draft, ignored


# --------------------------------------------------------------------------- editor template


def template(draft: Draft | None = None) -> str:
    d = draft or Draft()
    return (
        f"To: {', '.join(d.to)}\nCc: {', '.join(d.cc)}\nBcc: {', '.join(d.bcc)}\nSubject: {d.subject}\n\n{d.body}"
    )


def parse_template(text: str) -> Draft:
    """The draft the user wrote in ``$EDITOR`` (headers, blank line, body)."""
    msg = Parser(policy=policy.compat32).parsestr(text)
    draft = Draft()
    for name, target in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        for value in msg.get_all(name) or []:
            target.extend(a.strip() for a in str(value).replace("\n", " ").split(",") if a.strip())
    draft.subject = " ".join(str(msg.get("Subject") or "").split())
    payload = msg.get_payload()
    draft.body = payload if isinstance(payload, str) else ""
    return draft
