"""The sync state store: folders, messages, pending uploads, transactions, crash behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pigeon.core.sync_state import FolderState, MessageState, StateReader, SyncState, state_path


def test_roundtrip_folders_and_messages(tmp_path: Path) -> None:
    st = SyncState.for_account(tmp_path, "work")
    assert st.path == tmp_path / "sync" / "work.sqlite"
    assert oct(st.path.stat().st_mode & 0o777) == "0o600"
    with st.transaction():
        st.set_folder(FolderState("INBOX", "INBOX", 7, 120, 55, "1:2"))
        st.put_many("INBOX", [
            MessageState(1, "k1", "S", frozenset({"$label1", "work"}), 100, "d1", "a@b"),
            MessageState(2, "k2", "", frozenset(), 200, "d2", None),
        ])
    st.close()

    st = SyncState.for_account(tmp_path, "work")
    f = st.folder("INBOX")
    assert (f.uidvalidity, f.highestmodseq, f.uidnext, f.local_stamp) == (7, 120, 55, "1:2")
    msgs = st.messages("INBOX")
    assert msgs[1].keywords == frozenset({"$label1", "work"})
    assert msgs[2].msgid is None and msgs[2].size == 200
    assert st.find_key("k2") == [("INBOX", msgs[2])]
    assert st.find_digest("d1") == [("INBOX", msgs[1])]
    assert st.count() == 2 and st.count("INBOX") == 2 and st.count("Other") == 0
    f2 = st.update_folder("INBOX", highestmodseq=130)
    assert f2.uidvalidity == 7 and st.folder("INBOX").highestmodseq == 130
    st.rename_folder("INBOX", "Inbox2")
    assert st.count("Inbox2") == 2 and st.folder("INBOX") is None
    st.remove_folder("Inbox2")
    assert st.count() == 0 and st.folders() == {}


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    st = SyncState(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError), st.transaction():
        st.put("A", MessageState(1, "k"))
        with st.transaction():  # nested joins the outer one
            st.put("A", MessageState(2, "k2"))
        raise RuntimeError("boom")
    assert st.messages("A") == {}
    with st.transaction():
        st.put("A", MessageState(1, "k"))
        st.remove_many("A", [1])
        st.put("A", MessageState(3, "k3"))
    assert list(st.messages("A")) == [3]


def test_pending_uploads(tmp_path: Path) -> None:
    st = SyncState(tmp_path / "s.sqlite")
    st.add_pending("Sent", "key1", "dg")
    assert st.pending() == [("Sent", "key1", "dg")]
    assert st.pending("Other") == []
    st.remove_pending("Sent", "key1")
    assert st.pending() == []


def test_account_names_are_confined(tmp_path: Path) -> None:
    p = state_path(tmp_path, "../../etc/passwd")
    assert p.parent == tmp_path / "sync" and "/" not in p.name and not p.name.startswith(".")


def test_killed_writer_leaves_last_commit(tmp_path: Path) -> None:
    """A process killed inside a transaction loses only that transaction."""
    path = tmp_path / "s.sqlite"
    code = f"""
import os, sys
sys.path[:0] = {sys.path!r}
from pigeon.core.sync_state import SyncState, MessageState
st = SyncState({str(path)!r})
with st.transaction():
    st.put("F", MessageState(1, "committed"))
st.db.execute("BEGIN")
st.put("F", MessageState(2, "uncommitted"))
os.kill(os.getpid(), 9)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9, proc.stderr
    st = SyncState(path)
    assert {m.key for m in st.messages("F").values()} == {"committed"}
    assert os.path.exists(path)


def test_a_stamp_vouches_only_for_changes_clearly_before_the_listing(tmp_path: Path) -> None:
    """A directory change in the same clock tick as the listing could leave the mtime as
    recorded: such a stamp is not trusted, and the folder is listed again."""
    import time

    from pigeon.core.sync_local import stamp, stamp_settled

    folder = tmp_path / "INBOX"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1.a:2,S").write_bytes(b"x")
    now = time.time()
    s = stamp(folder)
    assert s is not None
    assert not stamp_settled(s, now)  # changed just now: a same-tick change could hide
    assert stamp_settled(s, now + 1.0)  # the listing began well after the last change
    assert not stamp_settled(None, now + 1.0) and not stamp_settled(s, None)
    # whole-second mtimes (a coarse file system): two seconds of margin
    os.utime(folder / "cur", (int(now) - 1, int(now) - 1))
    os.utime(folder / "new", (int(now) - 1, int(now) - 1))
    coarse = stamp(folder)
    assert not stamp_settled(coarse, int(now) + 0.5)
    assert stamp_settled(coarse, int(now) + 1.5)


def test_fine_mtimes_probe_matches_what_the_file_system_does(tmp_path: Path) -> None:
    """The probe says "fine" exactly when a directory here takes a distinct mtime for every
    change made after its mtime was read, however quick; it leaves nothing behind."""
    from pigeon.core import sync_local

    folder = tmp_path / "INBOX"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    seen = []
    d = folder / "cur"
    for i in range(200):  # an independent look: quick changes, each followed by a stat
        p = d / f"x{i}"
        p.touch()
        seen.append(os.stat(d).st_mtime_ns)
        p.unlink()
        seen.append(os.stat(d).st_mtime_ns)
    distinct = all(b > a for a, b in zip(seen, seen[1:], strict=False))
    sync_local._fine_by_device.clear()
    assert sync_local.fine_mtimes(folder) is distinct
    assert os.listdir(folder / "tmp") == []
    assert sync_local.fine_mtimes(tmp_path / "missing") is False


def test_with_fine_mtimes_a_stamp_vouches_once_it_predates_the_listing(tmp_path: Path) -> None:
    """Where every change after a stat gets a later mtime, a stamp read before the listing
    needs no tick of margin; one newer than the listing's start still does not vouch."""

    from pigeon.core.sync_local import stamp, stamp_settled

    folder = tmp_path / "INBOX"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1.a:2,S").write_bytes(b"x")
    s = stamp(folder)
    assert s is not None
    newest = max(int(t) for t in s.split(":"))
    now = newest / 1e9 + 0.000_002
    assert stamp_settled(s, now, fine=True)
    assert not stamp_settled(s, now)  # a coarse clock could hide a same-tick change
    assert not stamp_settled(s, newest / 1e9 - 0.001, fine=True)  # changed after the listing began


def test_the_quick_listing_check_sees_every_difference(tmp_path: Path) -> None:
    """``listing_is`` (the check behind a folder's stamp) holds only for exactly the names
    the state gives: an extra file, a missing one, other flags or a stray dot file fail it."""
    from pigeon.core.sync_local import listing_is

    folder = tmp_path / "INBOX"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1.a:2,S").write_bytes(b"x")
    (folder / "cur" / "2.b:2,").write_bytes(b"x")
    (folder / "new" / "3.c").write_bytes(b"x")
    want = {"1.a:2,S", "2.b:2,", "3.c:2,"}
    assert listing_is(folder, want)
    assert not listing_is(folder, want - {"3.c:2,"})
    assert not listing_is(folder, (want - {"1.a:2,S"}) | {"1.a:2,FS"})
    assert not listing_is(folder, want | {"4.d:2,"})
    (folder / "new" / ".hidden").write_bytes(b"x")
    assert not listing_is(folder, want)
    (folder / "new" / ".hidden").unlink()
    (folder / "new" / "2.b").write_bytes(b"x")  # the same unique name twice
    assert not listing_is(folder, want)
    assert not listing_is(tmp_path / "missing", set())


def test_file_names_are_what_the_state_says_each_file_is_called(tmp_path: Path) -> None:
    with SyncState(tmp_path / "s.sqlite") as st:
        st.put_many("INBOX", [MessageState(1, "1.a", "S"), MessageState(2, "2.b", ""), MessageState(3, "3.c", "FRS")])
        st.put_many("Other", [MessageState(1, "9.z", "S")])
        assert st.file_names("INBOX") == {"1.a:2,S", "2.b:2,", "3.c:2,FRS"}
        assert st.file_names("Empty") == set()


def test_an_early_checkpoint_loses_no_write_and_leaves_no_log(tmp_path: Path) -> None:
    """``checkpoint_soon`` copies the log on a thread while writes go on; after close every
    row is in the database and the write-ahead log is gone, as after a plain close."""
    path = tmp_path / "s.sqlite"
    st = SyncState(path)
    with st.transaction():
        st.put_many("INBOX", [MessageState(u, f"{u}.k", "S") for u in range(1, 2001)])
    st.checkpoint_soon()
    with st.transaction():
        st.put_many("INBOX", [MessageState(u, f"{u}.k", "FS") for u in range(1, 2001, 2)])
        st.remove_many("INBOX", [2, 4])
    st.close()
    assert not os.path.exists(str(path) + "-wal")
    with SyncState(path) as again:
        assert again.count("INBOX") == 1998
        assert again.get("INBOX", 1).flags == "FS" and again.get("INBOX", 3).flags == "FS"
        assert again.get("INBOX", 6).flags == "S" and again.get("INBOX", 2) is None


def test_a_flag_change_updates_the_row_in_place_and_never_loses_one(tmp_path: Path) -> None:
    """``put_many(..., was=...)``: a row whose only change is its flags or keywords is updated
    in place; any other change (a new key) replaces the row; and a row ``was`` wrongly claims
    to be there is still written."""
    st = SyncState(tmp_path / "s.sqlite")
    a = MessageState(1, "k1", "S", frozenset(), 10, "d1", "m1")
    b = MessageState(2, "k2", "", frozenset(), 20, "d2", "m2")
    with st.transaction():
        st.put_many("INBOX", [a, b])
    a2 = a.with_(flags="FS", keywords=frozenset({"todo"}))
    b2 = b.with_(key="k2-renamed", flags="S")
    ghost = MessageState(3, "k3", "S", frozenset(), 30, "d3", "m3")  # "was" says it is there; it is not
    with st.transaction():
        st.put_many("INBOX", [a2, b2, ghost], was={1: a, 2: b, 3: ghost})
    assert st.messages("INBOX") == {1: a2, 2: b2, 3: ghost}
    assert [f for f, _m in st.find_key("k2")] == [] and st.find_key("k2-renamed")[0][1] == b2
    st.close()


def test_a_state_in_a_directory_with_uri_characters_opens_read_only(tmp_path: Path) -> None:
    """The threads that read the state on their own (stamp checks, reading ahead) open it by a
    ``file:`` URI: a directory named with ``%``, ``?`` or ``#`` must still be that directory."""
    import sqlite3

    from pigeon.core.sqlite import read_only_uri

    odd = tmp_path / "100% mail? #1"
    odd.mkdir()
    st = SyncState(odd / "s.sqlite")
    with st.transaction():
        st.put_many("INBOX", [MessageState(1, "k1", "S", frozenset(), 10, "d1", "m1")])
    st.close()
    db = sqlite3.connect(read_only_uri(str(odd / "s.sqlite")), uri=True)
    assert db.execute("SELECT key FROM messages").fetchall() == [("k1",)]
    with pytest.raises(sqlite3.OperationalError):
        db.execute("DELETE FROM messages")
    db.close()
    reader = StateReader(odd / "s.sqlite")  # what those threads open
    assert reader.file_names("INBOX") == {"k1:2,S"} and reader.key_flags("INBOX") == {("k1", "S")}
    reader.close()
    assert not (tmp_path / "100").exists()
