"""`g` in the client syncs with a real IMAP server (the private Dovecot) in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pigeon.core.app import App
from sync_support import message
from tui_support import Driver

pytestmark = pytest.mark.dovecot


def server_news(mail_user, config_dir: Path, maildir: Path) -> Path:  # noqa: ANN001
    """Account ``work`` on ``mail_user`` with an empty INBOX here and one message on the server."""
    for sub in ("cur", "new", "tmp"):
        (maildir / "INBOX" / sub).mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{maildir}"\n'
        f'{mail_user.toml("imap", "tls")}\npassword_command = ["printf", "%s", "{mail_user.password}"]\n'
    )
    mail_user.append(message(1, subject="Straight from the server"), "INBOX")
    return maildir


def test_g_syncs_in_the_background_and_new_mail_shows(mail_user, config_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    server_news(mail_user, config_dir, tmp_path / "Mail")

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: "INBOX [work]" in d.screen())
            await d.keys("g")
            await d.settle(until=lambda: "Straight from the server" in d.screen(), timeout=30)
            await d.settle(until=lambda: "sync: 1 down" in d.tui.echo, timeout=30)
            assert "work: ↓1" in d.screen()
        finally:
            await d.stop()

    asyncio.run(main())


def test_a_sync_that_fails_says_why_in_the_echo_area(mail_user, config_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """Not only "sync failed" in the mode line: the cause, where the summary used to cover it."""
    maildir = server_news(mail_user, config_dir, tmp_path / "Mail")
    (maildir / "INBOX" / "new" / "1700000000.empty.host").write_bytes(b"")  # Dovecot refuses it

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: "INBOX [work]" in d.screen())
            await d.keys("g")
            await d.settle(until=lambda: d.tui.echo.startswith("sync: work: INBOX: the server refused"), timeout=30)
            assert d.tui.echo_error
            assert "new/1700000000.empty.host (kept here only)" in d.tui.echo and "(1 down, 0 up" in d.tui.echo
            assert "work: sync failed" in d.screen()
            assert "Straight from the server" in d.screen()  # the rest synced
        finally:
            await d.stop()

    asyncio.run(main())


def test_a_sync_held_up_by_another_says_so_then_goes_through(mail_user, config_dir: Path, isolated_env, tmp_path: Path) -> None:  # noqa: ANN001
    import os

    from pigeon.core.sync_lock import AccountLock, lock_path

    server_news(mail_user, config_dir, tmp_path / "Mail")
    held = AccountLock(lock_path(isolated_env["state"] / "sync" / "work.sqlite"))
    held.acquire(0)  # as pigeon watch or a cron job's sync would hold it

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: "INBOX [work]" in d.screen())
            d.input.send_text("g")
            for _ in range(1500):  # the sync is still running: settle() would wait for its end
                if "waiting for another sync" in d.tui.echo:
                    break
                await asyncio.sleep(0.02)
            assert d.tui.pending == 1
            assert d.tui.echo.startswith(f"sync work: waiting for another sync of this account (pid {os.getpid()}")
            held.release()
            await d.settle(until=lambda: "sync: 1 down" in d.tui.echo, timeout=30)
            assert "Straight from the server" in d.screen()
        finally:
            held.release()
            await d.stop()

    asyncio.run(main())


def test_a_reply_goes_out_through_the_outbox_and_smtp(smtp_inbox, config_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    import os
    import sys

    from tui_support import standard_mailbox

    server, user = smtp_inbox
    maildir = standard_mailbox(tmp_path)
    (config_dir / "config.toml").write_text(
        '[send]\nundo_seconds = 0\n'  # sent at once (the default holds it 10 s for undo-send)
        f'[accounts.out]\naddress = "me@example.org"\nmaildir = "{maildir}"\n{server.toml(user, "starttls")}\n'
        f'password_command = ["{sys.executable}", "-c", "print(\'{user.password}\')"]\n'
    )

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: "INBOX [out]" in d.screen() and d.tui.current.line_count() == 32)
            await d.keys("nnr")
            await d.settle(until=lambda: "Subject: Re: Message number 29" in d.screen())
            await d.keys("\x1b>Thanks!\x03\x03")  # M-> ... C-c C-c
            # undo_seconds = 0: due at once, the client sends it right away
            await d.settle(until=lambda: d.tui.echo.startswith("sent: Re: Message number 29"), timeout=30)
        finally:
            await d.stop()

    asyncio.run(main())
    assert len(server.messages) == 1
    got = server.messages[0]
    assert got.rcpt_tos == ["carol@example.com"] and b"Thanks!" in got.data
    assert os.listdir(maildir / "Outbox" / "cur") == []  # sent: the Outbox is empty again
    assert len(os.listdir(maildir / "Sent" / "cur")) == 1
