"""One `pigeon undo` story: the newest change first, yours or an automated one."""

from __future__ import annotations

from pathlib import Path

from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.maildir import Maildir
from pigeon.core.mime import parse_bytes
from pigeon.hooks.types import MessageRef

RAW = b"From: Alice <alice@example.org>\nTo: bob@ourcorp.com\nSubject: plans\nMessage-ID: <plans-1@example.org>\n\nHi.\n"


def test_undo_takes_the_newest_change_whoever_made_it(config_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = Maildir(root)
    for folder in ("INBOX", "Archive", "Trash"):
        store.create_folder(folder)
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "bob@ourcorp.com"\nmaildir = "{root}"\n\n'
        '[[rules]]\nname = "alice"\nmatch = "from:alice@example.org"\nactions = ["flag"]\n'
    )
    app = App.create(config_dir, load_entrypoints=False)
    entry = store.add("INBOX", RAW, subdir="new")
    app.pm.hook.pigeon_message_arrived(message=parse_bytes(RAW), ref=MessageRef(entry.path, "INBOX", "work", "<plans-1@example.org>"))
    [flagged] = store.list("INBOX")
    assert "F" in flagged.flags  # the rule's automated change
    assert run_pigeon("move", str(flagged.path), "--to", "Archive").returncode == 0  # then yours

    p = run_pigeon("undo")
    assert p.returncode == 0 and p.stdout.decode().startswith("undone #1 (move INBOX -> Archive)"), p.stderr
    assert [e.folder for e in store.list("INBOX")] == ["INBOX"]
    p = run_pigeon("undo")
    assert p.returncode == 0 and "undone: flags" in p.stdout.decode() and "(by rule:alice)" in p.stdout.decode(), p.stderr
    assert "F" not in store.list("INBOX")[0].flags
    p = run_pigeon("undo")
    assert p.returncode == 1 and b"nothing to undo" in p.stderr
