"""Calendar invitations rendered as readable events: through the real plugin manager and the
render pipeline, from the corpus and from crafted invitations."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core import mime
from pigeon.core.pluginmanager import make_plugin_manager
from pigeon.core.render import RenderedMessage, render_message
from pigeon.hooks.types import RenderContext
from pigeon.plugins import ical
from pigeon.plugins.calendar import describe_rrule

CORPUS_INVITE = "notmuch/corpora/attachment/text-calendar.eml"


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)


def invitation(ics: str, *, method: str = "REQUEST", as_attachment: bool = False, plain: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Org <org@example.org>"
    msg["To"] = "me@example.net"
    msg["Subject"] = "Invitation"
    msg["Message-ID"] = "<inv-1@example.org>"
    if as_attachment:
        msg.set_content(plain or "See the attached event.")
        msg.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invite.ics")
    else:
        msg.set_content(plain or "You are invited.")
        msg.add_alternative(ics, subtype="calendar", params={"method": method})
    return mime.parse_bytes(msg.as_bytes())


def rendered(pm, msg: EmailMessage, zone: str = "Europe/Paris", purpose: str = "view") -> RenderedMessage:
    return render_message(pm, msg, RenderContext(width=100, purpose=purpose, settings={"calendar.timezone": zone}))


def show(pm, msg: EmailMessage, zone: str = "Europe/Paris", purpose: str = "view") -> str:
    return rendered(pm, msg, zone, purpose).body


def vcal(body: str, method: str = "REQUEST", extra: str = "") -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:{method}\r\n{extra}{body}END:VCALENDAR\r\n"


def event(*lines: str) -> str:
    """A VEVENT of these content lines (CRLF-terminated, as on the wire)."""
    return "".join(f"{line}\r\n" for line in ("BEGIN:VEVENT", *lines, "END:VEVENT"))


TZ_EVENT = vcal(
    event(
        "UID:tz-1@example.org",
        "SEQUENCE:2",
        "DTSTAMP:20260101T120000Z",
        "DTSTART;TZID=America/New_York:20260310T093000",
        "DTEND;TZID=America/New_York:20260310T103000",
        "SUMMARY:Planning\\, Q2",
        "LOCATION:Room 4\\; second floor",
        "ORGANIZER;CN=\"Org, The\":mailto:org@example.org",
        "ATTENDEE;CN=Me;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:me@example.net",
        "ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED;ROLE=OPT-PARTICIPANT:mailto:ann@example.org",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org",
        "DESCRIPTION:Line one\\nLine two with a very long text that was folded by the\r\n  sender's client",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270301T000000Z",
    )
)


def test_corpus_outlook_invitation_with_windows_zone(pm, corpus: Path) -> None:
    msg = mime.parse_file(corpus / CORPUS_INVITE)
    body = show(pm, msg, "Europe/Paris")
    # 14:00 in Outlook's "Atlantic Standard Time" (its VTIMEZONE: -03:00 in summer) is 19:00 in Paris
    assert "Invitation: test [In-person]" in body
    assert "Mon 2024-05-27 19:00–19:30 CEST" in body
    assert "organizer's time: Mon 2024-05-27 14:00–14:30 Atlantic Standard Time" in body
    assert "Repeats:    daily, until 2024-08-27" in body
    assert "Organizer:  David Bremner <bremner@example.com>" in body
    assert "david@tethera.net: has not answered" in body
    assert "This meeting will could have been an email" in body
    assert "pigeon invite" in body


def test_corpus_invitation_through_pigeon_show(corpus: Path) -> None:
    result = run_pigeon("show", str(corpus / CORPUS_INVITE), env={"TZ": "UTC"})
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "When:       Mon 2024-05-27 17:00–17:30 UTC" in out


def test_tzid_escaped_text_attendees_and_recurrence(pm) -> None:
    body = show(pm, invitation(TZ_EVENT), "Europe/Paris")
    assert "Invitation: Planning, Q2" in body
    assert "When:       Tue 2026-03-10 14:30–15:30 CET" in body  # New York is on DST already, Paris not
    assert "organizer's time: Tue 2026-03-10 09:30–10:30 America/New_York" in body
    assert "Repeats:    every 2 weeks on Monday and Wednesday, until 2027-03-01" in body
    assert "Where:      Room 4; second floor" in body
    assert "Organizer:  Org, The <org@example.org>" in body
    assert "Me <me@example.net>: has not answered" in body
    assert "Ann <ann@example.org> (optional): accepted" in body
    assert "bob@example.org: declined" in body
    attendee_lines = [line for line in body.splitlines() if line.endswith(("has not answered", "accepted", "declined"))]
    assert attendee_lines[0].startswith("Attendees:") and attendee_lines[1].startswith(" " * 12), attendee_lines
    assert "  Line one\n  Line two with a very long text that was folded by the sender's client" in body
    assert "You are invited." not in body  # the calendar alternative is shown


def test_same_zone_shows_no_second_time(pm) -> None:
    body = show(pm, invitation(TZ_EVENT), "America/New_York")
    assert "When:       Tue 2026-03-10 09:30–10:30 EDT" in body
    assert "organizer's time" not in body


def test_all_day_utc_floating_and_duration(pm) -> None:
    events = (
        event("UID:a@x", "DTSTART;VALUE=DATE:20260704", "DTEND;VALUE=DATE:20260705", "SUMMARY:Holiday")
        + event("UID:b@x", "DTSTART;VALUE=DATE:20260801", "DTEND;VALUE=DATE:20260804", "SUMMARY:Trip")
        + event("UID:c@x", "DTSTART:20260105T230000Z", "DURATION:PT1H30M", "SUMMARY:Late call")
        + event("UID:d@x", "DTSTART:20260105T080000", "DTEND:20260105T090000", "SUMMARY:Floating")
        + event("UID:e@x", "DTSTART;TZID=Mars/Olympus:20260105T080000", "SUMMARY:Elsewhere")
    )
    body = show(pm, invitation(vcal(events, "PUBLISH")), "Europe/Berlin")
    assert "When:       Sat 2026-07-04, all day" in body
    assert "When:       Sat 2026-08-01 – Mon 2026-08-03, all day (3 days)" in body
    assert "When:       Tue 2026-01-06 00:00–01:30 CET" in body  # crosses midnight in Berlin
    assert "Mon 2026-01-05 08:00–09:00 (floating" in body
    assert "in zone 'Mars/Olympus' (unknown to pigeon: not converted)" in body
    assert "no answer expected" in body


def test_cancel_and_reply(pm) -> None:
    cancel = vcal(
        event("UID:tz-1@example.org", "SEQUENCE:3", "STATUS:CANCELLED", "DTSTART:20260310T143000Z", "SUMMARY:Planning", "ORGANIZER:mailto:org@example.org"),
        "CANCEL",
    )
    body = show(pm, invitation(cancel, method="CANCEL"))
    assert "Cancelled:  Planning" in body
    assert "Status:     cancelled" in body
    assert "nothing to answer" in body and "pigeon invite" not in body
    reply = vcal(
        event("UID:tz-1@example.org", "DTSTART:20260310T143000Z", "SUMMARY:Planning", "ATTENDEE;CN=Ann;PARTSTAT=TENTATIVE:mailto:ann@example.org"),
        "REPLY",
    )
    body = show(pm, invitation(reply, method="REPLY"))
    assert "Reply:      Planning" in body
    assert "Ann <ann@example.org>: tentative" in body


def test_ics_attachment_shown_inline_once(pm) -> None:
    ics = vcal(event("UID:att@x", "DTSTART:20260105T100000Z", "SUMMARY:From the file"))
    out = rendered(pm, invitation(ics, as_attachment=True), "UTC")
    assert "See the attached event." in out.body
    assert "Invitation: From the file" in out.body
    assert [a.name for a in out.attachments] == ["invite.ics"]
    # the same event as an alternative and as an attachment (Google's way) is shown once
    msg = EmailMessage()
    msg.set_content("plain")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    msg.make_mixed()
    msg.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invite.ics")
    body = show(pm, mime.parse_bytes(msg.as_bytes()), "UTC")
    assert body.count("Invitation: From the file") == 1


def test_ics_attachment_without_event_stays_an_attachment(pm) -> None:
    todo = vcal("BEGIN:VTODO\r\nUID:t@x\r\nSUMMARY:Chores\r\nEND:VTODO\r\n", "PUBLISH")
    out = render_message(pm, invitation(todo, as_attachment=True), RenderContext())
    assert "Chores" not in out.body
    assert len(out.attachments) == 1


HOSTILE = [
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:\x1b]8;;http://evil\x07click\x1b[2J\r\nDTSTART:20260105T100000Z\r\n"
    "DESCRIPTION:fake\\nOrganizer:  boss@bank.example\\n\x1b[31mred\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:99991231T235959Z\r\nDTEND:00000000T000000Z\r\nDURATION:P99999999999W\r\n"
    "RRULE:FREQ=MONTHLY;INTERVAL=-5;BYDAY=99XX,;BYSETPOS=abc;COUNT=x;UNTIL=garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\n" + "BEGIN:VEVENT\r\n" * 500 + "SUMMARY;CN=\"unterminated:x\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Weird\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+9999\r\n"
    "TZOFFSETTO:-2500\r\nRRULE:FREQ=YEARLY;BYMONTH=13;BYDAY=9SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
    "DTSTART;TZID=Weird:20260105T100000\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "not a calendar at all \x00\x1b[0m",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=../../../../etc/passwd:20260105T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
]


@pytest.mark.parametrize("ics", HOSTILE)
def test_hostile_calendars_never_crash_and_reach_the_terminal_clean(pm, ics: str) -> None:
    body = show(pm, invitation(ics))
    assert "\x1b" not in body and "\x07" not in body and "\x00" not in body
    assert body.strip()


def test_hostile_summary_cannot_fake_lines(pm) -> None:
    body = show(pm, invitation(HOSTILE[0]))
    assert "Event:      click\n" in body  # the escape sequences are gone, the text stays on one line
    assert "\n  Organizer:  boss@bank.example" in body  # indented in the description, after the fields
    assert "nothing to answer" in body  # no METHOD, no organizer
    assert body.index("Event:") < body.index("fake")


RRULES = [
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270301T000000Z", "every 2 weeks on Monday and Wednesday, until 2027-03-01"),
    ("FREQ=MONTHLY;BYDAY=3TU", "monthly on the 3rd Tuesday"),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", "monthly on the last Friday, 6 times"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "monthly on the last weekday"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "monthly on the 1st and 15th"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "monthly on the last day"),
    ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3", "yearly on 3 March"),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "yearly in November on the 1st Sunday"),
    ("FREQ=DAILY;COUNT=1", "daily, once"),
    ("FREQ=DAILY;INTERVAL=3;COUNT=10", "every 3 days, 10 times"),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "weekly on weekdays"),
    ("FREQ=WEEKLY", "weekly on Tuesday"),  # the day comes from DTSTART
    ("FREQ=MONTHLY", "monthly on the 10th"),
    ("FREQ=YEARLY;UNTIL=20300310", "yearly on 10 March, until 2030-03-10"),
    ("FREQ=FORTNIGHTLY", "repeats (FREQ=FORTNIGHTLY)"),
]


@pytest.mark.parametrize(("rule", "words"), RRULES)
def test_recurrence_in_words(rule: str, words: str) -> None:
    start = ical.parse_when_value("20260310T093000")
    assert describe_rrule(rule, start) == words


def test_parser_unfolding_parameters_and_escapes() -> None:
    text = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nATTENDEE;CN=\"Doe, Jane\";DELEGATED-FROM=\"mailto:a@x\",\"mailto:b@x\";\n"
        " PARTSTAT=ACCEPTED:mailto:jane@x\nSUMMARY:a\\,b\\;c\\\\n\\Nd\nDESCRIPTION:caf\u00e9 \u2603\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    ev = ical.calendar_of(text).children[0]
    att = ev.get("ATTENDEE")
    assert att.param("CN") == "Doe, Jane"
    assert att.params["DELEGATED-FROM"] == ["mailto:a@x", "mailto:b@x"]
    assert att.param("PARTSTAT") == "ACCEPTED" and att.value == "mailto:jane@x"
    assert ev.text("SUMMARY") == "a,b;c\\n\nd"
    assert ev.text("DESCRIPTION") == "caf\u00e9 \u2603"


def test_fold_and_serialize_round_trip() -> None:
    long = "x" * 70 + "\u00e9" * 40
    comp = ical.Component("VEVENT", [ical.Prop("SUMMARY", ical.escape_text(long + ", ok; \\ \n end"))])
    text = ical.serialize(comp)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert ical.parse(text)[0].text("SUMMARY") == long + ", ok; \\ \n end"


def test_durations() -> None:
    from datetime import timedelta

    assert ical.parse_duration("PT1H30M") == timedelta(minutes=90)
    assert ical.parse_duration("P1W") == timedelta(weeks=1)
    assert ical.parse_duration("-P1DT2H") == -timedelta(days=1, hours=2)
    assert ical.parse_duration("P") is None and ical.parse_duration("PT") is None
    assert ical.parse_duration("1H") is None


CUSTOM_ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:My Office Time\r\n"
    "BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0300\r\nTZOFFSETTO:-0400\r\nTZNAME:OST\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0300\r\nTZNAME:ODT\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("20260115T120000", "16:00"),  # winter: -04:00
        ("20260707T120000", "15:00"),  # summer: -03:00
        ("20260307T120000", "16:00"),  # the day before the second Sunday of March
        ("20260308T120000", "15:00"),  # the second Sunday of March, after 02:00
        ("20261101T120000", "16:00"),  # the first Sunday of November, after 02:00
    ],
)
def test_vtimezone_rules_of_the_calendar_itself(pm, local: str, utc: str) -> None:
    ics = vcal(event("UID:z@x", f"DTSTART;TZID=My Office Time:{local}"), extra=CUSTOM_ZONE)
    body = show(pm, invitation(ics), "UTC")
    assert f" {utc} UTC" in body
    assert "12:00 My Office Time" in body


def test_windows_zone_name_without_vtimezone(pm) -> None:
    ics = vcal(event("UID:w@x", 'DTSTART;TZID="W. Europe Standard Time":20260115T120000'))
    assert "When:       Thu 2026-01-15 11:00 UTC" in show(pm, invitation(ics), "UTC")


def test_inline_application_ics_part(pm) -> None:
    ics = vcal(event("UID:inline@x", "DTSTART:20260105T100000Z", "SUMMARY:Inline ics"))
    msg = EmailMessage()
    msg.set_content("text first")
    msg.add_attachment(ics.encode(), maintype="application", subtype="ics", disposition="inline")
    out = rendered(pm, mime.parse_bytes(msg.as_bytes()), "UTC")
    assert "Invitation: Inline ics" in out.body and not out.attachments


def test_index_and_quote_text_of_an_invitation(pm) -> None:
    from pigeon.core.render import message_text_for_index, quote_text

    msg = invitation(TZ_EVENT)
    indexed = message_text_for_index(pm, msg)
    assert "Planning, Q2" in indexed and "Room 4; second floor" in indexed and "ann@example.org" in indexed
    assert "To answer" not in indexed
    quoted = quote_text(pm, msg)
    assert "Invitation: Planning, Q2" in quoted and "To answer" not in quoted
