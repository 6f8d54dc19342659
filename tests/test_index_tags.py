"""Tags in the index and the Maildir flags kept in step (notmuch's synchronize_flags)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from index_helpers import deliver, message_bytes
from pigeon.core.cli import main


@pytest.fixture
def setup(config_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "mail"
    deliver(root, "INBOX", "1000.a", message_bytes("a@x", subject="first"), new=True, flags=None)
    deliver(root, "INBOX", "1000.b", message_bytes("b@x", subject="second"), flags="S")
    deliver(root, "Archive", "1000.c", message_bytes("c@x", subject="third"), flags="FS")
    (config_dir / "config.toml").write_text(
        f'[accounts.me]\naddress = "me@example.org"\nmaildir = "{root}"\n'
        '[searches]\nflagged = "tag:flagged"\ntodo = "search:flagged or tag:todo"\n'
    )
    assert main(["index", "--quiet"]) == 0
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    rc = main(list(args))
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out


def hit(capsys: pytest.CaptureFixture[str], msgid: str) -> dict:
    (h,) = json.loads(run(capsys, "search", "--json", f"id:{msgid}"))
    return h


def test_flags_become_tags(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hit(capsys, "a@x")["tags"] == ["inbox", "unread"]
    assert hit(capsys, "b@x")["tags"] == ["inbox"]
    assert hit(capsys, "c@x")["tags"] == ["flagged", "inbox"]
    assert run(capsys, "count", "is:unread").strip() == "1"
    assert run(capsys, "count", "account:me and folder:Archive").strip() == "1"


def test_tag_renames_files(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "tag", "-unread", "+flagged", "+work", "--", "id:a@x")
    assert out.strip() == "1 message changed"
    a = hit(capsys, "a@x")
    assert a["tags"] == ["flagged", "inbox", "work"]
    # new/ -> cur/ with the flags in the name
    assert [Path(f).relative_to(setup).as_posix() for f in a["files"]] == ["INBOX/cur/1000.a:2,FS"]
    assert (setup / "INBOX/cur/1000.a:2,FS").is_file()
    run(capsys, "tag", "+unread", "+replied", "-flagged", "--", "subject:third")
    c = hit(capsys, "c@x")
    assert [Path(f).name for f in c["files"]] == ["1000.c:2,R"]
    assert c["tags"] == ["inbox", "replied", "unread"]
    # the index agrees with the disk: a fresh scan changes nothing
    assert run(capsys, "index").startswith("0 added, 0 removed, 0 renamed")
    assert run(capsys, "count", "tag:work").strip() == "1"


def test_flags_changed_by_another_program(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.rename(setup / "INBOX/cur/1000.b:2,S", setup / "INBOX/cur/1000.b:2,DS")
    assert "1 renamed" in run(capsys, "index")
    assert hit(capsys, "b@x")["tags"] == ["draft", "inbox"]
    assert run(capsys, "count", "is:draft").strip() == "1"


def test_tag_needs_changes_and_a_query(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "id:a@x"]) == 1
    assert "nothing to do" in capsys.readouterr().err
    assert main(["tag", "+x"]) == 1
    assert "no query" in capsys.readouterr().err
    assert main(["tag", "+a(b", "--", "*"]) == 1
    assert "not a valid tag" in capsys.readouterr().err


def test_query_starting_with_minus_after_separator(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "tag", "+old", "--", "-tag:flagged")
    assert out.strip() == "2 messages changed"


def test_saved_searches_across_accounts(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "count", "search:flagged").strip() == "1"
    run(capsys, "tag", "+todo", "--", "id:a@x")
    assert run(capsys, "count", "search:todo").strip() == "2"
    assert main(["count", "search:nope"]) == 1
    assert "no saved search named 'nope'" in capsys.readouterr().err


def test_saved_searches_setting_is_declared(config_dir: Path, setup: Path) -> None:
    from pigeon.core.app import App
    from pigeon.core.index import saved_searches

    app = App.create(config_dir, load_entrypoints=False)
    assert saved_searches(app.config) == {"flagged": "tag:flagged", "todo": "search:flagged or tag:todo"}
