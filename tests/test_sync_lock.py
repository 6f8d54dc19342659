"""One sync of an account at a time: two ``pigeon sync`` at once (cron beside a terminal, or
beside ``pigeon watch``) neither duplicate nor lose mail; one that finds another running waits
for it, says so, and gives up with exit 1 and the cause after ``[sync] lock_wait``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, run_pigeon
from pigeon.core.sync_lock import AccountLock, SyncBusy, lock_path
from sync_support import assert_agree, find_local, message, put_local, set_local_flags
from test_sync_cli import state_file, write_config
from test_sync_watch import local_has, wait_for

pytestmark = pytest.mark.dovecot


def start_sync(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "sync", *args], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def server_count(user, folder: str = "INBOX") -> int:  # noqa: ANN001
    return len(user.fetch_all(folder))


def one_new_and_the_lock_held(mail_user, config_dir, isolated_env, tmp_path, wait: float) -> tuple[Path, AccountLock]:  # noqa: ANN001
    """Account ``work`` with ``[sync] lock_wait = wait``, a message on the server, and its sync
    lock taken by this process (as another sync would hold it)."""
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir, extra=f"[sync]\nlock_wait = {wait}\n")
    mail_user.append(message(1), "INBOX")
    held = AccountLock(lock_path(state_file(isolated_env)))
    held.acquire(0)
    return maildir, held


def test_two_syncs_at_once_neither_duplicate_nor_lose(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    for i in range(20):
        mail_user.append(message(i), "INBOX")
    assert run_pigeon("sync").returncode == 0
    n = 20
    for rnd in range(3):
        # News on both sides, then two syncs started together.
        for i in range(10):
            mail_user.append(message(1000 * (rnd + 1) + i), "INBOX")
        put_local(maildir, "INBOX", message(5000 + rnd, subject=f"written here {rnd}"))
        set_local_flags(find_local(maildir, "INBOX", f"Hello {rnd}.".encode()), "FS")
        n += 11
        a, b = start_sync(), start_sync()
        outs = [p.communicate(timeout=120) for p in (a, b)]
        for p, (_out, err) in zip((a, b), outs, strict=True):
            assert p.returncode == 0, err.decode()
        # Each new message moved once between them (10 down, 1 up), not once by each: no
        # copy on the server of the file written here, none here of the server's mail.
        assert server_count(mail_user) == n
        assert_agree(mail_user, maildir, state_file(isolated_env))
        downs = sorted(int(out.decode().split(" down")[0]) for out, _err in outs)
        assert downs == [0, 10], outs


def test_a_sync_that_finds_another_running_waits_or_gives_up(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir, held = one_new_and_the_lock_held(mail_user, config_dir, isolated_env, tmp_path, wait=0.5)
    try:
        # Held by another process for longer than this sync waits: exit 1 with the cause,
        # and nothing done.
        p = run_pigeon("sync")
        assert p.returncode == 1
        err = p.stderr.decode()
        assert (f"pigeon: sync work: (busy): another sync of this account (pid {os.getpid()}" in err
                and "is still running; gave up waiting after 0.5s ([sync] lock_wait)" in err), err
        assert not local_has(maildir, b"Hello 1.")
        # With a longer wait it goes through once the other sync is done.
        write_config(config_dir, mail_user, maildir, extra="[sync]\nlock_wait = 60\n")
        waiting = start_sync()
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting, not syncing beside it
        assert not local_has(maildir, b"Hello 1.")
    finally:
        held.release()
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err.decode()
    assert out.decode().startswith("1 down, 0 up")
    assert_agree(mail_user, maildir, state_file(isolated_env))
    # The lock names its last holder and is free again: the next sync takes it at once.
    assert lock_path(state_file(isolated_env)).read_text().split()[0].isdigit()
    assert run_pigeon("sync").returncode == 0


def test_watch_retries_a_sync_another_process_holds(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir, held = one_new_and_the_lock_held(mail_user, config_dir, isolated_env, tmp_path, wait=0.2)
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--interval", "600"],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        log = isolated_env["state"] / "logs" / "watch.log"
        wait_for(lambda: log.exists() and "another sync of this account" in log.read_text(), 20, "watch finding the lock held")
        assert not local_has(maildir, b"Hello 1.")
        held.release()
        wait_for(lambda: local_has(maildir, b"Hello 1."), 20, "watch syncing once the lock is free")
    finally:
        held.release()
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert_agree(mail_user, maildir, state_file(isolated_env))


def test_the_lock_sits_beside_the_state_and_dies_with_its_process(tmp_path: Path) -> None:
    """A sync killed with -9 leaves no lock behind to clear by hand (flock, not a pid file)."""
    state = tmp_path / "sync" / "work.sqlite"
    path = lock_path(state)
    assert path == tmp_path / "sync" / "work.lock"
    code = ("import sys, time; from pigeon.core.sync_lock import AccountLock; "
            f"AccountLock({str(path)!r}).acquire(0); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        mine = AccountLock(path)
        with pytest.raises(SyncBusy, match=rf"\(pid {holder.pid}\b.*\) is still running"):
            mine.acquire(0.2)
        holder.kill()
        holder.wait(10)
        mine.acquire(5)  # at once: the kernel dropped the dead process's lock
        mine.release()
    finally:
        holder.kill()
        holder.wait(10)


def test_ctrl_c_while_waiting_says_so_and_leaves_nothing_behind(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    import signal

    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    mail_user.append(message(1), "INBOX")
    held = AccountLock(lock_path(state_file(isolated_env)))
    held.acquire(0)
    try:
        waiting = start_sync()
        time.sleep(1.5)
        waiting.send_signal(signal.SIGINT)
        _out, err = waiting.communicate(timeout=30)
    finally:
        held.release()
    assert waiting.returncode == 130
    assert err.decode().strip() == "pigeon: sync work interrupted: what it finished is kept; pigeon sync goes on from there"
    p = run_pigeon("sync")  # the lock the interrupted sync waited for is not left taken
    assert p.returncode == 0 and p.stdout.decode().startswith("1 down")
    assert_agree(mail_user, maildir, state_file(isolated_env))
