"""The whole way: composed with ``--sign --encrypt``, sent through the SMTP fixture, delivered
into the Dovecot fixture, synced by the recipient's pigeon, decrypted and verified there; and the
same bytes read by plain gpg, so other clients can read what pigeon writes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fixtures.gpg import GpgWorld, gpg
from helpers import run_pigeon
from pigeon.core import mime

pytestmark = pytest.mark.dovecot

BODY = "Bob,\n\nthe plan is on. Grüße!\n"


def test_sign_encrypt_send_deliver_sync_show(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, config_dir: Path,
                                             tmp_path: Path, smtp_inbox, mail_user) -> None:  # noqa: ANN001
    server, smtp_user = smtp_inbox
    (config_dir / "config.toml").write_text(
        f"""
[accounts.me]
address = "alice@example.org"
real_name = "Alice Lovelace"
maildir = "{tmp_path / 'alice-mail'}"
{server.toml(smtp_user, "starttls")}
password_command = ["{sys.executable}", "-c", "print('{smtp_user.password}')"]
"""
    )
    r = run_pigeon("compose", "--to", "Bob Babbage <bob@example.net>", "--subject", "Secret plans", "--sign", "--encrypt",
                   input=BODY.encode())
    assert r.returncode == 0, r.stderr
    r = run_pigeon("send")
    assert r.returncode == 0, r.stderr
    [got] = server.messages
    wire = got.data
    assert b"the plan is on" not in wire and b"Secret plans" not in wire
    sent = mime.parse_bytes(wire)
    assert sent.get_content_type() == "multipart/encrypted" and str(sent["Subject"]) == "..."

    # plain gpg on Bob's side reads it and finds Alice's good signature
    enc = sent.get_payload()[1].get_payload(decode=True)
    res = gpg(other_home, "--status-fd", "1", "--decrypt", input=enc, check=False)
    assert f"VALIDSIG {gpg_world.fpr['alice']}".encode() in res.stdout and b"GOODMDC" in res.stdout
    inner = mime.parse_bytes(gpg(other_home, "--decrypt", input=enc, check=False).stdout)
    assert str(inner["Subject"]) == "Secret plans" and "the plan is on" in inner.get_content()

    # delivered into Bob's mailbox, synced and shown by Bob's pigeon (Bob's own GnuPG home)
    bob_config, bob_state, bob_mail = tmp_path / "bob-config", tmp_path / "bob-state", tmp_path / "bob-mail"
    bob_config.mkdir()
    (bob_config / "config.toml").write_text(
        f"""
[accounts.bob]
address = "bob@example.net"
maildir = "{bob_mail}"
{mail_user.toml("imap", "tls")}
password_command = ["printf", "%s", "{mail_user.password}"]
"""
    )
    env = {"GNUPGHOME": str(other_home), "PIGEON_CONFIG_DIR": str(bob_config), "PIGEON_STATE_DIR": str(bob_state)}
    r = run_pigeon("sync", env=env)  # a first sync imports; what comes after "arrives"
    assert r.returncode == 0, r.stderr
    mail_user.deliver(wire)
    r = run_pigeon("sync", env=env)
    assert r.returncode == 0, r.stderr
    [synced] = [p for p in (bob_mail / "INBOX").glob("*/*") if p.is_file()]
    r = run_pigeon("show", str(synced), env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    top, _, body = out.partition("─" * 78)
    assert "Subject: Secret plans" in top and "[ok] message decrypted" in top
    assert "decrypted message:" in top and "Alice Lovelace <alice@example.org>" in top
    # a word, not letters: a fingerprint may hold "BAD" as hex (…7456 BAD9…)
    assert gpg_world.fpr["alice"] in top and not re.search(r"\bBAD\b", top) and "[danger]" not in top
    assert "the plan is on. Grüße!" in body
    # Bob's pigeon learnt Alice's key from the Autocrypt header on the way in
    r = run_pigeon("keys", "alice@example.org", env=env)
    assert gpg_world.fpr["alice"].encode() in r.stdout and b"also seen in Autocrypt headers" in r.stdout
