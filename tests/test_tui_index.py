"""With the search index built: searches and saved searches read pages from it, tags go to it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.plugins.tui.indexed import IndexListing
from pigeon.plugins.tui.model import MessageBuffer, MessageListBuffer
from tui_support import Driver, configure, standard_mailbox


def test_search_tags_and_saved_searches_through_the_index(tmp_path: Path, config_dir: Path) -> None:
    configure(config_dir, standard_mailbox(tmp_path), extra='\n[searches]\nalice = "from:alice"\n')
    res = run_pigeon("index")
    assert res.returncode == 0, res.stderr.decode()

    async def go(d: Driver) -> None:
        await d.keys("s" + "subject:(\r")  # a typo: one line saying what is wrong, no new buffer
        await d.settle(until=lambda: "query syntax error" in d.tui.echo)
        assert "QueryError" not in d.tui.echo and "*search" not in d.screen()
        await d.keys("s")
        await d.keys("from:alice and subject:3\r")
        await d.settle(until=lambda: "match" in d.tui.echo)
        buf = d.tui.current
        assert isinstance(buf, MessageListBuffer) and isinstance(buf.listing, IndexListing)
        assert len(buf.listing) == 2  # "Message number 3" and its reply
        assert "Re: Message number 3" in d.screen().splitlines()[0]  # newest first
        await d.keys("+")
        await d.keys("todo\r")
        assert "+todo (1 message(s))" in d.tui.echo
        assert "todo" in d.screen().splitlines()[0]  # the tags column
        await d.keys("\r")  # open a hit: its file, wherever it lives
        await d.settle(until=lambda: isinstance(d.tui.current, MessageBuffer) and "Hello" in d.screen())
        await d.keys("q\x18d")  # C-x d: the folder list, saved searches first
        await d.settle(until=lambda: " 11  search" in d.screen().splitlines()[0])  # its count
        assert "alice" in d.screen().splitlines()[0] and "from:alice" in d.screen().splitlines()[0]
        await d.keys("\r")
        await d.settle(until=lambda: "11 message(s) match from:alice" in d.tui.echo)
        await d.keys("q\x18bINBOX [test]\r")  # the folder's own list shows the tag too
        await d.settle(until=lambda: any("todo" in line and "Message number 3" in line for line in d.screen().splitlines()))

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            await go(d)
        finally:
            await d.stop()

    asyncio.run(main())

    async def threads(d: Driver) -> None:
        await d.keys("T")  # with the index: the folder's threads, a page at a time
        await d.settle(until=lambda: "31 thread(s) match" in d.tui.echo)
        assert len(d.tui.current.listing) == 31  # 32 messages, one reply
        line = next(li for li in d.screen().splitlines() if "Message number 3 [2]" in li)
        assert "Alice Liddell" in line
        row = [li for li in d.screen().splitlines()].index(line)
        await d.keys("\x1b<" + "\x0e" * row + "\r")
        await d.settle(until=lambda: "2 message(s) match thread:" in d.tui.echo)
        lines = d.screen().splitlines()
        assert "Re: " not in lines[0] and "Re: Message number 3" in lines[1], d.screen()  # oldest first

    async def main2() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            await threads(d)
        finally:
            await d.stop()

    asyncio.run(main2())
    out = run_pigeon("search", "tag:todo").stdout.decode()
    assert "Re: Message number 3" in out or "Message number 3" in out


def test_shell_search_and_tag_use_the_index(tmp_path: Path, config_dir: Path) -> None:
    configure(config_dir, standard_mailbox(tmp_path))
    assert run_pigeon("index").returncode == 0
    res = run_pigeon("shell", input=b"search from:alice\ntag +work -inbox 1\nshow 1\n")
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode()
    assert "11 message(s) match" in out
    assert "+work -inbox: 1 message(s) changed" in out
    assert "From: Alice Liddell <alice@example.org>" in out
    assert "work" in run_pigeon("search", "tag:work", "--json").stdout.decode()


def test_addresses_complete_from_the_index(tmp_path: Path, config_dir: Path) -> None:
    from types import SimpleNamespace

    from pigeon.plugins.tui.completion import completer_for, strings

    configure(config_dir, standard_mailbox(tmp_path))
    assert run_pigeon("index").returncode == 0
    app = App.create()
    assert strings(completer_for(SimpleNamespace(app=app, buffers=[]), "address"), "carol") == ["Carol Danvers <carol@example.com>"]


def test_without_an_index_search_says_it_matched_words(tmp_path: Path, config_dir: Path) -> None:
    """No index yet: ``s`` finds words in the folder's list and says so, so that nothing found
    there is not taken for the index's answer."""
    configure(config_dir, standard_mailbox(tmp_path))

    async def main() -> None:
        d = await Driver(App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() > 1)
            await d.keys("s")
            await d.keys("number 3\r")
            await d.settle(until=lambda: "with these words" in d.tui.echo)
            assert "no index yet" in d.tui.echo and "pigeon index" in d.tui.echo
            assert not isinstance(d.tui.current.listing, IndexListing)
        finally:
            await d.stop()

    asyncio.run(main())
