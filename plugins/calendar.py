"""Built-in plugin: calendar invitations (iCalendar, RFC 5545; iTIP, RFC 5546; iMIP, RFC 6047).

- ``pigeon_render_part``: a ``text/calendar`` (or inline ``application/ics``) part holding a
  VEVENT becomes a readable event: summary, when (in the user's zone, setting
  ``calendar.timezone``), recurrence in words, location, organizer, attendees and their answers,
  description, and how to answer. ``pigeon_render_attachment`` does the same for an ``.ics``
  attachment, unless the same event was already shown.
- ``pigeon_choose_alternative``: an invitation's ``multipart/alternative`` shows the calendar
  alternative (its DESCRIPTION carries what the plain text says).
- ``pigeon_invitation_reply``: builds the iTIP REPLY (``pigeon.plugins.itip``).
- Commands ``invite-accept``, ``invite-tentative``, ``invite-decline``, bound to ``C-c i a``,
  ``C-c i t`` and ``C-c i d`` in the message view and the message list.

A calendar that cannot be read is left to the core, which shows its raw text.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import (
        Attachment,
        CommandRegistrar,
        RenderContext,
        Rendered,
        SettingsRegistry,
    )

CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")
MAX_EVENTS = 10
MAX_ATTENDEES = 40
MAX_DESCRIPTION = 8000
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
PARTSTAT = {
    "NEEDS-ACTION": "has not answered",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "DELEGATED": "delegated",
}
ROLE = {"CHAIR": "chair", "OPT-PARTICIPANT": "optional", "NON-PARTICIPANT": "for information"}
METHOD_TITLE = {
    "REQUEST": "Invitation",
    "CANCEL": "Cancelled",
    "REPLY": "Reply",
    "PUBLISH": "Event",
    "COUNTER": "Counter-proposal",
    "DECLINECOUNTER": "Counter-proposal declined",
    "ADD": "Added occurrences",
    "REFRESH": "Refresh request",
}
ANSWERS = ("accept", "tentative", "decline")


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add(
        "calendar.timezone",
        str,
        "",
        'The zone invitations are shown in (an IANA name such as "Europe/Paris"); empty: the local zone.',
    )


# --------------------------------------------------------------------------- zones and words


def user_zone(settings: Any) -> tzinfo:
    """The zone to show times in: ``calendar.timezone``, else $TZ, else /etc/localtime, else UTC."""
    import os
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from pigeon.plugins.ical_tz import zoneinfo_of as _zoneinfo

    name = str((settings or {}).get("calendar.timezone") or "") or os.environ.get("TZ", "").lstrip(":")
    zone = _zoneinfo(name) if name else None
    if zone is not None:
        return zone
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except Exception:
        return UTC


def ordinal(n: int) -> str:
    """1 -> "1st", -1 -> "last", -2 -> "2nd to last"."""
    if n < 0:
        return "last" if n == -1 else f"{ordinal(-n)} to last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join_and(items: list[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _ints(value: str, low: int, high: int) -> list[int]:
    out = []
    for piece in value.split(",")[:31]:
        piece = piece.strip()
        if piece.lstrip("+-").isdigit():
            n = int(piece)
            if low <= abs(n) <= high and n:
                out.append(n)
    return out


def describe_rrule(value: str, start: Any = None, zone: tzinfo | None = None) -> str:
    """An RRULE in words: "every 2 weeks on Monday and Wednesday, until 2027-03-01"."""
    from pigeon.plugins.ical import parse_byday, parse_rrule, parse_when_value

    rule = parse_rrule(value)
    freq = rule.get("FREQ", "")
    units = {"SECONDLY": "second", "MINUTELY": "minute", "HOURLY": "hour", "DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
    if freq not in units:
        return f"repeats ({value.strip()[:200]})"
    interval_text = rule.get("INTERVAL", "1")
    interval = int(interval_text) if interval_text.isdigit() and 0 < int(interval_text) < 10**6 else 1
    if interval == 1:
        base = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly", "HOURLY": "hourly"}.get(freq, f"every {units[freq]}")
    else:
        base = f"every {interval} {units[freq]}s"
    start_value = getattr(start, "value", None)
    byday = parse_byday(rule.get("BYDAY", ""))
    setpos = _ints(rule.get("BYSETPOS", ""), 1, 366)
    monthdays = _ints(rule.get("BYMONTHDAY", ""), 1, 31)
    months = [m for m in _ints(rule.get("BYMONTH", ""), 1, 12) if m > 0]
    words = [base]
    if months and not (freq == "YEARLY" and len(months) == 1 and len(monthdays) == 1 and not byday):
        words.append("in " + join_and([MONTH_NAMES[m - 1] for m in months]))
    if byday:
        plain = [w for o, w in byday if not o]
        numbered = [(o, w) for o, w in byday if o]
        if plain:
            names = "weekday" if sorted(plain) == [0, 1, 2, 3, 4] else None
            if setpos and freq in ("MONTHLY", "YEARLY"):
                what = names or join_and([DAY_NAMES[w] for w in plain], "or")
                words.append("on the " + join_and([ordinal(p) for p in setpos]) + " " + what)
            elif names:
                words.append("on weekdays")
            else:
                words.append("on " + join_and([DAY_NAMES[w] for w in plain]))
        if numbered:
            words.append("on the " + join_and([f"{ordinal(o)} {DAY_NAMES[w]}" for o, w in numbered]))
    elif monthdays:
        if freq == "YEARLY" and len(months) == 1 and len(monthdays) == 1 and monthdays[0] > 0:
            words.append(f"on {monthdays[0]} {MONTH_NAMES[months[0] - 1]}")
        else:
            words.append("on the " + join_and(["last day" if d == -1 else ordinal(d) for d in monthdays]))
    elif isinstance(start_value, date):
        day = start_value if not isinstance(start_value, datetime) or zone is None or start_value.tzinfo is None else start_value.astimezone(zone)
        if freq == "WEEKLY":
            words.append(f"on {DAY_NAMES[day.weekday()]}")
        elif freq == "MONTHLY":
            words.append(f"on the {ordinal(day.day)}")
        elif freq == "YEARLY" and not months:
            words.append(f"on {day.day} {MONTH_NAMES[day.month - 1]}")
    text = " ".join(words)
    until = parse_when_value(rule.get("UNTIL", ""))
    count = rule.get("COUNT", "")
    if until is not None:
        value_until = until.value
        if isinstance(value_until, datetime) and value_until.tzinfo is not None and zone is not None:
            value_until = value_until.astimezone(zone)
        text += f", until {value_until.strftime('%Y-%m-%d')}"
    elif count.isdigit() and int(count) > 0:
        n = int(count)
        text += ", once" if n == 1 else ", twice" if n == 2 else f", {n} times"
    return text


def _day(d: date) -> str:
    return f"{DAY_NAMES[d.weekday()][:3]} {d.strftime('%Y-%m-%d')}"


def _moment(dt: datetime) -> str:
    return f"{_day(dt)} {dt.strftime('%H:%M')}"


def describe_when(start: Any, end: Any, zone: tzinfo) -> list[str]:
    """The "When" lines of an event; the first one in the user's zone."""
    if start is None:
        return ["(no start time given)"]
    s, e = start.value, end.value if end is not None else None
    if start.kind == "date":
        if not isinstance(e, date) or isinstance(e, datetime) or e <= s:
            e = s + timedelta(days=1)
        days = (e - s).days
        if days <= 1:
            return [f"{_day(s)}, all day"]
        return [f"{_day(s)} – {_day(e - timedelta(days=1))}, all day ({days} days)"]
    aware = start.aware()
    if aware is not None:
        local_s = aware.astimezone(zone)
        local_e = e.astimezone(zone) if isinstance(e, datetime) and e.tzinfo is not None else None
        line = _span(local_s, local_e) + f" {local_s.tzname() or ''}".rstrip()
        lines = [line]
        if start.kind == "zoned" and aware.utcoffset() != local_s.utcoffset():
            orig_e = e if isinstance(e, datetime) and e.tzinfo is not None else None
            orig_e = orig_e.astimezone(aware.tzinfo) if orig_e is not None else None
            lines.append(f"(the organizer's time: {_span(aware, orig_e)} {start.tzid})")
        return lines
    naive_e = e if isinstance(e, datetime) and e.tzinfo is None else None
    if start.kind == "unknown-zone":
        return [f"{_span(s, naive_e)} in zone {start.tzid!r} (unknown to pigeon: not converted)"]
    return [f"{_span(s, naive_e)} (floating: the same clock time wherever you are)"]


def _span(s: datetime, e: datetime | None) -> str:
    if e is None or e == s:
        return _moment(s)
    if e.date() == s.date():
        return f"{_moment(s)}–{e.strftime('%H:%M')}"
    return f"{_moment(s)} – {_moment(e)}"


def person(prop: Any) -> str:
    """``Name <address>`` of an ORGANIZER/ATTENDEE property."""
    from pigeon.plugins.ical import address_of

    addr = address_of(prop.value)
    name = prop.param("CN").strip()
    if name and name.lower() != addr.lower():
        return f"{name} <{addr}>"
    return addr


# --------------------------------------------------------------------------- rendering


def event_times(event: Any, zones: Any) -> tuple[Any, Any]:
    """DTSTART and the end (DTEND, else DTSTART + DURATION) as ``When`` values."""
    from pigeon.plugins.ical import When, parse_duration, parse_when

    start = parse_when(event.get("DTSTART"), zones) if event.get("DTSTART") else None
    end = parse_when(event.get("DTEND"), zones) if event.get("DTEND") else None
    if end is None and start is not None and event.get("DURATION"):
        delta = parse_duration(event.value("DURATION"))
        if delta is not None and timedelta(0) <= delta < timedelta(days=3660):
            try:
                end = When(start.value + delta, start.kind, start.tzid)
            except OverflowError:
                end = None
    return start, end


def own_addresses(account: Any) -> set[str]:
    """The account's address and those of its identities, lower-cased."""
    if account is None:
        return set()
    out = {str(getattr(account, "address", "")).lower()}
    for ident in (getattr(account, "extra", {}) or {}).get("identities", []) or []:
        if isinstance(ident, dict) and isinstance(ident.get("address"), str):
            out.add(ident["address"].lower())
    return out - {""}


def render_event(event: Any, method: str, zones: Any, zone: tzinfo, mine: set[str]) -> list[str]:
    from pigeon.core.sanitize import sanitize_line
    from pigeon.plugins.ical import address_of, parse_when

    def field_(label: str, value: str) -> str:
        return f"{(label + ':') if label else '':<12}{value}"

    lines: list[str] = []
    title = METHOD_TITLE.get(method, "Event")
    summary = sanitize_line(event.text("SUMMARY")).strip() or "(no title)"
    recurrence_id = parse_when(event.get("RECURRENCE-ID"), zones) if event.get("RECURRENCE-ID") else None
    if recurrence_id is not None:
        title += " (one occurrence)"
    lines.append(field_(title, summary))
    start, end = event_times(event, zones)
    when = describe_when(start, end, zone)
    lines.append(field_("When", when[0]))
    lines += [" " * 12 + w for w in when[1:]]
    for rrule in event.all("RRULE")[:3]:
        lines.append(field_("Repeats", describe_rrule(rrule.value, start, zone)))
    exdates = [p for p in event.all("EXDATE")][:50]
    if exdates and event.get("RRULE"):
        days = []
        for prop in exdates:
            for raw in prop.value.split(",")[:50]:
                w = parse_when(type(prop)(prop.name, raw, prop.params), zones)
                if w is not None:
                    v = w.value.astimezone(zone) if isinstance(w.value, datetime) and w.value.tzinfo else w.value
                    days.append(v.strftime("%Y-%m-%d"))
        if days:
            lines.append(field_("Except", join_and(days[:6]) + (f" and {len(days) - 6} more" if len(days) > 6 else "")))
    location = sanitize_line(event.text("LOCATION")).strip()
    if location:
        lines.append(field_("Where", location))
    status = event.value("STATUS").upper()
    if status in ("CANCELLED", "TENTATIVE"):
        lines.append(field_("Status", "cancelled" if status == "CANCELLED" else "tentative (not confirmed)"))
    if event.get("ORGANIZER"):
        lines.append(field_("Organizer", sanitize_line(person(event.get("ORGANIZER")))))
    attendees = event.all("ATTENDEE")
    for i, att in enumerate(attendees[:MAX_ATTENDEES]):
        answer = PARTSTAT.get(att.param("PARTSTAT", "NEEDS-ACTION").upper(), sanitize_line(att.param("PARTSTAT").lower()))
        notes = [ROLE[r] for r in [att.param("ROLE").upper()] if r in ROLE]
        if address_of(att.value).lower() in mine:
            notes.insert(0, "you")
        extra = f" ({', '.join(notes)})" if notes else ""
        lines.append(field_("Attendees" if i == 0 else "", f"{sanitize_line(person(att))}{extra}: {answer}"))
    if len(attendees) > MAX_ATTENDEES:
        lines.append(" " * 12 + f"and {len(attendees) - MAX_ATTENDEES} more")
    description = event.text("DESCRIPTION").strip()
    if description:
        if len(description) > MAX_DESCRIPTION:
            description = description[:MAX_DESCRIPTION] + " [...]"
        # indented, so a description cannot pass for one of the fields above
        lines += [""] + ["  " + line if line.strip() else "" for line in description.splitlines()]
    return lines


def render_calendar(text: str, ctx: RenderContext, *, ref: str = "") -> tuple[str, set[str]] | None:
    """The readable form of a calendar holding at least one VEVENT, and the UIDs shown."""
    from pigeon.plugins.ical import calendar_of
    from pigeon.plugins.ical_tz import ZoneResolver

    cal = calendar_of(text)
    events = [c for c in cal.children if c.name == "VEVENT"]
    if not events:
        return None
    method = cal.value("METHOD").upper()
    zones = ZoneResolver(cal)
    zone = user_zone(ctx.settings)
    mine = own_addresses(ctx.account)
    blocks = [render_event(ev, method, zones, zone, mine) for ev in events[:MAX_EVENTS]]
    out = "\n\n".join("\n".join(b) for b in blocks)
    if len(events) > MAX_EVENTS:
        out += f"\n\n[and {len(events) - MAX_EVENTS} more events]"
    if ctx.purpose == "view":
        has_organizer = any(ev.get("ORGANIZER") for ev in events)
        out += "\n\n" + answer_line(method, ref or (str(ctx.ref.path) if ctx.ref else ""), has_organizer)
    return out + "\n", {ev.value("UID") for ev in events}


def answer_line(method: str, ref: str, has_organizer: bool = True) -> str:
    if method == "CANCEL":
        return "The organizer cancelled this; there is nothing to answer (delete it from your calendar)."
    if method == "REPLY":
        return "This is an answer to an invitation; nothing to answer."
    if method == "" and not has_organizer:
        return "(a calendar event without an organizer: nothing to answer)"
    if method not in ("REQUEST", ""):
        return f"(calendar method {method}: no answer expected)" if method == "PUBLISH" else f"(calendar method {method})"
    target = ref or "MESSAGE"
    return (
        f"To answer: pigeon invite {target} accept|tentative|decline\n"
        "           (in the client: C-c i a, C-c i t or C-c i d: invite-accept, -tentative, -decline)"
    )


def _calendar_text(part: EmailMessage) -> str:
    from pigeon.core import mime

    return mime.part_text(part)


def _holds_event(part: EmailMessage, ctx: RenderContext) -> bool:
    from pigeon.plugins.ical import calendar_of

    cache = ctx.state.setdefault("calendar_parsed", {})
    key = id(part)
    if key not in cache:
        try:
            cache[key] = any(c.name == "VEVENT" for c in calendar_of(_calendar_text(part)).children)
        except Exception:  # hostile input: not an event
            cache[key] = False
    return cache[key]


def _render(part: EmailMessage, ctx: RenderContext) -> Rendered | None:
    from pigeon.hooks.types import Rendered

    shown: set[str] = ctx.state.setdefault("calendar_uids", set())
    try:
        result = render_calendar(_calendar_text(part), ctx)
    except Exception:  # hostile input: the core falls back to the raw text
        return None
    if result is None:
        return None
    text, uids = result
    if uids and uids <= shown:
        return None
    shown |= uids
    return Rendered(text, kind="calendar")


@hookimpl
def pigeon_render_part(part: EmailMessage, ctx: RenderContext) -> Rendered | None:
    from pigeon.core import mime

    if mime.content_type(part) not in CALENDAR_TYPES:
        return None
    return _render(part, ctx)


@hookimpl
def pigeon_render_attachment(attachment: Attachment, ctx: RenderContext) -> Rendered | None:
    from pigeon.core import mime

    part = attachment.part
    if part is None:
        return None
    is_ics = attachment.content_type in CALENDAR_TYPES or (
        attachment.content_type in ("application/octet-stream", "text/plain") and attachment.raw_name.lower().endswith(".ics")
    )
    if not is_ics or attachment.size > 1024 * 1024 or mime.is_multipart(part):
        return None
    if not _holds_event(part, ctx):
        return None
    return _render(part, ctx)


@hookimpl
def pigeon_choose_alternative(alternatives: list[EmailMessage], ctx: RenderContext) -> EmailMessage | None:
    from pigeon.core import mime

    for alt in alternatives:
        if mime.content_type(alt) in CALENDAR_TYPES and not mime.is_multipart(alt) and _holds_event(alt, ctx):
            return alt
    return None


# --------------------------------------------------------------------------- answering


@hookimpl
def pigeon_invitation_reply(message: EmailMessage, answer: str, account: Any) -> EmailMessage | None:
    from pigeon.plugins.itip import build_reply

    return build_reply(message, answer, account)


def _answer(ctx: Any, answer: str, args: tuple[str, ...]) -> None:
    from pigeon.core.invite import answer_invitation

    target = args[0] if args else ctx.message
    if target is None:
        target = ctx.ask("Message file: ", kind="file")
    reply, where = answer_invitation(ctx.app, target, answer, account=ctx.account)
    from pigeon.core.mime import header_str

    ctx.print(f"{header_str(reply, 'Subject')}: reply to {header_str(reply, 'To')} queued in {where}")


def invite_accept(ctx: Any, *args: str) -> None:
    """Accept the calendar invitation in the current message (or the message file given)."""
    _answer(ctx, "accept", args)


def invite_tentative(ctx: Any, *args: str) -> None:
    """Answer "tentative" to the calendar invitation in the current message (or the file given)."""
    _answer(ctx, "tentative", args)


def invite_decline(ctx: Any, *args: str) -> None:
    """Decline the calendar invitation in the current message (or the message file given)."""
    _answer(ctx, "decline", args)


@hookimpl
def pigeon_register_commands(register: CommandRegistrar) -> None:
    register(invite_accept, name="invite-accept", modes=("message", "list"))
    register(invite_tentative, name="invite-tentative", modes=("message", "list"))
    register(invite_decline, name="invite-decline", modes=("message", "list"))


@hookimpl
def pigeon_register_keymaps(keymaps: Any) -> None:
    # C-c i, then a(ccept), t(entative) or d(ecline): free in the built-in message and list maps
    for mode in ("message", "list"):
        for key, answer in (("a", "accept"), ("t", "tentative"), ("d", "decline")):
            keymaps.bind(mode, f"C-c i {key}", f"invite-{answer}")
