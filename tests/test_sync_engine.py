"""The sync engine against the private Dovecot: after every sync the whole server (folders,
UIDs, flags, keywords, bytes) equals the Maildir, and the state maps one to the other."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sync_support import (
    assert_agree,
    find_local,
    message,
    put_local,
    server_snapshot,
    set_local_flags,
    sync,
)

pytestmark = pytest.mark.dovecot


@pytest.fixture
def box(tmp_path: Path, mail_user):  # noqa: ANN001, ANN201
    """(user, maildir root, state file) for one test."""
    return mail_user, tmp_path / "Mail", tmp_path / "state.sqlite"


def conveyor_log(monkeypatch) -> list[str]:  # noqa: ANN001
    """Every command the gathering's conveyor sends (``Remote.conveyor``), in order, as text."""
    from pigeon.core.sync_remote import Remote

    sent: list[str] = []
    real = Remote.conveyor

    def conveyor(self, first, on_reply):  # noqa: ANN001, ANN202
        def log(commands):  # noqa: ANN001, ANN202
            sent.extend(f"{name} {b' '.join(args).decode()}" for name, args, _f, _c in commands or [])
            return commands

        return real(self, log(first), lambda ctx, reply: log(on_reply(ctx, reply)))

    monkeypatch.setattr(Remote, "conveyor", conveyor)
    return sent


def seed(user, folder: str, n: int, start: int = 0, flags=()) -> list[int]:  # noqa: ANN001
    return [user.append(message(start + i), folder, flags) for i in range(n)]


def server_rename(user, old: str, new: str) -> None:  # noqa: ANN001
    """Another client renames ``old`` to ``new`` on the server (its subfolders go along)."""
    c = user.imap()
    c.rename_folder(old, new)
    c.logout()


def test_initial_sync_then_nothing_to_do(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "INBOX", 5, flags=("\\Seen",))
    seed(user, "Archive", 3, start=100)
    seed(user, "lists/dev", 2, start=200, flags=("\\Flagged", "$Label1"))
    res = sync(user, root, state)
    assert not res.failed and res.report.downloaded == 10
    server = assert_agree(user, root, state)
    assert {"INBOX", "Archive", "lists/dev", "Sent", "Drafts", "Trash"} <= set(server)
    assert (root / "lists" / "dev" / "cur").is_dir()
    # unseen mail lands in new/, read mail in cur/ with its flags
    assert len(os.listdir(root / "Archive" / "new")) == 3
    assert all(n.endswith(":2,S") for n in os.listdir(root / "INBOX" / "cur"))
    again = sync(user, root, state)
    assert again.report == type(res.report)("t")  # nothing at all
    assert again.skipped == len(server)
    assert_agree(user, root, state)


def test_first_sync_of_a_large_folder_goes_chunk_by_chunk(box, monkeypatch) -> None:  # noqa: ANN001
    """The account's first sync streams a big folder (metadata and bodies a chunk at a time,
    so memory stays flat); the result is the same Maildir and state as the planned way."""
    import pigeon.core.sync_gather as sync_mod

    user, root, state = box
    monkeypatch.setattr(sync_mod, "STREAM_MESSAGES", 4)  # "large" = more than 4 messages here
    seed(user, "INBOX", 11, flags=("\\Seen",))
    seed(user, "Archive", 3, start=100, flags=("\\Flagged", "$Label1"))  # small: planned as usual
    res = sync(user, root, state)
    assert not res.failed and res.report.downloaded == 14
    assert_agree(user, root, state)
    user.append(message(50), "INBOX")
    again = sync(user, root, state)
    assert again.report.downloaded == 1 and not again.failed
    assert_agree(user, root, state)


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_a_download_batch_is_made_durable_before_it_is_linked_in(box, monkeypatch, syncfs: bool) -> None:  # noqa: ANN001
    """Batches written by the writer threads are made durable together: with syncfs (Linux
    5.8+ on ext4 and the like, as here) no message file gets an fsync of its own; without it
    every one does, through the writer threads. Either way the Maildir agrees with the server."""
    from pigeon.core import durable

    if not syncfs:
        monkeypatch.setattr(durable, "_syncfs", False)
    fsynced: list[str] = []
    real = durable.fsync_path

    def spy(path):  # noqa: ANN001, ANN202 - the real fsync, counted
        fsynced.append(str(path))
        real(path)

    monkeypatch.setattr(durable, "fsync_path", spy)
    user, root, state = box
    seed(user, "INBOX", 30, flags=("\\Seen",))
    res = sync(user, root, state, batch_bytes=4000)  # batches of about ten messages
    assert not res.failed and res.report.downloaded == 30
    in_tmp = [p for p in fsynced if Path(p).parent.name == "tmp"]  # message files, not directories
    assert len(in_tmp) == (0 if syncfs else 30), fsynced
    assert_agree(user, root, state)


def test_local_changes_go_up(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "INBOX", 6)
    sync(user, root, state)
    set_local_flags(find_local(root, "INBOX", b"Hello 0."), "FS")  # read + flagged
    find_local(root, "INBOX", b"Hello 1.").unlink()  # deleted
    moved = find_local(root, "INBOX", b"Hello 2.")
    os.rename(moved, root / "Trash" / "new" / moved.name)  # moved by mutt (same name)
    put_local(root, "Sent", message(50), "S")  # a sent copy
    (root / "Projects" / "cur").mkdir(parents=True)  # a new folder, made by hand
    for sub in ("new", "tmp"):
        (root / "Projects" / sub).mkdir()
    put_local(root, "Projects", message(60))
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.uploaded, r.flags_up, r.deleted_remote, r.moved, r.downloaded) == (2, 1, 1, 1, 0)
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report.downloaded == again.report.uploaded == 0 and not again.report.moved


def test_server_changes_come_down(box) -> None:  # noqa: ANN001
    user, root, state = box
    uids = seed(user, "INBOX", 6)
    sync(user, root, state)
    moved_before = find_local(root, "INBOX", b"Hello 3.")
    inode = moved_before.stat().st_ino
    c = user.imap()
    c.create_folder("Archive")
    c.select_folder("INBOX")
    c.add_flags([uids[0]], ["\\Seen", "\\Answered"])
    c.add_flags([uids[1]], ["work"])  # a keyword
    c.delete_messages([uids[2]])
    c.expunge()
    c.move([uids[3]], "Archive")
    c.logout()
    user.append(message(99), "INBOX")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.downloaded, r.flags_down, r.deleted_local, r.moved) == (1, 1, 1, 1)
    assert_agree(user, root, state)
    # the moved message was renamed across, not downloaded again
    moved_after = find_local(root, "Archive", b"Hello 3.")
    assert moved_after.stat().st_ino == inode
    assert not moved_before.exists()
    assert list((root / "INBOX" / "tmp").iterdir()) == []  # the new message, written early, was linked in


def test_server_changes_in_many_folders_come_down_together(box, monkeypatch) -> None:  # noqa: ANN001
    """Several folders changed on the server (the pipelined gathering: every folder's EXAMINE
    and FETCH sent at once), with a prefetch budget too small for every new body, a message
    moved between two of them, and a local change alongside: all agree after one sync."""
    import pigeon.core.sync_gather as gather_mod

    user, root, state = box
    monkeypatch.setattr(gather_mod, "PREFETCH_BYTES", 600)  # some new bodies wait for the executor
    folders = ("INBOX", "Archive", "lists/dev")
    uids = {f: seed(user, f, 4, start=10 * i, flags=("\\Seen",)) for i, f in enumerate(folders)}
    sync(user, root, state)
    c = user.imap()
    for f in folders:
        c.select_folder(f)
        c.add_flags([uids[f][0]], ["\\Flagged", "todo"])
        c.delete_messages([uids[f][1]])
        c.expunge()
    c.select_folder("Archive")
    c.move([uids["Archive"][2]], "lists/dev")  # vanished here, new there: a move
    c.logout()
    for i, f in enumerate(folders):
        for j in range(3):
            user.append(message(100 + 10 * i + j, size=200 * j), f)
    set_local_flags(find_local(root, "INBOX", b"Hello 3."), "RS")  # a local change too
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.downloaded, r.flags_down, r.deleted_local, r.moved, r.flags_up) == (9, 3, 3, 1, 1)
    assert_agree(user, root, state)
    assert [p for f in folders for p in (root / f / "tmp").iterdir()] == []  # nothing staged is left
    again = sync(user, root, state)
    assert again.report == type(r)("t") and not again.failed


def test_new_mail_of_many_folders_comes_in_the_folders_own_examine(box, monkeypatch) -> None:  # noqa: ANN001
    """New mail in several folders: each folder is examined once; its new bodies are asked
    for as soon as their sizes are known, before the next folder is examined, as far as the
    prefetch budget goes, and the rest wait for the executor. Every file holds the server's
    exact bytes."""
    import pigeon.core.sync_gather as gather_mod
    from pigeon.core.sync_remote import parse_uid_set

    user, root, state = box
    monkeypatch.setattr(gather_mod, "PREFETCH_BYTES", 1000)  # room for a few of the six new bodies
    folders = ("INBOX", "Archive", "lists/dev")
    for i, f in enumerate(folders):
        seed(user, f, 2, start=10 * i, flags=("\\Seen",))
    sync(user, root, state)
    c = user.imap()
    c.select_folder("Archive")
    c.add_flags([c.search("ALL")[0]], ["\\Flagged"])  # a folder changed without new mail
    c.logout()
    for i, f in enumerate(("INBOX", "lists/dev")):
        for j in range(3):
            user.append(message(100 + 10 * i + j, size=200 * j), f)  # ~250, ~450, ~650 bytes
    sent = conveyor_log(monkeypatch)
    res = sync(user, root, state)
    assert not res.failed and res.report.downloaded == 6 and res.report.flags_down == 1
    examined = [s.split()[1] for s in sent if s.startswith("EXAMINE")]
    assert len(examined) == len(set(examined)) == 3  # each folder once: no second EXAMINE for bodies
    bodies = [i for i, s in enumerate(sent) if s.endswith("(UID BODY.PEEK[])")]
    assert len(bodies) == 2  # the two folders with new mail...
    for i in bodies:  # ... each asked for its bodies right after its metadata answer
        assert sent[i - 1].startswith("UID FETCH") and "RFC822.SIZE" in sent[i - 1]
    early = sum(len(parse_uid_set(sent[i].split()[2])) for i in bodies)
    assert 0 < early < 6  # within the budget; the rest came through the executor
    assert_agree(user, root, state)
    assert [p for f in folders for p in (root / f / "tmp").iterdir()] == []

def test_on_a_slow_network_every_folder_goes_in_one_flight(box, monkeypatch) -> None:  # noqa: ANN001
    """With a round trip longer than examining a folder again (``Remote.rtt``, measured at
    ENABLE), the gathering does not chain the folders with new mail: every EXAMINE and
    metadata FETCH goes at once, and each folder's bodies follow with an EXAMINE of their own.
    A move between two of them, deletions and flags come out as on a fast link."""
    from pigeon.core.sync_remote import Remote

    user, root, state = box
    folders = ("INBOX", "Archive", "lists/dev")
    uids = {f: seed(user, f, 3, start=10 * i, flags=("\\Seen",)) for i, f in enumerate(folders)}
    sync(user, root, state)
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags([uids["INBOX"][0]], ["\\Flagged"])
    c.delete_messages([uids["INBOX"][1]])
    c.expunge()
    c.select_folder("Archive")
    c.move([uids["Archive"][2]], "lists/dev")  # vanished here, new there: a move
    c.logout()
    for i, f in enumerate(folders):
        for j in range(2):
            user.append(message(100 + 10 * i + j, size=300 * j), f)
    real_list = Remote.enable_and_list

    def enable_and_list(self):  # noqa: ANN001, ANN202
        folders = real_list(self)
        self.rtt = 0.05  # as 50 ms away
        return folders

    monkeypatch.setattr(Remote, "enable_and_list", enable_and_list)
    sent = conveyor_log(monkeypatch)
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.downloaded, r.flags_down, r.deleted_local, r.moved) == (6, 1, 1, 1)
    bodies = [i for i, s in enumerate(sent) if s.endswith("(UID BODY.PEEK[])")]
    assert len(bodies) == 3
    first_flight = [s.split()[1] for s in sent[: bodies[0] - 1] if s.startswith("EXAMINE")]
    assert len(first_flight) == 3 and all("QRESYNC" in s for s in sent[: bodies[0] - 1] if s.startswith("EXAMINE"))
    for i in bodies:  # each folder's bodies right after that folder is examined again
        assert sent[i - 1].startswith("EXAMINE") and "QRESYNC" not in sent[i - 1]
    assert_agree(user, root, state)
    assert [p for f in folders for p in (root / f / "tmp").iterdir()] == []


def test_a_message_moved_on_the_server_is_renamed_not_written_though_fetched_early(box) -> None:  # noqa: ANN001
    """New mail fetched early is written to tmp/ while the download goes on; one that the plan
    finds to be a move (same message, vanished from another folder) is renamed across
    instead, and its early copy leaves no file behind."""
    user, root, state = box
    uids = seed(user, "INBOX", 3)
    seed(user, "Archive", 2, start=50)
    sync(user, root, state)
    before = find_local(root, "INBOX", b"Hello 1.")
    inode = before.stat().st_ino
    c = user.imap()
    c.select_folder("INBOX")
    c.move([uids[1]], "Archive")
    c.logout()
    user.append(message(70), "INBOX")
    user.append(message(71), "Archive")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert (res.report.moved, res.report.downloaded) == (1, 2)
    assert find_local(root, "Archive", b"Hello 1.").stat().st_ino == inode  # the same file, renamed
    assert not before.exists()
    assert_agree(user, root, state)
    assert [p for f in ("INBOX", "Archive") for p in (root / f / "tmp").iterdir()] == []


def test_deleted_here_but_changed_there_is_kept(box) -> None:  # noqa: ANN001
    user, root, state = box
    uids = seed(user, "INBOX", 3)
    sync(user, root, state)
    find_local(root, "INBOX", b"Hello 0.").unlink()
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags([uids[0]], ["\\Flagged"])
    c.delete_messages([uids[1]])
    c.expunge()
    c.logout()
    set_local_flags(find_local(root, "INBOX", b"Hello 1."), "RS")  # changed here, deleted there
    res = sync(user, root, state)
    assert not res.failed
    assert any("kept" in n for n in res.plan.folders["INBOX"].notes)
    server = assert_agree(user, root, state)
    bodies = [d for _, _, d in server["INBOX"].values()]
    assert any(b"Hello 0." in d for d in bodies) and any(b"Hello 1." in d for d in bodies)


def test_dry_run_changes_nothing(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "INBOX", 2)
    sync(user, root, state)
    put_local(root, "INBOX", message(7))
    user.append(message(8), "INBOX")
    res = sync(user, root, state, dry_run=True)
    text = "\n".join(res.plan.describe())
    assert "download UID 3" in text and "upload" in text
    assert res.report.downloaded == 0
    assert len(os.listdir(root / "INBOX" / "new")) + len(os.listdir(root / "INBOX" / "cur")) == 3
    assert len(user.fetch_all("INBOX")) == 3
    sync(user, root, state)
    assert_agree(user, root, state)


def test_mass_deletion_guard_and_force(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "Archive", 24)
    sync(user, root, state)
    for sub in ("cur", "new"):
        for n in os.listdir(root / "Archive" / sub):
            os.unlink(root / "Archive" / sub / n)
    res = sync(user, root, state)
    assert "Archive" in res.failed and "--force" in res.failed["Archive"]
    assert len(user.fetch_all("Archive")) == 24  # nothing deleted
    res = sync(user, root, state)  # still stopped the next time
    assert "Archive" in res.failed
    res = sync(user, root, state, force=True)
    assert not res.failed and res.report.deleted_remote == 24
    assert user.fetch_all("Archive") == {}
    assert_agree(user, root, state)


def test_uidvalidity_reset_recovers_by_content(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "Work", 5)
    sync(user, root, state)
    before = {p.name for p in (root / "Work" / "new").iterdir()}
    c = user.imap()
    c.rename_folder("Work", "Work-old")
    c.create_folder("Work")
    c.select_folder("Work-old")
    c.copy(c.search("ALL"), "Work")
    c.close_folder()
    c.delete_folder("Work-old")
    c.logout()
    user.append(message(77), "Work")  # and one really new message
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert any("UIDVALIDITY changed" in n for n in res.notes)
    assert res.report.downloaded == 1 and res.report.uploaded == 0
    assert res.report.deleted_local == res.report.deleted_remote == 0
    assert before <= {p.name for p in (root / "Work" / "new").iterdir()}  # the same files
    assert_agree(user, root, state)


def test_after_a_uidvalidity_reset_later_changes_land_on_the_right_files(box) -> None:  # noqa: ANN001
    """A server that renumbers a folder (here: recreated without its first two messages, so
    every UID shifts) is matched by content, and the state forgets the old numbering: a flag
    set or a message expunged on the server afterwards reaches the file of that message, not
    the one that had its UID before (which deleted the wrong mail locally, and then on the
    server)."""
    user, root, state = box
    seed(user, "Work", 8)
    sync(user, root, state)
    c = user.imap()
    c.rename_folder("Work", "Work-old")
    c.create_folder("Work")
    c.select_folder("Work-old")
    c.copy(c.search("ALL")[2:], "Work")  # messages 2..7 get UIDs 1..6
    c.close_folder()
    c.delete_folder("Work-old")
    c.logout()
    res = sync(user, root, state)
    assert not res.failed and any("UIDVALIDITY changed" in n for n in res.notes)
    assert (res.report.uploaded, res.report.downloaded) == (2, 0)  # 0 and 1 exist only here now
    assert_agree(user, root, state)
    c = user.imap()
    c.select_folder("Work")
    by_subject = {c.fetch([u], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[u][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip(): u
                  for u in c.search("ALL")}
    c.add_flags([by_subject[b"Subject: message 2"]], ["\\Flagged"])
    c.delete_messages([by_subject[b"Subject: message 3"]])
    c.expunge()
    c.logout()
    res = sync(user, root, state)
    r = res.report
    assert (r.flags_down, r.deleted_local, r.deleted_remote, r.uploaded, r.downloaded) == (1, 1, 0, 0, 0), r
    assert find_local(root, "Work", b"Hello 2.").name.endswith(":2,F")
    assert_agree(user, root, state)
    assert not [p for p in (root / "Work").rglob("*") if p.is_file() and b"Hello 3." in p.read_bytes()]


def test_after_a_uidvalidity_reset_messages_without_message_id_are_not_paired_by_old_numbers(box) -> None:  # noqa: ANN001
    """File names carry the old UIDs: after a reset they must not pair a file with whatever
    message now has that number (same size, no Message-ID to tell them apart). Such messages
    are matched by their bytes instead: nothing is copied twice, nothing is mixed up."""
    user, root, state = box
    for n in range(4):  # same size, no Message-ID
        user.append(f"Subject: note {n}\r\n\r\nbody {n}\r\n".encode(), "Work")
    sync(user, root, state)
    c = user.imap()
    c.rename_folder("Work", "Work-old")
    c.create_folder("Work")
    c.select_folder("Work-old")
    uids = c.search("ALL")
    c.copy(uids[1:], "Work")  # notes 1..3 get UIDs 1..2..3
    c.copy(uids[:1], "Work")  # note 0 gets UID 4
    c.close_folder()
    c.delete_folder("Work-old")
    c.logout()
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert_agree(user, root, state)  # every state row names the file with that UID's bytes
    assert len(list((root / "Work" / "new").iterdir())) == 4


def test_interrupted_download_completes_without_duplicates(box) -> None:  # noqa: ANN001
    """A file written whose state row was never committed is paired, not copied."""
    from pigeon.core.sync_state import SyncState

    user, root, state = box
    seed(user, "INBOX", 4)
    sync(user, root, state)
    with SyncState(state) as st:  # forget two rows and the folder's marks, as after a crash
        st.remove_many("INBOX", [3, 4])
        st.update_folder("INBOX", highestmodseq=1, local_stamp=None)
    res = sync(user, root, state)
    assert not res.failed
    assert res.report.downloaded == 0 and res.report.uploaded == 0
    assert_agree(user, root, state)


def test_folder_selection(box) -> None:  # noqa: ANN001
    user, root, state = box
    seed(user, "INBOX", 2)
    seed(user, "Archive", 2, start=10)
    res = sync(user, root, state, folders=["Archive"])
    assert not res.failed and res.report.downloaded == 2
    assert not any((root / "INBOX" / sub).exists() and os.listdir(root / "INBOX" / sub) for sub in ("cur", "new"))
    res = sync(user, root, state)
    assert res.report.downloaded == 2
    assert_agree(user, root, state)


def test_quick_answer_reading_equals_the_general_parser(box, monkeypatch) -> None:  # noqa: ANN001
    """The regular-expression readers of FETCH answers (flags, sizes, Message-IDs) give what
    imapclient's general parser gives, on the server's own answers."""
    from pigeon.core import sync_answers
    from pigeon.core.sync_remote import Remote
    from sync_support import session

    user, _root, _state = box
    seed(user, "INBOX", 4, flags=("\\Seen", "$Label1"))
    user.append(b"Subject: no id\r\n\r\nbody\r\n", "INBOX")  # no Message-ID at all
    s = session(user)
    try:
        r = Remote(s)
        r.enable_and_list()
        sel = r.select("INBOX", known=None, readonly=True)
        asks = {False: b"(UID FLAGS RFC822.SIZE)", True: b"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"}
        quick = {}
        for ids, items in asks.items():
            _, untagged = r._run(b"FETCH", [b"1:*", items], uid=True)
            quick[ids] = sync_answers.meta_from(untagged, ids)
        flags_quick = sync_answers.flags_from([b"1 (UID 1 FLAGS (\\Seen $Label1) MODSEQ (4))"])
        monkeypatch.setattr(sync_answers, "_ids_fast", lambda lines: None)
        monkeypatch.setattr(sync_answers, "_flags_fast", lambda lines, size=False: None)
        for ids, items in asks.items():
            _, untagged = r._run(b"FETCH", [b"1:*", items], uid=True)
            assert sync_answers.meta_from(untagged, ids) == quick[ids]
        assert sync_answers.flags_from([b"1 (UID 1 FLAGS (\\Seen $Label1) MODSEQ (4))"]) == flags_quick
        assert len(quick[True]) == sel.exists == 5
        assert sum(1 for m in quick[True].values() if m.msgid is None) == 1
        _, untagged = r._run(b"FETCH", [b"1:*", b"(UID BODY.PEEK[])"], uid=True)
        bodies = dict(sync_answers.bodies_from(untagged))
        assert len(bodies) == 5 and list(bodies.items()) == sync_answers.bodies_slow(untagged["FETCH"])
    finally:
        s.logout()


def test_a_file_added_right_after_a_sync_goes_up_with_the_next(box) -> None:  # noqa: ANN001
    """The stamp a sync leaves on a folder it changed must not hide a file another tool
    delivers a moment later (in the same clock tick, where the clock is coarse)."""
    user, root, state = box
    seed(user, "INBOX", 2)
    sync(user, root, state)
    for n in range(3):
        user.append(message(300 + n), "INBOX")  # the next sync writes into INBOX, then stamps it
        res = sync(user, root, state)
        assert res.report.downloaded == 1
        put_local(root, "INBOX", message(400 + n), "S")  # at once, like mutt saving a copy
        res = sync(user, root, state)
        assert res.report.uploaded == 1, (n, res.report)
        assert_agree(user, root, state)


def test_a_change_hidden_behind_the_stamp_is_found_by_the_next_check(box) -> None:  # noqa: ANN001
    """A sync that changed a folder leaves its stamp unverified; the next sync lists the folder
    once (while it waits for the server) before trusting it. A flag another tool set in the
    same clock tick as pigeon's last change, which left the folder's mtime as recorded, is
    found that way and goes up; with nothing hidden, the folder is skipped from then on."""
    from pigeon.core.sync_stamps import UNVERIFIED
    from pigeon.core.sync_state import SyncState

    user, root, state = box
    seed(user, "INBOX", 3)
    sync(user, root, state)
    user.append(message(10), "INBOX")
    assert sync(user, root, state).report.downloaded == 1
    with SyncState(state) as st:
        assert st.folder("INBOX").local_stamp.startswith(UNVERIFIED)
    subdirs = [root / "INBOX" / sub for sub in ("cur", "new")]
    before = [os.stat(d) for d in subdirs]
    set_local_flags(find_local(root, "INBOX", b"Hello 1."), "F")  # mutt, in the same tick
    for d, st in zip(subdirs, before, strict=True):
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
    res = sync(user, root, state)
    assert res.report.flags_up == 1
    assert_agree(user, root, state)
    again = sync(user, root, state)  # checks the stamp the last sync left: as recorded
    assert again.skipped >= 1 and again.report == type(res.report)("t")
    with SyncState(state) as st:
        assert not st.folder("INBOX").local_stamp.startswith(UNVERIFIED)


def test_files_left_in_tmp_go_once_36_hours_old(box) -> None:  # noqa: ANN001
    """A sync killed while writing leaves files in tmp/ (no reader sees them); a later sync
    of that folder removes those older than 36 hours, as the Maildir spec advises, and
    leaves a delivery in progress alone."""
    import time

    user, root, state = box
    seed(user, "INBOX", 1)
    sync(user, root, state)
    old, fresh = root / "INBOX" / "tmp" / "1.left-by-a-crash", root / "INBOX" / "tmp" / "2.being-delivered"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    past = time.time() - 37 * 3600
    os.utime(old, (past, past))
    user.append(message(5), "INBOX")
    assert sync(user, root, state).report.downloaded == 1
    assert not old.exists() and fresh.exists()


def test_progress_never_counts_past_what_it_announced(box) -> None:  # noqa: ANN001
    """Downloads and uploads of one folder are shown as two transfers, each with its own
    totals: the terminal never reads "1576/1126 messages"."""
    from pigeon.core.maildir import Maildir
    from pigeon.core.sync import Progress, SyncEngine
    from pigeon.core.sync_remote import Remote
    from pigeon.core.sync_state import SyncState
    from sync_support import session

    class Recorder(Progress):
        def __init__(self) -> None:
            self.shown: list[tuple[str, int, int, int, int]] = []  # name, done, total, bytes, total bytes

        def folder(self, name: str, messages: int, nbytes: int) -> None:
            self.shown.append((name, 0, messages, 0, nbytes))

        def advance(self, name: str, messages: int, nbytes: int) -> None:
            n, done, total, got, size = self.shown[-1]
            assert n == name
            self.shown.append((name, done + messages, total, got + nbytes, size))

    user, root, state = box
    seed(user, "INBOX", 2)
    sync(user, root, state)
    for i in range(3):
        user.append(message(200 + i, size=400), "INBOX")
        put_local(root, "INBOX", message(300 + i, size=400), "S")
    rec = Recorder()
    s = session(user)
    try:
        with SyncState(state) as st:
            res = SyncEngine(Maildir(root), st, Remote(s), account="t", progress=rec).run()
    finally:
        s.logout()
    assert (res.report.downloaded, res.report.uploaded) == (3, 3)
    names = {n for n, *_ in rec.shown}
    assert names == {"INBOX", "INBOX (up)"}
    for _n, done, total, got, size in rec.shown:
        assert done <= total and (size == 0 or got <= size), rec.shown
    assert {(n, d) for n, d, t, *_ in rec.shown if d == t and d} == {("INBOX", 3), ("INBOX (up)", 3)}


def test_a_lost_state_is_rebuilt_by_content_and_later_changes_land(box) -> None:  # noqa: ANN001
    """Deleting the state is safe: the next sync pairs the Maildir with the server by content
    (taking the union of flags changed meanwhile on either side), and the sync after it applies
    the server's changes to the right files."""
    user, root, state = box
    uids = seed(user, "INBOX", 6)
    sync(user, root, state)
    set_local_flags(find_local(root, "INBOX", b"Hello 1."), "F")
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags([uids[2]], ["\\Seen"])
    c.logout()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{state}{suffix}"):
            os.unlink(f"{state}{suffix}")
    res = sync(user, root, state)
    assert (res.report.downloaded, res.report.uploaded, res.report.deleted_local, res.report.deleted_remote) == (0, 0, 0, 0)
    assert_agree(user, root, state)
    assert find_local(root, "INBOX", b"Hello 2.").name.endswith(":2,S")
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags([uids[4]], ["\\Flagged"])
    c.delete_messages([uids[5]])
    c.expunge()
    c.logout()
    r = sync(user, root, state).report
    assert (r.flags_down, r.deleted_local, r.deleted_remote) == (1, 1, 0), r
    assert find_local(root, "INBOX", b"Hello 4.").name.endswith(":2,F")
    assert_agree(user, root, state)


def test_moved_here_by_another_tool_while_flagged_on_the_server(box) -> None:  # noqa: ANN001
    """mutt moves a message to Archive while another client flags it in INBOX: the move goes
    up and the flag comes down onto the moved file (it was left off when the file had no
    flags, and the next sync then took the flag off on the server too)."""
    user, root, state = box
    uids = seed(user, "INBOX", 4)
    seed(user, "Archive", 1, start=50)
    sync(user, root, state)
    p = find_local(root, "INBOX", b"Hello 1.")
    os.rename(p, root / "Archive" / "cur" / f"{p.name.split(':2,')[0]}:2,")
    c = user.imap()
    c.select_folder("INBOX")
    c.add_flags([uids[1]], ["\\Flagged"])
    c.logout()
    res = sync(user, root, state)
    assert not res.failed and res.report.moved == 1
    assert find_local(root, "Archive", b"Hello 1.").name.endswith(":2,F")
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report == type(again.report)("t"), again.report


def test_moved_there_on_the_server_while_flagged_here(box) -> None:  # noqa: ANN001
    """The other way round: the server moves a message that was just flagged here; the file
    follows the move and the flag goes up to the message in its new folder."""
    user, root, state = box
    uids = seed(user, "INBOX", 4)
    seed(user, "Archive", 1, start=50)
    sync(user, root, state)
    set_local_flags(find_local(root, "INBOX", b"Hello 2."), "F")
    c = user.imap()
    c.select_folder("INBOX")
    c.move([uids[2]], "Archive")
    c.logout()
    res = sync(user, root, state)
    assert not res.failed and res.report.moved == 1 and res.report.downloaded == 0
    assert find_local(root, "Archive", b"Hello 2.").name.endswith(":2,F")
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report == type(again.report)("t"), again.report


def test_a_staged_file_that_cannot_be_linked_is_written_again(box, monkeypatch) -> None:  # noqa: ANN001
    """Linking a staged download into cur/ or new/ can fail (a full or broken directory): the
    message is then written the usual way, whose failure would be the folder's alone; here
    the second try works, and no staged file is left behind."""
    import pigeon.core.sync_files as files

    user, root, state = box
    seed(user, "INBOX", 1)
    seed(user, "Archive", 1, start=10)
    sync(user, root, state)
    user.append(message(20), "INBOX")
    user.append(message(21), "Archive")
    real, failed = files.place_staged, []

    def place_once(fdir, staged, flags):  # noqa: ANN001, ANN202
        if not failed:
            failed.append(staged.key)
            raise OSError(28, "No space left on device")
        return real(fdir, staged, flags)

    monkeypatch.setattr(files, "place_staged", place_once)
    res = sync(user, root, state)
    assert failed and not res.failed and res.report.downloaded == 2
    assert_agree(user, root, state)
    assert [p for f in ("INBOX", "Archive") for p in (root / f / "tmp").iterdir()] == []


def copy_away(user, src: str, dst: str, skip: int = 0) -> None:  # noqa: ANN001
    """What some clients do for a rename: copy the messages (but the first ``skip``) to a new
    folder, then delete the old one. New UIDs, a new UIDVALIDITY."""
    c = user.imap()
    c.create_folder(dst)
    c.select_folder(src)
    c.copy(c.search("ALL")[skip:], dst)
    c.close_folder()
    c.delete_folder(src)
    c.logout()


def test_a_folder_copied_away_on_the_server_is_moved_here_not_downloaded_again(box) -> None:  # noqa: ANN001
    """Another client "renames" Projects by copying its messages to Work/Projects and deleting
    it (new UIDs, a new UIDVALIDITY: nothing says it is the same folder). The messages follow
    as moves (the same files, renamed across), not as downloads beside the old copies. What
    the old folder holds that the new one lacks (a message written here since, one whose server
    copy was deleted first) stays in the old folder, which is kept and reported."""
    user, root, state = box
    seed(user, "Projects", 4, flags=("\\Seen",))
    seed(user, "INBOX", 1, start=50)
    sync(user, root, state)
    inodes = {p.stat().st_ino for p in (root / "Projects" / "cur").iterdir()}
    put_local(root, "Projects", message(60), "S")  # written here after the last sync
    copy_away(user, "Projects", "Work/Projects", skip=1)  # "Hello 0." does not go along
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.moved, r.downloaded, r.deleted_local, r.deleted_remote) == (3, 0, 0, 0), r
    assert any("Projects: gone from the server" in n for n in res.notes)
    moved = {p.stat().st_ino for p in (root / "Work" / "Projects" / "cur").iterdir()}
    assert len(moved) == 3 and moved <= inodes  # the same files, renamed across
    left = sorted(p.read_bytes().split(b"\n\n")[1].strip() for p in (root / "Projects" / "cur").iterdir())
    assert left == [b"Hello 0.", b"Hello 60."]  # kept here, nothing lost
    assert_agree(user, root, state, ignore=("Projects",))
    again = sync(user, root, state)
    assert (again.report.moved, again.report.downloaded, again.report.uploaded) == (0, 0, 0), again.report


def test_a_folder_copied_away_on_the_server_leaves_no_empty_folder_here(box) -> None:  # noqa: ANN001
    """Projects copied to Work and deleted on the server, nothing else changed: every message
    moves across, and the old local folder, empty then, goes too (as on the server) and is
    forgotten. A dry run first says so and removes nothing."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    seed(user, "INBOX", 1, start=50)
    sync(user, root, state)
    copy_away(user, "Projects", "Work")
    dry = sync(user, root, state, dry_run=True)
    assert "Projects: gone from the server and empty here; would be removed" in dry.notes, dry.notes
    assert (root / "Projects" / "cur").is_dir()
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert (res.report.moved, res.report.downloaded) == (3, 0), res.report
    assert "Projects: gone from the server and empty here; removed" in res.notes, res.notes
    assert not (root / "Projects").exists()
    assert len(list((root / "Work" / "cur").iterdir())) == 3
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert not any("Projects" in n for n in again.notes), again.notes
    assert again.report == type(again.report)("t"), again.report


def test_a_folder_renamed_on_the_server_is_renamed_here(box) -> None:  # noqa: ANN001
    """Another client renames Projects (and its subfolder) to Work/Projects: the server keeps
    the UIDVALIDITY and the UIDs, so once a sample of them checks out, the local folder is
    renamed too, as one directory: nothing moved file by file, nothing downloaded. A message
    deleted on the server before the rename goes here as any deletion would; one written here
    meanwhile goes up into the renamed folder. A dry run first says so and changes nothing."""
    user, root, state = box
    seed(user, "Projects", 4, flags=("\\Seen",))
    seed(user, "Projects/old", 2, start=20)
    seed(user, "INBOX", 1, start=50)
    sync(user, root, state)
    inodes = {p.stat().st_ino for p in (root / "Projects" / "cur").iterdir()}
    put_local(root, "Projects", message(60), "S")  # written here after the last sync
    c = user.imap()
    c.select_folder("Projects")
    c.delete_messages(c.search("ALL")[:1])  # "Hello 0." is deleted there first
    c.expunge()
    c.close_folder()
    c.rename_folder("Projects", "Work/Projects")
    c.logout()
    dry = sync(user, root, state, dry_run=True)
    assert "Projects: renamed on the server to Work/Projects; would be renamed here" in dry.notes, dry.notes
    assert (root / "Projects" / "cur").is_dir() and not (root / "Work").exists()
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert "Projects: renamed on the server to Work/Projects; renamed here too" in res.notes, res.notes
    r = res.report
    assert (r.moved, r.downloaded, r.deleted_local, r.uploaded) == (0, 0, 1, 1), r
    assert not (root / "Projects").exists()
    kept = {p.stat().st_ino for p in (root / "Work" / "Projects" / "cur").iterdir()}
    assert len(inodes & kept) == 3  # the same files, in the renamed directory
    assert len(list((root / "Work" / "Projects" / "old" / "new").iterdir())) == 2
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report == type(again.report)("t"), again.report
    assert not again.notes, again.notes


def test_a_parent_renamed_on_the_server_leaves_no_empty_directory_here(box) -> None:  # noqa: ANN001
    """lists/dev and lists/announce renamed with their parent (a plain directory, no folder of
    its own): both are renamed here, and the empty lists/ goes too."""
    user, root, state = box
    seed(user, "lists/dev", 2)
    seed(user, "lists/announce", 1, start=10)
    sync(user, root, state)
    server_rename(user, "lists", "Groups")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert {"lists/announce: renamed on the server to Groups/announce; renamed here too",
            "lists/dev: renamed on the server to Groups/dev; renamed here too"} <= set(res.notes), res.notes
    assert not (root / "lists").exists()
    assert_agree(user, root, state)


def _renamed_on_both_sides(user, root: Path, state: Path, written_here: str) -> None:  # noqa: ANN001
    """Projects renamed here to Mine (then a message written to ``written_here``) and on the
    server to Work: the dry run says what it would do and changes nothing; the sync renames
    Mine to Work here and uploads only the message written here; a second has nothing to do."""
    (root / "Projects").rename(root / "Mine")
    put_local(root, written_here, message(60), "S")
    server_rename(user, "Projects", "Work")
    dry = sync(user, root, state, dry_run=True)
    assert "Projects: renamed here to Mine and on the server to Work; Mine would be renamed to Work here" in dry.notes, dry.notes
    assert (root / "Mine").is_dir() and not (root / "Work").exists()
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert "Projects: renamed here to Mine and on the server to Work; Mine renamed to Work here" in res.notes, res.notes
    r = res.report
    assert (r.downloaded, r.uploaded, r.moved, r.deleted_local, r.deleted_remote) == (0, 1, 0, 0, 0), r
    assert not (root / "Mine").exists()
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report == type(again.report)("t") and not again.notes, (again.report, again.notes)


def test_a_folder_renamed_on_both_sides_takes_the_servers_name(box) -> None:  # noqa: ANN001
    """mv Mail/Projects Mail/Mine here while another client renamed Projects to Work: the
    server's name wins (every other client sees it), the local folder is renamed to it, the
    same files, and a message written here meanwhile goes up. Before, both were kept and each
    copied to the other side. A dry run says so and changes nothing."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    sync(user, root, state)
    inodes = {p.stat().st_ino for p in (root / "Projects" / "cur").iterdir()}
    _renamed_on_both_sides(user, root, state, "Mine")
    assert inodes <= {p.stat().st_ino for p in (root / "Work" / "cur").iterdir()}
    assert sorted(server_snapshot(user)) == ["Drafts", "INBOX", "Sent", "Trash", "Work"]


def test_a_folder_with_subfolders_renamed_on_both_sides_takes_the_servers_name(box) -> None:  # noqa: ANN001
    """The same with a subfolder, which both renames took along (Projects/old became Mine/old
    here and Work/old there): the whole tree is renamed to the server's names, the same files,
    nothing downloaded or uploaded twice. A subfolder made here since goes along and up. Before,
    both trees were kept and each copied to the other side."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    seed(user, "Projects/old", 2, start=20, flags=("\\Seen",))
    sync(user, root, state)
    inodes = {p.stat().st_ino for p in (root / "Projects" / "old" / "cur").iterdir()}
    _renamed_on_both_sides(user, root, state, "Mine/later")
    assert inodes == {p.stat().st_ino for p in (root / "Work" / "old" / "cur").iterdir()}
    assert sorted(server_snapshot(user)) == ["Drafts", "INBOX", "Sent", "Trash", "Work", "Work/later", "Work/old"]


def test_a_subfolder_left_behind_here_keeps_the_tree_from_being_renamed_whole(box) -> None:  # noqa: ANN001
    """Projects renamed to Work on the server (its subfolder along), and here to Mine with the
    subfolder moved back to Projects/old: the trees differ, so Mine is not renamed whole but
    kept beside Work, as for any rename short of exact. Nothing is lost."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    seed(user, "Projects/old", 2, start=20, flags=("\\Seen",))
    sync(user, root, state)
    (root / "Projects").rename(root / "Mine")
    (root / "Projects").mkdir()
    (root / "Mine" / "old").rename(root / "Projects" / "old")
    server_rename(user, "Projects", "Work")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert not any("Mine renamed to Work" in n for n in res.notes), res.notes
    snap = server_snapshot(user)
    assert len({body for rows in snap.values() for _letters, _kws, body in rows.values()}) == 5, sorted(snap)
    assert len(snap["Mine"]) == len(snap["Work"]) == 3 and len(snap["Work/old"]) == 2, sorted(snap)
    assert_agree(user, root, state)


def test_a_rename_on_the_server_that_does_not_check_out_is_followed_message_by_message(box) -> None:  # noqa: ANN001
    """The same UIDVALIDITY is no proof: when the sample of UIDs does not hold the messages
    the state knows (here the state is altered so that sizes differ, as for a coincidence),
    the local folder is not renamed, and the usual pass makes both sides agree."""
    from pigeon.core.sync_state import SyncState

    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    sync(user, root, state)
    with SyncState(state) as st:
        st.db.execute("UPDATE messages SET size = size + 1 WHERE folder = 'Projects'")
    server_rename(user, "Projects", "Work")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert not any("renamed here too" in n for n in res.notes), res.notes
    assert (root / "Work" / "cur").is_dir() or (root / "Work" / "new").is_dir()
    assert_agree(user, root, state, ignore=("Projects",))


def test_an_empty_folder_deleted_on_the_server_goes_here_but_one_with_a_file_stays(box) -> None:  # noqa: ANN001
    """Two folders deleted on the server: the one empty here is removed here too; the other
    holds a message written here since the last sync (which the state does not know), so it
    is kept with it, and said to be."""
    user, root, state = box
    seed(user, "INBOX", 1)
    c = user.imap()
    c.create_folder("Empty")
    c.create_folder("Notes")
    c.logout()
    sync(user, root, state)
    assert (root / "Empty" / "cur").is_dir() and (root / "Notes" / "cur").is_dir()
    put_local(root, "Notes", message(70), "S")
    c = user.imap()
    c.delete_folder("Empty")
    c.delete_folder("Notes")
    c.logout()
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert not (root / "Empty").exists()
    assert "Empty: gone from the server and empty here; removed" in res.notes, res.notes
    assert len(list((root / "Notes" / "cur").iterdir())) == 1
    assert any(n.startswith("Notes: gone from the server; the local copy is kept") for n in res.notes), res.notes
    assert res.report.uploaded == 0 and res.report.deleted_local == 0, res.report


def test_a_folder_deleted_on_the_server_is_kept_and_a_new_one_takes_nothing_from_it(box) -> None:  # noqa: ANN001
    """Projects deleted on the server while an unrelated folder appears there: Projects stays
    here whole, and the new folder's mail (other messages) is downloaded, not taken from it."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    sync(user, root, state)
    c = user.imap()
    c.delete_folder("Projects")
    c.create_folder("Travel")
    c.logout()
    seed(user, "Travel", 2, start=70)
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.moved, r.downloaded, r.deleted_local) == (0, 2, 0), r
    assert len(list((root / "Projects" / "cur").iterdir())) == 3
    assert any("Projects: gone from the server" in n for n in res.notes)
    assert_agree(user, root, state, ignore=("Projects",))


def test_a_folder_renamed_here_is_followed_on_the_server(box) -> None:  # noqa: ANN001
    """mv Mail/Projects Mail/Work: the messages are moved on the server into the new folder
    (not uploaded again, not downloaded back into Projects); a message whose file was removed
    after the rename is downloaded again into Projects rather than deleted on the server."""
    user, root, state = box
    seed(user, "Projects", 4, flags=("\\Seen",))
    sync(user, root, state)
    inodes = {p.stat().st_ino for p in (root / "Projects" / "cur").iterdir()}
    os.rename(root / "Projects", root / "Work")
    find_local(root, "Work", b"Hello 3.").unlink()
    dry = sync(user, root, state, dry_run=True)
    assert dry.report.deleted_remote == 0
    res = sync(user, root, state)
    assert not res.failed, res.failed
    r = res.report
    assert (r.moved, r.uploaded, r.downloaded, r.deleted_remote, r.deleted_local) == (3, 0, 1, 0, 0), r
    assert {p.stat().st_ino for p in (root / "Work" / "cur").iterdir()} <= inodes
    assert [p.read_bytes().split(b"\n\n")[1].strip() for p in (root / "Projects" / "cur").iterdir()] == [b"Hello 3."]
    assert_agree(user, root, state)
    again = sync(user, root, state)
    assert again.report == type(again.report)("t"), again.report


def _synced_as_a_rename(user, root: Path, state: Path) -> dict:  # noqa: ANN001
    """A sync after Projects was renamed Work here: the server renames it, nothing else moves;
    the server as it then is (checked against the Maildir and the state)."""
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert "Projects: renamed here to Work; renamed on the server too" in res.notes, res.notes
    r = res.report
    assert (r.moved, r.uploaded, r.downloaded, r.deleted_remote, r.deleted_local) == (0, 0, 0, 0, 0), r
    return assert_agree(user, root, state)


def test_a_folder_renamed_here_whole_is_renamed_on_the_server(box) -> None:  # noqa: ANN001
    """mv Mail/Projects Mail/Work, subfolder included, and nothing else: the server folder is
    renamed too (its messages keep their UIDs, its subfolder follows), and no message is moved,
    copied or downloaded. A dry run first says so and changes nothing anywhere."""
    user, root, state = box
    seed(user, "Projects", 3, flags=("\\Seen",))
    seed(user, "Projects/2025", 2, start=20)
    seed(user, "INBOX", 1, start=50)
    sync(user, root, state)
    before = server_snapshot(user)
    os.rename(root / "Projects", root / "Work")
    dry = sync(user, root, state, dry_run=True)
    assert "Projects: renamed here to Work; would be renamed on the server" in dry.notes, dry.notes
    assert dry.report == type(dry.report)("t"), dry.report
    assert server_snapshot(user) == before
    after = _synced_as_a_rename(user, root, state)
    assert "Projects" not in after and "Projects/2025" not in after
    assert after["Work"] == before["Projects"] and after["Work/2025"] == before["Projects/2025"]  # same UIDs, same bytes
    assert not (root / "Projects").exists()
    again = sync(user, root, state)
    assert again.report == type(again.report)("t") and not again.notes, (again.report, again.notes)


def test_a_folder_renamed_here_with_a_new_file_is_renamed_and_the_file_uploaded(box) -> None:  # noqa: ANN001
    """mv Mail/Projects Mail/Work, then a message written into Work: the rename is followed on
    the server as a rename and the new message goes up into Work."""
    user, root, state = box
    seed(user, "Projects", 2)
    sync(user, root, state)
    os.rename(root / "Projects", root / "Work")
    put_local(root, "Work", message(90), "S")
    res = sync(user, root, state)
    assert not res.failed, res.failed
    assert "Projects: renamed here to Work; renamed on the server too" in res.notes, res.notes
    assert (res.report.uploaded, res.report.moved, res.report.downloaded) == (1, 0, 0), res.report
    after = assert_agree(user, root, state)
    assert len(after["Work"]) == 3 and "Projects" not in after


def test_a_folder_gone_from_both_sides_is_forgotten_and_its_name_free_again(box) -> None:  # noqa: ANN001
    """Work/2025 deleted on the server and here: the next sync forgets it (before, its state
    rows stayed, and a folder later made here under that name was taken for one gone from the
    server and never uploaded). A rename here onto that name is then a plain RENAME."""
    import shutil

    user, root, state = box
    seed(user, "Projects", 2)
    seed(user, "Projects/2025", 1, start=10)
    seed(user, "Work/2025", 1, start=20)
    sync(user, root, state)
    c = user.imap()
    c.delete_folder("Work/2025")
    c.logout()
    shutil.rmtree(root / "Work")
    dry = sync(user, root, state, dry_run=True)
    assert "Work/2025: gone from the server and from here; would be forgotten" in dry.notes, dry.notes
    res = sync(user, root, state)
    assert "Work/2025: gone from the server and from here; forgotten" in res.notes, res.notes
    assert res.report == type(res.report)("t"), res.report
    os.rename(root / "Projects", root / "Work")
    server = _synced_as_a_rename(user, root, state)
    assert len(server["Work"]) == 2 and len(server["Work/2025"]) == 1 and "Projects/2025" not in server


def test_a_dry_run_after_a_folder_was_removed_here_changes_no_state(box) -> None:  # noqa: ANN001
    """--dry-run says the folder would be downloaded again, and leaves the state as it was."""
    import shutil

    from pigeon.core.sync_state import SyncState

    user, root, state = box
    seed(user, "Projects", 2)
    sync(user, root, state)
    shutil.rmtree(root / "Projects")
    res = sync(user, root, state, dry_run=True)
    assert any("Projects: gone locally; downloading it again" in n for n in res.notes)
    with SyncState(state) as st:
        assert st.count("Projects") == 2 and st.folder("Projects") is not None
    assert sync(user, root, state).report.downloaded == 2
    assert_agree(user, root, state)
