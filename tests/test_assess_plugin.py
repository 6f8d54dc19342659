"""The assess plugin as the client uses it: tags on arrival, banners, contacts, the CLI."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from assess_helpers import codes, findings, make_app, message, parse
from helpers import run_pigeon
from pigeon.core.pluginmanager import call_isolated
from pigeon.hooks.types import MessageRef, RenderContext, Verdict

PHISH = message(
    "From: PayPal <service@paypaI.com>\nTo: bob@ourcorp.com\nSubject: account\n",
    html='<a href="http://198.51.100.7/">https://www.paypal.com/</a>',
)


def _account(config_dir: Path, tmp_path: Path) -> str:
    maildir = tmp_path / "mail"
    for folder in ("INBOX", "Sent"):
        for sub in ("cur", "new", "tmp"):
            (maildir / folder / sub).mkdir(parents=True, exist_ok=True)
    return f'\n[accounts.work]\naddress = "bob@ourcorp.com"\nmaildir = "{maildir}"\n'


def _verdicts(app, raw: str) -> list[Verdict]:
    return call_isolated(app.pm, "pigeon_filter_message", message=parse(raw), ref=MessageRef(Path("/x"), "INBOX", "work"))


def test_arrival_tags_phishing_suspicious(config_dir: Path) -> None:
    app = make_app(config_dir)
    verdicts = [v for v in _verdicts(app, PHISH) if v]
    assert any("suspicious" in v.add_tags and v.source == "assess" and v.reason for v in verdicts)


def test_arrival_leaves_ordinary_mail_alone(config_dir: Path) -> None:
    app = make_app(config_dir)
    assert not [v for v in _verdicts(app, message()) if v and "suspicious" in v.add_tags]


def test_first_time_sender_then_known(config_dir: Path) -> None:
    app = make_app(config_dir)
    first = message()
    _verdicts(app, first)  # arrival: judged, then remembered
    assert "first-time-sender" in codes(findings(app, first))  # the same message stays "first"
    second = first.replace("<m1@example.com>", "<m2@example.com>")
    _verdicts(app, second)
    assert "first-time-sender" not in codes(findings(app, second))


def test_contacts_from_sent_folder_catch_name_with_new_address(config_dir: Path, tmp_path: Path) -> None:
    app = make_app(config_dir, _account(config_dir, tmp_path))
    sent = EmailMessage()
    sent["From"] = "Bob <bob@ourcorp.com>"
    sent["To"] = "Alice Partner <alice@partner.org>"
    sent["Subject"] = "contract"
    sent.set_content("hi")
    (tmp_path / "mail" / "Sent" / "cur" / "1.sent:2,S").write_bytes(bytes(sent))
    raw = message("From: Alice Partner <alice.partner@gmail.com>\nTo: bob@ourcorp.com\nSubject: new bank details\n")
    found = findings(app, raw)
    hit = [f for f in found if f.code == "name-new-address"]
    assert hit and hit[0].severity == "warning" and "alice@partner.org" in hit[0].reason
    # and a look-alike of the contact's domain
    raw = message("From: Alice Partner <alice@partnor.org>\nTo: bob@ourcorp.com\nSubject: invoice\n")
    assert any(f.code == "lookalike-domain" and "partner.org" in f.reason for f in findings(app, raw))


def test_after_send_makes_recipients_known(config_dir: Path) -> None:
    app = make_app(config_dir)
    out = EmailMessage()
    out["From"] = "bob@ourcorp.com"
    out["To"] = "Carol <carol@supplier.net>"
    app.pm.hook.pigeon_after_send(message=out, account=None, recipients=["carol@supplier.net"])
    raw = message("From: Carol <carol@supplier.net>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert "first-time-sender" not in codes(findings(app, raw))


def test_banner_in_message_view(config_dir: Path) -> None:
    app = make_app(config_dir)
    banners = [b for r in app.pm.hook.pigeon_message_banners(message=parse(PHISH), ctx=RenderContext()) for b in (r or [])]
    assert banners[0].text == "Be careful with this message:"
    assert banners[0].severity == "danger"
    assert any("198.51.100.7" in b.text for b in banners)
    # no decorations for the index or a quote
    assert not [r for r in app.pm.hook.pigeon_message_banners(message=parse(PHISH), ctx=RenderContext(purpose="quote")) if r]


def test_user_plugin_findings_join_the_banner(config_dir: Path) -> None:
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "mine.py").write_text(
        "from pigeon.hooks import hookimpl\nfrom pigeon.hooks.types import Finding\n"
        "@hookimpl\ndef pigeon_assess_message(message, ref):\n"
        "    if 'invoice' in str(message['subject']).lower():\n"
        "        return [Finding('warning', 'my-invoice', 'Invoices come only from accounting', 'mine')]\n"
    )
    app = make_app(config_dir)
    raw = message("From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: Invoice 42\n")
    banners = [b for r in app.pm.hook.pigeon_message_banners(message=parse(raw), ctx=RenderContext()) for b in (r or [])]
    assert any(b.text == "Invoices come only from accounting" for b in banners)
    assert any("suspicious" in v.add_tags for v in _verdicts(app, raw) if v)


def test_cli_assess_file_and_json(config_dir: Path, tmp_path: Path) -> None:
    from assess_helpers import CONFIG

    (config_dir / "config.toml").write_text(CONFIG)
    path = tmp_path / "phish.eml"
    path.write_text(PHISH)
    res = run_pigeon("assess", str(path))
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert out.startswith("suspicious")
    assert "lookalike-domain" in out and "paypal.com" in out
    res = run_pigeon("assess", "--json", "-", input=PHISH.encode())
    data = json.loads(res.stdout)
    assert data["suspicious"] is True
    assert {"severity", "code", "reason", "source"} <= set(data["findings"][0])


def test_cli_assess_sanitises_hostile_reasons(config_dir: Path) -> None:
    raw = message("From: =?utf-8?Q?evil=1B[31m?= <x@evil.example>\nTo: bob@ourcorp.com\nSubject: x\n")
    res = run_pigeon("assess", "-", input=raw.encode())
    assert res.returncode == 0
    assert b"\x1b" not in res.stdout


def test_cli_assess_missing_file(config_dir: Path) -> None:
    res = run_pigeon("assess", "/nonexistent/file.eml")
    assert res.returncode == 1
    assert res.stderr.decode().startswith("pigeon: cannot read")
