"""The demo mailbox: realistic, deterministic, and what ``pigeon demo`` shows."""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from helpers import run_pigeon
from pigeon.core.demo import ensure_demo, generate
from pigeon.core.errors import StoreError
from pigeon.core.maildir import Maildir


def parsed(store: Maildir, folder: str) -> list[tuple[object, email.message.EmailMessage]]:
    out = []
    for e in store.list(folder):
        out.append((e, email.message_from_bytes(store.read(e), policy=email.policy.default)))
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_is_the_same_on_every_run(tmp_path: Path) -> None:
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a == b and len(a) > 40


def test_demo_content_is_realistic(tmp_path: Path) -> None:
    store = ensure_demo(tmp_path / "demo")
    assert store.folders() == ["Archive", "Drafts", "INBOX", "Sent", "Trash"]
    inbox = parsed(store, "INBOX")
    assert 35 <= len(inbox) <= 45
    everything = [m for f in store.folders() for _e, m in parsed(store, f)]
    ids = {m["Message-ID"] for m in everything}
    # threads: every reply points at a message that is in the mailbox
    replies = [m for m in everything if m["In-Reply-To"]]
    assert len(replies) >= 10
    for m in replies:
        assert m["In-Reply-To"] in ids
        assert all(f"<{r}" in m["References"] for r in [m["In-Reply-To"].strip("<>")])
    # flags: unread, flagged, replied in INBOX; a draft in Drafts; a trashed one in Trash
    flags = [e.flags for e, _m in inbox]
    assert sum("S" not in f for f in flags) >= 5 and sum("F" in f for f in flags) >= 3 and sum("R" in f for f in flags) >= 3
    assert [e.flags for e, _m in parsed(store, "Drafts")] == ["DS"]
    assert any("T" in e.flags for e, _m in parsed(store, "Trash"))
    # an HTML newsletter with images and links, as multipart/alternative
    news = [m for _e, m in inbox if m["List-Id"] and "Weekly" in m["Subject"]]
    assert news
    html = news[0].get_body(preferencelist=("html",))
    assert news[0].get_content_type() == "multipart/alternative"
    assert "<img src=\"https://" in html.get_content() and "<a href=\"https://" in html.get_content()
    assert news[0].get_body(preferencelist=("plain",)) is not None
    # attachments: a real PDF and a real zip
    atts = {a.get_filename(): a for _e, m in inbox for a in m.iter_attachments()}
    assert atts["Q1-report-draft.pdf"].get_content().startswith(b"%PDF-")
    with zipfile.ZipFile(io.BytesIO(atts["figures.zip"].get_content())) as zf:
        assert "figures/revenue.csv" in zf.namelist()
    # the phishing attempt: another address in the display name, a lying link, a hidden .exe
    (phish,) = [m for _e, m in inbox if "limited" in m["Subject"]]
    sender = phish["From"].addresses[0]
    assert "@" in sender.display_name and sender.display_name != sender.addr_spec
    assert "paypal.com" in sender.display_name and not sender.domain.endswith("paypal.com")
    body = phish.get_body(preferencelist=("html",)).get_content()
    import re

    (href, text) = re.search(r'<a href="([^"]+)">([^<]+)</a>', body).groups()
    assert "paypal.com" in urlparse(text).hostname
    assert not urlparse(href).hostname.endswith("paypal.com")
    assert "invoice.pdf.exe" in atts
    # an invitation: a text/calendar METHOD:REQUEST alternative naming Robin as an attendee
    (invite,) = [m for _e, m in inbox if m["Subject"].startswith("Invitation:")]
    cal = next(p for p in invite.walk() if p.get_content_type() == "text/calendar")
    assert cal.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in cal.get_content() and "mailto:robin@example.org" in cal.get_content()


def test_notmuch_threads_the_demo_like_we_built_it(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    ensure_demo(root)
    cfg = tmp_path / "nm"
    cfg.write_text(f"[database]\npath={root}\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=true\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(cfg), "HOME": str(tmp_path)}

    def nm(*args: str) -> str:
        return subprocess.run(["notmuch", *args], capture_output=True, text=True, env=env, check=True).stdout.strip()

    nm("new", "--quiet")
    total = sum(len(Maildir(root).list(f)) for f in Maildir(root).folders())
    assert nm("count", "*") == str(total)
    assert nm("count", "thread:{id:hike-1@demo.pigeon.invalid}") == "5"
    assert nm("count", "thread:{id:reload-1@demo.pigeon.invalid}") == "6"
    assert nm("count", "tag:unread") == str(sum("S" not in e.flags for f in Maildir(root).folders() for e in Maildir(root).list(f)))


def test_ensure_demo_remakes_a_missing_mailbox_and_spares_other_directories(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    store = ensure_demo(root)
    e = store.list("INBOX")[0]
    store.set_flags(e, "FS")  # the user's changes survive a second start
    ensure_demo(root)
    assert store.get("INBOX", e.key).flags == "FS"
    import shutil

    shutil.rmtree(root / "INBOX")
    ensure_demo(root)
    assert len(store.list("INBOX")) >= 35
    assert store.get("INBOX", e.key).flags == e.flags  # made again from scratch
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("do not delete")
    with pytest.raises(StoreError, match="not a pigeon demo mailbox"):
        ensure_demo(mine)
    assert (mine / "precious.txt").read_text() == "do not delete"


def test_pigeon_demo_print(tmp_path: Path, isolated_env: dict[str, Path]) -> None:
    res = run_pigeon("demo", "--print")
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert f"demo mailbox: {isolated_env['state'] / 'demo'}" in out
    assert "\nINBOX: 40 messages, 13 unread\n" in out
    assert out.index("INBOX:") < out.index("Archive:")
    assert "Your account has been limited - action required" in out
    assert "service@paypal.com" in out and "Dîner vendredi" in out
    lines = [ln for ln in out.splitlines() if "Weekend hike" in ln]
    assert lines[0].startswith("  2026-03-02 09:33  Alice Martin") and lines[0].endswith("R")
    assert not any(ord(c) < 32 and c != "\n" for c in out)
    # --json, and --dir
    res = run_pigeon("demo", "--json", "--dir", str(tmp_path / "elsewhere"))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [f["folder"] for f in data] == ["INBOX", "Archive", "Drafts", "Sent", "Trash"]
    inbox = data[0]
    assert inbox["count"] == len(inbox["messages"]) == 40 and inbox["unread"] == 13
    assert {"date", "from", "subject", "flags", "unread", "key"} <= set(inbox["messages"][0])
    assert (tmp_path / "elsewhere" / "INBOX" / "cur").is_dir()


def test_pigeon_demo_without_a_client_prints_the_summary(isolated_env: dict[str, Path]) -> None:
    for args in (("demo",), ()):  # bare ``pigeon`` without accounts is the demo
        res = run_pigeon(*args)
        assert res.returncode == 0, res.stderr
        assert b"INBOX: 40 messages" in res.stdout


MAIN_PLUGIN = """
import json, os
from pigeon.hooks import hookimpl

@hookimpl
def pigeon_main(app):
    acct = app.account()
    store = app.store()
    with open(os.environ["MAIN_OUT"], "w") as fh:
        json.dump({"demo": app.options.demo, "accounts": list(app.config.accounts), "name": acct.name,
                   "folder": app.options.initial_folder, "inbox": len(store.list("INBOX"))}, fh)
    return 0
"""


def test_pigeon_demo_opens_the_client_through_pigeon_main(tmp_path: Path, config_dir: Path) -> None:
    (config_dir / "config.toml").write_text('[accounts.work]\naddress = "me@example.org"\nmaildir = "/nonexistent/mail"\n')
    (config_dir / "plugins").mkdir()
    (config_dir / "plugins" / "ui.py").write_text(MAIN_PLUGIN)
    out = tmp_path / "main.json"
    res = run_pigeon("demo", env={"MAIN_OUT": str(out)})
    assert res.returncode == 0, res.stderr
    # the user's accounts are replaced by the demo account
    assert json.loads(out.read_text()) == {"demo": True, "accounts": ["demo"], "name": "demo", "folder": "INBOX", "inbox": 40}
    assert res.stdout == b""


def test_pigeon_demo_refuses_a_broken_config(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text("[accounts.x\n")
    res = run_pigeon("demo", "--print")
    assert res.returncode == 1 and b"config.toml:1" in res.stderr and b"Traceback" not in res.stderr
