"""Identities: several From addresses per account, validated in config.toml, chosen on reply by
the address the message was sent to, each with its signature and PGP policy."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core import mime
from pigeon.core.app import App
from pigeon.core.errors import ConfigError
from pigeon.core.identities import choose_identity, identities, identity_for_address

CONFIG = """\
[accounts.work]
address = "me@example.org"
real_name = "Me"
maildir = "mail"
signature = "Me\\nexample.org"
pgp = { sign = true }
identities = [
  { address = "me@work.example", name = "Me at Work", signature = "Me, Work Inc.", pgp = { sign = true, encrypt = true } },
  { address = "*@catchall.example", name = "Me (catch-all)" },
  "list-owner@example.org",
]
"""


@pytest.fixture
def app(config_dir: Path) -> App:
    (config_dir / "config.toml").write_text(CONFIG)
    return App.create(config_dir, load_entrypoints=False, report_to_stderr=False)


def message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Someone <someone@else.example>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg["Subject"] = "Hello"
    msg["Message-ID"] = "<orig@else.example>"
    msg.set_content("Hi there\n")
    return mime.parse_bytes(msg.as_bytes())


def test_identities_parsed_with_inherited_defaults(app: App) -> None:
    ids = identities(app.account())
    assert [i.address for i in ids] == ["me@example.org", "me@work.example", "*@catchall.example", "list-owner@example.org"]
    primary, work, _catchall, owner = ids
    assert primary.primary and primary.name == "Me" and primary.signature == "Me\nexample.org"
    assert work.name == "Me at Work" and work.signature == "Me, Work Inc." and dict(work.pgp) == {"sign": True, "encrypt": True}
    # what an identity does not say comes from the account
    assert owner.name == "Me" and owner.signature == "Me\nexample.org" and dict(owner.pgp) == {"sign": True}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"To": "Me at Work <ME@work.example>"}, "me@work.example"),
        ({"To": "team@else.example", "Cc": "me@work.example, me@example.org"}, "me@work.example"),
        ({"To": "undisclosed-recipients:;", "Delivered_To": "me@work.example"}, "me@work.example"),  # Bcc
        ({"To": "me+lists@work.example"}, "me@work.example"),  # plus addressing
        ({"To": "sales@catchall.example"}, "sales@catchall.example"),  # a catch-all answers as itself
        ({"To": "nobody@else.example"}, "me@example.org"),  # none of ours: the account's address
        ({"From": "Me at Work <me@work.example>", "To": "friend@else.example"}, "me@work.example"),  # my own sent mail
    ],
)
def test_choose_identity_by_the_address_it_was_sent_to(app: App, headers: dict[str, str], expected: str) -> None:
    assert choose_identity(app.account(), message(**headers)).address == expected


def test_choose_identity_without_original_and_pgp_lookup(app: App) -> None:
    account = app.account()
    assert choose_identity(account).address == "me@example.org"
    found = identity_for_address(account, "Me@Work.example")
    assert found is not None and found.pgp["encrypt"] is True
    assert identity_for_address(account, "stranger@else.example") is None


def compose(app: App, kind: str, original: EmailMessage | None, body: str = "> quoted\n") -> EmailMessage:
    draft = EmailMessage()
    draft["From"] = app.account().address  # what a UI starts with
    draft["To"] = "someone@else.example"
    draft.set_content(body)
    app.pm.hook.pigeon_compose_defaults(draft=draft, account=app.account(), kind=kind, original=original)
    return draft


def test_reply_draft_from_the_identity_with_its_signature(app: App) -> None:
    draft = compose(app, "reply", message(To="me@work.example"))
    assert draft["From"] == "Me at Work <me@work.example>"
    assert draft.get_content() == "> quoted\n\n-- \nMe, Work Inc.\n"
    # a second pass (a plugin calling it again) does not sign twice
    app.pm.hook.pigeon_compose_defaults(draft=draft, account=app.account(), kind="reply", original=message(To="me@work.example"))
    assert draft.get_content().count("-- \n") == 1


def test_new_draft_from_the_account_with_its_signature(app: App) -> None:
    draft = compose(app, "new", None, body="")
    assert draft["From"] == "Me <me@example.org>"
    assert draft.get_content() == "\n-- \nMe\nexample.org\n"  # an empty line to write on


def test_a_user_plugin_choosing_from_wins(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text(CONFIG)
    (config_dir / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def pigeon_compose_defaults(draft, account, kind, original):\n"
        "    del draft['From']\n"
        "    draft['From'] = 'Other <other@elsewhere.example>'\n"
    )
    app = App.create(config_dir, load_entrypoints=False, report_to_stderr=False)
    draft = compose(app, "reply", message(To="me@work.example"))
    assert draft["From"] == "Other <other@elsewhere.example>"
    assert "-- \n" not in draft.get_content()  # not one of ours: no signature of ours either


CASES = [
    ('identities = "me@x.example"\n', r"config.toml:6: accounts.work.identities: expected a list of tables"),
    ('identities = [{ name = "No address" }]\n', r"config.toml:6: accounts.work.identities\[0\].address: required"),
    (
        'identities = [\n  { address = "a@x.example" },\n  { address = "b@x.example", signatur = "typo" },\n]\n',
        r"config.toml:8: accounts.work.identities\[1\].signatur: unknown key \(did you mean 'signature'\?\)",
    ),
    (
        'identities = [\n  { address = "a@x.example", pgp = { address = "z@x.example" } },\n  { address = "not an address" },\n]\n',
        r"config.toml:8: accounts.work.identities\[1\].address: required: an e-mail address",
    ),
    ('identities = [{ address = "ME@example.org" }]\n', r"identities\[0\].address: ME@example.org is already an identity"),
    ('identities = [{ address = "a@x.example", pgp = "sign" }]\n', r"identities\[0\].pgp: expected a table"),
    ('identities = [{ address = "a@x.example", name = "Evil\\r\\nBcc: x@y" }]\n', r"identities\[0\].name: must be one line"),
    ("signature = 42\n", r"config.toml:6: accounts.work.signature: expected a string"),
    (
        '[[accounts.work.identities]]\naddress = "a@x.example"\n[[accounts.work.identities]]\nname = "x"\nsignature = 3\naddress = "b@x.example"\n',
        r"config.toml:10: accounts.work.identities\[1\].signature: expected a string",
    ),
]


@pytest.mark.parametrize(("extra", "error"), CASES)
def test_identity_errors_name_file_line_and_key(config_dir: Path, extra: str, error: str) -> None:
    base = '# my config\n\n[accounts.work]\naddress = "me@example.org"\nmaildir = "mail"\n'
    (config_dir / "config.toml").write_text(base + extra)
    with pytest.raises(ConfigError, match=error):
        App.create(config_dir, load_entrypoints=False, report_to_stderr=False)


def test_invitation_reply_answers_from_the_identity_invited(app: App, config_dir: Path, tmp_path: Path) -> None:
    from pigeon.core.invite import build_answer
    from test_calendar_render import invitation, vcal

    ics = vcal(
        "BEGIN:VEVENT\r\nUID:i@x\r\nDTSTART:20260105T100000Z\r\nSUMMARY:Sales sync\r\nORGANIZER:mailto:boss@else.example\r\n"
        "ATTENDEE:mailto:sales@catchall.example\r\nEND:VEVENT\r\n"
    )
    reply = build_answer(app, invitation(ics), "accept", app.account())
    assert reply["From"] == '"Me (catch-all)" <sales@catchall.example>'
    assert "ATTENDEE;PARTSTAT=ACCEPTED;CN=Me (catch-all):mailto:sales@catchall.example" in reply.as_string()


def test_bad_identity_stops_the_cli_with_one_line(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text('[accounts.w]\naddress = "a@b.example"\nmaildir = "m"\nidentities = [{ adress = "x@y.example" }]\n')
    result = run_pigeon("invite", "-", "accept", input=b"")
    assert result.returncode == 1
    err = result.stderr.decode().strip()
    assert err.endswith("config.toml:4: accounts.w.identities[0].adress: unknown key (did you mean 'address'?)")


def test_user_config_example_identities(config_dir: Path) -> None:
    import shutil

    from helpers import REPO

    shutil.copytree(REPO / "user-config", config_dir, dirs_exist_ok=True)
    app = App.create(config_dir, load_entrypoints=False, report_to_stderr=False)
    account = app.account("personal")
    assert [i.address for i in identities(account)] == ["robin@example.org", "robin@work.example", "robin@old-address.example"]
    chosen = choose_identity(account, message(To="Robin <robin@work.example>"))
    assert chosen.name == "Robin Example (Example Works)" and chosen.signature.endswith("Example Works Ltd.")
    old = choose_identity(account, message(To="robin@old-address.example"))
    assert old.name == "Robin Example" and old.signature == "Robin Example\nhttps://example.org/~robin"


def test_client_reply_draft_uses_the_identity(app: App) -> None:
    from pigeon.plugins.tui.compose import new_draft

    original = message(To="Me at Work <me@work.example>", Cc="me@example.org, colleague@work.example")
    draft = new_draft(app, app.account(), "reply-all", original)
    assert draft["From"] == "Me at Work <me@work.example>"
    assert "me@example.org" not in str(draft.get("Cc", "")) and "colleague@work.example" in str(draft["Cc"])
    body = draft.get_content()
    assert body.endswith("\n-- \nMe, Work Inc.\n") and "> Hi there" in body
    new = new_draft(app, app.account(), "new")
    assert new["From"] == "Me <me@example.org>" and new.get_content().endswith("-- \nMe\nexample.org\n")
