"""The notmuch oracle (corpus/notmuch/ORACLE.md) reproduced through the command line."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import run_pigeon
from index_helpers import CORPUS
from pigeon.core.cli import main

DEFAULT = CORPUS / "notmuch" / "corpora" / "default"

#: (query, messages, threads) from ORACLE.md's tables.
ORACLE = [
    ("*", 52, 24),
    ("from:cworth@cworth.org", 12, 11),
    ('from:"Carl Worth"', 12, 11),
    ('from:"Keith Packard"', 7, 7),
    ("from:stewart", 3, 3),
    ("subject:PATCH", 21, 12),
    ('subject:"[PATCH"', 21, 12),
    ('subject:"Working with Maildir storage?"', 7, 1),
    ("subject:notmuch", 50, 22),
    ("date:2009-11-17..2009-11-17", 20, 11),
    ("date:2009-11-18..2009-11-18", 30, 20),
    ("date:2009-11-17..2009-11-18", 50, 22),
    ("date:2010-01-01..", 2, 2),
    ("tag:signed", 7, 3),
    ("tag:attachment", 4, 3),
    ("tag:inbox", 52, 24),
    ("tag:unread", 52, 24),
    ("thread:{id:20091117190054.GU3165@dottiness.seas.harvard.edu}", 7, 1),
    ("thread:{tag:attachment}", 6, 3),
    ("thread:{from:stewart}", 3, 3),
    ("to:notmuch@notmuchmail.org", 50, 22),
    ("FreeBSD", 5, 2),
    ("body:FreeBSD", 5, 2),
    ('"FreeBSD support"', 2, 1),
    ("Darwin", 4, 1),
    ("folder:foo", 6, 4),
    ("path:bar/**", 13, 10),
    ("mimetype:application/pgp-signature", 7, 3),
]


@pytest.fixture(scope="module")
def oracle_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("oracle")
    mail = base / "mail"
    shutil.copytree(DEFAULT, mail)
    config = base / "config"
    config.mkdir()
    (config / "config.toml").write_text(
        f'state_dir = "{base / "state"}"\n[accounts.test]\naddress = "me@example.org"\nmaildir = "{mail}"\n'
    )
    result = run_pigeon("index", "--config-dir", str(config))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("53 added, 0 removed")
    return config


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """ORACLE.md's dates are whole days in UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    # The options go after the subcommand: "--config-dir X search" would lose X to the
    # subcommand's own --config-dir default (see the report to the lead).
    args = (args[2], *args[:2], *args[3:]) if args[:1] == ("--config-dir",) else args
    rc = main(list(args))
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out


@pytest.mark.parametrize(("query", "messages", "threads"), ORACLE)
def test_oracle_counts(oracle_config: Path, utc: None, capsys: pytest.CaptureFixture[str], query: str,
                      messages: int, threads: int) -> None:
    cfg = ("--config-dir", str(oracle_config))
    assert int(cli(capsys, *cfg, "count", query)) == messages
    assert int(cli(capsys, *cfg, "count", "--output", "threads", query)) == threads
    listed = json.loads(cli(capsys, *cfg, "search", "--threads", "--json", query))
    assert len(listed) == threads
    assert sum(t["matched"] for t in listed) == messages


def test_files_and_duplicates(oracle_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ("--config-dir", str(oracle_config))
    assert int(cli(capsys, *cfg, "count", "--output", "files", "*")) == 53
    # cur/51:2, and bar/18:2, are one message in two files
    hits = json.loads(cli(capsys, *cfg, "search", "--json", "*"))
    two = [h for h in hits if len(h["files"]) == 2]
    assert len(two) == 1
    assert sorted(Path(f).relative_to(oracle_config.parent / "mail").as_posix() for f in two[0]["files"]) == [
        "bar/18:2,", "cur/51:2,"]


def test_attachment_star_differs_from_notmuch_on_purpose(oracle_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """notmuch answers 5/3 for ``attachment:*`` because Xapian reads it as the word "attachment"
    (it matches foo/new/09, which has no attachment but says "A non-text attachment was
    scrubbed", and misses bar/new/21, which has one). pigeon answers: messages with an attachment."""
    cfg = ("--config-dir", str(oracle_config))
    assert int(cli(capsys, *cfg, "count", "attachment:*")) == 4
    assert int(cli(capsys, *cfg, "count", "attachment:*")) == int(cli(capsys, *cfg, "count", "tag:attachment"))
    assert int(cli(capsys, *cfg, "count", "attachment:patch")) == 4


def test_thread_listing_equals_notmuch_search(oracle_config: Path) -> None:
    """``pigeon search --threads --sort oldest '*'`` prints what ``notmuch search
    --sort=oldest-first '*'`` printed, thread ids aside: dates, counts, authors, subjects, tags."""
    result = run_pigeon("search", "--config-dir", str(oracle_config), "--threads", "--sort", "oldest", "*",
                        env={"TZ": "UTC"})
    assert result.returncode == 0, result.stderr.decode()
    lines = [line.split("  ", 1)[1] for line in result.stdout.decode().splitlines()]
    expected = (CORPUS / "notmuch" / "expected-threads" / "default-search-oldest-first.txt").read_text().splitlines()
    assert lines == expected


def test_search_json_fields(oracle_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ("--config-dir", str(oracle_config))
    hits = json.loads(cli(capsys, *cfg, "search", "--json", "id:20091117190054.GU3165@dottiness.seas.harvard.edu"))
    assert len(hits) == 1
    hit = hits[0]
    for key in ("id", "thread", "date", "from", "to", "subject", "folder", "account", "tags", "files"):
        assert key in hit
    assert hit["id"] == "20091117190054.GU3165@dottiness.seas.harvard.edu"
    assert hit["subject"] == "[notmuch] Working with Maildir storage?"
    assert hit["from"] == "Lars Kellogg-Stedman <lars@seas.harvard.edu>"
    assert hit["account"] == "test"
    assert hit["tags"] == ["inbox", "signed", "unread"]
    assert hit["date"].startswith("2009-11-17T19:00:54")
    thread = json.loads(cli(capsys, *cfg, "search", "--json", f"thread:{hit['thread']}"))
    assert len(thread) == 7


def test_paging_and_sorting(oracle_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ("--config-dir", str(oracle_config))
    everything = json.loads(cli(capsys, *cfg, "search", "--json", "*"))
    dates = [h["timestamp"] for h in everything]
    assert dates == sorted(dates, reverse=True)
    page = json.loads(cli(capsys, *cfg, "search", "--json", "--limit", "10", "--offset", "20", "*"))
    assert [h["id"] for h in page] == [h["id"] for h in everything[20:30]]
    oldest = json.loads(cli(capsys, *cfg, "search", "--json", "--sort", "oldest", "--limit", "5", "*"))
    assert [h["id"] for h in oldest] == [h["id"] for h in everything[::-1][:5]]
    threads = json.loads(cli(capsys, *cfg, "search", "--threads", "--json", "--limit", "5", "--offset", "5", "*"))
    all_threads = json.loads(cli(capsys, *cfg, "search", "--threads", "--json", "*"))
    assert [t["thread"] for t in threads] == [t["thread"] for t in all_threads[5:10]]
