"""Marking spam in the full-screen client: "$" trains the filter and files the message in Junk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers import run_pigeon
from pigeon.core.app import App
from tui_support import Driver, configure, standard_mailbox


def test_dollar_marks_spam_in_the_list(tmp_path: Path, config_dir: Path) -> None:
    root = standard_mailbox(tmp_path)
    configure(config_dir, root)

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            first = d.screen().splitlines()[0]
            assert "With a file" in first
            await d.keys("$")
            await d.settle(until=lambda: (root / "Junk" / "cur").is_dir() and any((root / "Junk" / "cur").iterdir()))
        finally:
            await d.stop()

    asyncio.run(main())
    [junk] = list((root / "Junk" / "cur").iterdir())
    assert b"Subject: With a file" in junk.read_bytes()
    assert run_pigeon("spam", "stats").stdout.decode().startswith("1 spam, 0 ham")
