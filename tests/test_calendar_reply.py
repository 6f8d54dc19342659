"""Answering invitations: the iTIP REPLY (RFC 5546) built through the hook, checked by parsing it
back with pigeon's reader and with the independent ``icalendar`` package; ``pigeon invite`` and
the invite-* commands queue it in the Outbox Maildir folder."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from helpers import run_pigeon
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.commands import CommandContext
from pigeon.core.errors import PigeonError
from pigeon.core.invite import build_answer
from pigeon.core.maildir import Maildir
from pigeon.plugins import ical
from test_calendar_render import CORPUS_INVITE, TZ_EVENT, invitation, vcal

CONFIG = """
[accounts.work]
address = "me@example.net"
real_name = "Me Myself"
maildir = "{maildir}"
"""


@pytest.fixture
def app(config_dir: Path, tmp_path: Path) -> App:
    (config_dir / "config.toml").write_text(CONFIG.format(maildir=tmp_path / "mail"))
    return App.create(config_dir, load_entrypoints=False, report_to_stderr=False)


def calendar_part(msg: EmailMessage) -> EmailMessage:
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def check_itip_reply(reply: EmailMessage, *, uid: str, sequence: int, organizer: str, attendee: str, partstat: str) -> ical.Component:
    """A valid iTIP REPLY, read by pigeon's reader and by icalendar."""
    # RFC 6047: the method parameter of the MIME part matches METHOD
    part = calendar_part(mime.parse_bytes(reply.as_bytes(policy=policy.SMTP)))
    assert part.get_param("method") == "REPLY"
    text = mime.part_text(part)
    assert all(len(line.encode()) <= 75 for line in text.replace("\r\n", "\n").split("\n"))
    cal = ical.calendar_of(text)
    assert cal.value("METHOD") == "REPLY" and cal.value("VERSION") == "2.0" and cal.value("PRODID")
    events = [c for c in cal.children if c.name == "VEVENT"]
    assert events
    for ev in events:
        # RFC 5546 §3.2.3: ATTENDEE 1 (the replier only), DTSTAMP 1, ORGANIZER 1, UID 1, SEQUENCE
        assert len(ev.all("ATTENDEE")) == 1
        att = ev.get("ATTENDEE")
        assert ical.address_of(att.value) == attendee and att.param("PARTSTAT") == partstat
        assert ical.address_of(ev.value("ORGANIZER")) == organizer
        assert ev.value("UID") == uid
        assert int(ev.value("SEQUENCE")) == sequence
        assert ical.parse_when_value(ev.value("DTSTAMP")).kind == "utc"
    # and an independent parser agrees
    other = icalendar.Calendar.from_ical(text)
    assert str(other["METHOD"]) == "REPLY"
    vevents = other.walk("VEVENT")
    assert len(vevents) == len(events)
    for vev in vevents:
        assert str(vev["UID"]) == uid
        assert int(vev.get("SEQUENCE", 0)) == sequence
        attendees = vev.get("ATTENDEE")
        assert not isinstance(attendees, list)
        assert str(attendees).lower() == f"mailto:{attendee}"
        assert attendees.params["PARTSTAT"] == partstat
        assert isinstance(vev.decoded("DTSTAMP"), datetime)
    return cal


def test_reply_to_corpus_invitation(app: App, corpus: Path) -> None:
    msg = mime.parse_file(corpus / CORPUS_INVITE)
    account = app.account()
    reply = build_answer(app, msg, "accept", account)
    assert reply["Subject"] == "Accepted: test [In-person]"
    assert reply["To"] == "David Bremner <bremner@example.com>"
    assert reply["From"] == "Me Myself <me@example.net>"
    assert reply["In-Reply-To"] == "<YT3PR01MB10572EFC9F7C81F9446214768CEF72@YT3PR01MB10572.CANPRD01.PROD.OUTLOOK.COM>"
    # the long Exchange Message-ID is written as it is, not as RFC 2047 encoded words
    assert b"\nIn-Reply-To: <YT3PR01MB10572EFC9F7C81F9446214768CEF72@YT3PR01MB10572.CANPRD01.PROD.OUTLOOK.COM>\n" in reply.as_bytes()
    text = reply.get_body(("plain",)).get_content()
    assert "Me Myself <me@example.net> has accepted the invitation" in text
    uid = calendar_uid(corpus)
    assert uid.startswith("040000008200E00074C5B7101A82E008") and uid.endswith("E909498CBE")  # unfolded
    cal = check_itip_reply(reply, uid=uid, sequence=0, organizer="bremner@example.com", attendee="me@example.net", partstat="ACCEPTED")
    ev = cal.children[0]
    # the Outlook zone was resolved: the times go back in UTC, no VTIMEZONE needed
    assert ev.value("DTSTART") == "20240527T170000Z" and ev.value("DTEND") == "20240527T173000Z"
    assert not cal.walk("VTIMEZONE")


@pytest.mark.parametrize(("answer", "prefix", "partstat"), [("tentative", "Tentative", "TENTATIVE"), ("decline", "Declined", "DECLINED")])
def test_tentative_and_decline(app: App, answer: str, prefix: str, partstat: str) -> None:
    reply = build_answer(app, invitation(TZ_EVENT), answer, app.account())
    assert reply["Subject"] == f"{prefix}: Planning, Q2"
    assert reply["To"] == '"Org, The" <org@example.org>'
    cal = check_itip_reply(reply, uid="tz-1@example.org", sequence=2, organizer="org@example.org", attendee="me@example.net", partstat=partstat)
    ev = cal.children[0]
    assert ev.get("ORGANIZER").param("CN") == "Org, The"
    assert ev.text("SUMMARY") == "Planning, Q2"


def test_identity_address_among_attendees_answers(app: App, config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.toml").write_text(
        CONFIG.format(maildir=tmp_path / "mail")
        + 'identities = [{ address = "me@work.example", name = "Me at work" }]\n'
    )
    app = App.create(config_dir, load_entrypoints=False, report_to_stderr=False)
    ics = vcal(
        "BEGIN:VEVENT\r\nUID:w@x\r\nDTSTART:20260105T100000Z\r\nSUMMARY:Standup\r\nORGANIZER:mailto:boss@work.example\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:ME@work.example\r\nEND:VEVENT\r\n"
    )
    reply = build_answer(app, invitation(ics), "accept", app.account())
    assert reply["From"] == "Me at work <me@work.example>"
    check_itip_reply(reply, uid="w@x", sequence=0, organizer="boss@work.example", attendee="me@work.example", partstat="ACCEPTED")


def test_recurring_series_with_changed_occurrence(app: App) -> None:
    ics = vcal(
        "BEGIN:VEVENT\r\nUID:s@x\r\nSEQUENCE:1\r\nDTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\n"
        "ORGANIZER:mailto:o@x.example\r\nATTENDEE:mailto:me@example.net\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:s@x\r\nSEQUENCE:1\r\nRECURRENCE-ID;VALUE=DATE:20260112\r\nDTSTART;VALUE=DATE:20260113\r\n"
        "SUMMARY:Weekly (moved)\r\nORGANIZER:mailto:o@x.example\r\nATTENDEE:mailto:me@example.net\r\nEND:VEVENT\r\n"
    )
    reply = build_answer(app, invitation(ics), "decline", app.account())
    cal = check_itip_reply(reply, uid="s@x", sequence=1, organizer="o@x.example", attendee="me@example.net", partstat="DECLINED")
    assert [ev.value("RECURRENCE-ID") for ev in cal.children] == ["", "20260112"]
    assert cal.children[1].get("RECURRENCE-ID").param("VALUE") == "DATE"


def test_nothing_to_answer(app: App) -> None:
    cancel = vcal("BEGIN:VEVENT\r\nUID:c@x\r\nORGANIZER:mailto:o@x.example\r\nEND:VEVENT\r\n", "CANCEL")
    with pytest.raises(PigeonError, match="cancelled"):
        build_answer(app, invitation(cancel, method="CANCEL"), "accept", app.account())
    plain = EmailMessage()
    plain["Subject"] = "hello"
    plain.set_content("no calendar here")
    with pytest.raises(PigeonError, match="no calendar invitation"):
        build_answer(app, plain, "accept", app.account())
    hostile = vcal("BEGIN:VEVENT\r\nUID:h@x\r\nORGANIZER:mailto:evil@x.example\\r\\nBcc: all@x.example\r\nEND:VEVENT\r\n")
    with pytest.raises(PigeonError, match="not an e-mail address"):
        build_answer(app, invitation(hostile), "accept", app.account())
    with pytest.raises(PigeonError, match="accept, tentative or decline"):
        build_answer(app, invitation(TZ_EVENT), "maybe", app.account())


def test_hostile_values_stay_inside_their_lines(app: App) -> None:
    ics = vcal(
        'BEGIN:VEVENT\r\nUID:x@x\r\nSUMMARY:Hi\\nBcc: victim@x.example\r\nORGANIZER;CN="Bad\\nGuy":mailto:o@x.example\r\n'
        "ATTENDEE:mailto:me@example.net\r\nEND:VEVENT\r\n"
    )
    reply = build_answer(app, invitation(ics), "accept", app.account())
    raw = reply.as_bytes(policy=policy.SMTP)
    assert b"\r\nBcc:" not in raw
    assert reply["Subject"] == "Accepted: Hi Bcc: victim@x.example"
    check_itip_reply(reply, uid="x@x", sequence=0, organizer="o@x.example", attendee="me@example.net", partstat="ACCEPTED")


def test_pigeon_invite_print_and_queue(app: App, config_dir: Path, tmp_path: Path, corpus: Path) -> None:
    target = str(corpus / CORPUS_INVITE)
    printed = run_pigeon("invite", target, "tentative", "--print")
    assert printed.returncode == 0, printed.stderr
    out = printed.stdout.decode()
    assert "Subject: Tentative: test [In-person]" in out and "METHOD:REPLY" in out
    assert not (tmp_path / "mail" / "Outbox").exists()

    queued = run_pigeon("invite", target, "accept", "--account", "work")
    assert queued.returncode == 0, queued.stderr
    assert "queued in work/Outbox" in queued.stdout.decode()
    store = Maildir(tmp_path / "mail")
    entries = store.list("Outbox")
    assert len(entries) == 1
    reply = mime.parse_bytes(store.read(entries[0]))
    assert mime.header_str(reply, "Subject") == "Accepted: test [In-person]"
    check_itip_reply(reply, uid=calendar_uid(corpus), sequence=0, organizer="bremner@example.com", attendee="me@example.net", partstat="ACCEPTED")


def calendar_uid(corpus: Path) -> str:
    cal = ical.calendar_of(mime.part_text(calendar_part(mime.parse_file(corpus / CORPUS_INVITE))))
    return cal.children[-1].value("UID")


def test_pigeon_invite_errors_are_one_line(app: App, tmp_path: Path) -> None:
    cancel = invitation(vcal("BEGIN:VEVENT\r\nUID:c@x\r\nORGANIZER:mailto:o@x.example\r\nEND:VEVENT\r\n", "CANCEL"), method="CANCEL")
    path = tmp_path / "cancel.eml"
    path.write_bytes(cancel.as_bytes())
    result = run_pigeon("invite", str(path), "accept")
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [
        "pigeon: this event was cancelled by its organizer: there is nothing to answer"
    ]
    missing = run_pigeon("invite", str(tmp_path / "nope.eml"), "accept")
    assert missing.returncode == 1 and "no such message file" in missing.stderr.decode()


def test_invite_commands(app: App, tmp_path: Path) -> None:
    assert {"invite-accept", "invite-tentative", "invite-decline"} <= set(app.commands.names("message"))
    for mode in ("message", "list"):
        assert app.keymaps.lookup(mode, "C-c i a") == "invite-accept"
        assert app.keymaps.lookup(mode, "C-c i d") == "invite-decline"
    path = tmp_path / "inv.eml"
    path.write_bytes(invitation(TZ_EVENT).as_bytes())
    said: list[str] = []
    ctx = CommandContext(app, output=said.append, message=str(path))
    app.commands.run("invite-decline", ctx)
    assert said == ['Declined: Planning, Q2: reply to "Org, The" <org@example.org> queued in work/Outbox (' + said[0].split("(")[-1]]
    entries = Maildir(tmp_path / "mail").list("Outbox")
    assert len(entries) == 1
    ctx = CommandContext(app, output=said.append, account=app.account())  # a UI may hold the AccountConfig
    app.commands.run("invite-accept", ctx, str(path))
    assert len(Maildir(tmp_path / "mail").list("Outbox")) == 2


def test_dtstamp_is_now(app: App) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    reply = build_answer(app, invitation(TZ_EVENT), "accept", app.account())
    cal = ical.calendar_of(mime.part_text(calendar_part(reply)))
    stamp = ical.parse_when_value(cal.children[0].value("DTSTAMP")).value
    assert before <= stamp <= datetime.now(UTC)


def test_mutated_invitations_never_crash() -> None:
    """Random damage to real invitations (fixed seed): the view always shows something, the
    reply is either built or refused with a reason; nothing else escapes."""
    import random

    from pigeon.core.pluginmanager import make_plugin_manager
    from pigeon.core.render import render_message
    from pigeon.hooks.types import AccountConfig, RenderContext
    from pigeon.plugins.itip import InvitationError, build_reply
    from test_calendar_render import CUSTOM_ZONE

    pm = make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)
    seeds = [
        TZ_EVENT,
        vcal(
            "BEGIN:VEVENT\r\nUID:z@x\r\nDTSTART;TZID=My Office Time:20260115T120000\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n"
            "ORGANIZER:mailto:o@x.example\r\nEND:VEVENT\r\n",
            extra=CUSTOM_ZONE,
        ),
    ]
    account = AccountConfig(name="a", address="me@example.net", maildir=Path("/nonexistent"))
    rnd = random.Random(20261127)
    alphabet = [*";:,=\"\\\r\n \t^", "BEGIN:VEVENT", "END:VEVENT", "TZID=", "Z", "T", "99", "-", "P", "\x1b[", "\u202e", "mailto:", "@."]
    for _ in range(300):
        chars = list(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 20)):
            pos = rnd.randrange(len(chars))
            if rnd.random() < 0.5:
                del chars[pos]
            else:
                chars.insert(pos, rnd.choice(alphabet))
        msg = invitation("".join(chars))
        body = render_message(pm, msg, RenderContext(settings={"calendar.timezone": "Europe/Paris"})).body
        assert body.strip() and "\x1b" not in body
        try:
            build_reply(msg, "accept", account)
        except InvitationError:
            pass
    assert pm.errors == []


def test_config_dir_before_or_after_the_subcommand(app: App, config_dir: Path, tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIGEON_CONFIG_DIR")
    target = str(corpus / CORPUS_INVITE)
    for args in (("--config-dir", str(config_dir), "invite", target, "accept", "--print"), ("invite", "--config-dir", str(config_dir), target, "accept", "--print")):
        result = run_pigeon(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert b"From: Me Myself <me@example.net>" in result.stdout
