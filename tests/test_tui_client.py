"""The full-screen client driven through prompt_toolkit's pipe input, read off the rendered screen."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from pigeon.core.app import App
from pigeon.plugins.tui.model import ComposeBuffer, MessageBuffer, MessageListBuffer
from tui_support import Driver, configure, make_message, standard_mailbox


@pytest.fixture
def mailbox(tmp_path: Path, config_dir: Path) -> Path:
    root = standard_mailbox(tmp_path)
    configure(config_dir, root)
    return root


def drive(coro_fn, app: App | None = None, rows: int = 2):  # noqa: ANN001, ANN201
    async def main():  # noqa: ANN202
        d = await Driver(app or App.create(report_to_stderr=False)).start()
        try:
            await d.settle(until=lambda: d.tui.current.line_count() >= rows)
            return await coro_fn(d)
        finally:
            await d.stop()

    return asyncio.run(main())


def write_init(config_dir: Path, source: str = "", *, commands: tuple[str, ...] = (), keys: dict[str, str] | None = None) -> None:
    """The user's init.py: ``source`` (imports and functions), then the hooks that register
    ``commands`` and bind ``keys`` (key -> command) in the message list."""
    text = "from pigeon.hooks import hookimpl\n" + source
    if commands:
        text += "\n@hookimpl\ndef pigeon_register_commands(register):\n" + "".join(f"    register({c})\n" for c in commands)
    if keys:
        text += "\n@hookimpl\ndef pigeon_register_keymaps(keymaps):\n" + "".join(f"    keymaps.bind('list', {k!r}, {c!r})\n" for k, c in keys.items())
    (config_dir / "init.py").write_text(text)


async def wait_for(condition, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Until ``condition()`` holds (while a command runs, the client does not settle)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def test_opens_inbox_moves_and_opens_a_message(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        screen = d.screen()
        assert "With a file" in screen.splitlines()[0]
        assert "INBOX [test]" in screen and "32 unread" in screen
        await d.keys("nn")
        assert isinstance(d.tui.current, MessageListBuffer) and d.tui.current.cursor == 2
        await d.keys("\x0e")  # C-n
        await d.keys("\x10")  # C-p
        await d.keys("\r")
        assert isinstance(d.tui.current, MessageBuffer)
        await d.settle(until=lambda: "Message number 29" in d.screen())
        screen = d.screen()
        assert "From: Carol Danvers <carol@example.com>" in screen
        assert "Hello, this is message 29." in screen
        # opening marked it read, in the file name
        assert any(n.endswith(",S") for n in os.listdir(mailbox / "INBOX" / "cur"))
        await d.keys("n")  # next message
        await d.settle(until=lambda: "Message number 28" in d.screen())
        await d.keys("q")  # back to the list
        assert isinstance(d.tui.current, MessageListBuffer)
        assert "30 unread" in d.screen()
        await d.keys("\x1b>")  # M->
        assert d.tui.current.cursor == 31
        await d.keys("\x1b<")  # M-<
        assert d.tui.current.cursor == 0

    drive(go)


def test_reply_quotes_and_queues_in_the_outbox(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("nn")
        await d.keys("r")
        await d.settle(until=lambda: isinstance(d.tui.current, ComposeBuffer))
        screen = d.screen()
        assert "To: Carol Danvers <carol@example.com>" in screen
        assert "Subject: Re: Message number 29" in screen
        assert "> Hello, this is message 29." in screen
        assert "Carol Danvers wrote:" in screen
        await d.keys("\x1b>Thanks, Carol.")
        await d.keys("\x03\x03")  # C-c C-c
        assert not isinstance(d.tui.current, ComposeBuffer)
        assert "queued" in d.tui.echo
        files = list((mailbox / "Outbox" / "cur").iterdir())
        assert len(files) == 1
        sent = files[0].read_text()
        assert "In-Reply-To: <msg29@example.org>" in sent and "Thanks, Carol." in sent
        # the original is marked answered
        assert any(n.endswith(",R") for n in os.listdir(mailbox / "INBOX" / "cur"))

    drive(go)


def test_mx_runs_a_command_with_fuzzy_completion_and_cg_cancels(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("\x1bx")
        assert d.tui.mb_active and "M-x" in d.screen().splitlines()[-1]
        await d.keys("splwinbel\r")  # fuzzy: split-window-below
        assert len(d.tui.tree.panes()) == 2
        assert d.screen().count("INBOX [test]") == 2
        await d.keys("\x1bx" + "no-such-command\r")  # Emacs says so where the user is looking
        assert d.tui.mb_active and "M-x no-such-command [No match]" in d.screen().splitlines()[-1]
        await d.keys("\x07")  # C-g
        assert not d.tui.mb_active and d.tui.echo == "Quit"
        await d.keys("\x18" + "1")  # C-x 1
        assert len(d.tui.tree.panes()) == 1
        # a command with an argument read in the minibuffer, completed from the folders
        await d.keys("\x1bx" + "open-folder\r")
        assert d.tui.mb_active and "open-folder folder:" in d.screen()
        await d.keys("Arch\t\r")
        await d.settle(until=lambda: "Archive [test]" in d.screen())

    drive(go)


def test_describe_key_and_help(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("\x08k")  # C-h k
        assert d.tui.reading_key is not None
        await d.keys("\x18o")  # C-x o
        await d.settle(until=lambda: "*Help*" in d.screen())
        screen = d.screen()
        assert "C-x o (list) runs the command other-window" in screen
        assert "Move to the next window." in screen
        await d.keys("q")
        await d.keys("\x08k" + "r")
        await d.settle(until=lambda: "runs the command reply" in d.screen())
        await d.keys("q\x08b")  # C-h b
        await d.settle(until=lambda: "global mode:" in d.screen())
        await d.keys("q\x08m")  # C-h m: the list's keys
        await d.settle(until=lambda: "list mode:" in d.screen())
        assert "toggle-threads" in d.screen()

    drive(go)


def test_a_key_rebound_in_init_py(mailbox: Path, config_dir: Path) -> None:
    write_init(
        config_dir,
        "\ndef shout(ctx):\n    '''Say hello.'''\n    ctx.print('hello from init.py')\n",
        commands=("shout",),
        keys={"j": "next-line", "H": "shout"},
    )

    async def go(d: Driver) -> None:
        await d.keys("jj")
        assert d.tui.current.cursor == 2
        await d.keys("H")
        assert d.tui.echo == "hello from init.py"
        assert "hello from init.py" in d.screen().splitlines()[-1]

    drive(go)


def test_failing_user_command_is_reported_and_the_client_runs_on(mailbox: Path, config_dir: Path) -> None:
    write_init(config_dir, "\ndef explode(ctx):\n    '''Fail.'''\n    raise ZeroDivisionError('boom in init.py')\n", commands=("explode",))

    async def go(d: Driver) -> None:
        await d.keys("\x1bxexplode\r")
        assert "command explode failed: ZeroDivisionError: boom in init.py" in d.screen()
        await d.keys("\x08e")  # C-h e: *Messages*
        await d.settle(until=lambda: "*Messages*" in d.screen())
        text = "\n".join(d.tui.messages.lines)
        assert "Traceback (most recent call last)" in text and "init.py" in text
        await d.keys("q")
        await d.keys("n")
        assert d.tui.current.cursor == 1  # still working

    drive(go)


def test_eval_expression_and_isearch(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("\x1b:len(ui.current.listing)\r")
        assert d.tui.echo == "32"
        await d.keys("\x13number 2")  # C-s
        assert d.tui.current.cursor == 2  # "Message number 29"
        await d.keys("\x13")  # next match
        assert d.tui.current.cursor == 3  # "Message number 28"
        await d.keys("\x07")  # C-g goes back
        assert d.tui.current.cursor == 0
        await d.keys("\x13file\r")
        assert d.tui.current.cursor == 0 and not d.tui.mb_active

    drive(go)


def test_flags_archive_delete_and_threads(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("nn!")
        assert d.tui.current.row().flags == "F"
        assert d.screen().splitlines()[2].startswith("N!")
        await d.keys("d")
        assert len(list((mailbox / "Trash" / "cur").iterdir())) == 1
        await d.keys("a")
        assert len(list((mailbox / "Archive" / "cur").iterdir())) == 1
        assert len(d.tui.current.listing) == 30
        await d.keys("T")
        await d.settle(until=lambda: d.tui.current.threaded is not None)
        assert "[2]" in d.screen()  # Message number 3 and its reply, folded
        await d.keys("u")
        assert "S" in d.tui.current.row().flags

    drive(go)


def test_new_mail_appears_without_restart(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        # another tool delivers into tmp/ then renames into new/
        data = make_message(99, subject="Fresh off the wire").as_bytes()
        tmp = mailbox / "INBOX" / "tmp" / f"{int(time.time())}.Mnew.test"
        tmp.write_bytes(data)
        tmp.rename(mailbox / "INBOX" / "new" / tmp.name)
        await d.settle(until=lambda: "Fresh off the wire" in d.screen())
        assert len(d.tui.current.listing) == 33

    drive(go)


def test_editing_init_py_reloads_it(mailbox: Path, config_dir: Path) -> None:
    init = config_dir / "init.py"
    init.write_text("")

    async def go(d: Driver) -> None:
        d.tui.watch = True
        d.tui._start_watchers()
        write_init(config_dir, keys={"z": "end-of-buffer"})
        await d.settle(until=lambda: "reloaded init.py" in d.tui.echo, timeout=15)
        await d.keys("z")
        assert d.tui.current.cursor == 31
        init.write_text("this is not python(\n")
        await d.settle(until=lambda: "has errors" in d.tui.echo, timeout=15)
        await d.keys("\x1b<z")
        assert d.tui.current.cursor == 31  # the previous definitions stay
        assert any("SyntaxError" in line for line in d.tui.messages.lines)

    drive(go)


def test_assessment_plugins_mark_risky_rows(mailbox: Path, config_dir: Path) -> None:
    (config_dir / "init.py").write_text(
        "from pigeon.hooks import hookimpl\n"
        "from pigeon.hooks.types import Finding\n\n"
        "@hookimpl\n"
        "def pigeon_assess_message(message, ref):\n"
        "    if 'file' in str(message['Subject']):\n"
        "        return [Finding('warning', 'test', 'a file from a stranger')]\n"
    )

    async def go(d: Driver) -> None:
        await d.settle(until=lambda: "⚠" in d.screen())
        lines = d.screen().splitlines()
        assert "⚠" in lines[0] and "With a file" in lines[0]
        assert "⚠" not in "\n".join(lines[1:-2])

    drive(go)


def test_split_windows_and_switching_buffers(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("\x182")  # C-x 2
        await d.keys("n\r")  # with the screen split, the message opens in the other window
        await d.settle(until=lambda: "Hello, this is message 30." in d.screen())
        assert isinstance(d.tui.current, MessageListBuffer)  # the list keeps the keyboard
        screen = d.screen()
        assert "INBOX [test]" in screen and "(message)" in screen
        await d.keys("\x18o")  # C-x o
        assert isinstance(d.tui.current, MessageBuffer)
        await d.keys("\x181")  # C-x 1
        assert len(d.tui.tree.panes()) == 1
        await d.keys("\x18b")  # C-x b: the default is the other buffer
        await d.keys("\r")
        assert isinstance(d.tui.current, MessageListBuffer)
        await d.keys("\x18b*Mess\t\r")
        await d.settle(until=lambda: d.tui.current.name == "*Messages*")
        await d.keys("\x18\x02")  # C-x C-b
        assert "*Buffer List*" in d.screen() and "INBOX [test]" in d.screen()

    drive(go)


def test_space_reads_on_and_prefix_keys_echo(mailbox: Path) -> None:
    async def go(d: Driver) -> None:
        await d.keys("nn ")  # SPC in the list opens the message at point
        await d.settle(until=lambda: "Hello, this is message 29." in d.screen())
        await d.keys(" ")  # a short message: SPC goes on to the next one
        await d.settle(until=lambda: "Hello, this is message 28." in d.screen())
        await d.keys("\x18")  # C-x, waiting for the rest
        assert d.screen().splitlines()[-1] == "C-x-"
        await d.keys("\x07")

    drive(go)


def test_sync_events_and_notes_show_in_the_running_client(mailbox: Path) -> None:
    from pigeon.hooks.types import Notification, SyncReport

    async def go(d: Driver) -> None:
        hook = d.tui.app.pm.hook
        hook.pigeon_sync_started(account="test")
        await d.settle(until=lambda: "test: syncing…" in d.screen())
        hook.pigeon_sync_finished(account="test", report=SyncReport("test", downloaded=3))
        await d.settle(until=lambda: "test: ↓3 ↑0" in d.screen())
        hook.pigeon_notify(note=Notification("New mail", "3 messages"))
        await d.settle(until=lambda: "New mail: 3 messages" in d.screen())

    drive(go)


def test_the_customisation_example_of_docs_client_md(mailbox: Path, config_dir: Path) -> None:
    from helpers import REPO

    doc = (REPO / "docs" / "client.md").read_text()
    example = doc.split("## Your own commands and keys")[1].split("```python\n")[1].split("```")[0]
    (config_dir / "init.py").write_text(example)

    async def go(d: Driver) -> None:
        await d.keys("jjk")
        assert d.tui.current.cursor == 1
        await d.keys("d")
        assert d.tui.echo == "d is undefined"
        await d.keys("\r")
        await d.settle(until=lambda: "Re: Message number 3" in d.screen() and isinstance(d.tui.current, MessageBuffer))
        await d.keys("A")
        await d.settle(until=lambda: "Hello, this is message 29." in d.screen())
        assert len(list((mailbox / "Archive" / "cur").iterdir())) == 1

    drive(go)


def test_a_display_name_that_is_another_address_shows_the_real_one(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from pigeon.plugins.tui.source import summarize

    msg = EmailMessage()
    msg["From"] = '"service@paypal.com" <alerts@paypa1-secure.example.net>'
    msg["Subject"] = "limited"
    path = tmp_path / "m"
    path.write_bytes(msg.as_bytes())
    assert summarize(path).sender == "alerts@paypa1-secure.example.net"
    msg.replace_header("From", '"bob@example.org" <bob@example.org>')
    path.write_bytes(msg.as_bytes())
    assert summarize(path).sender == "bob@example.org"


def test_links_are_listed_and_opened_after_showing_their_target(tmp_path: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_support import write_maildir

    monkeypatch.setenv("BROWSER", "true")  # a browser that does nothing
    body = "See https://example.org/one and\nhttps://example.net/two, or https://example.org/one again.\n"
    write_maildir(tmp_path / "Mail", {"INBOX": [make_message(1, subject="Links", body=body)]})
    configure(config_dir, tmp_path / "Mail")

    async def go(d: Driver) -> None:
        await d.keys("\r")
        await d.settle(until=lambda: "example.net/two" in d.screen())
        await d.keys("L")
        await d.keys("\t")
        await d.settle(until=lambda: "2  https://example.net/two" in d.screen())
        await d.keys("\x01\x0b2\r")  # C-a C-k 2 RET
        assert "Open https://example.net/two? (yes or no)" in d.screen()
        await d.keys("yes\r")
        assert not d.tui.echo_error

    drive(go, rows=1)


def test_cg_lets_a_slow_command_go_and_the_keys_flow_again(mailbox: Path, config_dir: Path, tmp_path: Path) -> None:
    # slow runs until the test lets it finish: no clock decides what "slow" is, however loaded
    # the machine, and the keys must flow again while it still runs
    release = tmp_path / "release"
    write_init(
        config_dir,
        "import os\nimport time\n\n"
        "def slow(ctx):\n"
        "    '''Take a long time.'''\n"
        f"    while not os.path.exists({str(release)!r}):\n"
        "        time.sleep(0.02)\n",
        commands=("slow",),
        keys={"z": "slow"},
    )

    async def go(d: Driver) -> None:
        try:
            d.input.send_text("zn")  # n waits for slow, in order
            await wait_for(lambda: d.tui.typeahead)
            assert d.tui.current.cursor == 0
            d.input.send_text("\x07")  # C-g
            await wait_for(lambda: "Quit (slow goes on in the background)" in d.tui.echo)
            d.input.send_text("nn")
            await wait_for(lambda: d.tui.current.cursor == 2)  # while slow still runs: released below
        finally:
            release.touch()

    drive(go)
