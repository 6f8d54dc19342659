"""Keys: Autocrypt peer state and key changes (RE-04), WKD over HTTPS (a local server with a
throwaway CA), ``pigeon keys``, and passphrases through a loopback prompt that nothing keeps."""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures.gpg import GpgWorld, fingerprint, gpg, kill_agent, make_key
from helpers import run_pigeon
from pgp_craft import encrypt, pgp_mime_encrypted
from pgp_helpers import ctx_for, parse, pm
from pigeon.hooks.types import AccountConfig, MessageRef, SendPolicy
from pigeon.plugins.pgp import autocrypt, runtime, wkd
from pigeon.plugins.pgp.gpg import CryptoError


def incoming(addr: str, keydata: bytes | None, date: str, name: str = "Someone") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{name} <{addr}>"
    msg["To"] = "alice@example.org"
    msg["Subject"] = "hi"
    msg["Date"] = date
    if keydata is not None:
        msg["Autocrypt"] = autocrypt.format_header(addr, keydata, prefer_encrypt=True)
    msg.set_content("hello\n")
    return msg


def arrive(msg: EmailMessage) -> None:
    pm().hook.pigeon_message_arrived(message=msg, ref=MessageRef(path=Path("/dev/null")))


def export(home: Path, fpr: str) -> bytes:
    return gpg(home, "--export", "--export-options", "export-minimal", fpr).stdout


def lookup(address: str):  # noqa: ANN201
    return [i for answer in pm().hook.pigeon_lookup_keys(addresses=[address], network=False) for i in answer]


def test_autocrypt_header_round_trip() -> None:
    value = autocrypt.format_header("a@b.example", b"\x99" * 300, prefer_encrypt=True)
    header = autocrypt.parse_header(value)
    assert header == autocrypt.Header("a@b.example", b"\x99" * 300, "mutual")
    assert autocrypt.parse_header("addr=a@b.example; keydata=AAAA; critical=1") is None
    assert autocrypt.parse_header("addr=a@b.example; keydata=AAAA; _optional=1") is not None
    assert autocrypt.parse_header("addr=a@b.example; keydata=!!!") is None


def test_autocrypt_peer_learnt_and_used_for_encryption(gnupghome: Path, other_home: Path) -> None:
    fpr = make_key(other_home, "Carol <carol@example.net>")
    arrive(incoming("carol@example.net", export(other_home, fpr), "Mon, 02 Nov 2026 10:00:00 +0000"))
    infos = lookup("carol@example.net")
    chosen = [i for i in infos if i.chosen]
    assert len(chosen) == 1 and chosen[0].fingerprint == fpr and chosen[0].source == "autocrypt"
    acct = AccountConfig(name="me", address="alice@example.org", maildir=Path("/x"), extra={"pgp": {"encrypt": "when-possible"}})
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.org", "carol@example.net", "s"
    msg.set_content("for carol\n")
    out = pm().hook.pigeon_protect_outgoing(message=msg, policy=SendPolicy(), account=acct)
    assert out.get_content_type() == "multipart/encrypted"
    enc = out.get_payload()[1].get_payload(decode=True)
    assert b"for carol" in gpg(other_home, "--decrypt", input=enc).stdout


def test_autocrypt_key_change_is_recorded_and_shown(gnupghome: Path, other_home: Path) -> None:
    old = make_key(other_home, "Dan <dan@example.net>")
    new = make_key(other_home, "Dan New <dan@example.net>")
    arrive(incoming("dan@example.net", export(other_home, old), "Mon, 02 Nov 2026 10:00:00 +0000"))
    changed = incoming("dan@example.net", export(other_home, new), "Tue, 03 Nov 2026 10:00:00 +0000")
    arrive(changed)
    infos = lookup("dan@example.net")
    assert any(f"from {old} to {new}" in w for i in infos for w in i.warnings)
    # the message view shows the change in a banner drawn by pigeon
    ctx = ctx_for(changed)
    banners = [b for answer in pm().hook.pigeon_message_banners(message=changed, ctx=ctx) if answer for b in answer]
    assert any("changed" in b.text and b.severity == "warning" for b in banners)
    # an older message with the old key does not switch back
    arrive(incoming("dan@example.net", export(other_home, old), "Sun, 01 Nov 2026 10:00:00 +0000"))
    assert next(i for i in lookup("dan@example.net") if i.chosen).fingerprint == new


def test_autocrypt_never_replaces_a_verified_key(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    bob = gpg_world.fpr["bob"]  # in the keyring, certified by Alice
    arrive(incoming("bob@example.net", export(other_home, bob), "Mon, 02 Nov 2026 10:00:00 +0000", "Bob"))
    impostor = make_key(other_home, "Bob <bob@example.net>")
    arrive(incoming("bob@example.net", export(other_home, impostor), "Tue, 03 Nov 2026 10:00:00 +0000", "Bob"))
    infos = lookup("bob@example.net")
    assert next(i for i in infos if i.chosen).fingerprint == bob
    pending = [i for i in infos if i.fingerprint == impostor]
    assert pending and not pending[0].usable and "accept" in pending[0].reason
    assert any("kept until you accept" in w for i in infos for w in i.warnings)


def test_autocrypt_header_for_another_address_is_ignored(gnupghome: Path, other_home: Path, gpg_world: GpgWorld) -> None:
    eve = gpg_world.fpr["eve"]
    msg = incoming("eve@evil.example", None, "Mon, 02 Nov 2026 10:00:00 +0000")
    msg["Autocrypt"] = autocrypt.format_header("bob@example.net", export(other_home, eve))
    arrive(msg)
    assert all(i.fingerprint != eve for i in lookup("bob@example.net"))


# --------------------------------------------------------------------------- pigeon keys (CLI)


def test_pigeon_keys_cli(gnupghome: Path, gpg_world: GpgWorld, config_dir: Path) -> None:
    res = run_pigeon("keys", "bob@example.net", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows[0]["fingerprint"] == gpg_world.fpr["bob"] and rows[0]["chosen"] is True
    assert rows[0]["trust"] == "full" and "keyring" in rows[0]["reason"]
    res = run_pigeon("keys", "nobody@nowhere.example")
    assert res.returncode == 0 and b"no key known" in res.stdout
    res = run_pigeon("keys")
    assert res.returncode == 0 and gpg_world.fpr["alice"].encode() in res.stdout


# --------------------------------------------------------------------------- WKD


@pytest.fixture
def wkd_server(tmp_path: Path) -> Iterator[tuple[int, Path, dict[str, bytes]]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "openpgpkey.localhost")
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    published: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            body = published.get(self.path.split("?")[0])
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cafile, published
    server.shutdown()


def test_wkd_hash_matches_the_draft() -> None:
    # draft-koch-openpgp-webkey-service §3.1 example: Joe.Doe@Example.ORG
    assert wkd.wkd_hash("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"
    assert wkd.wkd_urls("Joe.Doe@Example.ORG")[1] == (
        "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
    )


def test_wkd_lookup_over_https(gnupghome: Path, other_home: Path, wkd_server, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    port, cafile, published = wkd_server
    fpr = make_key(other_home, "Wendy <wendy@localhost>")
    published[f"/.well-known/openpgpkey/hu/{wkd.wkd_hash('wendy')}"] = export(other_home, fpr)
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    # a certificate from an unknown CA is refused
    assert wkd.fetch("wendy@localhost", port=port) is None
    (config_dir / "config.toml").write_text(f'[pgp]\nwkd_cafile = "{cafile}"\nwkd_port = {port}\n')
    res = run_pigeon("keys", "wendy@localhost", "--wkd", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert any(r["source"] == "wkd" and r["fingerprint"] == fpr for r in rows)
    assert any(r["source"] == "keyring" and r["fingerprint"] == fpr and r["chosen"] for r in rows)
    # a published key without a user ID for the address is not imported
    other = make_key(other_home, "Mallory <mallory@evil.example>")
    published[f"/.well-known/openpgpkey/hu/{wkd.wkd_hash('victim')}"] = export(other_home, other)
    res = run_pigeon("keys", "victim@localhost", "--wkd", "--json")
    rows = json.loads(res.stdout)
    assert all(r["fingerprint"] != other for r in rows)


# --------------------------------------------------------------------------- passphrases


def test_passphrase_through_the_client_prompt_is_never_kept(gnupghome: Path, other_home: Path) -> None:
    fpr = make_key(gnupghome, "Pat <pat@example.org>", passphrase="correct horse")
    kill_agent(gnupghome)  # nothing cached
    gpg(other_home, "--import", input=gpg(gnupghome, "--armor", "--export", fpr).stdout)
    ct = encrypt(other_home, b"Content-Type: text/plain\n\nfor pat\n", "pat@example.org")
    raw = pgp_mime_encrypted("From: bob@example.net\nTo: pat@example.org\n", ct)
    asked: list[str] = []
    try:
        runtime.set_passphrase_prompt(lambda hint: asked.append(hint) or "wrong")
        msg = parse(raw)
        result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
        assert not result.ok and "passphrase" in result.error and len(asked) == 1
        runtime.set_passphrase_prompt(lambda hint: asked.append(hint) or "correct horse")
        msg = parse(raw)
        result = pm().hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
        assert result.ok and "for pat" in result.message.get_content()
        g = runtime.gpg()
        assert "correct horse" not in repr(vars(g)) and "correct horse" not in repr(vars(g._gpg))
    finally:
        runtime.set_passphrase_prompt(None)


def test_fingerprint_helper(gnupghome: Path) -> None:
    assert len(fingerprint(gnupghome, "alice@example.org")) == 40
    with pytest.raises(CryptoError):
        runtime.keybook().encryption_key("nobody@nowhere.example")
    assert base64  # imported for readers of the Autocrypt tests


def test_key_change_accepted_only_by_the_user(gnupghome: Path, other_home: Path, config_dir: Path) -> None:
    from pigeon.core.app import App
    from pigeon.core.commands import CommandContext

    old = make_key(other_home, "Fay <fay@example.net>")
    new = make_key(other_home, "Fay <fay@example.net>")
    arrive(incoming("fay@example.net", export(other_home, old), "Mon, 02 Nov 2026 10:00:00 +0000"))
    app = App.create(config_dir, load_entrypoints=False)
    out: list[str] = []
    ctx = CommandContext(app, output=out.append)
    app.commands.run("pgp-mark-key-verified", ctx, "fay@example.net")
    arrive(incoming("fay@example.net", export(other_home, new), "Tue, 03 Nov 2026 10:00:00 +0000"))
    assert next(i for i in lookup("fay@example.net") if i.chosen).fingerprint == old
    app.commands.run("pgp-accept-key-change", ctx, "fay@example.net")
    assert next(i for i in lookup("fay@example.net") if i.chosen).fingerprint == new
    assert out[-1] == f"fay@example.net: now using key {new}"


def test_re04_attached_key_is_never_imported(gnupghome: Path, other_home: Path, gpg_world: GpgWorld, config_dir: Path) -> None:
    """A signed mail carrying a new key for a known contact as an attachment changes nothing."""
    from pigeon.core import mime
    from pigeon.core.render import render_message
    from pigeon.hooks.types import RenderContext

    impostor = make_key(other_home, "Bob Babbage <bob@example.net>")
    msg = incoming("bob@example.net", None, "Mon, 02 Nov 2026 10:00:00 +0000", "Bob")
    msg.add_attachment(gpg(other_home, "--armor", "--export", impostor).stdout, maintype="application",
                       subtype="pgp-keys", filename="bob-new-key.asc")
    raw = msg.as_bytes()
    arrive(mime.parse_bytes(raw))
    render_message(pm(), mime.parse_bytes(raw), RenderContext())
    infos = lookup("bob@example.net")
    assert [i.fingerprint for i in infos] == [gpg_world.fpr["bob"]]


def test_doctor_reports_a_missing_own_key(gnupghome: Path, config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.toml").write_text(
        f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{tmp_path}/m1"\npgp = {{ sign = "always" }}\n'
        f'[accounts.other]\naddress = "nokey@example.org"\nmaildir = "{tmp_path}/m2"\npgp = {{ encrypt = "when-possible" }}\n'
    )
    res = run_pigeon("doctor", "--json")
    rows = json.loads(res.stdout)
    keys = [r for r in rows if r["code"].startswith("pgp-")]
    assert [(r["code"], r["where"]) for r in keys] == [("pgp-no-key", "accounts.other.pgp")]


def test_passphrase_asked_through_the_ui_minibuffer(gnupghome: Path, other_home: Path, config_dir: Path) -> None:
    """A UI that offers ``ask_secret`` gets gpg's question (loopback pinentry), not a pinentry."""
    from pigeon.core.app import App

    fpr = make_key(gnupghome, "Quin <quin@example.org>", passphrase="s3cret")
    kill_agent(gnupghome)
    gpg(other_home, "--import", input=gpg(gnupghome, "--armor", "--export", fpr).stdout)
    ct = encrypt(other_home, b"Content-Type: text/plain\n\nfor quin\n", "quin@example.org")
    asked: list[str] = []

    class UI:
        def ask_secret(self, question: str) -> str:
            asked.append(question)
            return "s3cret"

    app = App.create(config_dir)
    app.ui = UI()
    app.startup()
    try:
        msg = parse(pgp_mime_encrypted("From: bob@example.net\nTo: quin@example.org\n", ct))
        result = app.pm.hook.pigeon_decrypt(part=msg, ctx=ctx_for(msg))
        assert result.ok and asked == ["Passphrase to decrypt (key of Quin <quin@example.org>): "]
    finally:
        runtime.started(None)


def test_autocrypt_learning_never_breaks_arrival_without_gpg(gnupghome: Path, other_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fpr = make_key(other_home, "Gus <gus@example.net>")
    msg = incoming("gus@example.net", export(other_home, fpr), "Mon, 02 Nov 2026 10:00:00 +0000")
    fake = tmp_path / "bin" / "gpg"  # a GnuPG too old to trust
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'cfg:version:2.2.7'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "elsewhere"))
    arrive(msg)  # no exception: the arrival goes on
