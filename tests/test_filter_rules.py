"""[[rules]] in config.toml: validation, arrival, rules test/apply, Sieve run by Pigeonhole."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.errors import ConfigError
from pigeon.core.maildir import Maildir
from pigeon.core.rules import RuleError, load_rules
from pigeon.core.sieve import compile_rules
from pigeon.hooks.types import MessageRef

RULES = """
[[rules]]
name = "lists"
match = "to:dev@lists.example.org or from:notifications@github.com"
actions = ["tag +lists -inbox", "move Lists", "stop"]

[[rules]]
name = "boss"
match = "from:boss@ourcorp.com and subject:urgent"
actions = ["flag", "tag +work"]

[[rules]]
name = "old-news"
match = "tag:newsletter"
actions = ["delete"]
"""


def _msg(sender: str, to: str, subject: str, n: int) -> bytes:
    return (f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: <r{n}@example.com>\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\n\nbody text\n").encode()


def _setup(config_dir: Path, tmp_path: Path, rules: str = RULES) -> App:
    root = tmp_path / "mail"
    store = Maildir(root)
    for folder in ("INBOX", "Lists", "Trash", "Junk"):
        store.create_folder(folder)
    (config_dir / "config.toml").write_text(f'[accounts.work]\naddress = "bob@ourcorp.com"\nmaildir = "{root}"\n{rules}')
    return App.create(config_dir, load_entrypoints=False)


def _arrive(app: App, data: bytes) -> MessageRef:
    from assess_helpers import parse

    entry = app.store("work").add("INBOX", data, subdir="new")
    msg = parse(data)
    ref = MessageRef(entry.path, "INBOX", "work", str(msg["message-id"]))
    app.pm.hook.pigeon_message_arrived(message=msg, ref=ref)
    return ref


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ([{"name": "x", "match": "from:a", "actions": ["frobnicate"]}], "rule 'x': unknown action 'frobnicate'"),
        ([{"name": "x", "match": "from:a", "actions": ["tag work"]}], "rule 'x': bad tag change 'work'"),
        ([{"name": "x", "match": "from:a", "actions": ["move"]}], "rule 'x': 'move' needs one folder"),
        ([{"name": "x", "match": "from:a", "actions": ["move ../etc"]}], "rule 'x': "),
        ([{"name": "x", "match": "(from:a", "actions": ["stop"]}], "rule 'x': match: query syntax error"),
        ([{"name": "x", "match": "from:a", "actions": ["stop"]}] * 2, "rule 'x' is defined twice"),
        ([{"match": "from:a", "actions": ["stop"]}], "entry 1 needs a name"),
        ([{"name": "x", "match": "from:a", "actions": ["delete", "move A"]}], "contradict"),
        ([{"name": "x", "match": "from:a", "action": ["stop"]}], "unknown key 'action'"),
    ],
)
def test_bad_rules_are_named(rules: list, error: str) -> None:
    with pytest.raises(RuleError, match=None) as exc:
        load_rules(rules)
    assert error in str(exc.value)


def test_bad_rule_stops_pigeon_with_one_line(config_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rule 'x': unknown action"):
        _setup(config_dir, tmp_path, '[[rules]]\nname = "x"\nmatch = "from:a"\nactions = ["explode"]\n')
    res = run_pigeon("rules", "check")
    assert res.returncode == 1 and res.stderr.decode().count("\n") == 1


def test_rules_check_lists_rules_and_what_sieve_cannot_do(config_dir: Path, tmp_path: Path) -> None:
    _setup(config_dir, tmp_path)
    out = run_pigeon("rules", "check").stdout.decode()
    assert "ok  lists:" in out and "3 rules ok" in out
    assert "old-news" in out and "not in Sieve: uses tag: terms" in out


# ---------------------------------------------------------------- arrival


def test_rules_applied_on_arrival_and_recorded(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path)
    _arrive(app, _msg("GitHub <notifications@github.com>", "bob@ourcorp.com", "PR #1", 1))
    _arrive(app, _msg("Boss <boss@ourcorp.com>", "bob@ourcorp.com", "urgent: call me", 2))
    _arrive(app, _msg("Alice <alice@example.com>", "bob@ourcorp.com", "lunch", 3))
    store = app.store("work")
    assert [e.key for e in store.list("Lists")] and len(store.list("INBOX")) == 2
    [boss] = [e for e in store.list("INBOX") if "F" in e.flags]
    assert boss.path.read_bytes().count(b"urgent") == 1
    tags = json.loads(run_pigeon("search", "--json", "tag:lists").stdout)
    assert [m["subject"] for m in tags] == ["PR #1"]
    assert "inbox" not in tags[0]["tags"]
    assert json.loads(run_pigeon("search", "--json", "tag:work").stdout)[0]["subject"] == "urgent: call me"
    why = run_pigeon("why", "<r1@example.com>").stdout.decode()
    assert "rule:lists: moved INBOX -> Lists: rule 'lists' matched" in why


def test_stop_keeps_later_filters_away(config_dir: Path, tmp_path: Path) -> None:
    rules = '[[rules]]\nname = "all"\nmatch = "*"\nactions = ["tag +seen-by-rule", "stop"]\n[[rules]]\nname = "never"\nmatch = "*"\nactions = ["move Junk"]\n'
    app = _setup(config_dir, tmp_path, rules)
    _arrive(app, _msg("Alice <alice@example.com>", "bob@ourcorp.com", "hello", 4))
    assert len(app.store("work").list("INBOX")) == 1


# ---------------------------------------------------------------- rules test / apply


def test_rules_test_counts_equal_pigeon_count(config_dir: Path, tmp_path: Path) -> None:
    app = _setup(config_dir, tmp_path, "")
    store = app.store("work")
    for i in range(5):
        store.add("INBOX", _msg("GitHub <notifications@github.com>", "bob@ourcorp.com", f"PR {i}", 10 + i))
    for i in range(3):
        store.add("INBOX", _msg("Alice <alice@example.com>", "bob@ourcorp.com", f"hi {i}", 20 + i))
    (config_dir / "config.toml").write_text((config_dir / "config.toml").read_text() + RULES)
    assert run_pigeon("index").returncode == 0
    test = json.loads(run_pigeon("rules", "test", "lists", "--json").stdout)
    count = int(run_pigeon("count", "to:dev@lists.example.org or from:notifications@github.com").stdout)
    assert test["count"] == count == 5
    dry = run_pigeon("rules", "apply", "--dry-run").stdout.decode()
    assert "would change 5 messages" in dry
    assert len(store.list("INBOX")) == 8
    res = run_pigeon("rules", "apply")
    assert "changed 5 messages" in res.stdout.decode(), res.stderr
    assert len(store.list("Lists")) == 5 and len(store.list("INBOX")) == 3
    assert run_pigeon("undo").returncode == 0  # the last message's batch
    assert len(store.list("Lists")) == 4


# ---------------------------------------------------------------- Sieve


def _sieve_test(script: Path, message: Path) -> str:
    """Run Pigeonhole's sieve-test (as nobody when we are root: Dovecot refuses root)."""
    cmd = ["sieve-test", str(script), str(message)]
    if os.getuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=script.parent)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_sieve_script_files_messages_like_pigeon(config_dir: Path, tmp_path: Path) -> None:
    assert shutil.which("sieve-test"), "Pigeonhole (dovecot-sieve) is required"
    _setup(config_dir, tmp_path)
    res = run_pigeon("rules", "sieve")
    assert res.returncode == 0, res.stderr
    # Dovecot refuses to run as root, so sieve-test runs as nobody: it needs a directory it
    # can reach (pytest's tmp_path sits under a private 0700 directory).
    work = Path(tempfile.mkdtemp(prefix="pigeon-sieve-"))
    os.chmod(work, 0o755)
    try:
        _run_cases(work, res.stdout.decode())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_cases(work: Path, script_text: str) -> None:
    script = work / "pigeon.sieve"
    script.write_text(script_text)
    os.chmod(script, 0o644)
    cases = {
        "gh.eml": (_msg("GitHub <notifications@github.com>", "bob@ourcorp.com", "PR", 1), "store message in folder: Lists", "lists"),
        "boss.eml": (_msg("Boss <boss@ourcorp.com>", "bob@ourcorp.com", "URGENT call", 2), "store message in folder: INBOX", "\\flagged work"),
        "other.eml": (_msg("Alice <alice@example.com>", "bob@ourcorp.com", "urgent", 3), "store message in folder: INBOX", None),
    }
    for name, (data, where, flags) in cases.items():
        path = work / name
        path.write_bytes(data)
        os.chmod(path, 0o644)
        out = _sieve_test(script, path)
        assert where in out, out
        if flags:
            assert f"add IMAP flags: {flags}" in out
        else:
            assert "IMAP flags" not in out


def test_sieve_compiles_and_or_not_body_size() -> None:
    rules = load_rules([
        {"name": "a", "match": "subject:invoice and not from:accounting@ourcorp.com", "actions": ["tag +check"]},
        {"name": "b", "match": "body:unsubscribe or size:>1M", "actions": ["move Bulk"]},
        {"name": "c", "match": 'subject:"quoted \\"x\\"" and from:ab*', "actions": ["read"]},
        {"name": "d", "match": "is:unread", "actions": ["flag"]},
    ])
    script, skipped = compile_rules(rules)
    assert 'require ["body", "fileinto", "imap4flags", "variables"];' in script
    assert 'not header :contains "From" "accounting@ourcorp.com"' in script
    assert "size :over 1M" in script and 'body :text :contains "unsubscribe"' in script
    assert 'header :matches "From" "*ab*"' in script
    assert skipped == {"d": "uses is: terms"}
