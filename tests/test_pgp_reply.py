"""Replies to encrypted mail from the command line: ``pigeon compose --in-reply-to`` finds the
original through the index and encrypts the reply by default; the key that will be used is shown
(user ID and fingerprint), and a missing key is a refusal naming the recipient, never a plaintext
send."""

from __future__ import annotations

import time
from pathlib import Path

from fixtures.gpg import GpgWorld
from helpers import run_pigeon
from pgp_craft import encrypt, pgp_mime_encrypted
from pigeon.core.maildir import Maildir
from pigeon.core.mime import parse_bytes

HEADERS = "From: Bob Babbage <bob@example.net>\nTo: alice@example.org\nSubject: ...\nMessage-ID: <secret-1@example.net>\n"


def setup_mail(config_dir: Path, tmp_path: Path, other_home: Path) -> Maildir:
    root = tmp_path / "mail"
    (config_dir / "config.toml").write_text(f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{root}"\n')
    store = Maildir(root)
    ct = encrypt(other_home, b"Content-Type: text/plain\n\nthe hidden plan\n", "alice@example.org")
    store.add("INBOX", pgp_mime_encrypted(HEADERS, ct), flags="S")
    store.add("INBOX", b"From: bob@example.net\nTo: alice@example.org\nSubject: lunch\nMessage-ID: <plain-1@example.net>\n\nlunch?\n")
    assert run_pigeon("index").returncode == 0
    return store


def outbox(store: Maildir) -> list[bytes]:
    return [store.read(e) for e in store.list("Outbox")] if "Outbox" in store.folders() else []


def test_reply_to_encrypted_mail_is_encrypted_and_shows_the_key(
    gnupghome: Path, other_home: Path, gpg_world: GpgWorld, config_dir: Path, tmp_path: Path
) -> None:
    store = setup_mail(config_dir, tmp_path, other_home)
    res = run_pigeon("compose", "--in-reply-to", "secret-1@example.net", "--to", "bob@example.net",
                     "--subject", "Re: plan", input=b"agreed\n")
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert f"encrypt to bob@example.net: Bob Babbage <bob@example.net> {gpg_world.fpr['bob']}" in out
    assert b"the reply will be encrypted" in res.stderr
    [queued] = outbox(store)
    msg = parse_bytes(queued)
    assert str(msg["X-Pigeon-Encrypt"]) == "yes" and str(msg["In-Reply-To"]) == "<secret-1@example.net>"
    assert b"the hidden plan" not in queued  # nothing of the original is quoted
    # what the Outbox sends is the encrypted message: the same path pigeon send takes
    from pigeon.core import outbox as ob
    from pigeon.core.app import App

    app = App.create(config_dir)
    wants, required = ob._wants(msg, app.account("me"))
    assert required and wants.encrypt is True
    sent = app.pm.hook.pigeon_protect_outgoing(message=msg, policy=wants, account=app.account("me"))
    assert sent.get_content_type() == "multipart/encrypted" and b"agreed" not in sent.as_bytes()


def test_reply_to_encrypted_mail_without_a_key_is_refused(gnupghome: Path, other_home: Path, config_dir: Path, tmp_path: Path) -> None:
    store = setup_mail(config_dir, tmp_path, other_home)
    res = run_pigeon("compose", "--in-reply-to", "<secret-1@example.net>", "--to", "bob@example.net",
                     "--cc", "carol@nokey.example", "--subject", "Re: plan", input=b"agreed\n")
    assert res.returncode != 0
    assert b"not queued: cannot encrypt to carol@nokey.example: no key known" in res.stderr
    assert outbox(store) == []  # nothing waits to go out in plaintext
    # a reply to plain mail stays plain, and needs no key
    res = run_pigeon("compose", "--in-reply-to", "plain-1@example.net", "--to", "carol@nokey.example",
                     "--subject", "Re: lunch", input=b"yes\n")
    assert res.returncode == 0, res.stderr
    [queued] = outbox(store)
    assert "X-Pigeon-Encrypt" not in parse_bytes(queued)


def test_compose_sign_encrypt_shows_keys_and_refuses_an_expired_one(
    gnupghome: Path, gpg_world: GpgWorld, config_dir: Path, tmp_path: Path
) -> None:
    from fixtures.gpg import gpg, make_key

    (config_dir / "config.toml").write_text(f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{tmp_path}/m"\n')
    res = run_pigeon("compose", "--sign", "--encrypt", "--to", "manager@work.example", "--subject", "s", input=b"b\n")
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert f"sign as alice@example.org: Alice Lovelace <alice@example.org> {gpg_world.fpr['alice']}" in out
    assert f"encrypt to manager@work.example: The Manager <manager@work.example> {gpg_world.fpr['manager']}" in out
    # made three days ago with a one-day life: expired now
    when = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() - 3 * 86400))
    fpr = make_key(gnupghome, "Old <old@example.com>", expire="1d", created=when)
    gpg(gnupghome, "--faked-system-time", f"{when}!", "--quick-lsign-key", fpr, check=False)
    res = run_pigeon("compose", "--encrypt", "--to", "old@example.com", "--subject", "s", input=b"b\n")
    assert res.returncode != 0 and b"cannot encrypt to old@example.com" in res.stderr
    assert b"expired" in res.stderr


def test_shell_reply_to_encrypted_mail_starts_encrypted(gnupghome: Path, other_home: Path, config_dir: Path, tmp_path: Path) -> None:
    setup_mail(config_dir, tmp_path, other_home)
    res = run_pigeon("shell", input=b"list INBOX\nreply 2\n")  # newest first: 2 is the encrypted one
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    assert "X-Pigeon-Encrypt: yes" in out and "> the hidden plan" in out  # it decrypted as its own: quoted
    assert "In-Reply-To: <secret-1@example.net>" in out


def test_without_an_index_the_reply_says_it_cannot_tell(gnupghome: Path, config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.toml").write_text(f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{tmp_path}/m"\n')
    res = run_pigeon("compose", "--in-reply-to", "x1@example.net", "--to", "bob@example.net", "--subject", "Re: x", input=b"ok\n")
    assert res.returncode == 0, res.stderr
    assert b"<x1@example.net> is not in the search index" in res.stderr and b"add --encrypt" in res.stderr
