"""Reply trees equal notmuch's (the corpus's expected-threads files); late mail joins threads."""

from __future__ import annotations

from pathlib import Path

import pytest
from index_helpers import CORPUS, deliver, index_folder, message_bytes, our_threads, read_expected
from pigeon.core.index import Index

CASES = [
    ("notmuch/corpora/default", "notmuch/expected-threads/default.txt", 52, 24),
    ("notmuch/corpora/lkml", "notmuch/expected-threads/lkml.txt", 176, 7),
    ("notmuch/corpora/threading/ghost-root", "notmuch/expected-threads/threading-ghost-root.txt", 9, 2),
    ("notmuch/corpora/threading/parent-priority", "notmuch/expected-threads/threading-parent-priority.txt", 3, 1),
    ("notmuch/corpora/duplicate", "notmuch/expected-threads/duplicate.txt", 3, 3),
    ("aerc/jwz-testdata", "aerc/expected-threads/jwz-testdata.notmuch.txt", 93, 63),
    ("mu/testdata/testdir", "mu/expected-threads/testdir.notmuch.txt", 19, 15),
    ("mu/testdata/testdir2", "mu/expected-threads/testdir2.notmuch.txt", 13, 13),
]


@pytest.mark.parametrize(("corpus", "expected", "messages", "threads"), CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_reply_trees_equal_notmuch(tmp_path: Path, corpus: str, expected: str, messages: int, threads: int) -> None:
    index = index_folder(CORPUS / corpus, tmp_path)
    assert index.count("*") == messages
    assert index.count_threads("*") == threads
    assert our_threads(index) == read_expected(CORPUS / expected)


def test_lkml_in_parallel_equals_serial(tmp_path: Path) -> None:
    """The process pool (both cores) gives the same index as one process."""
    serial = index_folder(CORPUS / "notmuch/corpora/lkml", tmp_path / "a", workers=1)
    parallel = index_folder(CORPUS / "notmuch/corpora/lkml", tmp_path / "b", workers=2)
    assert our_threads(parallel) == our_threads(serial)
    assert parallel.count_files("*") == serial.count_files("*") == 210


def _thread_of(index: Index, msgid: str) -> str:
    hit = index.get(msgid)
    assert hit is not None, msgid
    return hit.thread


def test_late_parent_joins_and_merges_threads(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    deliver(root, "", "b", message_bytes("b@x", in_reply_to="a@x", references="a@x"))
    deliver(root, "", "c", message_bytes("c@x", in_reply_to="z@x", references="z@x"))
    index = Index(tmp_path / "index.sqlite", [("t", root)])
    index.update()
    tb, tc = _thread_of(index, "b@x"), _thread_of(index, "c@x")
    assert tb != tc
    # the missing parent arrives: the child's thread keeps its id
    deliver(root, "", "a", message_bytes("a@x", date="Sun, 01 Mar 2026 09:00:00 +0000"))
    index.update()
    assert _thread_of(index, "a@x") == tb
    tree = index.thread_tree(tb)
    assert [m.msgid for m in tree] == ["a@x"] and [m.msgid for m in tree[0].replies] == ["b@x"]
    # a message that references both threads merges them into the older id
    deliver(root, "", "d", message_bytes("d@x", references="a@x z@x"))
    index.update()
    assert {_thread_of(index, m) for m in ("a@x", "b@x", "c@x", "d@x")} == {min(tb, tc)}
    assert index.count_threads("*") == 1


def test_deleted_message_keeps_its_thread_together(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    pa = deliver(root, "", "a", message_bytes("a@x", date="Sun, 01 Mar 2026 09:00:00 +0000"))
    deliver(root, "", "b", message_bytes("b@x", in_reply_to="a@x", references="a@x"))
    index = Index(tmp_path / "index.sqlite", [("t", root)])
    index.update()
    pa.unlink()
    index.update()
    deliver(root, "", "c", message_bytes("c@x", in_reply_to="a@x", references="a@x"))
    index.update()
    assert _thread_of(index, "b@x") == _thread_of(index, "c@x")


def test_subjects_do_not_gather_threads(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    deliver(root, "", "a", message_bytes("a@x", subject="Lunch"))
    deliver(root, "", "b", message_bytes("b@x", subject="Re: Lunch"))
    index = Index(tmp_path / "index.sqlite", [("t", root)])
    index.update()
    assert index.count_threads("*") == 2
