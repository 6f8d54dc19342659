"""What users' Maildirs and disks hold besides mail: a file the server will not store, a
directory some tool left in ``cur/``, a damaged sync state. None of them may stop the rest of
a folder from syncing, and each is named in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import disk_failing_at_writeback, run_pigeon, small_tmpfs
from sync_support import (
    assert_agree,
    find_local,
    message,
    put_local,
    server_snapshot,
    set_local_flags,
    sync,
)
from test_sync_cli import state_file, write_config

pytestmark = pytest.mark.dovecot


def test_a_message_the_server_refuses_stays_here_and_the_rest_of_the_folder_syncs(tmp_path: Path, mail_user) -> None:  # noqa: ANN001
    user, root, state = mail_user, tmp_path / "Mail", tmp_path / "state.sqlite"
    uids = [user.append(message(i), "INBOX") for i in range(3)]
    assert not sync(user, root, state).failed
    # An empty file in new/ (Dovecot will not store a zero-byte message) beside a message
    # written here, a flag set here, and a message deleted on the server.
    (root / "INBOX" / "new" / "1700000000.empty.host").write_bytes(b"")
    put_local(root, "INBOX", message(10, subject="written here"))
    set_local_flags(find_local(root, "INBOX", b"Hello 0."), "F")
    c = user.imap()
    c.select_folder("INBOX")
    c.delete_messages([uids[2]])
    c.expunge()
    c.logout()

    res = sync(user, root, state)
    why = res.failed["INBOX"]
    assert why.startswith("the server refused to store new/1700000000.empty.host (kept here only): ")
    assert "zero byte" in why
    # Everything else went through: the upload beside it, the flag, the deletion.
    assert res.report.uploaded == 1
    srv = server_snapshot(user)["INBOX"]
    assert sorted(data.split(b"\n\n", 1)[1] for _f, _k, data in srv.values()) == [b"Hello 0.\n", b"Hello 1.\n", b"Hello 10.\n"]
    assert srv[uids[0]][0] == "F"
    assert not list((root / "INBOX" / "cur").glob(f"*,U={uids[2]}:*"))
    assert (root / "INBOX" / "new" / "1700000000.empty.host").exists()

    # It is tried again each time, and said again; gone, the folder agrees.
    assert "refused" in sync(user, root, state).failed["INBOX"]
    (root / "INBOX" / "new" / "1700000000.empty.host").unlink()
    assert not sync(user, root, state).failed
    assert_agree(user, root, state)


def test_a_directory_in_cur_or_new_is_no_message(tmp_path: Path, mail_user) -> None:  # noqa: ANN001
    user, root, state = mail_user, tmp_path / "Mail", tmp_path / "state.sqlite"
    user.append(message(1), "INBOX")
    assert not sync(user, root, state).failed
    (root / "INBOX" / "cur" / "left-by-a-tool").mkdir()
    (root / "INBOX" / "new" / "another").mkdir()
    put_local(root, "INBOX", message(2))
    res = sync(user, root, state)
    assert not res.failed and res.report.uploaded == 1
    assert_agree(user, root, state)
    assert (root / "INBOX" / "cur" / "left-by-a-tool").is_dir()


def test_a_damaged_sync_state_is_named_with_what_to_do(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    for i in range(3):
        mail_user.append(message(i), "INBOX")
    assert run_pigeon("sync").returncode == 0
    path = state_file(isolated_env)
    path.write_bytes(path.read_bytes()[:3000])  # cut short, as a full disk or a crash might
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    p = run_pigeon("sync")
    assert p.returncode == 1
    err = p.stderr.decode().strip()
    assert err == (f"pigeon: sync work: (state): the sync state {path} is damaged (database disk image is malformed):"
                   " move it aside and sync again; the next sync pairs the Maildir with the server by content and"
                   " loses nothing"), err
    path.rename(path.with_suffix(".damaged"))
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("0 down, 0 up")
    assert_agree(mail_user, maildir, path)


def test_the_sync_command_of_the_shell_says_what_failed(mail_user, config_dir, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    assert run_pigeon("sync").returncode == 0
    (maildir / "INBOX" / "new" / "1700000000.empty.host").write_bytes(b"")
    p = run_pigeon("shell", input=b"sync\n")
    assert p.returncode == 1
    assert p.stdout.decode().startswith("0 down, 0 up")
    assert ("work: INBOX: the server refused to store new/1700000000.empty.host (kept here only): Can't save a zero"
            in p.stderr.decode()), p.stderr.decode()


def test_an_account_whose_maildir_is_broken_does_not_stop_the_others(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    other = mail_user.server.add_user()
    good, bad = tmp_path / "Good", tmp_path / "Bad"

    def configure() -> None:
        (config_dir / "config.toml").write_text("".join(
            f'[accounts.{name}]\naddress = "{u.name}@example.org"\nmaildir = "{root}"\n{u.toml("imap", "tls")}\n'
            f'password_command = ["printf", "%s", "{u.password}"]\n' for name, u, root in (("good", mail_user, good), ("bad", other, bad))))

    configure()
    assert run_pigeon("sync").returncode == 0  # both have a state now
    mail_user.append(message(1), "INBOX")
    other.append(message(2), "INBOX")
    shutil.rmtree(bad)
    bad.write_text("not a directory\n")  # a path mistyped, a mount gone wrong
    p = run_pigeon("sync")
    assert p.returncode == 1
    assert p.stderr.decode().strip() == f"pigeon: sync bad: (local): cannot create the Maildir {bad}: it (or a directory above it) is a file"
    assert p.stdout.decode().startswith("1 down, 0 up")
    assert_agree(mail_user, good, state_file(isolated_env, "good"))


def test_leaving_a_folder_on_a_server_without_unselect_expunges_nothing(mail_user) -> None:  # noqa: ANN001
    """CLOSE, the fallback where UNSELECT is missing, expunges what is marked \\Deleted in a
    folder selected read-write: a message merely marked deleted (Maildir T) would be gone."""
    from pigeon.core.sync_remote import Remote
    from sync_support import session

    uid = mail_user.append(message(1), "INBOX", ("\\Deleted",))
    s = session(mail_user)
    try:
        r = Remote(s)
        r.has = lambda cap: cap != "UNSELECT" and Remote.has(r, cap)  # as on a server without it
        r.select("INBOX")
        r.unselect()
        assert r.selected is None
    finally:
        s.logout()
    assert list(mail_user.fetch_all("INBOX")) == [uid]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 320 KiB tmpfs."""
    with small_tmpfs(tmp_path / "small", "320k") as mnt:
        yield mnt


@pytest.mark.parametrize("batch", [60_000, 100_000], ids=["written-one-by-one", "written-by-threads"])
def test_a_disk_that_fills_up_during_a_download_loses_nothing(small_disk: Path, tmp_path: Path, mail_user, batch: int) -> None:  # noqa: ANN001
    """The Maildir's disk fills up half-way through a first download, batches of a few
    messages at a time (three, written one by one; five, written by the writer threads and
    made durable together): the sync fails that folder in one line naming the full disk. What it
    left here is whole messages, each recorded in the state, and nothing staged in tmp/ (a
    batch is linked in only once all of it is written and durable). With space again, the
    next sync completes: every message once, nothing downloaded twice."""
    import subprocess

    user, root, state = mail_user, small_disk / "Mail", tmp_path / "state.sqlite"
    for i in range(24):
        user.append(message(i, size=20_000), "INBOX")
    kept = _stopped_by_the_disk(user, root, state, sync(user, root, state, batch_bytes=batch))
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    _completes(user, root, state, batch, kept)


def _stopped_by_the_disk(user, root: Path, state: Path, res) -> int:  # noqa: ANN001
    """The sync of 24 messages failed INBOX in one line naming the full disk; nothing is left
    staged in tmp/, and what is here is whole messages of the server, each recorded in the
    state. Returns how many."""
    from pigeon.core.sync_state import SyncState

    why = res.failed["INBOX"]
    assert "disk is full" in why and "\n" not in why, why
    inbox = root / "INBOX"
    assert list((inbox / "tmp").iterdir()) == []
    files = [p for sub in ("cur", "new") for p in (inbox / sub).iterdir()]
    assert 0 < len(files) < 24
    server = {data for _f, _k, data in server_snapshot(user)["INBOX"].values()}
    assert all(p.read_bytes() in server for p in files)
    with SyncState(state) as st:
        assert len(st.messages("INBOX")) == len(files)
    return len(files)


def _completes(user, root: Path, state: Path, batch: int, kept: int) -> None:  # noqa: ANN001
    """With the disk mended, the next sync brings the rest: nothing downloaded twice."""
    again = sync(user, root, state, batch_bytes=batch)
    assert not again.failed, again.failed
    assert again.report.downloaded == 24 - kept
    assert_agree(user, root, state)


def test_folders_that_fail_for_one_reason_share_a_line(small_disk: Path, mail_user, config_dir, isolated_env) -> None:  # noqa: ANN001
    """pigeon sync into a Maildir on a disk too small for either folder: exit 1, and the two
    folders that failed on the full disk are named on one line, not one line each."""
    write_config(config_dir, mail_user, small_disk / "Mail")
    for folder in ("INBOX", "Archive"):
        for i in range(20):
            mail_user.append(message(i, size=20_000, tag=folder), folder)
    p = run_pigeon("sync")
    assert p.returncode == 1
    err = p.stderr.decode().strip().splitlines()
    assert err == ["pigeon: sync work: Archive, INBOX: the disk is full (No space left on device):"
                   " free some space and sync again (what is stored is kept)"], err


@pytest.mark.parametrize("batch", [3_000_000, 5_000_000], ids=["fsync-each", "syncfs"])
def test_a_disk_that_fails_after_the_writes_loses_nothing(tmp_path: Path, mail_user, batch: int) -> None:  # noqa: ANN001
    """The Maildir's disk takes the writes of a download but fails to write them back (here an
    ext4 on a loop device whose image fills its tmpfs). Batches of 2 or 3 messages fsync each
    file; batches of 4 or 5 are made durable with one syncfs. Either way the batch that could
    not be made durable is not linked in and not recorded, the folder fails naming the full disk, and the
    batches made durable before are whole and recorded. Mended, the next sync completes with
    nothing downloaded twice."""
    import subprocess

    user, state = mail_user, tmp_path / "state.sqlite"
    for i in range(24):
        user.append(message(i, size=1_000_000), "INBOX")
    with disk_failing_at_writeback(tmp_path, free_kib=12 * 1024) as (mnt, backing):
        root = mnt / "Mail"
        kept = _stopped_by_the_disk(user, root, state, sync(user, root, state, batch_bytes=batch))
        subprocess.run(["mount", "-o", "remount,size=256m", str(backing)], check=True)
        _completes(user, root, state, batch, kept)
