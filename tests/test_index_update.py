"""Incremental updates: new, moved, renamed (flags), deleted and changed files; single files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from index_helpers import CORPUS, deliver, message_bytes
from pigeon.core.index import Index
from pigeon.core.pluginmanager import make_plugin_manager
from pigeon.hooks import hookimpl


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    root = tmp_path / "mail"
    shutil.copytree(CORPUS / "notmuch/corpora/default", root)
    return root


def open_index(tmp_path: Path, root: Path, **kw) -> Index:  # noqa: ANN003
    return Index(tmp_path / "index.sqlite", [("test", root)], **kw)


def test_no_change_does_nothing(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    first = index.update()
    assert (first.added, first.removed, first.errors) == (53, 0, [])
    again = index.update()
    assert (again.added, again.removed, again.renamed, again.changed) == (0, 0, 0, 0)
    assert index.count("*") == 52


def test_new_moved_flagged_deleted(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    index.update()
    # new
    new = deliver(mail, "foo", "9999", message_bytes("new@x", subject="fresh words"), new=True, flags=None)
    r = index.update()
    assert (r.added, r.removed) == (1, 0)
    assert index.count("fresh") == 1 and index.count("folder:foo and tag:unread and tag:inbox") == 7
    # flag change: the file is renamed, not parsed again, and the tags follow
    seen = mail / "foo" / "cur" / "9999:2,S"
    new.rename(seen)
    r = index.update()
    assert (r.added, r.removed, r.renamed) == (0, 0, 1)
    assert index.get("new@x").tags == ["inbox"]
    os.rename(seen, mail / "foo" / "cur" / "9999:2,FRS")
    index.update()
    assert index.get("new@x").tags == ["flagged", "inbox", "replied"]
    assert index.count("is:flagged") == 1 and index.count("is:replied and not is:unread") == 1
    # move to another folder
    dest = mail / "bar" / "cur" / "9999:2,FRS"
    os.rename(mail / "foo" / "cur" / "9999:2,FRS", dest)
    r = index.update()
    assert r.renamed == 1
    assert index.get("new@x").folders == ["bar"]
    assert index.count("folder:foo and fresh") == 0 and index.count("folder:bar and fresh") == 1
    # deleted
    dest.unlink()
    r = index.update()
    assert r.removed == 1
    assert index.get("new@x") is None and index.count("*") == 52


def test_changed_in_place_is_parsed_again(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    path = deliver(mail, "", "x1", message_bytes("x1@x", body="alpha"))
    index.update()
    assert index.count("alpha") == 1
    path.write_bytes(message_bytes("x1@x", body="bravo and more"))
    os.utime(path, (1, 1))
    r = index.update()
    assert r.changed == 1
    assert index.count("alpha") == 0 and index.count("bravo") == 1


def test_duplicate_files_are_one_message(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    index.update()
    msg = index.search("folder:bar and folder:\"\"")
    assert len(msg) == 1 and len(msg[0].files) == 2
    (mail / "cur" / "51:2,").unlink()
    index.update()
    assert index.count("*") == 52 and index.count_files("*") == 52
    (mail / "bar" / "18:2,").unlink()
    index.update()
    assert index.count("*") == 51


def test_rebuild_gives_the_same_index(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    index.update()
    index.tag("from:stewart", add=["lost-on-rebuild"], sync_flags=False)
    r = index.update(rebuild=True)
    assert r.added == 53
    assert index.count("*") == 52 and index.count_threads("*") == 24
    assert index.count("tag:lost-on-rebuild") == 0


def test_single_file_api(tmp_path: Path, mail: Path) -> None:
    """What the watcher and the sync engine call."""
    index = open_index(tmp_path, mail)
    index.update()
    path = deliver(mail, "foo", "77", message_bytes("api@x", body="zeppelin"))
    assert index.add_file(path) is not None
    assert index.count("zeppelin and folder:foo") == 1
    moved = mail / "bar" / "cur" / "77:2,S"
    os.rename(path, moved)
    index.move_file(path, moved)
    assert index.search("zeppelin")[0].folders == ["bar"]
    assert "unread" not in index.get("api@x").tags
    moved.unlink()
    assert index.remove_file(moved) is True
    assert index.count("zeppelin") == 0
    assert index.add_file(tmp_path / "elsewhere") is None  # not under any account
    r = index.update()
    assert (r.added, r.removed, r.renamed) == (0, 0, 0)


def test_not_mail_is_skipped_and_remembered(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    deliver(root, "", "junk", b"just some bytes\nwithout headers\n")
    deliver(root, "", "ok", message_bytes("ok@x"))
    (root / "tmp" / "partial").write_bytes(message_bytes("partial@x"))
    (root / "cur" / ".hidden").write_bytes(message_bytes("hidden@x"))
    index = open_index(tmp_path, root)
    r = index.update()
    assert (r.added, r.not_mail) == (1, 1)
    assert index.count("*") == 1
    assert index.update().not_mail == 0  # not parsed again


class FieldsPlugin:
    @hookimpl
    def pigeon_index_fields(self, message, ref):  # noqa: ANN001, ANN201
        if "urgent" in str(message.get("Subject", "")).lower():
            return {"priority": "High", "folder-seen": ref.folder or "root"}
        return None


def test_plugins_add_fields(tmp_path: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=False, load_user=False)
    pm.register(FieldsPlugin(), name="fields")
    root = tmp_path / "mail"
    deliver(root, "work", "1", message_bytes("u@x", subject="URGENT: call me"))
    deliver(root, "work", "2", message_bytes("n@x", subject="later"))
    index = open_index(tmp_path, root, pm=pm)
    index.update()
    assert [m.id for m in index.search("priority:high")] == ["u@x"]
    assert index.count("folder-seen:work") == 1
    assert index.count("High") == 1  # and in the full text


def test_an_index_from_another_version_is_rebuilt(tmp_path: Path, mail: Path) -> None:
    import sqlite3

    from pigeon.core.errors import PigeonError

    index = open_index(tmp_path, mail)
    index.update()
    index.db.conn.execute("UPDATE meta SET value='0' WHERE key='schema'")
    index.close()
    with pytest.raises(PigeonError, match="run 'pigeon index'"):
        Index(tmp_path / "index.sqlite", readonly=True)
    again = open_index(tmp_path, mail)  # a writer starts over
    assert again.update().added == 53 and again.count("*") == 52
    assert sqlite3.connect(tmp_path / "index.sqlite").execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] != "0"


def test_missing_maildir_is_not_read_as_everything_deleted(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    index.update()
    mail.rename(tmp_path / "elsewhere")
    report = index.update()
    assert report.removed == 0 and "is missing" in report.errors[0]
    assert index.count("*") == 52


def test_mbsync_uid_in_the_name_is_a_rename(tmp_path: Path, mail: Path) -> None:
    index = open_index(tmp_path, mail)
    index.update()
    path = deliver(mail, "foo", "1700000000.M1P2.host", message_bytes("uid@x"), flags="S")
    index.update()
    os.rename(path, mail / "bar" / "cur" / "1700000000.M1P2.host,U=42:2,S")
    r = index.update()
    assert (r.added, r.removed, r.renamed) == (0, 0, 1)
    assert index.get("uid@x").folders == ["bar"]
