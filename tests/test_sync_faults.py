"""Interrupted syncs: killed at random points, and a connection cut in the middle of a FETCH.
Each time the next sync completes, and then server, Maildir and state agree: nothing lost,
nothing twice, on either side."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO, run_pigeon
from sync_support import assert_agree, message, put_local, session, sync

pytestmark = pytest.mark.dovecot


def load_server(user, folder: str, start: int, n: int, size: int = 0) -> None:  # noqa: ANN001
    """Put n messages on the server quickly (MULTIAPPEND in chunks, one session)."""
    from pigeon.core.sync_remote import Remote

    s = session(user)
    try:
        r = Remote(s)
        if folder != "INBOX":
            try:
                r.create(folder)
            except Exception:  # noqa: BLE001, S110 - exists already
                pass
        for i in range(start, start + n, 200):
            batch = [(message(j, size=size), ["\\Seen"] if j % 3 else [], None) for j in range(i, min(i + 200, start + n))]
            r.append(folder, batch)
    finally:
        s.logout()


def kill_syncs_at_random(rng: random.Random, refill, *, kills: int, runs: int, within: tuple[float, float]) -> None:  # noqa: ANN001
    """Start ``pigeon sync`` and SIGKILL it after a random delay (``within`` seconds), until it
    was killed ``kills`` times or ran ``runs`` times. A run that finished before the kill (a
    fast sync has little left after a few runs) calls ``refill()`` for new mail, so that the
    next run has something to be interrupted in. At least 3 kills, or the test is void."""
    killed = 0
    for _ in range(runs):
        if killed >= kills:
            break
        proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "sync"], env=dict(os.environ), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(*within))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            refill()
        proc.wait()
    assert killed >= 3, "the syncs finished too fast to be interrupted"


def write_config(config_dir: Path, user, maildir: Path, port: int | None = None) -> None:  # noqa: ANN001
    table = user.toml("imap", "tls")
    if port is not None:
        table = table.replace(f"port = {user.server.ports['imaps']}", f"port = {port}")
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{user.name}@example.org"\nmaildir = "{maildir}"\n{table}\n'
        f'password_command = ["printf", "%s", "{user.password}"]\n'
    )


def test_sync_killed_at_random_points_then_completes(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    rng = random.Random(4)
    maildir = tmp_path / "Mail"
    write_config(config_dir, mail_user, maildir)
    load_server(mail_user, "INBOX", 0, 2000)
    load_server(mail_user, "Archive", 5000, 500)
    for i in range(300):  # local mail to upload while being killed too
        put_local(maildir, "Sent", message(9000 + i), "S")
    more = 0

    def refill() -> None:
        nonlocal more
        load_server(mail_user, "INBOX", 20000 + more, 400)
        more += 400

    kill_syncs_at_random(rng, refill, kills=3, runs=12, within=(0.1, 0.8))
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    state = isolated_env["state"] / "sync" / "work.sqlite"
    server = assert_agree(mail_user, maildir, state)
    assert len(server["INBOX"]) == 2000 + more and len(server["Archive"]) == 500 and len(server["Sent"]) == 300
    # and a further sync has nothing left to do
    p = run_pigeon("sync")
    assert p.stdout.decode().startswith("0 down, 0 up")


@pytest.mark.parametrize("made", [("cur",), ("cur", "new"), ("new",)])
def test_folder_made_half_way_by_a_killed_sync_still_syncs(mail_user, tmp_path, made: tuple[str, ...]) -> None:  # noqa: ANN001
    """A sync killed inside ``create_folder`` leaves cur/ (and maybe new/) without tmp/: the
    folder counts as a Maildir from then on, so the next sync must make what is missing rather
    than fail on that folder every time (the failure seen when a sync was killed at random)."""
    maildir = tmp_path / "Mail"
    for i in range(3):
        mail_user.append(message(i), "Archive", ("\\Seen",) if i % 2 else ())
    for sub in made:
        (maildir / "Archive" / sub).mkdir(parents=True)
    state = tmp_path / "state.sqlite"
    res = sync(mail_user, maildir, state)
    assert not res.failed, res.failed
    assert res.report.downloaded == 3
    server = assert_agree(mail_user, maildir, state)
    assert len(server["Archive"]) == 3


class CuttingProxy:
    """A TCP relay on 127.0.0.1 that cuts both sides after ``limit`` bytes from the server."""

    def __init__(self, target_port: int, limit: int | None) -> None:
        self.target = target_port
        self.limit = limit
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        seen = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if counted and self.limit is not None and seen + len(data) > self.limit:
                    dst.sendall(data[: max(0, self.limit - seen)])
                    self.cut.set()
                    break
                seen += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.sock.close()


def test_connection_cut_mid_fetch_then_completes(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    load_server(mail_user, "INBOX", 0, 1100, size=1500)  # three FETCH batches of up to 500
    proxy = CuttingProxy(mail_user.server.ports["imaps"], limit=1_500_000)  # inside the second one
    try:
        write_config(config_dir, mail_user, maildir, port=proxy.port)
        p = run_pigeon("sync")
        assert proxy.cut.is_set()
        assert p.returncode == 1
        err = p.stderr.decode()
        assert "pigeon: sync work:" in err and "Traceback" not in err
    finally:
        proxy.close()
    got = len(os.listdir(maildir / "INBOX" / "new")) + len(os.listdir(maildir / "INBOX" / "cur"))
    assert 0 < got < 1100, got  # the first batch arrived before the cut
    write_config(config_dir, mail_user, maildir)
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    server = assert_agree(mail_user, maildir, isolated_env["state"] / "sync" / "work.sqlite")
    assert len(server["INBOX"]) == 1100


@pytest.mark.parametrize("leave", [True, False], ids=["left-on-server", "deleted-from-server"])
def test_pop3_download_killed_at_random_points_then_completes(mail_user, config_dir, isolated_env, tmp_path, leave: bool) -> None:  # noqa: ANN001
    """A POP3 account's download killed (SIGKILL) at random points, then run to the end: the
    Maildir holds every message of the server exactly once (a batch is recorded as pending
    before its files exist and settled by looking for them), and with leave_on_server = false
    the server is empty at the end."""
    rng = random.Random(11 if leave else 12)
    maildir = tmp_path / "Mail"
    sync_table = "" if leave else "\n[accounts.work.sync]\nleave_on_server = false\n"
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{maildir}"\n'
        f'{mail_user.toml("pop3", "tls")}\npassword_command = ["printf", "%s", "{mail_user.password}"]\n{sync_table}'
    )
    load_server(mail_user, "INBOX", 0, 1500, size=3000)
    expected = {m.split(b"\r\n\r\n", 1)[1] for m in mail_user.fetch_all("INBOX").values()}
    more = 0

    def refill() -> None:
        nonlocal more, expected
        load_server(mail_user, "INBOX", 20000 + more, 300, size=3000)
        expected |= {m.split(b"\r\n\r\n", 1)[1] for m in mail_user.fetch_all("INBOX").values()}
        more += 300

    kill_syncs_at_random(rng, refill, kills=4, runs=15, within=(0.15, 0.9))
    p = run_pigeon("sync")
    assert p.returncode == 0, p.stderr.decode()
    files = [f for sub in ("cur", "new") for f in (maildir / "INBOX" / sub).iterdir()]
    bodies = [f.read_bytes().split(b"\n\n", 1)[1] for f in files]
    assert len(bodies) == len(set(bodies)) == 1500 + more  # each once
    assert {b.replace(b"\n", b"\r\n") for b in bodies} == expected
    assert (mail_user.fetch_all("INBOX") == {}) is not leave
    assert run_pigeon("sync").stdout.decode().startswith("0 down")
