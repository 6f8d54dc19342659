"""Compose: replies to all, forwards, drafts, attachments and saving an attachment, in the client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pigeon.core.app import App
from pigeon.core.errors import CommandError
from pigeon.plugins.tui.compose import draft_to_text, new_draft, text_to_message
from pigeon.plugins.tui.model import ComposeBuffer
from tui_support import Driver, configure, make_message, standard_mailbox


@pytest.fixture
def mailbox(tmp_path: Path, config_dir: Path) -> Path:
    root = standard_mailbox(tmp_path)
    configure(config_dir, root)
    return root


def test_reply_all_drops_me_and_keeps_the_others(mailbox: Path) -> None:
    app = App.create()
    original = make_message(1)
    original.replace_header("To", "Me <me@example.org>, Dan <dan@example.org>")
    original["Cc"] = "Eve <eve@example.org>, me@example.org"
    draft = new_draft(app, app.account(), "reply-all", original)
    assert draft["To"] == "Bob Marley <bob@example.net>, Dan <dan@example.org>"
    assert draft["Cc"] == "Eve <eve@example.org>"
    assert draft["In-Reply-To"] == "<msg1@example.org>"
    fwd = new_draft(app, app.account(), "forward", original)
    assert fwd["Subject"] == "Fwd: Message number 1" and "To" not in fwd
    assert "---------- Forwarded message ----------" in fwd.get_content()


def test_edited_text_cannot_inject_headers() -> None:
    msg = text_to_message("To: a@example.org\nSubject: hi\n\nbody\n")
    assert msg["Subject"] == "hi" and msg.get_content() == "body\n"
    with pytest.raises(CommandError):
        text_to_message("To: a@example.org\nnot a header\n\nbody")
    # a header line cannot smuggle a new header: the value never holds a line break
    assert "\n" not in str(text_to_message("Subject: x\r\n\nbody")["Subject"])
    assert draft_to_text(msg).startswith("From: \nTo: a@example.org\n")


def test_draft_attachment_and_saving_an_attachment(mailbox: Path, tmp_path: Path) -> None:
    attach = tmp_path / "notes.txt"
    attach.write_text("my notes")
    saved = tmp_path / "saved.pdf"

    async def go(d: Driver) -> None:
        await d.keys("m")  # compose
        assert isinstance(d.tui.current, ComposeBuffer)
        await d.keys("carol@example.com")
        await d.keys("\x03\x01")  # C-c C-a
        await d.keys(f"{attach}\r")
        assert d.tui.current.attachments == [attach]
        await d.keys("\x03\x04")  # C-c C-d: save the draft
        drafts = list((mailbox / "Drafts" / "cur").iterdir())
        assert len(drafts) == 1 and drafts[0].name.endswith(",DS")
        data = drafts[0].read_text()
        assert "To: carol@example.com" in data and 'filename="notes.txt"' in data
        await d.keys("\x03\x04")  # saving again replaces the draft
        assert len(list((mailbox / "Drafts" / "cur").iterdir())) == 1
        await d.keys("\x03\x0b")  # C-c C-k asks
        await d.keys("yes\r")
        assert not isinstance(d.tui.current, ComposeBuffer)
        # S on the message with report.pdf
        await d.keys("\x1b<S")
        assert d.tui.mb_active and "Save attachment to:" in d.screen()
        await d.keys("\x01\x0b" + str(saved) + "\r")  # C-a C-k: replace the default
        assert saved.read_bytes() == b"%PDF-1.4 fake"

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            await go(d)
        finally:
            await d.stop()

    asyncio.run(main())


def test_opening_a_dangerous_attachment_asks_first(tmp_path: Path, config_dir: Path) -> None:
    from tui_support import write_maildir

    msg = make_message(1, subject="Your invoice")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="invoice.pdf.exe")
    write_maildir(tmp_path / "Mail", {"INBOX": [msg]})
    configure(config_dir, tmp_path / "Mail")

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: "Your invoice" in d.screen())
            await d.keys("o")
            assert "invoice.pdf.exe" in d.tui.mb_prompt and "double extension" in d.tui.mb_prompt
            assert "Open it anyway?" in d.screen().splitlines()[-1]
            await d.keys("no\r")
            assert d.tui.echo == "not opened"
        finally:
            await d.stop()

    asyncio.run(main())


def test_reply_cursor_starts_in_the_body_and_prose_in_cc_is_refused(mailbox: Path) -> None:
    """A reply has To: filled: typing at once writes the body, not the empty Cc: line; and
    words that did land on a header line are not sent as addresses."""
    from pigeon.plugins.tui.compose import queue_message
    from pigeon.plugins.tui.layout import _doc

    app = App.create()
    text = draft_to_text(new_draft(app, app.account(), "reply", make_message(1)))
    doc = _doc(text)
    assert "\n\n" in doc.text_before_cursor and doc.text_before_cursor.endswith("\n\n")
    new = _doc(draft_to_text(new_draft(app, app.account(), "new")))
    assert new.current_line == "To: "  # a new message still starts at To:
    msg = text_to_message(text.replace("Cc: ", "Cc: Sounds good to me, let us do it.", 1))
    with pytest.raises(CommandError, match="is not an address"):
        queue_message(app, app.account(), msg)
