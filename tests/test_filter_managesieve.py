"""pigeon rules upload: the compiled rules installed through ManageSieve on the private Dovecot
(Pigeonhole), then a message delivered by LMTP lands where the rule says."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from fixtures.dovecot import EXTENSIONS, DovecotExtension
from helpers import run_pigeon

if not any(e.name == "sieve" for e in EXTENSIONS):
    EXTENSIONS.append(
        DovecotExtension(
            name="sieve",
            protocols=("sieve", "lmtp"),
            ports=("managesieve",),
            config=lambda srv: f"""
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {srv.ports["managesieve"]}
  }}
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
""",
        )
    )

RULES = """
[[rules]]
name = "lists"
match = "to:dev@lists.example.org or from:notifications@github.com"
actions = ["tag +lists", "move Lists", "stop"]

[[rules]]
name = "boss"
match = "from:boss@ourcorp.com and subject:urgent"
actions = ["flag"]
"""

CREDENTIALS_PLUGIN = """
from pigeon.hooks import hookimpl
from pigeon.hooks.types import Credentials

@hookimpl
def pigeon_credentials(account, purpose, username):
    return Credentials(username, {password!r})
"""


@pytest.mark.dovecot
def test_upload_then_lmtp_delivery_is_filed(config_dir: Path, tmp_path: Path, dovecot, mail_user) -> None:
    imap = mail_user.toml("imap", "starttls")
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{tmp_path / "mail"}"\n{imap}\n'
        f'sieve = {{ port = {dovecot.ports["managesieve"]} }}\n' + RULES
    )
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "secret.py").write_text(CREDENTIALS_PLUGIN.format(password=mail_user.password))
    mail_user.append(b"Subject: make the folder\n\nx\n", folder="Lists")

    res = run_pigeon("rules", "upload", "work")
    assert res.returncode == 0, res.stderr
    assert "installed and activated Sieve script 'pigeon'" in res.stdout.decode()

    with smtplib.LMTP(str(dovecot.socket_path("lmtp"))) as lmtp:
        for subject, sender in (("PR #7", "notifications@github.com"), ("urgent: call", "boss@ourcorp.com"), ("hi", "alice@example.com")):
            msg = f"From: {sender}\nTo: {mail_user.name}@example.org\nSubject: {subject}\n\nbody\n"
            lmtp.sendmail(sender, [mail_user.name], msg.encode())
    lists = [m for m in mail_user.fetch_all("Lists").values() if b"PR #7" in m]
    assert len(lists) == 1
    inbox = mail_user.fetch_all("INBOX").values()
    assert sorted(m.split(b"Subject: ")[1].split(b"\n")[0].strip() for m in inbox) == [b"hi", b"urgent: call"]
    client = mail_user.imap()
    try:
        client.select_folder("INBOX", readonly=True)
        flagged = client.search(["FLAGGED"])
        assert len(flagged) == 1
        client.select_folder("Lists", readonly=True)
        uids = client.search(["KEYWORD", "lists"])
        assert len(uids) == 1
    finally:
        client.logout()


@pytest.mark.dovecot
def test_upload_refuses_without_starttls_or_password(config_dir: Path, tmp_path: Path, dovecot, mail_user) -> None:
    imap = mail_user.toml("imap", "starttls")
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{tmp_path / "mail"}"\n{imap}\n'
        f'sieve = {{ port = {dovecot.ports["managesieve"]} }}\n' + RULES
    )
    res = run_pigeon("rules", "upload", "work")
    assert res.returncode == 1
    assert res.stderr.decode().startswith("pigeon: no password for")
