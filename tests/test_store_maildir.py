"""The Maildir store on real directories: layout, flags, moves, confinement, atomicity, full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers import small_tmpfs
from pigeon.core.errors import StoreError
from pigeon.core.maildir import Entry, Maildir, entry_for_path, parse_name, unique_name

MSG = b"From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: hello\r\nMessage-ID: <1@example.org>\r\n\r\nHi Bob.\r\n"


def files_in(path: Path, sub: str) -> list[str]:
    d = path / sub
    return sorted(os.listdir(d)) if d.is_dir() else []


def test_add_writes_a_maildir_file_with_flags_in_the_info(tmp_path: Path) -> None:
    store = Maildir(tmp_path / "mail")
    entry = store.add("INBOX", MSG, "SF")
    inbox = tmp_path / "mail" / "INBOX"
    assert sorted(os.listdir(inbox)) == ["cur", "new", "tmp"]
    assert files_in(inbox, "cur") == [f"{entry.key}:2,FS"]
    assert files_in(inbox, "tmp") == [] and files_in(inbox, "new") == []
    assert entry.flags == "FS" and entry.subdir == "cur" and entry.folder == "INBOX"
    assert entry.size == len(MSG) and entry.path.read_bytes() == MSG
    assert store.read(entry) == MSG
    # <time>.<pid>_<counter>.<host>
    secs, rest = entry.key.split(".", 1)
    assert secs.isdigit() and abs(int(secs) - time.time()) < 60
    assert rest.startswith(f"{os.getpid()}_")
    assert (entry.path.stat().st_mode & 0o777) == 0o600


def test_new_messages_and_uids(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    fresh = store.add("INBOX", MSG, subdir="new")
    assert fresh.subdir == "new" and fresh.path.name == fresh.key and fresh.flags == ""
    # flags always put a message in cur/
    seen = store.add("INBOX", MSG, "S", subdir="new")
    assert seen.subdir == "cur"
    with_uid = store.add("INBOX", MSG, "S", uid=42)
    assert with_uid.key.endswith(",U=42") and with_uid.uid == 42
    assert with_uid.path.name == f"{with_uid.key}:2,S"
    assert fresh.uid is None
    keys = {e.key for e in store.list("INBOX")}
    assert keys == {fresh.key, seen.key, with_uid.key}
    assert len({unique_name() for _ in range(1000)}) == 1000


def test_flags_are_sorted_validated_and_renamed(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    entry = store.add("INBOX", MSG, subdir="new")
    read = store.set_flags(entry, "S")
    assert read.subdir == "cur" and read.path.name == f"{entry.key}:2,S" and not entry.path.exists()
    flagged = store.set_flags(read, "TSFRSDP")
    assert flagged.flags == "DFPRST" and flagged.path.name.endswith(":2,DFPRST")
    cleared = store.set_flags(flagged, "")
    assert cleared.subdir == "cur" and cleared.path.name == f"{entry.key}:2,"
    # a stale Entry (the file was renamed since) still finds its message
    again = store.set_flags(flagged, "R")
    assert again.flags == "R" and store.read(entry) == MSG
    assert [e.path for e in store.list("INBOX")] == [again.path]
    with pytest.raises(StoreError, match="only letters"):
        store.set_flags(again, "S:2,")


def test_get_rescans_when_another_tool_renamed_the_file(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    entry = store.add("INBOX", MSG, "S")
    # mutt marks it flagged behind our back
    os.rename(entry.path, entry.path.with_name(f"{entry.key}:2,FS"))
    got = store.get("INBOX", entry.key)
    assert got.flags == "FS" and store.read(got) == MSG
    store.delete(entry)
    assert store.list("INBOX") == []
    with pytest.raises(StoreError, match="no message"):
        store.get("INBOX", entry.key)
    with pytest.raises(StoreError, match="no message"):
        store.delete(entry)
    store.delete(entry, missing_ok=True)


def test_verbatim_folders_nested_directories(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = Maildir(root)
    for name in ("INBOX", "Sent", "Archive/2024", "Archive/2024/Q1", "Listes/Débian"):
        store.create_folder(name)
    assert store.folders() == ["Archive/2024", "Archive/2024/Q1", "INBOX", "Listes/Débian", "Sent"]
    # intermediate directories are plain directories, not Maildirs, as with mbsync Verbatim
    assert not (root / "Archive" / "cur").exists()
    assert (root / "Archive" / "2024" / "Q1" / "new").is_dir()
    assert store.folder_path("Archive/2024") == root / "Archive" / "2024"
    # the root is a folder only if it is itself a Maildir
    assert "" not in store.folders()
    store.create_folder("")
    assert store.folders()[0] == ""
    e = store.add("Archive/2024", MSG)
    moved = store.move(e, "Archive/2024/Q1")
    assert moved.folder == "Archive/2024/Q1" and moved.key == e.key and moved.flags == e.flags
    assert store.list("Archive/2024") == [] and store.read(moved) == MSG
    assert store.find_key(e.key) == moved
    assert store.find_key("nope") is None
    # moving into a folder that does not exist yet creates it
    into_new = store.move(moved, "Trash")
    assert "Trash" in store.folders() and into_new.path.parent == root / "Trash" / "cur"


def test_move_never_overwrites(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    a = store.add("INBOX", MSG, "S")
    store.create_folder("Archive")
    # another copy with the same unique name, different flags, already sits in Archive
    dup = tmp_path / "Archive" / "cur" / f"{a.key}:2,"
    dup.write_bytes(b"other")
    with pytest.raises(StoreError, match="already holds"):
        store.move(a, "Archive")
    assert a.path.read_bytes() == MSG and dup.read_bytes() == b"other"


def test_delete_folder_only_when_empty(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("Old", MSG)
    store.create_folder("Old/Child")
    with pytest.raises(StoreError, match="not empty"):
        store.delete_folder("Old")
    store.delete(e)
    store.delete_folder("Old")
    assert store.folders() == ["Old/Child"]
    store.delete_folder("Old/Child")
    assert store.folders() == [] and not (tmp_path / "Old").exists()
    with pytest.raises(StoreError, match="no folder"):
        store.delete_folder("Old")
    with pytest.raises(StoreError, match="root"):
        store.delete_folder("")


def test_list_ignores_dotfiles_dirs_and_tmp(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("INBOX", MSG)
    (tmp_path / "INBOX" / "cur" / ".hidden").write_bytes(b"x")
    (tmp_path / "INBOX" / "cur" / "subdir").mkdir()
    (tmp_path / "INBOX" / "tmp" / "halfwritten").write_bytes(b"From: x")
    assert [x.key for x in store.list("INBOX")] == [e.key]
    with pytest.raises(StoreError, match="no folder"):
        store.list("Missing")


def test_unusual_names_read_correctly(tmp_path: Path) -> None:
    """Names other tools write: '!' separator (mu), no info in cur/, keywords, dovecot's ,S=."""
    cur = tmp_path / "INBOX" / "cur"
    new = tmp_path / "INBOX" / "new"
    cur.mkdir(parents=True)
    new.mkdir()
    names = {
        "1220863087.12663_15.mindcrime!2,PS": ("1220863087.12663_15.mindcrime", "PS"),
        "special!2,Sabc": ("special", "Sabc"),
        "test1": ("test1", ""),
        "1700000000.M1P2.host,S=123,W=130:2,RS": ("1700000000.M1P2.host,S=123,W=130", "RS"),
        "01:2,": ("01", ""),
        "weird name with spaces:2,S": ("weird name with spaces", "S"),
        "a:b:2,S": ("a:b", "S"),
    }
    for name in names:
        (cur / name).write_bytes(MSG)
    (new / "1220863087.12663_23.mindcrime").write_bytes(MSG)
    store = Maildir(tmp_path)
    got = {e.path.name: (e.key, e.flags) for e in store.list("INBOX")}
    assert got == {**names, "1220863087.12663_23.mindcrime": ("1220863087.12663_23.mindcrime", "")}
    # changing flags keeps the tool's separator and its keywords when the caller passes them
    special = store.get("INBOX", "special")
    changed = store.set_flags(special, special.flags + "F")
    assert changed.path.name == "special!2,FSabc"
    assert parse_name("x!2,SF") == ("x", "FS", "!")
    # a store that writes '!' itself
    bang = Maildir(tmp_path / "bang", separator="!")
    assert bang.add("INBOX", MSG, "S").path.name.endswith("!2,S")


BAD_NAMES = [
    "..",
    "../outside",
    "INBOX/../../etc",
    "/etc",
    "/",
    "a//b",
    "a/",
    "/a",
    "a/./b",
    ".",
    ".hidden",
    "INBOX/.notmuch",
    "cur",
    "INBOX/new",
    "Archive/tmp",
    "bad\x00name",
    "bad\nname",
    "bad\x1b[31mname",
    "bad\u202ename",
    "x" * 300,
    "C:\\Windows",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_folder_names_from_outside_are_confined(tmp_path: Path, name: str) -> None:
    root = tmp_path / "mail"
    store = Maildir(root)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for op in (store.folder_path, store.create_folder, lambda n: store.add(n, MSG), store.list):
        with pytest.raises(StoreError) as info:
            op(name)
        message = str(info.value)
        assert "\n" not in message and "\x1b" not in message and "\x00" not in message
        assert message.startswith("bad folder name")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_move_into_a_bad_folder_is_refused(tmp_path: Path) -> None:
    store = Maildir(tmp_path / "mail")
    e = store.add("INBOX", MSG)
    with pytest.raises(StoreError, match="bad folder name"):
        store.move(e, "../../escape")
    assert store.read(e) == MSG and not (tmp_path / "escape").exists()
    with pytest.raises(StoreError, match="bad message key"):
        store.get("INBOX", "../../x")


def test_entry_for_path(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("A/B", MSG, "S")
    assert entry_for_path(store, e.path) == e
    assert entry_for_path(store, tmp_path / "A" / "B" / "tmp" / "x") is None
    assert entry_for_path(store, Path("/etc/passwd")) is None


def test_create_false_requires_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no Maildir"):
        Maildir(tmp_path / "nope", create=False)
    assert Maildir(tmp_path, create=False).folders() == []


# --------------------------------------------------------------------------- atomicity


def test_a_reader_never_sees_a_partial_message(tmp_path: Path) -> None:
    """A reader polling cur/ and new/ while big messages are delivered only ever sees whole files."""
    store = Maildir(tmp_path)
    store.create_folder("INBOX")
    big = b"Subject: big\r\n\r\n" + b"x" * (8 * 1024 * 1024)
    stop = threading.Event()
    seen_sizes: list[int] = []
    saw_tmp = []

    def reader() -> None:
        while not stop.is_set():
            if os.listdir(tmp_path / "INBOX" / "tmp"):
                saw_tmp.append(True)
            for sub in ("cur", "new"):
                for name in os.listdir(tmp_path / "INBOX" / sub):
                    try:
                        seen_sizes.append(len((tmp_path / "INBOX" / sub / name).read_bytes()))
                    except FileNotFoundError:
                        pass

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(4):
            store.add("INBOX", big, subdir="new")
    finally:
        stop.set()
        t.join()
    assert seen_sizes, "the reader never saw a delivered message"
    assert set(seen_sizes) == {len(big)}
    assert os.listdir(tmp_path / "INBOX" / "tmp") == []


def test_a_crash_while_writing_leaves_nothing_in_cur_or_new(tmp_path: Path) -> None:
    """Kill the delivering process while it writes: cur/ and new/ hold no half message."""
    script = textwrap.dedent(
        f"""
        import sys
        from pigeon.core.maildir import Maildir
        store = Maildir({str(tmp_path)!r})
        store.create_folder("INBOX")
        print("ready", flush=True)
        store.add("INBOX", b"Subject: big\\r\\n\\r\\n" + b"y" * (96 * 1024 * 1024), subdir="new")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        tmp = tmp_path / "INBOX" / "tmp"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            names = os.listdir(tmp)
            if names and (tmp / names[0]).stat().st_size > 0:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    store = Maildir(tmp_path)
    assert store.list("INBOX") == []
    assert len(os.listdir(tmp_path / "INBOX" / "tmp")) == 1  # the partial file, in tmp/ only
    assert store.clean_tmp("INBOX", older_than=0) == 1
    assert os.listdir(tmp_path / "INBOX" / "tmp") == []


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def tiny_fs(tmp_path: Path):
    """A real 256 KiB tmpfs."""
    with small_tmpfs(tmp_path / "tiny", "256k") as mnt:
        yield mnt


def test_full_disk_is_a_clear_error_that_loses_nothing(tiny_fs: Path) -> None:
    store = Maildir(tiny_fs / "mail")
    kept: list[Entry] = []
    body = MSG + b"z" * 30_000
    with pytest.raises(StoreError) as info:
        for i in range(100):
            kept.append(store.add("INBOX", body + str(i).encode(), "S"))
    message = str(info.value)
    assert "disk is full" in message and "\n" not in message
    assert 0 < len(kept) < 100
    inbox = tiny_fs / "mail" / "INBOX"
    # nothing half-written anywhere; every stored message is whole
    assert os.listdir(inbox / "tmp") == [] and os.listdir(inbox / "new") == []
    listed = store.list("INBOX")
    assert [e.path for e in listed] == sorted(e.path for e in kept)
    for i, e in enumerate(kept):
        assert store.read(e) == body + str(i).encode()
    # a message too big for what is left fails the same way; flag changes still work (no space needed)
    with pytest.raises(StoreError, match="disk is full"):
        store.add("INBOX", b"x" * 300_000)
    assert store.set_flags(kept[0], "FS").flags == "FS"
    # once space is freed, delivery works again
    store.delete(kept[1])
    store.add("INBOX", MSG)


def test_move_drops_the_folder_uid(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("INBOX", MSG, "S", uid=7)
    moved = store.move(e, "Archive")
    assert moved.uid is None and moved.key == e.key.replace(",U=7", "")
    assert moved.path.name == f"{moved.key}:2,S"


def test_add_with_a_given_key(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    e = store.add("INBOX", MSG, "S", key="demo-0001")
    assert e.path.name == "demo-0001:2,S"
    with pytest.raises(StoreError, match="already holds"):
        store.add("INBOX", MSG, key="demo-0001")
    for bad in ("../x", "a:2,S", ".hidden", "a\nb", ""):
        with pytest.raises(StoreError, match="bad message key"):
            store.add("INBOX", MSG, key=bad)
    assert [x.key for x in store.list("INBOX")] == ["demo-0001"]
    assert os.listdir(tmp_path / "INBOX" / "tmp") == []


def test_folders_survive_symlink_loops_and_skip_unaddressable_names(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    store.create_folder("A/B")
    (tmp_path / "A" / "B" / "loop").symlink_to(tmp_path / "A")
    evil = tmp_path / "bad\x1b[2Jname"
    for sub in ("cur", "new", "tmp"):
        (evil / sub).mkdir(parents=True)
    (evil / "Child" / "cur").mkdir(parents=True)
    # A/B/loop is A again: walked once; the escape-sequence folder and its child are left out
    assert store.folders() == ["A/B"]


def test_batch_defers_only_the_directory_fsync(tmp_path: Path) -> None:
    store = Maildir(tmp_path)
    with store.batch():
        a = store.add("INBOX", MSG, subdir="new")
        with store.batch():  # nests
            b = store.set_flags(store.add("INBOX", MSG), "S")
        # visible and whole at once: only durability of the directory entries waits
        assert {e.key for e in store.list("INBOX")} == {a.key, b.key}
        assert store.read(a) == MSG and store.read(b) == MSG
        moved = store.move(b, "Archive")
        assert sorted(store._batch.dirs) == sorted(  # noqa: SLF001 - what will be fsynced
            {tmp_path / "INBOX" / "new", tmp_path / "INBOX" / "cur", tmp_path / "Archive" / "cur"}
        )
    assert store._batch.dirs is None  # noqa: SLF001
    assert store.read(moved) == MSG


def test_unique_names_carry_the_pid_of_the_process_that_makes_them() -> None:
    """The host name and pid are asked once per process; a forked child names its files with
    its own pid (two processes must never make the same name)."""
    from pigeon.core.maildir_names import unique_name

    parent = unique_name()
    assert f".{os.getpid()}_" in parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its name and leave at once
        os.write(w, unique_name().encode())
        os._exit(0)
    os.close(w)
    child = os.read(r, 4096).decode()
    os.close(r)
    os.waitpid(pid, 0)
    assert f".{pid}_" in child and child.split(".", 2)[2] == parent.split(".", 2)[2]


def test_a_failed_folder_operation_names_the_path_then_the_cause(tmp_path: Path) -> None:
    """The OS's words come last, after the path they are about (once: not again when the
    message names it already)."""
    md = Maildir(tmp_path / "Mail")
    (tmp_path / "Mail" / "a").write_text("a file, not a folder\n")
    with pytest.raises(StoreError) as info:
        md.create_folder("a/b")
    assert str(info.value) == f"cannot create folder 'a/b': {tmp_path / 'Mail' / 'a' / 'b'}: Not a directory"
    with pytest.raises(StoreError) as info:
        Maildir(tmp_path / "Mail" / "a" / "M")
    assert str(info.value) == f"cannot create the Maildir {tmp_path / 'Mail' / 'a' / 'M'}: it (or a directory above it) is a file"


def test_a_folder_renamed_takes_its_subfolders_and_leaves_no_empty_parent(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "Mail")
    md.create_folder("lists/dev/2024")
    md.add("lists/dev", b"Subject: x\n\nbody\n")
    md.rename_folder("lists/dev", "Groups/dev")
    assert md.folders() == ["Groups/dev", "Groups/dev/2024"]
    assert not (tmp_path / "Mail" / "lists").exists()  # a plain directory left empty goes
    md.create_folder("Other")
    with pytest.raises(StoreError, match="'Other' exists"):
        md.rename_folder("Groups/dev", "Other")


def test_add_many_links_a_batch_only_whole(tmp_path: Path, tiny_fs: Path) -> None:
    """add_many: a batch that fits is linked into new/ under the names given; one cut short
    (Ctrl-C half-way through writing it, or a full disk) leaves nothing in new/ or tmp/."""
    store = Maildir(tmp_path / "m")
    keys = [unique_name() for _ in range(3)]
    entries = store.add_many("INBOX", [MSG + b"%d" % i for i in range(3)], keys)
    assert [e.key for e in entries] == keys and all(e.subdir == "new" for e in entries)
    assert sorted(store.read(e) for e in store.list("INBOX")) == [MSG + b"%d" % i for i in range(3)]

    def interrupted():  # noqa: ANN202
        yield MSG
        yield MSG
        raise KeyboardInterrupt

    class Cut(list):
        def __iter__(self):  # noqa: ANN204
            return interrupted()

    with pytest.raises(KeyboardInterrupt):
        store.add_many("Other", Cut([MSG] * 3), [unique_name() for _ in range(3)])
    assert os.listdir(tmp_path / "m" / "Other" / "tmp") == [] and os.listdir(tmp_path / "m" / "Other" / "new") == []
    small = Maildir(tiny_fs / "mail")
    with pytest.raises(StoreError, match="disk is full"):
        small.add_many("INBOX", [MSG + b"z" * 60_000 for _ in range(6)], [unique_name() for _ in range(6)])
    assert os.listdir(tiny_fs / "mail" / "INBOX" / "tmp") == [] and small.list("INBOX") == []
