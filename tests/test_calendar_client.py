"""An invitation in the full-screen client (prompt_toolkit pipe input): shown as an event, and
answered with C-c i a, which queues the iTIP REPLY in the Outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pigeon.core import mime
from pigeon.core.app import App
from pigeon.plugins.tui.model import MessageBuffer
from test_calendar_render import CORPUS_INVITE
from tui_support import Driver, configure, make_message, write_maildir


def test_invitation_shown_and_accepted_in_the_client(tmp_path: Path, config_dir: Path, corpus: Path) -> None:
    root = tmp_path / "Mail"
    invite = mime.parse_file(corpus / CORPUS_INVITE)
    write_maildir(root, {"INBOX": [make_message(1), invite], "Sent": [], "Drafts": []})
    configure(config_dir, root)
    with open(config_dir / "config.toml", "a") as f:
        f.write('\n[calendar]\ntimezone = "UTC"\n')

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            while "test" not in d.screen().splitlines()[d.tui.current.cursor]:
                await d.keys("n")
            await d.keys("\r")
            assert isinstance(d.tui.current, MessageBuffer)
            await d.settle(until=lambda: "Invitation:" in d.screen())
            screen = d.screen()
            assert "Invitation: test [In-person]" in screen
            assert "When:       Mon 2024-05-27 17:00–17:30 UTC" in screen
            await d.keys("\x03ia")  # C-c i a
            await d.settle(until=lambda: "queued" in (d.tui.echo or ""))
            assert "Accepted: test [In-person]: reply to David Bremner" in d.tui.echo
        finally:
            await d.stop()

    asyncio.run(main())
    files = list((root / "Outbox" / "cur").iterdir()) + list((root / "Outbox" / "new").iterdir())
    assert len(files) == 1
    reply = mime.parse_file(files[0])
    assert mime.header_str(reply, "Subject") == "Accepted: test [In-person]"
    assert "METHOD:REPLY" in reply.as_string() and "PARTSTAT=ACCEPTED" in reply.as_string()
