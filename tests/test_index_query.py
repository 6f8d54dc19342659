"""The query language: operators, prefixes, dates, sizes, and errors that name the position."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import run_pigeon
from index_helpers import deliver, message_bytes
from pigeon.core.index import Index
from pigeon.core.query import QueryError, parse

NOW = time.time()


def _date(days_ago: float) -> str:
    from email.utils import formatdate

    return formatdate(NOW - days_ago * 86400)


@pytest.fixture
def index(tmp_path: Path) -> Index:
    root = tmp_path / "mail"
    deliver(root, "INBOX", "1", message_bytes("m1@x", date=_date(1), sender="Alice Walker <alice@example.com>",
                                               subject="release plan", body="the München office ships"))
    deliver(root, "INBOX", "2", message_bytes("m2@x", date=_date(3), sender="Bob Stone <bob@example.net>",
                                               to="Alice <alice@example.com>", subject="Re: release plan",
                                               in_reply_to="m1@x", references="m1@x", body="quarterly budget",
                                               extra="Cc: Carol <carol@corp.example>"), flags="S")
    big = "x" * 30000
    deliver(root, "Archive", "3", message_bytes("m3@x", date="Tue, 10 Feb 2026 12:00:00 +0000",
                                                 sender="carol@corp.example", subject="invoice 42",
                                                 body=f"payment overdue {big}"), flags="FS")
    att = (b"From: Dave <dave@corp.example>\nTo: me@example.org\nSubject: slides\n"
           b"Date: Wed, 11 Feb 2026 12:00:00 +0000\nMessage-ID: <m4@x>\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee the deck\n"
           b"--XX\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"deck-v2.pdf\"\n"
           b"Content-Transfer-Encoding: base64\n\nJVBERi0=\n--XX--\n")
    deliver(root, "Archive", "4", att, flags="S")
    idx = Index(tmp_path / "index.sqlite", [("me", root)], saved={"unread": "tag:unread"})
    idx.update()
    return idx


def ids(index: Index, query: str) -> list[str]:
    return sorted(m.id for m in index.search(query))


@pytest.mark.parametrize(("query", "expected"), [
    ("*", ["m1@x", "m2@x", "m3@x", "m4@x"]),
    ("release", ["m1@x", "m2@x"]),
    ("RELEASE and budget", ["m2@x"]),
    ("release budget", ["m2@x"]),
    ("release AND NOT budget", ["m1@x"]),
    ("release -budget", ["m1@x"]),
    ("invoice OR slides", ["m3@x", "m4@x"]),
    ("(invoice or slides) and folder:Archive", ["m3@x", "m4@x"]),
    ("not folder:Archive", ["m1@x", "m2@x"]),
    ('"office ships"', ["m1@x"]),
    ('"ships office"', []),
    ("münchen", ["m1@x"]),
    ("munchen", ["m1@x"]),
    ("releas*", ["m1@x", "m2@x"]),
    ("from:alice", ["m1@x"]),
    ("from:alice@example.com", ["m1@x"]),
    ('from:"Bob Stone"', ["m2@x"]),
    ("to:alice@example.com", ["m2@x"]),
    ("to:carol", ["m2@x"]),
    ("cc:carol", ["m2@x"]),
    ("cc:alice", []),
    ("subject:invoice", ["m3@x"]),
    ("body:budget", ["m2@x"]),
    ("body:release", []),
    ("is:unread", ["m1@x"]),
    ("is:flagged", ["m3@x"]),
    ("tag:inbox", ["m1@x", "m2@x", "m3@x", "m4@x"]),
    ("has:attachment", ["m4@x"]),
    ("attachment:deck", ["m4@x"]),
    ("attachment:*", ["m4@x"]),
    ("mimetype:application/pdf", ["m4@x"]),
    ("mimetype:pdf", ["m4@x"]),
    ("mimetype:multipart/mixed", ["m4@x"]),
    ("account:me", ["m1@x", "m2@x", "m3@x", "m4@x"]),
    ("account:other", []),
    ("id:m3@x", ["m3@x"]),
    ("id:<m3@x>", ["m3@x"]),
    ("thread:{id:m1@x}", ["m1@x", "m2@x"]),
    ("date:2026-02-10..2026-02-10", ["m3@x"]),
    ("date:2026-02-10", ["m3@x"]),
    ("date:2026-02-10..2026-02-11", ["m3@x", "m4@x"]),
    ("date:..2026-02-10", ["m3@x"]),
    ("date:2d..", ["m1@x"]),
    ("date:7d..", ["m1@x", "m2@x"]),
    ("size:>20k", ["m3@x"]),
    ("size:..1k", ["m1@x", "m2@x", "m4@x"]),
    ("search:unread", ["m1@x"]),
    ("http://example.com", []),
])
def test_queries(index: Index, query: str, expected: list[str]) -> None:
    assert ids(index, query) == expected


def test_thread_id_from_search(index: Index) -> None:
    thread = index.get("m2@x").thread
    assert ids(index, f"thread:{thread}") == ["m1@x", "m2@x"]
    (t,) = index.threads("budget")
    assert (t.matched, t.total, t.authors) == (1, 2, "Bob Stone| Alice Walker")


@pytest.mark.parametrize(("query", "position", "words"), [
    ("from:", 1, "needs a value"),
    ("(release or budget", 1, "never closed"),
    ("release and", 12, "needs something after"),
    ('subject:"open phrase', 9, "unterminated"),
    ("release )", 9, "unexpected ')'"),
    ("a or or b", 6, "unexpected 'or'"),
    ("()", 2, "empty parentheses"),
    ("thread:{a and}", 14, "needs something after"),
    ("subject:{x}", 1, "only allowed after thread:"),
    ("date:2026-13-45", 1, "cannot read the date"),
    ("size:huge", 1, "cannot read the size"),
    ("has:wings", 1, "unknown has:"),
    ("thread:zz", 1, "not a thread id"),
])
def test_syntax_errors_name_the_position(index: Index, query: str, position: int, words: str) -> None:
    with pytest.raises(QueryError) as err:
        index.count(query)
    assert err.value.position + 1 == position
    assert f"position {position}:" in str(err.value)
    assert words in str(err.value)


def test_operators_are_case_insensitive() -> None:
    assert parse("a AND b") == parse("a and b")
    assert parse("NOT a") == parse("not a")


def test_cli_reports_syntax_error_on_one_line(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.toml").write_text(f'state_dir = "{tmp_path / "st"}"\n')
    assert run_pigeon("index").returncode == 0
    result = run_pigeon("count", "(from:alice")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err == "pigeon: query syntax error at position 1: '(' is never closed\n"


def test_search_without_index_says_what_to_do(config_dir: Path) -> None:
    result = run_pigeon("search", "foo")
    assert result.returncode == 1
    assert "run 'pigeon index'" in result.stderr.decode()
