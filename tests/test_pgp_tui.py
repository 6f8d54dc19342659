"""The client asks for a passphrase in its own minibuffer (gpg's loopback pinentry): the input
is hidden, C-g cancels, and nothing of it stays behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.gpg import GpgWorld, gpg, kill_agent, make_key
from pgp_craft import encrypt, pgp_mime_encrypted
from pigeon.core.app import App
from pigeon.plugins.pgp import runtime
from tui_support import Driver, configure, write_maildir

PASSPHRASE = "s3cret-Quin"


def test_passphrase_is_asked_hidden_in_the_minibuffer(gnupghome: Path, other_home: Path, config_dir: Path, tmp_path: Path) -> None:
    fpr = make_key(gnupghome, "Quin <quin@example.org>", passphrase=PASSPHRASE)
    kill_agent(gnupghome)  # no cached passphrase: gpg must ask
    gpg(other_home, "--import", input=gpg(gnupghome, "--armor", "--export", fpr).stdout)
    ct = encrypt(other_home, b"Content-Type: text/plain\n\nmeet at the old mill\n", "quin@example.org")
    from pigeon.core.mime import parse_bytes

    msg = parse_bytes(pgp_mime_encrypted(
        "From: Bob <bob@example.net>\nTo: quin@example.org\nSubject: ...\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <q1@example.net>\n", ct))
    write_maildir(tmp_path / "Mail", {"INBOX": [msg]})
    configure(config_dir, tmp_path / "Mail")

    async def main() -> None:
        app = App.create(report_to_stderr=False)
        app.startup()  # as the client does: the plugins learn the running App (and its UI)
        d = await Driver(app).start()
        try:
            await d.settle(until=lambda: "bob" in d.screen().lower())
            await d.keys("\r", until=lambda: d.tui.mb_active)  # open it: gpg asks
            assert d.tui.mb_kind == "secret" and "Passphrase to decrypt" in d.tui.mb_prompt
            assert "Quin <quin@example.org>" in d.screen().splitlines()[-1]
            await d.keys("xyzzy-typo")
            await d.keys("\x07", until=lambda: not d.tui.mb_active)  # C-g: cancelled
            await d.settle(until=lambda: "meet at the old mill" not in d.screen() and d.tui.pending == 0)
            assert "meet at the old mill" not in d.screen()
            # again, and this time the passphrase: drawn as stars, never as itself
            screen = d.screen()
            assert d.tui.mb.text == "" and "xyzzy" not in screen and "could not be decrypted" in screen
            await d.keys("q")  # back to the list, and open it again
            await d.keys("\r", until=lambda: d.tui.mb_active)
            await d.keys(PASSPHRASE)
            last = d.screen().splitlines()[-1]
            assert "*" * len(PASSPHRASE) in last and PASSPHRASE not in d.screen()
            await d.keys("\x01\x0b\x19")  # C-a C-k C-y: killed and yanked back while typing
            await d.keys("\r", until=lambda: "meet at the old mill" in d.screen())
            assert PASSPHRASE not in d.screen() and d.tui.mb.text == ""
            assert all(PASSPHRASE not in h for h in d.tui.mb.history.get_strings())
            assert PASSPHRASE not in d.tui.application.clipboard.get_data().text  # not left in the kill ring
        finally:
            await d.stop()
            runtime.started(None)

    asyncio.run(main())


def test_reply_to_encrypted_mail_in_the_client_shows_keys_and_refuses_a_missing_one(
    gnupghome: Path, other_home: Path, gpg_world: GpgWorld, config_dir: Path, tmp_path: Path
) -> None:
    from pigeon.core.mime import parse_bytes
    from pigeon.plugins.tui.model import ComposeBuffer

    ct = encrypt(other_home, b"Content-Type: text/plain\n\nthe plan, in full\n", "alice@example.org")
    msg = parse_bytes(pgp_mime_encrypted(
        "From: Bob Babbage <bob@example.net>\nTo: alice@example.org\nSubject: ...\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <p1@example.net>\n", ct))
    write_maildir(tmp_path / "Mail", {"INBOX": [msg]})
    (config_dir / "config.toml").write_text(f'[accounts.me]\naddress = "alice@example.org"\nmaildir = "{tmp_path / "Mail"}"\n')
    outbox = tmp_path / "Mail" / "Outbox"

    async def main() -> None:
        app = App.create(report_to_stderr=False)
        app.startup()
        d = await Driver(app).start()
        try:
            await d.settle(until=lambda: "bob" in d.screen().lower())
            await d.keys("r", until=lambda: isinstance(d.tui.current, ComposeBuffer))
            buf = d.tui.current
            assert "X-Pigeon-Encrypt: yes" in buf.text and "> the plan, in full" in buf.text
            assert "encrypted" in buf.modeline_info()
            # a recipient without a key: sending is refused, and the refusal names them
            await d.tui.loop.run_in_executor(None, d.tui.call, buf.set_text, buf.text.replace(
                "To: Bob Babbage <bob@example.net>", "To: Bob Babbage <bob@example.net>, carol@nokey.example"))
            await d.keys("\x03\x03")  # C-c C-c
            assert d.tui.echo_error and "cannot encrypt to carol@nokey.example" in d.tui.echo
            assert d.tui.current is buf and not list(outbox.glob("*/*"))
            # C-c C-p: the key each recipient gets, with user ID and fingerprint
            await d.keys("\x03\x10", until=lambda: "*Keys*" in d.tui.current.name)
            keys = d.tui.current.raw
            assert f"encrypt to bob@example.net: Bob Babbage <bob@example.net> {gpg_world.fpr['bob']}" in keys
            assert "REFUSED: cannot encrypt to carol@nokey.example: no key known" in keys
            screen = d.screen()  # drawn, wrapped at the window's width
            assert "encrypt to bob@example.net: Bob Babbage <bob@example.net>" in screen and gpg_world.fpr["bob"] in screen
            assert "REFUSED: cannot encrypt to carol@nokey.example" in screen
        finally:
            await d.stop()
            runtime.started(None)

    asyncio.run(main())
