"""iTIP REPLY (RFC 5546 §3.2.3) to an invitation, sent by e-mail as iMIP (RFC 6047).

Not a plugin itself: ``pigeon.plugins.calendar`` answers ``pigeon_invitation_reply`` with
:func:`build_reply`. The reply carries, for each VEVENT of the request (the series and any
changed occurrence), the same UID, RECURRENCE-ID and SEQUENCE, a fresh DTSTAMP, the ORGANIZER,
and one ATTENDEE, the one replying, with its PARTSTAT; SUMMARY, DTSTART and DTEND are copied
for the organizer's convenience (times in UTC, so no VTIMEZONE is needed).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from pigeon.plugins.ical import (
    Component,
    ICalError,
    Prop,
    address_of,
    calendar_of,
    escape_text,
    format_utc,
    format_when,
    parse_when,
    serialize,
)
from pigeon.plugins.ical_tz import ZoneResolver

PARTSTATS = {"accept": "ACCEPTED", "tentative": "TENTATIVE", "decline": "DECLINED"}
SUBJECT_PREFIX = {"accept": "Accepted", "tentative": "Tentative", "decline": "Declined"}
VERB = {"accept": "accepted", "tentative": "tentatively accepted", "decline": "declined"}
PRODID = "-//pigeon//pigeon mail client//EN"
_ADDRESS = re.compile(r"[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+")


class InvitationError(ValueError):
    """The message holds no invitation that can be answered; the text says why."""


def find_calendar(message: EmailMessage) -> tuple[Component, EmailMessage]:
    """The first calendar part of ``message`` holding a VEVENT, parsed, and the part."""
    from pigeon.core import mime

    seen = 0
    stack: list[Any] = [message]
    while stack and seen < 200:
        part = stack.pop(0)
        seen += 1
        if mime.is_multipart(part):
            stack[:0] = mime.subparts(part)
            continue
        ctype = mime.content_type(part)
        name = mime.filename(part).lower()
        if ctype in ("text/calendar", "application/ics") or name.endswith(".ics"):
            try:
                cal = calendar_of(mime.part_text(part))
            except (ICalError, RecursionError):
                continue
            if any(c.name == "VEVENT" for c in cal.children):
                return cal, part
    raise InvitationError("this message holds no calendar invitation")


def _clean(text: str, limit: int = 300) -> str:
    """A value for a header: no control characters (so no CR/LF), bounded."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text).strip()[:limit]


def build_reply(
    message: EmailMessage,
    answer: str,
    account: Any,
    *,
    identity: Any = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The e-mail answering the invitation in ``message``: ``accept``, ``tentative`` or ``decline``.

    ``identity`` (with ``address`` and ``name``) is who answers; default: the attendee of the
    invitation that is one of the account's addresses, else the account's own address.
    Raises ``InvitationError`` when there is nothing to answer.
    """
    from pigeon.core import mime

    answer = answer.lower()
    if answer not in PARTSTATS:
        raise InvitationError(f"the answer must be accept, tentative or decline, not {answer!r}")
    cal, _part = find_calendar(message)
    method = cal.value("METHOD").upper()
    if method == "CANCEL":
        raise InvitationError("this event was cancelled by its organizer: there is nothing to answer")
    if method not in ("REQUEST", "", "ADD"):
        raise InvitationError(f"this calendar message ({method}) is not an invitation: there is nothing to answer")
    events = [c for c in cal.children if c.name == "VEVENT"][:50]
    organizer = next((ev.get("ORGANIZER") for ev in events if ev.get("ORGANIZER")), None)
    if organizer is None:
        raise InvitationError("the invitation names no organizer to answer")
    organizer_addr = _clean(address_of(organizer.value))
    if not _ADDRESS.fullmatch(organizer_addr):
        raise InvitationError(f"the organizer's address is not an e-mail address: {organizer_addr[:80]!r}")

    me_addr, me_name = _who(events, account, identity, message)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    zones = ZoneResolver(cal)
    reply = Component("VCALENDAR", [Prop("PRODID", PRODID), Prop("VERSION", "2.0"), Prop("METHOD", "REPLY")])
    for ev in events:
        reply.children.append(_reply_event(ev, organizer, me_addr, me_name, PARTSTATS[answer], now, zones))
    ical_text = serialize(reply)

    summary = _clean(events[0].text("SUMMARY"), 200) or "(no title)"
    # 998: long Message-IDs (Exchange's are ~90 characters) in In-Reply-To and References must
    # not be folded into RFC 2047 encoded words, which would break threading
    msg = EmailMessage(policy=policy.default.clone(max_line_length=998))
    try:
        organizer_header = Address(display_name=_clean(organizer.param("CN"), 100), addr_spec=organizer_addr)
    except Exception:  # the stdlib's stricter check of the address (a dot at either end, ...)
        raise InvitationError(f"the organizer's address is not an e-mail address: {organizer_addr[:80]!r}") from None
    try:
        msg["From"] = Address(display_name=_clean(me_name, 100), addr_spec=me_addr) if me_name else me_addr
    except Exception:
        raise InvitationError(f"cannot answer as {me_addr[:80]!r}: not an e-mail address") from None
    msg["To"] = organizer_header
    msg["Subject"] = f"{SUBJECT_PREFIX[answer]}: {summary}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=me_addr.rpartition("@")[2] or None)
    original_id = _clean(mime.header_str(message, "Message-ID"), 998)
    if original_id.startswith("<") and original_id.endswith(">") and " " not in original_id:
        msg["In-Reply-To"] = original_id
        refs = _clean(mime.header_str(message, "References"), 900).split()
        msg["References"] = " ".join([r for r in refs if r.startswith("<")][-10:] + [original_id])
    who = f"{me_name} <{me_addr}>" if me_name else me_addr
    text = f"{who} has {VERB[answer]} the invitation:\n\n    {summary}\n"
    msg.set_content(text)
    msg.add_alternative(ical_text, subtype="calendar", params={"method": "REPLY"})
    return msg


def _who(events: list[Component], account: Any, identity: Any, message: EmailMessage) -> tuple[str, str]:
    """The replying attendee's address and name: the identity given, else the account's identity
    that is among the attendees, else the one the message was sent to."""
    from pigeon.core.identities import choose_identity, identity_for_address

    if identity is None:
        invited = [address_of(a.value) for ev in events for a in ev.all("ATTENDEE")]
        matches = [found for addr in invited if (found := identity_for_address(account, addr)) is not None]
        identity = matches[0] if matches else choose_identity(account, message)
        if matches and identity.address.startswith("*@"):
            addr = next(a for a in invited if identity_for_address(account, a) is not None)
            return _clean(addr), _clean(identity.name)
    return _clean(identity.address), _clean(getattr(identity, "name", "") or "")


def _reply_event(
    ev: Component, organizer: Prop, me_addr: str, me_name: str, partstat: str, now: datetime, zones: ZoneResolver
) -> Component:
    out = Component("VEVENT")
    uid = ev.get("UID")
    if uid is None or not uid.value.strip():
        raise InvitationError("the invitation has no UID: the organizer could not match an answer to it")
    out.props.append(Prop("UID", _clean(uid.value, 2000)))
    for name in ("RECURRENCE-ID", "DTSTART", "DTEND"):
        prop = ev.get(name)
        when = parse_when(prop, zones) if prop is not None else None
        if when is None or when.kind == "unknown-zone":
            if name == "RECURRENCE-ID" and prop is not None:
                raise InvitationError("cannot read the occurrence this invitation changes (RECURRENCE-ID)")
            continue
        value, params = format_when(when)
        out.props.append(Prop(name, value, {k: [v] for k, v in params.items()}))
    sequence = ev.value("SEQUENCE")
    out.props.append(Prop("SEQUENCE", str(int(sequence)) if sequence.isdigit() and len(sequence) < 10 else "0"))
    out.props.append(Prop("DTSTAMP", format_utc(now)))
    org_params = {"CN": [_clean(organizer.param("CN"), 100)]} if organizer.param("CN") else {}
    out.props.append(Prop("ORGANIZER", "mailto:" + _clean(address_of(organizer.value)), org_params))
    att_params = {"PARTSTAT": [partstat]}
    if me_name:
        att_params["CN"] = [me_name[:100]]
    out.props.append(Prop("ATTENDEE", "mailto:" + me_addr, att_params))
    if ev.get("SUMMARY") is not None:
        out.props.append(Prop("SUMMARY", escape_text(_clean(ev.text("SUMMARY"), 500))))
    return out
