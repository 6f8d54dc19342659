"""The journal in the full-screen client: flag and delete go to *Pending*, C-x u undoes, a sent
message waits and M-x undo-send brings it back to a compose buffer (aiosmtpd never sees it),
and a message whose delay ran out is sent by the client itself."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from pigeon.core.app import App
from pigeon.core.maildir import Maildir
from pigeon.plugins.tui.model import ComposeBuffer, MessageListBuffer, TextBuffer
from tui_support import Driver, standard_mailbox


def test_client_pending_undo_and_undo_send(tmp_path: Path, config_dir: Path, smtp_server) -> None:  # noqa: ANN001
    smtp_server.reset()
    root = standard_mailbox(tmp_path)
    user = smtp_server.add_user()
    (config_dir / "config.toml").write_text(f"""[send]
undo_seconds = 30

[accounts.test]
address = "me@example.org"
real_name = "Me Myself"
maildir = "{root}"
{smtp_server.toml(user, "tls")}
password_command = ["{sys.executable}", "-c", "print('{smtp_server.users[user.name]}')"]
""")
    store = Maildir(root)

    async def go(d: Driver) -> None:
        await d.keys("!")  # flag the first message
        await d.keys("n")
        await d.keys("d")  # delete the second: to Trash
        assert len(store.list("Trash")) == 1
        await d.keys("\x1bx")
        await d.keys("pending\r", until=lambda: isinstance(d.tui.current, TextBuffer))
        screen = d.screen()
        assert "flags +flagged  With a file" in screen
        assert "delete (move INBOX -> Trash)" in screen and "[waiting for the next sync]" in screen
        await d.keys("\x18u")  # C-x u: undo the delete
        assert "undone #2" in d.tui.echo and "moved back to INBOX" in d.tui.echo
        assert store.list("Trash") == [] and len(store.list("INBOX")) == 32
        assert "#2" not in d.screen().split("Done:")[0]  # *Pending* was refreshed

        await d.keys("\x1bx")
        await d.keys("compose\r", until=lambda: isinstance(d.tui.current, ComposeBuffer))
        d.tui.current.set_text("To: bob@example.org\nSubject: hasty\n\nI take that back.\n")
        await d.keys("\x03\x03")  # C-c C-c
        assert "queued: sending in 30s (M-x undo-send takes it back)" in d.tui.echo
        assert len(store.list("Outbox")) == 1
        await d.keys("\x1bx")
        await d.keys("undo-send\r", until=lambda: isinstance(d.tui.current, ComposeBuffer))
        assert "recalled: hasty was not sent" in d.tui.echo
        assert "I take that back." in d.tui.current.text and "Subject: hasty" in d.tui.current.text
        assert store.list("Outbox") == []

        # a shorter delay: the client sends it itself once the delay is over
        d.tui.app.config.settings["send.undo_seconds"] = 0.5
        await d.keys("\x03\x03")
        end = time.monotonic() + 15
        while not smtp_server.messages and time.monotonic() < end:
            await asyncio.sleep(0.1)
        await d.settle(until=lambda: d.tui.echo == "sent: hasty to bob@example.org")
        assert not isinstance(d.tui.current, ComposeBuffer) and isinstance(d.tui.buffers[0], MessageListBuffer | TextBuffer)

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            await go(d)
        finally:
            await d.stop()

    asyncio.run(main())
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["bob@example.org"] and b"I take that back." in got.data
    assert store.list("Outbox") == [] and len(store.list("Sent")) == 1


def test_shell_flag_pending_and_undo(tmp_path: Path, config_dir: Path) -> None:
    from helpers import run_pigeon
    from tui_support import configure

    root = standard_mailbox(tmp_path)
    configure(config_dir, root)
    p = run_pigeon("shell", input=b"list INBOX 2\nflag 1\npending\nundo\n")
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert "#1    test: flags +flagged  With a file  [waiting for the next sync]" in out
    assert "undone #1 (flags +flagged): flags reverted before it reached the server" in out
    assert not any(e.flags for e in Maildir(root).list("INBOX"))


def test_tag_recorded_and_undone(tmp_path: Path, config_dir: Path) -> None:
    from helpers import run_pigeon
    from tui_support import configure

    root = standard_mailbox(tmp_path)
    configure(config_dir, root)
    assert run_pigeon("index").returncode == 0
    p = run_pigeon("tag", "+todo", "+flagged", "--", "id:msg3@example.org")
    assert p.returncode == 0 and p.stdout.strip() == b"1 message changed", p.stderr
    assert [e.flags for e in Maildir(root).list("INBOX") if e.flags] == ["F"]  # the flag tag renamed the file
    out = run_pigeon("pending").stdout.decode()
    assert out.startswith("#1 ") and "test: tag +todo +flagged  1 message(s): id:msg3@example.org  [waiting for the next sync]" in out
    p = run_pigeon("undo")
    assert p.returncode == 0 and b"tags reverted before it reached the server" in p.stdout, p.stderr
    assert run_pigeon("count", "tag:todo").stdout.strip() == b"0"
    assert not any(e.flags for e in Maildir(root).list("INBOX"))
    assert run_pigeon("undo", "--mine").returncode == 1  # nothing left of yours
