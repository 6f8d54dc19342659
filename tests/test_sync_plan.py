"""The sync planner against real Maildir folders in a temp directory.

Each test lays out files as a user's tools would leave them (new/, cur/, renamed, moved),
lists them with ``sync_local.scan`` as the engine does, and checks the planned actions.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pigeon.core import sync_local
from pigeon.core.sync_plan import (
    FolderInput,
    LocalMsg,
    RemoteMsg,
    RemoteView,
    from_imap,
    merge3,
    merge3_set,
    needs_remote_ids,
    plan,
    rebase,
    to_imap,
    unpaired_local,
)
from pigeon.core.sync_state import MessageState


def body(n: int, extra: str = "") -> bytes:
    return f"Message-ID: <m{n}@example.org>\nSubject: message {n}\n\nbody {n}{extra}\n".encode()


class Box:
    """A real Maildir folder under tmp_path with helpers to put files where tools put them."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.dir = root / name
        for sub in ("cur", "new", "tmp"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, flags: str = "", subdir: str = "cur") -> Path:
        name = f"{key}:2,{flags}" if subdir == "cur" else key
        path = self.dir / subdir / name
        path.write_bytes(data)
        return path

    def path_of(self, key: str) -> Path:
        for sub in ("cur", "new"):
            for n in os.listdir(self.dir / sub):
                if sync_local.split_name(n)[0] == key:
                    return self.dir / sub / n
        raise FileNotFoundError(key)

    def rename_flags(self, key: str, flags: str) -> None:
        p = self.path_of(key)
        p.rename(self.dir / "cur" / f"{key}:2,{flags}")

    def remove(self, key: str) -> None:
        self.path_of(key).unlink()

    def move_to(self, key: str, other: Box, new_key: str | None = None) -> None:
        p = self.path_of(key)
        _, flags = sync_local.split_name(p.name)
        p.rename(other.dir / "cur" / f"{new_key or key}:2,{flags}")

    def scan(self) -> list[LocalMsg]:
        return sync_local.scan(self.dir)


def known_row(uid: int, key: str, data: bytes, flags: str = "", keywords: frozenset[str] = frozenset()) -> MessageState:
    size, dg, mid = sync_local.describe(data)
    return MessageState(uid, key, flags, keywords, size, dg, mid)


def remote_msg(uid: int, data: bytes, flags: str = "", keywords: frozenset[str] = frozenset()) -> RemoteMsg:
    size, _, mid = sync_local.describe(data)
    return RemoteMsg(uid, flags, keywords, size, mid)


def inputs_for(box: Box, known: dict[int, MessageState], remote: RemoteView | None, **kw) -> FolderInput:
    """Build a FolderInput the way the engine does: scan, then read facts of unpaired files."""
    fi = FolderInput(box.name, known, box.scan(), remote, **kw)
    facts = {m.key: sync_local.with_facts(m, box.dir) for m in unpaired_local(fi)}
    fi.local = [facts.get(m.key, m) for m in fi.local]
    return fi


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Mail"


def synced_box(root: Path, name: str, n: int, flags: str = "S") -> tuple[Box, dict[int, MessageState]]:
    """A folder with n messages that both sides agree on (UIDs 1..n)."""
    box = Box(root, name)
    known = {}
    for i in range(1, n + 1):
        key = f"{name}-{i},U={i}"
        data = body(i + 1000 * len(name))
        box.put(key, data, flags)
        known[i] = known_row(i, key, data, flags)
    return box, known


# --------------------------------------------------------------------------- flag helpers


def test_flag_mapping_roundtrip() -> None:
    letters, kws = from_imap([b"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Forwarded", "\\Recent", "$Junk", "work"])
    assert letters == "DFPRST"
    assert kws == {"$Junk", "work"}
    assert to_imap("SF", {"work"}) == ["\\Flagged", "\\Seen", "work"]
    assert from_imap(["\\SEEN", "$forwarded"]) == ("PS", frozenset())


def test_three_way_merge() -> None:
    assert merge3("S", "S", "S") == "S"
    assert merge3("S", "", "S") == ""  # local unset Seen
    assert merge3("S", "S", "FS") == "FS"  # remote flagged
    assert merge3("S", "RS", "F") == "FR"  # local answered, remote unseen + flagged
    assert merge3_set(frozenset({"a"}), frozenset({"a", "b"}), frozenset()) == {"b"}


# --------------------------------------------------------------------------- basics


def test_nothing_changed_plans_nothing(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 5)
    p = plan([inputs_for(box, known, RemoteView(1, {}, set()))])
    assert all(fp.empty() for fp in p.folders.values()) and not p.moves_local and not p.moves_remote
    p = plan([FolderInput("INBOX", known, None, None)])
    assert all(fp.empty() for fp in p.folders.values())


def test_new_on_each_side(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 3)
    box.put("local-new", body(50), "", subdir="new")
    remote = RemoteView(1, {4: remote_msg(4, body(60), "")})
    fi = inputs_for(box, known, remote)
    assert [m.key for m in unpaired_local(fi)] == ["local-new"]
    assert needs_remote_ids([fi])
    p = plan([fi])
    fp = p.folders["INBOX"]
    assert [d.remote.uid for d in fp.download] == [4]
    assert [u.local.key for u in fp.upload] == ["local-new"]
    assert p.counts()["downloaded"] == 1 and p.counts()["uploaded"] == 1


def test_initial_sync_needs_no_message_ids(root: Path) -> None:
    box = Box(root, "INBOX")
    remote = RemoteView(1, {i: RemoteMsg(i, "S", size=10) for i in range(1, 5)}, complete=True)
    fi = inputs_for(box, {}, remote)
    assert not needs_remote_ids([fi])
    assert len(plan([fi]).folders["INBOX"].download) == 4


def test_flags_both_ways_and_merge(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 4, flags="S")
    box.rename_flags(known[1].key, "FS")  # local: flagged
    box.rename_flags(known[3].key, "RS")  # local: answered; remote: unseen -> merged "R"
    remote = RemoteView(1, {2: RemoteMsg(2, ""), 3: RemoteMsg(3, "")})  # remote: 2 and 3 unseen
    p = plan([inputs_for(box, known, remote)])
    pairs = {pr.uid: pr for pr in p.folders["INBOX"].pairs}
    assert pairs[1].store_add == ("\\Flagged",) and pairs[1].local_flags is None
    assert pairs[2].local_flags == "" and not pairs[2].store_add and not pairs[2].store_remove
    assert pairs[3].local_flags == "R" and pairs[3].store_add == ("\\Answered",) and pairs[3].record.flags == "R"
    assert 4 not in pairs
    assert p.counts()["flags_up"] == 2 and p.counts()["flags_down"] == 2


def test_unsynced_local_letters_are_ignored(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 1, flags="S")
    box.rename_flags(known[1].key, "Sa")  # a Dovecot keyword letter: not ours to sync
    assert all(fp.empty() for fp in plan([inputs_for(box, known, RemoteView(1))]).folders.values())


def test_keywords_tracked_and_untracked(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 2)
    known[1] = known[1].with_(keywords=frozenset({"work"}))
    remote = RemoteView(1, {1: RemoteMsg(1, "S", frozenset({"work", "$Label1"})), 2: RemoteMsg(2, "S", frozenset({"urgent"}))})
    # untracked locally: the server's keywords are recorded, nothing is pushed back
    p = plan([inputs_for(box, known, remote)])
    recs = {pr.uid: pr for pr in p.folders["INBOX"].pairs}
    assert recs[1].record.keywords == {"work", "$Label1"} and not recs[1].store_remove
    assert recs[2].record.keywords == {"urgent"}
    # tracked (index tags): local removed "work", added "home"; server added $Label1
    tags = {known[1].key: frozenset({"home"}), known[2].key: frozenset()}
    p = plan([inputs_for(box, known, remote, local_keywords=tags)])
    recs = {pr.uid: pr for pr in p.folders["INBOX"].pairs}
    assert recs[1].record.keywords == {"home", "$Label1"}
    assert recs[1].store_add == ("home",) and recs[1].store_remove == ("work",)
    assert recs[2].record.keywords == {"urgent"}


# --------------------------------------------------------------------------- deletions and conflicts


def test_deletions_each_way(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 6)
    box.remove(known[1].key)  # deleted locally
    box.remove(known[2].key)  # deleted locally, flagged on the server: kept
    box.rename_flags(known[4].key, "FS")  # deleted on the server, flagged locally: kept
    box.remove(known[5].key)  # deleted on both sides
    remote = RemoteView(1, {2: RemoteMsg(2, "FS")}, vanished={3, 4, 5})
    p = plan([inputs_for(box, known, remote)])
    fp = p.folders["INBOX"]
    assert [d.uid for d in fp.delete_remote] == [1]
    assert [d.remote.uid for d in fp.download] == [2] and fp.download[0].reason.startswith("kept")
    assert [d.uid for d in fp.delete_local] == [3]
    assert [u.local.key for u in fp.upload] == [known[4].key] and fp.upload[0].reason.startswith("kept")
    assert sorted(f.uid for f in fp.forget) == [4, 5]
    assert len(fp.notes) == 2


def test_complete_remote_listing_implies_vanished(root: Path) -> None:
    """Without QRESYNC the engine fetches all flags: a UID missing from the list is gone."""
    box, known = synced_box(root, "INBOX", 3)
    remote = RemoteView(1, {1: RemoteMsg(1, "S"), 3: RemoteMsg(3, "S")}, complete=True)
    fp = plan([inputs_for(box, known, remote)]).folders["INBOX"]
    assert [d.uid for d in fp.delete_local] == [2] and not fp.pairs


# --------------------------------------------------------------------------- moves


def test_local_move_by_name_and_by_content(root: Path) -> None:
    inbox, known_i = synced_box(root, "INBOX", 3)
    arch, known_a = synced_box(root, "Archive", 1)
    inbox.move_to(known_i[1].key, arch)  # mutt: same unique name
    inbox.move_to(known_i[2].key, arch, new_key="renamed-by-tool")  # another tool: new name, same bytes
    arch.rename_flags(known_i[1].key, "FS")
    p = plan([inputs_for(inbox, known_i, RemoteView(1)), inputs_for(arch, known_a, RemoteView(2))])
    moves = {m.uid: m for m in p.moves_remote}
    assert set(moves) == {1, 2}
    assert moves[1].src == "INBOX" and moves[1].dest == "Archive" and moves[1].flags == "FS"
    assert moves[2].local.key == "renamed-by-tool"
    assert all(fp.empty() for fp in p.folders.values())
    assert p.counts()["moved"] == 2


def test_renamed_in_place_is_the_same_message(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 2)
    box.move_to(known[1].key, box, new_key="fresh-name")
    fp = plan([inputs_for(box, known, RemoteView(1))]).folders["INBOX"]
    assert not fp.upload and not fp.delete_remote
    assert [(p.uid, p.record.key) for p in fp.pairs] == [(1, "fresh-name")]


def test_remote_move_renames_locally(root: Path) -> None:
    inbox, known_i = synced_box(root, "INBOX", 2)
    arch, known_a = synced_box(root, "Archive", 1)
    data = inbox.path_of(known_i[1].key).read_bytes()
    remote_i = RemoteView(1, {}, vanished={1})
    remote_a = RemoteView(2, {7: remote_msg(7, data, "FS")})
    fis = [inputs_for(inbox, known_i, remote_i), inputs_for(arch, known_a, remote_a)]
    assert needs_remote_ids(fis)
    p = plan(fis)
    assert len(p.moves_local) == 1
    mv = p.moves_local[0]
    assert (mv.src, mv.dest, mv.remote.uid, mv.flags) == ("INBOX", "Archive", 7, "FS")
    assert all(fp.empty() for fp in p.folders.values())


# --------------------------------------------------------------------------- interrupted syncs


def test_interrupted_download_is_paired_not_copied(root: Path) -> None:
    """The file was written, the state not committed: the next sync pairs it with its UID."""
    box, known = synced_box(root, "INBOX", 2)
    data = body(99)
    box.put("fresh,U=3", data, "S")
    remote = RemoteView(1, {3: remote_msg(3, data, "S")})
    fp = plan([inputs_for(box, known, remote)]).folders["INBOX"]
    assert not fp.download and not fp.upload
    assert len(fp.pairs) == 1 and fp.pairs[0].adopted and fp.pairs[0].record.key == "fresh,U=3"
    assert fp.pairs[0].record.digest == sync_local.digest(data)


def test_interrupted_upload_is_paired_not_copied(root: Path) -> None:
    """APPEND went through, the state did not record it: pair by Message-ID and size."""
    box, known = synced_box(root, "Sent", 1)
    data = body(77)
    box.put("sent-copy", data, "S")
    remote = RemoteView(1, {9: remote_msg(9, data.replace(b"\n", b"\r\n"), "S")})
    fp = plan([inputs_for(box, known, remote)]).folders["Sent"]
    assert not fp.download and not fp.upload
    assert fp.pairs[0].uid == 9 and fp.pairs[0].record.key == "sent-copy"


def test_pairing_without_state_unions_flags(root: Path) -> None:
    box = Box(root, "INBOX")
    data = body(5)
    box.put("mine", data, "F")
    fp = plan([inputs_for(box, {}, RemoteView(1, {4: remote_msg(4, data, "S")}, complete=True))]).folders["INBOX"]
    pr = fp.pairs[0]
    assert pr.record.flags == "FS" and pr.store_add == ("\\Flagged",) and pr.local_flags == "FS"


def test_same_message_twice_pairs_each_copy_once(root: Path) -> None:
    box = Box(root, "INBOX")
    data = body(5)
    box.put("copy-a,U=1", data)
    box.put("copy-b,U=2", data)
    remote = RemoteView(1, {1: remote_msg(1, data), 2: remote_msg(2, data), 3: remote_msg(3, data)}, complete=True)
    fp = plan([inputs_for(box, {}, remote)]).folders["INBOX"]
    assert {(p.uid, p.record.key) for p in fp.pairs} == {(1, "copy-a,U=1"), (2, "copy-b,U=2")}
    assert [d.remote.uid for d in fp.download] == [3] and not fp.upload


# --------------------------------------------------------------------------- UIDVALIDITY


def test_uidvalidity_rebase_matches_content(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 4)
    datas = {u: box.path_of(k.key).read_bytes() for u, k in known.items()}
    # the server re-numbered everything (100+), lost message 4, gained a new one
    remote = {100 + u: remote_msg(100 + u, datas[u], "S") for u in (1, 2, 3)}
    remote[200] = remote_msg(200, body(555), "")
    rebased = rebase(known, remote)
    assert sorted(rebased) == [101, 102, 103]
    assert rebased[101].key == known[1].key
    fi = inputs_for(box, rebased, RemoteView(2, remote, complete=True))
    fp = plan([fi]).folders["INBOX"]
    assert [d.remote.uid for d in fp.download] == [200]  # only the new one
    assert [u.local.key for u in fp.upload] == [known[4].key]  # the server lost it: put it back
    assert not fp.delete_local and not fp.delete_remote


# --------------------------------------------------------------------------- the guard


def test_mass_deletion_guard_both_sides(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 20)
    for k in list(known.values())[:11]:
        box.remove(k.key)
    fi = inputs_for(box, known, RemoteView(1))
    fp = plan([fi]).folders["INBOX"]
    assert fp.guard and "11 of 20 messages on the server" in fp.guard and "--force" in fp.guard
    assert not fp.delete_remote and len(fp.withheld) == 11
    fp = plan([fi], force=True).folders["INBOX"]
    assert not fp.guard and len(fp.delete_remote) == 11

    box2, known2 = synced_box(root, "Other", 30)
    remote = RemoteView(1, {}, vanished=set(range(1, 31)))
    fp = plan([inputs_for(box2, known2, remote)]).folders["Other"]
    assert fp.guard and "30 of 30 messages locally" in fp.guard and not fp.delete_local


def test_guard_thresholds(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 20)
    for k in list(known.values())[:10]:  # exactly half: allowed
        box.remove(k.key)
    assert not plan([inputs_for(box, known, RemoteView(1))]).folders["INBOX"].guard
    small, known_s = synced_box(root, "Small", 19)  # below the minimum size
    for k in known_s.values():
        small.remove(k.key)
    fp = plan([inputs_for(small, known_s, RemoteView(1))]).folders["Small"]
    assert not fp.guard and len(fp.delete_remote) == 19
    fp = plan([inputs_for(small, known_s, RemoteView(1))], guard_min=5, guard_share=0.9).folders["Small"]
    assert fp.guard


def test_guard_counts_a_partly_known_folder_only_when_it_could_trip(root: Path) -> None:
    """An incremental sync knows only the messages the server named; the folder's size is
    counted (a query over the state) only when there are enough deletions to trip the guard."""
    box, known = synced_box(root, "INBOX", 40)
    asked: list[int] = []

    def count() -> int:
        asked.append(1)
        return 40

    def vanished(n: int) -> FolderInput:
        gone = dict(list(known.items())[:n])
        return FolderInput("INBOX", gone, None, RemoteView(1, {}, vanished=set(gone)), total=count)

    fp = plan([vanished(10)]).folders["INBOX"]  # no more than half of the smallest guarded folder
    assert not fp.guard and len(fp.delete_local) == 10 and asked == []
    fp = plan([vanished(20)]).folders["INBOX"]  # 20 of 40: counted, allowed
    assert not fp.guard and len(fp.delete_local) == 20 and asked == [1]
    fp = plan([vanished(21)]).folders["INBOX"]
    assert fp.guard and "21 of 40 messages locally" in fp.guard and not fp.delete_local


def test_describe_lists_every_action(root: Path) -> None:
    box, known = synced_box(root, "INBOX", 3)
    box.remove(known[1].key)
    box.put("new-local", body(9))
    lines = plan([inputs_for(box, known, RemoteView(1, {2: RemoteMsg(2, "FS"), 5: RemoteMsg(5, "")}))]).describe()
    text = "\n".join(lines)
    assert "INBOX: download UID 5" in text
    assert "INBOX: upload new-local" in text
    assert "INBOX: UID 2: local flags FS" in text
    assert "INBOX: delete UID 1 on the server" in text
