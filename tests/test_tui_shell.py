"""``pigeon shell``: the same named commands, line by line, from a pipe or ``-c``; and its completion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.plugins.tui.completion import CommandCompleter, completer_for, strings
from tui_support import configure, standard_mailbox


@pytest.fixture
def mailbox(tmp_path: Path, config_dir: Path) -> Path:
    root = standard_mailbox(tmp_path)
    configure(config_dir, root)
    return root


def test_a_script_pipes_commands(mailbox: Path) -> None:
    script = b"folders\nlist INBOX 3\nshow 3\nflag 3\nreply 3\nsearch alice\n"
    res = run_pigeon("shell", input=script)
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode()
    assert "32 test:INBOX" in " ".join(out.split())
    assert "With a file" in out and "Message number 29" in out
    assert "... 29 more" in out
    assert "Hello, this is message 29." in out  # show 3
    assert "3: flags F" in out
    assert "Subject: Re: Message number 29" in out and "> Hello, this is message 29." in out  # reply 3, from a pipe
    assert any(n.endswith(",F") for n in (p.name for p in (mailbox / "INBOX" / "cur").iterdir()))
    # search without an index: words in INBOX's senders and subjects
    assert "11 message(s) match" in out


def test_a_failing_line_stops_the_script_with_a_message(mailbox: Path) -> None:
    res = run_pigeon("shell", input=b"show 99\nfolders\n")
    assert res.returncode == 1
    assert "no listing yet" in res.stderr.decode()
    assert "INBOX" not in res.stdout.decode()
    res = run_pigeon("shell", "--keep-going", input=b"nonsense\nfolders\n")
    assert res.returncode == 1
    assert "no command named 'nonsense'" in res.stderr.decode() and "INBOX" in res.stdout.decode()


def test_dash_c_runs_commands(mailbox: Path) -> None:
    res = run_pigeon("shell", "-c", "list Archive", "-c", "describe-command reply")
    assert res.returncode == 0, res.stderr.decode()
    assert "Reply to the sender, quoting the message" in res.stdout.decode()
    assert "reply [MESSAGE]" in res.stdout.decode()


def test_completion_of_commands_arguments_folders_and_queries(mailbox: Path) -> None:
    app = App.create()
    shell = type("S", (), {"app": app, "buffers": []})()
    comp = CommandCompleter(shell, fuzzy=False)
    assert "list" in strings(comp, "li")
    assert "describe-function" in strings(comp, "describe-f")
    assert strings(comp, "open-folder Arc") == ["Archive"]
    assert "split-window-below" in strings(CommandCompleter(shell), "splwin")
    query = completer_for(shell, "query")
    assert strings(query, "is:un") == ["is:unread"]
    assert strings(query, "folder:Dr") == ["folder:Drafts"]
    files = completer_for(shell, "file")
    assert strings(files, str(mailbox) + "/IN") == ["BOX"]


def test_the_client_without_a_terminal_says_so(mailbox: Path) -> None:
    res = run_pigeon(input=b"")
    assert res.returncode == 1
    assert res.stderr.decode().strip() == "pigeon: the full-screen client needs a terminal (`pigeon shell` reads a pipe)"


def test_shell_help_lists_the_commands_and_describes_one(config_dir: Path) -> None:
    """``help`` is the first word a shell user types."""
    p = run_pigeon("shell", "-c", "help", "-c", "help show")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert re.search(r"^search +Search: ", out, re.M) and re.search(r"^show MESSAGE$", out, re.M)
