"""The index while pigeon runs: the watcher keeps it current, show finds ids, plugins render."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage
from pathlib import Path

from helpers import run_pigeon
from index_helpers import deliver, message_bytes
from pigeon.core.index import Index
from pigeon.core.maildir import Maildir
from pigeon.core.pluginmanager import make_plugin_manager
from pigeon.core.watch import MaildirWatcher
from pigeon.hooks import hookimpl
from pigeon.hooks.types import Rendered


def wait_for(predicate, timeout: float = 10.0) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_watcher_keeps_the_index_current(tmp_path: Path) -> None:
    store = Maildir(tmp_path / "mail")
    store.create_folder("INBOX")
    # Folders exist before the watcher starts: a file deleted within milliseconds of its folder's
    # creation can beat inotify's new watch (the next `pigeon index` catches that up).
    store.create_folder("Archive")
    index = Index(tmp_path / "index.sqlite", [("me", store.root)])
    index.update()
    watcher = MaildirWatcher(store, index.on_store_event, grace=0.2)
    with watcher:
        entry = store.add("INBOX", message_bytes("live@x", subject="hot off the press"))
        assert wait_for(lambda: index.count("subject:press") == 1), "added"
        entry = store.set_flags(entry, "FS")
        assert wait_for(lambda: index.get("live@x").tags == ["flagged", "inbox"]), "flags"
        entry = store.move(entry, "Archive")
        assert wait_for(lambda: index.get("live@x").folders == ["Archive"]), "moved"
        store.delete(entry)
        assert wait_for(lambda: index.get("live@x") is None), "removed"
    assert index.update().added == 0  # nothing was missed


def test_show_an_id_from_search(config_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "mail"
    deliver(root, "INBOX", "1", message_bytes("show-me@x", subject="A subject to show", body="Body words here."))
    (config_dir / "config.toml").write_text(f'[accounts.me]\naddress = "me@example.org"\nmaildir = "{root}"\n')
    assert run_pigeon("index").returncode == 0
    (hit,) = json.loads(run_pigeon("search", "--json", "subject:show").stdout)
    for target in (hit["id"], f"id:{hit['id']}", f"<{hit['id']}>"):
        result = run_pigeon("show", target)
        assert result.returncode == 0, result.stderr.decode()
        out = result.stdout.decode()
        assert "A subject to show" in out and "Body words here." in out
    raw = run_pigeon("show", "--raw", hit["id"]).stdout.decode()
    assert "Message-ID: <show-me@x>" in raw
    missing = run_pigeon("show", "id:nobody@x")
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("pigeon: no message id:nobody@x in the index")


class SecretRenderer:
    """A user's plugin that renders a type the built-ins do not read."""

    @hookimpl
    def pigeon_render_part(self, part: EmailMessage, ctx):  # noqa: ANN001, ANN201
        if part.get_content_type() == "application/x-secret":
            return Rendered(text="open sesame " + part.get_payload())
        return None


def test_plugin_renderers_feed_the_index(tmp_path: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=False, load_user=False)
    pm.register(SecretRenderer(), name="secret")
    root = tmp_path / "mail"
    data = (b"From: a@example.com\nTo: b@example.com\nSubject: coded\nMessage-ID: <s@x>\n"
            b"Content-Type: application/x-secret\n\nxyzzy\n")
    deliver(root, "INBOX", "1", data)
    index = Index(tmp_path / "index.sqlite", [("me", root)], pm=pm)
    index.update()
    assert index.count("sesame") == 1 and index.count("body:xyzzy") == 1
    plain = Index(tmp_path / "plain.sqlite", [("me", root)])
    plain.update()
    assert plain.count("sesame") == 0
