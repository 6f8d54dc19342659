"""pigeon compose and pigeon send, end to end through the CLI and aiosmtpd."""

from __future__ import annotations

import sys
from email import message_from_bytes, policy
from pathlib import Path

from helpers import run_pigeon
from pigeon.core.maildir import Maildir


def write_config(config_dir: Path, tmp_path: Path, server, user, password: str | None = None, extra: str = "") -> Path:
    maildir = tmp_path / "Mail"
    pw = password or user.password
    (config_dir / "config.toml").write_text(
        f"""
[accounts.me]
address = "alice@example.org"
real_name = "Alice Example"
maildir = "{maildir}"
{server.toml(user, "starttls")}
password_command = ["{sys.executable}", "-c", "print('{pw}')"]
{extra}
"""
    )
    return maildir


def outbox(maildir: Path) -> list:
    store = Maildir(maildir)
    return store.list("Outbox") if store.has_folder("Outbox") else []


def test_compose_then_send_byte_identical_and_no_secret_in_debug(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    maildir = write_config(config_dir, tmp_path, server, user)
    att = tmp_path / "notes.txt"
    att.write_text("attached notes\n")
    body = "Hello Bob,\n\n.a line starting with a dot\nÜnïcödé ✓\n"
    r = run_pigeon("compose", "--to", "bob@example.org", "--cc", "carol@example.org", "--bcc", "dave@example.org",
                   "--subject", "Grüße", "--attach", str(att), input=body.encode())
    assert r.returncode == 0, r.stderr
    assert b"queued in Outbox of me: Gr" in r.stdout
    [queued] = outbox(maildir)
    queued_bytes = queued.path.read_bytes()

    r = run_pigeon("--debug", "send")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert b"sent: Gr\xc3\xbc\xc3\x9fe to bob@example.org, carol@example.org, dave@example.org" in r.stdout
    assert user.password.encode() not in out and b"AUTH PLAIN <redacted>" in out
    import base64

    blob = base64.b64encode(b"\0" + user.name.encode() + b"\0" + user.password.encode())
    assert blob not in out and base64.b64encode(user.password.encode()) not in out
    assert b"pigeon debug: smtp C: STARTTLS" in out and b"[pre-TLS, unauthenticated]" in out

    [got] = server.messages
    assert sorted(got.rcpt_tos) == ["bob@example.org", "carol@example.org", "dave@example.org"]
    queued_body = queued_bytes.replace(b"\n", b"\r\n").split(b"\r\n\r\n", 1)[1]
    assert got.data.split(b"\r\n\r\n", 1)[1] == queued_body  # body byte-identical
    sent = message_from_bytes(got.data, policy=policy.default)
    assert sent["Bcc"] is None and sent["From"] == "Alice Example <alice@example.org>"
    assert [p.get_filename() for p in sent.iter_attachments()] == ["notes.txt"]

    assert outbox(maildir) == []
    [copy] = Maildir(maildir).list("Sent")
    assert copy.flags == "S" and b"Bcc: dave@example.org" in copy.path.read_bytes()
    assert run_pigeon("send").stdout.strip() == b"nothing to send"


def test_failed_send_stays_queued_with_its_error(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    maildir = write_config(config_dir, tmp_path, server, user, password="wrong-password")
    assert run_pigeon("compose", "--to", "bob@example.org", "--subject", "Stuck", input=b"body\n").returncode == 0
    r = run_pigeon("send")
    assert r.returncode == 1
    assert b"kept in the Outbox: Stuck: smtp localhost:" in r.stderr and b"authentication failed" in r.stderr
    assert b"wrong-password" not in r.stderr + r.stdout
    assert len(outbox(maildir)) == 1 and server.messages == []
    listing = run_pigeon("send", "--list")
    assert b"Stuck to bob@example.org  [last error: smtp localhost:" in listing.stdout


def test_before_send_veto_and_protect_outgoing(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    maildir = write_config(config_dir, tmp_path, server, user)
    plugins = config_dir / "plugins"
    plugins.mkdir()
    (plugins / "policy.py").write_text(
        "from pigeon.hooks import hookimpl\n"
        "seen = []\n"
        "@hookimpl\n"
        "def pigeon_before_send(message, account):\n"
        "    if 'secret' in str(message['Subject']).lower():\n"
        "        return 'subjects with secret stay home'\n"
        "@hookimpl\n"
        "def pigeon_protect_outgoing(message, policy, account):\n"
        "    message['X-Test-Protected'] = f'sign={policy.sign}'\n"
        "    return message\n"
        "@hookimpl\n"
        "def pigeon_after_send(message, account, recipients):\n"
        "    open(account.maildir.parent / 'after-send.log', 'a').write(','.join(recipients) + '\\n')\n"
    )
    run_pigeon("compose", "--to", "bob@example.org", "--subject", "Top secret", input=b"x\n")
    run_pigeon("compose", "--to", "bob@example.org", "--subject", "Signed", "--sign", input=b"y\n")
    r = run_pigeon("send")
    assert r.returncode == 1
    assert b"kept in the Outbox: Top secret: vetoed: subjects with secret stay home" in r.stderr
    assert b"sent: Signed to bob@example.org" in r.stdout
    [got] = server.messages
    assert b"X-Test-Protected: sign=True" in got.data and b"X-Pigeon-Sign" not in got.data
    assert (tmp_path / "after-send.log").read_text() == "bob@example.org\n"
    assert len(outbox(maildir)) == 1


def test_encrypt_that_cannot_be_done_is_not_sent_in_plaintext(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    write_config(config_dir, tmp_path, server, user)
    r = run_pigeon("compose", "--to", "bob@example.org", "--subject", "Please encrypt", "--encrypt", input=b"x\n")
    assert r.returncode == 1 and b"not queued: cannot encrypt to bob@example.org" in r.stderr  # refused up front
    # the Outbox is the second line: a message queued another way (the client) is not sent plain either
    from pigeon.core import compose, outbox
    from pigeon.core.app import App

    app = App.create(config_dir)
    acct = app.account(None)
    outbox.queue(app, acct, compose.new_message(app, acct, compose.Draft(to=["bob@example.org"], subject="Please encrypt", body="x", encrypt=True)))
    r = run_pigeon("send", env={"PIGEON_DISABLE_PLUGINS": "pgp"})  # nobody answers the hook
    assert r.returncode == 1 and b"no plugin protects outgoing mail" in r.stderr
    r = run_pigeon("send")  # the PGP plugin refuses: no key for bob
    assert r.returncode == 1 and b"kept in the Outbox: Please encrypt: not protected as asked" in r.stderr
    assert server.messages == []


def test_mailto_allowlist_and_header_injection(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    maildir = write_config(config_dir, tmp_path, server, user)
    url = ("mailto:bob@example.org?subject=Hi%0D%0ABcc:%20evil@example.org&attach=/etc/passwd"
           "&bcc=evil@example.org&X-Evil=1&body=Hello%0D%0Athere&in-reply-to=%3Cabc@example.org%3E")
    r = run_pigeon("compose", url)
    assert r.returncode == 0, r.stderr
    assert b"mailto: ignored attach, bcc, x-evil" in r.stderr
    [entry] = outbox(maildir)
    msg = message_from_bytes(entry.path.read_bytes(), policy=policy.default)
    assert msg["Subject"] == "Hi Bcc: evil@example.org" and msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["In-Reply-To"] == "<abc@example.org>" and not list(msg.iter_attachments())
    assert msg.get_content() == "Hello\nthere\n"

    r = run_pigeon("compose", "--to", "bob@example.org", "--subject", "Hi\r\nBcc: evil@example.org", input=b"x\n")
    assert r.returncode == 1 and r.stderr.strip() == b"pigeon: the Subject header may not contain a line break"
    r = run_pigeon("compose", "--to", "bob@example.org\nBcc: evil@example.org", input=b"x\n")
    assert r.returncode == 1 and b"line break" in r.stderr
    assert len(outbox(maildir)) == 1


def test_compose_with_editor(config_dir, tmp_path, smtp_inbox) -> None:
    server, user = smtp_inbox
    maildir = write_config(config_dir, tmp_path, server, user)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "p = sys.argv[1]\n"
        "t = open(p).read().replace('To: ', 'To: bob@example.org', 1).replace('Subject: ', 'Subject: From the editor', 1)\n"
        "open(p, 'w').write(t + 'Typed in the editor.\\n')\n"
    )
    import os
    import pty
    import subprocess

    master, slave = pty.openpty()  # a terminal on stdin: compose opens $EDITOR
    try:
        r = subprocess.run([sys.executable, "-m", "pigeon.core.cli", "compose"], stdin=slave, capture_output=True,
                           env={**os.environ, "EDITOR": f"{sys.executable} {editor}", "VISUAL": ""}, timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 0, r.stderr
    [entry] = outbox(maildir)
    msg = message_from_bytes(entry.path.read_bytes(), policy=policy.default)
    assert (msg["To"], msg["Subject"], msg.get_content()) == ("bob@example.org", "From the editor", "Typed in the editor.\n")
