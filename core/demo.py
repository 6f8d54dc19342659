"""A realistic, deterministic demo mailbox: what ``pigeon demo`` opens when no account exists.

Robin's mail: a few conversations (threads with In-Reply-To/References), a mailing list, an
HTML newsletter with images and links, attachments, and a phishing attempt (a display name
naming another address, link text naming paypal.com that points elsewhere, an
``invoice.pdf.exe``), with unread, flagged and replied messages; plus Sent, Drafts, Archive
and Trash. The same bytes on every machine: fixed dates, boundaries and file names.
"""

from __future__ import annotations

import email.policy
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from pigeon.core.errors import StoreError
from pigeon.core.maildir import Maildir
from pigeon.hooks.types import AccountConfig

#: Bump when the generated content changes, so old demo directories are remade.
DEMO_VERSION = "2"
MARKER = ".pigeon-demo"
ME = ("Robin Example", "robin@example.org")
FOLDERS = ("INBOX", "Sent", "Drafts", "Archive", "Trash")
BASE = datetime(2026, 3, 2, 8, 15, tzinfo=timezone(timedelta(hours=1)))

ALICE = ("Alice Martin", "alice@example.net")
BOB = ("Bob Okafor", "bob@example.com")
CARLA = ("Carla Díaz", "carla@example.es")
DEV = ("pigeon-dev", "pigeon-dev@lists.example.org")


def demo_account(directory: Path) -> AccountConfig:
    """The account the demo runs with: a local Maildir, no server."""
    return AccountConfig(name="demo", address=ME[1], real_name=ME[0], maildir=Path(directory))


@dataclass
class Demo:
    folder: str
    subject: str
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    body: str
    hours: float  # after BASE
    flags: str = "S"
    msgid: str = ""
    reply_to_id: str = ""
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    html: str = ""
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, data
    cc: list[tuple[str, str]] = field(default_factory=list)
    calendar: str = ""  # a text/calendar METHOD:REQUEST alternative


def _addr(pair: tuple[str, str]) -> str:
    from email.headerregistry import Address

    name, addr = pair
    local, _, domain = addr.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def build(d: Demo, n: int) -> bytes:
    """The message's bytes, with boundaries that do not change between runs."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = _addr(d.sender) if "<" not in d.sender[1] else d.sender[1]
    msg["To"] = ", ".join(_addr(a) for a in d.to)
    if d.cc:
        msg["Cc"] = ", ".join(_addr(a) for a in d.cc)
    msg["Subject"] = d.subject
    msg["Date"] = format_datetime(BASE + timedelta(hours=d.hours))
    msg["Message-ID"] = f"<{d.msgid or f'demo-{n:03d}'}@demo.pigeon.invalid>"
    if d.reply_to_id:
        msg["In-Reply-To"] = f"<{d.reply_to_id}@demo.pigeon.invalid>"
        msg["References"] = " ".join(f"<{r}@demo.pigeon.invalid>" for r in d.references or [d.reply_to_id])
    for name, value in d.headers.items():
        msg[name] = value
    msg["MIME-Version"] = "1.0"
    msg.set_content(d.body)
    if d.html:
        msg.add_alternative(d.html, subtype="html")
    if d.calendar:
        msg.add_alternative(d.calendar, subtype="calendar", params={"method": "REQUEST"})
    for name, ctype, data in d.attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for i, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_pigeon_demo_{n:03d}_{i}")
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # EmailMessage adds it to every part it makes
    return msg.as_bytes()


# --------------------------------------------------------------------------- content


def _pdf(title: str) -> bytes:
    """A tiny valid PDF with one line of text."""
    text = title.replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 1, 12, 0, 0))
            zf.writestr(info, text)
    return buf.getvalue()


NEWSLETTER_HTML = """<!DOCTYPE html>
<html><head><style>body {{ font-family: sans-serif; }} .h {{ color: #2a6; }}</style></head>
<body>
<table width="600"><tr><td>
<img src="https://news.example.com/img/header-{n}.png" alt="Terminal Weekly" width="600">
<h1 class="h">Terminal Weekly #{n}</h1>
<p>Hello Robin, here is what happened in the terminal world this week.</p>
<h2>Top stories</h2>
<ul>
<li><a href="https://news.example.com/r?u=https%3A%2F%2Fexample.org%2Fmaildir-{n}">Why Maildir still wins in {year}</a></li>
<li><a href="https://news.example.com/r?u=https%3A%2F%2Fexample.org%2Fpluggy">Writing plugins with pluggy</a></li>
<li><a href="https://news.example.com/r?u=https%3A%2F%2Fexample.org%2Ftui">Ten prompt_toolkit tricks</a></li>
</ul>
<p><img src="https://news.example.com/img/sponsor.gif" alt="Our sponsor: FastMail-ish hosting"></p>
<p style="font-size:small">You get this because you subscribed at news.example.com.
<a href="https://news.example.com/unsubscribe?id=robin">Unsubscribe</a>.
<img src="https://track.example.com/open.gif?id=robin-{n}" width="1" height="1" alt=""></p>
</td></tr></table>
</body></html>
"""

INVITE = """BEGIN:VCALENDAR\r
PRODID:-//pigeon//demo//EN\r
VERSION:2.0\r
METHOD:REQUEST\r
BEGIN:VEVENT\r
UID:design-review-2026-03-12@demo.pigeon.invalid\r
DTSTAMP:20260306T090000Z\r
DTSTART;TZID=Europe/Paris:20260312T140000\r
DTEND;TZID=Europe/Paris:20260312T150000\r
SUMMARY:Design review\r
LOCATION:Room 3 / video call\r
DESCRIPTION:Maildir layout\\, plugin reload\\, key bindings.\r
ORGANIZER;CN=Alice Martin:mailto:alice@example.net\r
ATTENDEE;CN=Robin Example;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:robin@example.org\r
ATTENDEE;CN=Bob Okafor;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:bob@example.com\r
SEQUENCE:0\r
STATUS:CONFIRMED\r
END:VEVENT\r
END:VCALENDAR\r
"""

PHISH_HTML = """<html><body>
<p><img src="https://cdn.paypa1-secure.example.net/logo.png" alt="PayPal"></p>
<p>Dear Customer,</p>
<p>We noticed unusual activity on your account. Your account access has been <b>limited</b>.
To restore full access, confirm your details within 24 hours:</p>
<p><a href="http://paypal.com.account-verify.example.net/signin?ref=robin">https://www.paypal.com/signin</a></p>
<p>The invoice for the disputed payment is attached.</p>
<p>Thank you,<br>PayPal Security Team</p>
</body></html>
"""


def inbox() -> list[Demo]:
    out: list[Demo] = []
    h = 0.0

    def nxt(step: float = 1.3) -> float:
        nonlocal h
        h += step
        return h

    # thread 1: a weekend hike (5 messages, one from Robin in Sent)
    out += [
        Demo("INBOX", "Weekend hike to Mount Tam?", ALICE, [ME, BOB], "Hi both,\n\nThe forecast for Saturday looks great. Shall we do the Steep Ravine loop?\nMeet at 8 at the trailhead?\n\nAlice\n", nxt(), "RS", "hike-1"),
        Demo("INBOX", "Re: Weekend hike to Mount Tam?", BOB, [ALICE, ME], "> Shall we do the Steep Ravine loop?\n\nCount me in. I'll bring coffee.\n\nBob\n", nxt(), "S", "hike-2", "hike-1", ["hike-1"]),
        Demo("Sent", "Re: Weekend hike to Mount Tam?", ME, [ALICE, BOB], "Bob Okafor <bob@example.com> wrote:\n> Count me in. I'll bring coffee.\n\nGreat, see you at 8. I can drive two more people.\n\nRobin\n", nxt(0.5), "S", "hike-3", "hike-2", ["hike-1", "hike-2"]),
        Demo("INBOX", "Re: Weekend hike to Mount Tam?", ALICE, [ME, BOB], "> I can drive two more people.\n\nPerfect, I'll take you up on that. My sister may join too.\n", nxt(), "", "hike-4", "hike-3", ["hike-1", "hike-2", "hike-3"]),
        Demo("INBOX", "Re: Weekend hike to Mount Tam?", BOB, [ALICE, ME], "Parking is limited, let's be there at 7:45.\n", nxt(0.4), "", "hike-5", "hike-4", ["hike-1", "hike-2", "hike-3", "hike-4"]),
    ]
    # thread 2: a mailing list discussion
    lst = {"List-Id": "pigeon development <pigeon-dev.lists.example.org>", "List-Unsubscribe": "<mailto:pigeon-dev-leave@lists.example.org>", "List-Post": "<mailto:pigeon-dev@lists.example.org>"}
    people = [CARLA, ("Dmitri Volkov", "dmitri@example.ru"), ALICE, ("Eun-ji Park", "eunji@example.kr"), CARLA, ("Dmitri Volkov", "dmitri@example.ru")]
    bodies = [
        "Hi all,\n\nWhen init.py changes on disk, should we reload only that file or every user plugin?\nReloading everything is simpler but loses state held in module globals.\n\nCarla\n",
        "> should we reload only that file or every user plugin?\n\nOnly that file. Emacs users expect eval-buffer semantics.\n",
        "+1 for only that file, but keep the old definitions if the new file fails to import.\n",
        "What about hooks registered from a reloaded file that other plugins captured? We should\ndocument that references go stale.\n",
        "Good point, Eun-ji. I'll add a note to docs/hooks.md.\n",
        "Patch sent. It also adds a test that a broken file keeps the previous version.\n",
    ]
    refs: list[str] = []
    for i, (who, body) in enumerate(zip(people, bodies, strict=True)):
        mid = f"reload-{i + 1}"
        subj = "[pigeon-dev] RFC: plugin reload semantics"
        out.append(Demo("INBOX", subj if i == 0 else "Re: " + subj, who, [DEV], body, nxt(2.1), "S" if i < 4 else "", mid, refs[-1] if refs else "", list(refs), dict(lst)))
        refs.append(mid)
    # thread 3: a report with a PDF, then a reply and a zip of figures
    out += [
        Demo("INBOX", "Quarterly report draft", CARLA, [ME], "Hi Robin,\n\nAttached is the draft of the Q1 report. Could you check section 3 before Thursday?\n\nThanks,\nCarla\n", nxt(), "FRS", "report-1", attachments=[("Q1-report-draft.pdf", "application/pdf", _pdf("Q1 report draft"))]),
        Demo("Sent", "Re: Quarterly report draft", ME, [CARLA], "Carla Díaz <carla@example.es> wrote:\n> Could you check section 3 before Thursday?\n\nLooks good. Two small comments on the second table; can you send the figures?\n", nxt(0.8), "S", "report-2", "report-1", ["report-1"]),
        Demo("INBOX", "Re: Quarterly report draft", CARLA, [ME], "Here are the figures as a zip. The CSVs are the source data.\n", nxt(), "F", "report-3", "report-2", ["report-1", "report-2"], attachments=[("figures.zip", "application/zip", _zip({"figures/revenue.csv": "month,revenue\nJan,120\nFeb,135\nMar,150\n", "figures/README.txt": "Source data for the Q1 report.\n"}))]),
    ]
    # thread 4: dinner, with a non-ASCII sender and subject
    out += [
        Demo("INBOX", "Dîner vendredi ? 🍝", ("Élodie Rousseau", "elodie@example.fr"), [ME], "Salut Robin,\n\nOn se retrouve vendredi à 20h chez Gino ? Réponds-moi avant jeudi.\n\nÉlodie\n", nxt(), "RS", "dinner-1"),
        Demo("Sent", "Re: Dîner vendredi ? 🍝", ME, [("Élodie Rousseau", "elodie@example.fr")], "Avec plaisir ! À vendredi.\n", nxt(0.3), "S", "dinner-2", "dinner-1", ["dinner-1"]),
        Demo("INBOX", "Re: Dîner vendredi ? 🍝", ("Élodie Rousseau", "elodie@example.fr"), [ME], "Super, j'ai réservé pour quatre.\n", nxt(), "", "dinner-3", "dinner-2", ["dinner-1", "dinner-2"]),
    ]
    # newsletters: multipart/alternative with images and links
    for n in (41, 42, 43):
        out.append(
            Demo("INBOX", f"Terminal Weekly #{n}: Maildir, pluggy and more", ("Terminal Weekly", "news@news.example.com"), [ME],
                 f"Terminal Weekly #{n}\n\nTop stories:\n- Why Maildir still wins in 2026\n  https://example.org/maildir-{n}\n- Writing plugins with pluggy\n  https://example.org/pluggy\n\nUnsubscribe: https://news.example.com/unsubscribe?id=robin\n",
                 nxt(18), "S" if n < 43 else "", f"weekly-{n}",
                 headers={"List-Id": "Terminal Weekly <weekly.news.example.com>", "List-Unsubscribe": "<https://news.example.com/unsubscribe?id=robin>, <mailto:unsubscribe@news.example.com>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                 html=NEWSLETTER_HTML.format(n=n, year=2026))
        )
    # the phishing attempt
    out.append(
        Demo("INBOX", "Your account has been limited - action required", ("service@paypal.com", "alerts@paypa1-secure.example.net"), [ME],
             "Dear Customer,\n\nWe noticed unusual activity on your account. Confirm your details within 24 hours:\nhttps://www.paypal.com/signin\n\nThe invoice for the disputed payment is attached.\n",
             nxt(), "", "phish-1", headers={"Reply-To": "support@paypa1-secure.example.net", "X-Mailer": "Microsoft Outlook 16.0"},
             html=PHISH_HTML, attachments=[("invoice.pdf.exe", "application/octet-stream", b"This is not a program: the demo only shows how pigeon flags a hidden extension.\n")])
    )
    # single messages: work, notifications, personal
    singles = [
        (("GitHub", "notifications@github.example.com"), "[pigeon/pigeon] CI failed: test_maildir (#128)", "The workflow run for commit 3f2a9c1 failed.\n\n  tests/test_store_maildir.py::test_full_disk FAILED\n\nView the run: https://github.example.com/pigeon/pigeon/actions/runs/128\n", "S"),
        (("Dr. Sam Lee", "sam.lee@clinic.example.org"), "Appointment reminder: Tuesday 10:30", "This is a reminder of your appointment on Tuesday at 10:30.\nPlease reply to reschedule.\n", "F"),
        (("Landlord", "flats@rentals.example.com"), "Heating maintenance on Wednesday", "Dear tenants,\n\nThe heating will be off on Wednesday between 9:00 and 13:00 for maintenance.\n", "S"),
        (BOB, "Photos from the hike", "Here are the best ones: https://photos.example.com/album/tam-2026\n\nThe one at the waterfall is my favourite.\n", ""),
        (("Bookshop", "orders@books.example.co.uk"), "Your order #40213 has shipped", "Your order has shipped and should arrive in 2-3 working days.\n\nTracking: https://track.example.co.uk/40213\n", "S"),
        (("Mum", "mum@example.net"), "Sunday call", "Can we move our call to 6pm on Sunday? Dad wants to join.\n\nLove, Mum\n", "FS"),
        (("IT Helpdesk", "helpdesk@example.org"), "Scheduled maintenance: mail server", "The mail server will be restarted on Saturday at 23:00 UTC. Expect a few minutes of downtime.\n", "S"),
        (ALICE, "Book recommendation", "You should read \"The Mythical Man-Month\" if you haven't yet.\nChapter 2 is basically our last project.\n", "S"),
        (("田中 ひろし", "tanaka@example.jp"), "会議の資料について", "ロビンさん\n\n明日の会議の資料をお送りします。ご確認ください。\n\n田中\n", "S"),
        (("Conference 2026", "cfp@conf.example.org"), "Call for papers closes in 3 days", "The call for papers for Conference 2026 closes on Friday.\nSubmit at https://conf.example.org/cfp\n", "S"),
        (("Bank of Example", "no-reply@bank.example.com"), "Your monthly statement is ready", "Your statement for February is ready. Sign in at https://bank.example.com to read it.\nWe will never ask for your password by e-mail.\n", "S"),
        (CARLA, "Lunch tomorrow?", "Free for lunch tomorrow? The new Thai place on 5th.\n", "RS"),
        (("Recruiter", "talent@jobs.example.com"), "Exciting opportunity", "Hi Robin, I came across your profile and think you'd be a great fit for a role\nwe're hiring for. Do you have 15 minutes this week?\n", "S"),
        (("Gym", "hello@gym.example.com"), "Your membership renews soon", "Your membership renews on 1 April. No action is needed.\n", "S"),
        (("Plumber", "office@plumbing.example.com"), "Quote for the kitchen sink", "Please find our quote below.\n\n  Labour     2h   120.00\n  Parts            45.50\n  Total           165.50\n", ""),
        (("School", "office@school.example.edu"), "Parents' evening on the 19th", "Parents' evening is on the 19th from 17:00. Book a slot at the office.\n", "S"),
        (("Energy Co", "billing@energy.example.com"), "Your bill is ready", "Your bill for February: 84.20 EUR, to be paid by direct debit on 15 March.\n", "S"),
        (BOB, "Board games on Thursday?", "Anyone up for board games on Thursday? I got the new expansion.\n", ""),
        (("Library", "noreply@library.example.org"), "Items due in 3 days", "Two items are due on Friday: 'SICP' and 'The Art of Unix Programming'.\n", "S"),
        (("Travis", "travis@example.net"), "Old photos", "Found some old photos from university. I'll bring them next time!\n", "S"),
        (("Dmitri Volkov", "dmitri@example.ru"), "Re: your pigeon patch", "Thanks for the patch. I left two comments on the review; the rest looks good.\n", "S"),
    ]
    for i, (who, subj, body, flags) in enumerate(singles):
        out.append(Demo("INBOX", subj, who, [ME], body, nxt(3.7), flags, f"single-{i + 1}"))
        if i == 7:
            # an invitation the calendar plugin shows as an event and `pigeon invite` answers
            out.append(
                Demo("INBOX", "Invitation: Design review @ Thu 12 Mar 14:00", ALICE, [ME, BOB],
                     "Alice Martin invites you to: Design review\nWhen: Thursday 12 March 2026, 14:00-15:00 (Europe/Paris)\nWhere: Room 3 / video call\n",
                     nxt(3.7), "", "invite-1", calendar=INVITE)
            )
    return out


def others() -> list[Demo]:
    return [
        Demo("Sent", "Train tickets", ME, [("Mum", "mum@example.net")], "I booked the 10:05 train; I'll arrive at 13:40.\n", 30, "S", "sent-1"),
        Demo("Drafts", "Notes for the design review", ME, [ALICE, BOB], "Agenda:\n1. Maildir layout\n2. Plugin reload\n3. Key bindings\n\n(unfinished)\n", 200, "DS", "draft-1"),
        Demo("Archive", "Welcome to pigeon-dev", ("pigeon-dev owner", "pigeon-dev-owner@lists.example.org"), [ME], "Welcome to the pigeon-dev mailing list.\nTo leave, write to pigeon-dev-leave@lists.example.org.\n", -700, "S", "arch-1"),
        Demo("Archive", "Flight confirmation ABC123", ("Airline", "booking@air.example.com"), [ME], "Your flight ABC123 on 12 January is confirmed.\n", -1200, "S", "arch-2"),
        Demo("Archive", "Receipt for your donation", ("Wikimedia-ish", "donate@example.org"), [ME], "Thank you for your donation.\n", -400, "S", "arch-3"),
        Demo("Archive", "Old project kick-off", ALICE, [ME, BOB], "Kick-off notes attached in the wiki.\n", -900, "RS", "arch-4"),
        Demo("Trash", "You have won a prize!!!", ("Prize Team", "winner@lottery.example.biz"), [ME], "Click here to claim your prize.\n", 12, "ST", "trash-1"),
        Demo("Trash", "Re: Exciting opportunity", ("Recruiter", "talent@jobs.example.com"), [ME], "Just following up on my last message.\n", 150, "S", "trash-2"),
    ]


def messages() -> list[Demo]:
    return inbox() + others()


def _key(n: int, d: Demo) -> str:
    stamp = int((BASE + timedelta(hours=d.hours)).timestamp())
    digest = hashlib.sha1(d.msgid.encode()).hexdigest()[:6]
    return f"{stamp}.{n:03d}_{digest}.demo"


def generate(directory: Path) -> Maildir:
    """Write the demo mailbox into ``directory`` (which must be empty or missing)."""
    store = Maildir(directory)
    for folder in FOLDERS:
        store.create_folder(folder)
    for n, d in enumerate(messages(), 1):
        if not d.msgid:
            d.msgid = f"demo-{n:03d}"
        data = build(d, n)
        entry = store.add(d.folder, data, d.flags, subdir="new" if not d.flags else None, key=_key(n, d))
        mtime = (BASE + timedelta(hours=d.hours)).timestamp()
        os.utime(entry.path, (mtime, mtime))
    (Path(directory) / MARKER).write_text(f"pigeon demo mailbox, version {DEMO_VERSION}\n")
    return store


def ensure_demo(directory: Path, *, reset: bool = False) -> Maildir:
    """The demo mailbox in ``directory``, made if missing (or out of date, or ``reset``).

    Refuses to touch a directory that holds something other than a demo mailbox.
    """
    import shutil

    directory = Path(directory).expanduser()
    marker = directory / MARKER
    if directory.exists() and any(directory.iterdir()):
        if not marker.is_file():
            raise StoreError(f"{directory} is not empty and is not a pigeon demo mailbox; choose another --dir")
        current = marker.read_text(errors="replace").strip().endswith(f"version {DEMO_VERSION}")
        if current and not reset and all((directory / f).is_dir() for f in FOLDERS):
            return Maildir(directory)
        shutil.rmtree(directory)
    return generate(directory)
