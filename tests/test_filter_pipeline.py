"""Filters on arrival: verdicts merged and applied through the store, recorded, explained, undone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from assess_helpers import message, parse
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.events import watch_store
from pigeon.core.filtering import Decision, merge, open_journal
from pigeon.core.maildir import Maildir
from pigeon.hooks.types import MessageRef, Verdict
from spam_helpers import HAMMY, SPAMMY, variants


def _setup(config_dir: Path, tmp_path: Path, extra: str = "") -> App:
    root = tmp_path / "mail"
    store = Maildir(root)
    for folder in ("INBOX", "Junk", "Trash", "Sent"):
        store.create_folder(folder)
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "bob@ourcorp.com"\nmaildir = "{root}"\n' + extra
    )
    return App.create(config_dir, load_entrypoints=False)


def _train(app: App, tmp_path: Path) -> None:
    for label, raws in (("spam", variants(SPAMMY, 6)), ("ham", variants(HAMMY, 6))):
        d = tmp_path / f"train-{label}"
        d.mkdir()
        for i, raw in enumerate(raws):
            (d / str(i)).write_text(raw)
    assert run_pigeon("spam", "train", "--spam", str(tmp_path / "train-spam"), "--ham", str(tmp_path / "train-ham")).returncode == 0


def _deliver(app: App, raw: str, folder: str = "INBOX") -> MessageRef:
    store = app.store("work")
    entry = store.add(folder, raw.encode(), subdir="new")
    ref = MessageRef(entry.path, folder, "work", str(parse(raw)["message-id"]))
    app.pm.hook.pigeon_message_arrived(message=parse(raw), ref=ref)
    return ref


def test_merge_order_final_and_delete() -> None:
    d = merge([
        Verdict(add_tags=["a"], move_to="X", source="one"),
        None,
        Verdict(add_tags=["b"], move_to="Y", flags_add="F", source="two", final=True),
        Verdict(add_tags=["c"], delete=True, source="three"),
    ])
    assert [t for t, _, _ in d.add_tags] == ["a", "b"]
    assert d.move_to == ("Y", "two", "") and d.delete is None
    assert merge([]).empty() and isinstance(merge([]), Decision)


def test_spam_arrival_moves_records_explains_and_undoes(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path)
    _train(app, tmp_path)
    raw = SPAMMY.replace("Subject: ", "Message-ID: <spam-1@x>\nSubject: ")
    _deliver(app, raw)
    store = app.store("work")
    assert [e.key for e in store.list("Junk")] and not store.list("INBOX")
    res = run_pigeon("why", "<spam-1@x>")
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    assert "spam: moved INBOX -> Junk: spam probability" in out and "spam: tags +spam" in out
    res = run_pigeon("undo")
    assert res.returncode == 0, res.stderr
    assert "undone: moved INBOX -> Junk on <spam-1@x> (by spam)" in res.stdout.decode()
    assert store.list("INBOX") and not store.list("Junk")
    assert "[undone]" in run_pigeon("why", "spam-1@x").stdout.decode()
    assert run_pigeon("undo").returncode == 1  # nothing left


def test_ham_and_other_folders_are_left_alone(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path)
    _train(app, tmp_path)
    _deliver(app, HAMMY.replace("Subject: ", "Message-ID: <ham-1@x>\nSubject: "))
    _deliver(app, SPAMMY.replace("Subject: ", "Message-ID: <sent-1@x>\nSubject: "), folder="Sent")
    store = app.store("work")
    assert len(store.list("INBOX")) == 1 and len(store.list("Sent")) == 1 and not store.list("Junk")


def test_user_plugin_verdicts_flag_and_delete(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "myrules.py").write_text(
        "from pigeon.hooks import hookimpl\nfrom pigeon.hooks.types import Verdict\n"
        "@hookimpl\ndef pigeon_filter_message(message, ref):\n"
        "    s = str(message['subject'])\n"
        "    if 'urgent' in s: return Verdict(flags_add='F', reason='urgent mail', source='myrules')\n"
        "    if 'lottery' in s: return Verdict(delete=True, reason='never', source='myrules')\n"
    )
    app = _setup(config_dir, tmp_path)
    ref = _deliver(app, message(headers="From: A <a@example.com>\nTo: bob@ourcorp.com\nSubject: urgent\n"))
    [entry] = app.store("work").list("INBOX")
    assert entry.flags == "F"
    _deliver(app, message(headers="From: A <a@example.com>\nTo: bob@ourcorp.com\nSubject: lottery\n").replace("<m1@", "<m2@"))
    assert len(app.store("work").list("Trash")) == 1
    data = json.loads(run_pigeon("why", "--json", ref.message_id).stdout)
    assert [(c["source"], c["action"], c["reason"]) for c in data] == [("myrules", "flags", "urgent mail")]


def test_phishing_arrival_is_tagged_suspicious_in_the_journal(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path)
    raw = message(
        "From: PayPal <service@paypaI.com>\nTo: bob@ourcorp.com\nSubject: account\n",
        html='<a href="http://198.51.100.7/">https://www.paypal.com/</a>',
    )
    _deliver(app, raw)
    with open_journal(app) as journal:
        changes = journal.for_message("<m1@example.com>")
    assert [(c.source, c.action, c.after["add"]) for c in changes] == [("assess", "tag", ["suspicious"])]
    assert "imitates paypal.com" in changes[0].reason


@pytest.mark.timeout(60)
def test_delivery_by_another_tool_is_filtered_via_the_watcher(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path)
    _train(app, tmp_path)
    store = app.store("work")
    watcher = watch_store(app.pm, store, "work")
    try:
        time.sleep(0.3)
        tmp = store.folder_path("INBOX") / "tmp" / "ext.1"
        tmp.write_text(SPAMMY.replace("Subject: ", "Message-ID: <ext-1@x>\nSubject: "))
        tmp.rename(store.folder_path("INBOX") / "new" / "ext.1")  # as an MDA delivers
        deadline = time.time() + 20
        while time.time() < deadline and not store.list("Junk"):
            time.sleep(0.1)
    finally:
        watcher.stop()
    assert [e.key for e in store.list("Junk")] == ["ext.1"]
