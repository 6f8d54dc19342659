"""``pigeon watch`` against the private Dovecot: server mail arrives within seconds, local flag
changes reach the server within seconds, a Dovecot restart is ridden out, SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO
from sync_support import find_local, message, set_local_flags

pytestmark = pytest.mark.dovecot


def wait_for(cond, timeout: float, what: str):  # noqa: ANN001, ANN201
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:g}s: {what}")


def local_has(maildir: Path, needle: bytes) -> bool:
    try:
        find_local(maildir, "INBOX", needle)
        return True
    except (FileNotFoundError, OSError):
        return False


def server_flags(user, subject: bytes) -> set[str]:  # noqa: ANN001
    c = user.imap()
    try:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["HEADER", "Subject", subject.decode()])
        if not uids:
            return set()
        flags = c.get_flags(uids)[uids[0]]
        return {f.decode() if isinstance(f, bytes) else f for f in flags}
    finally:
        c.logout()


def test_watch_both_ways_and_survives_a_server_restart(mail_user, config_dir, isolated_env, tmp_path) -> None:  # noqa: ANN001
    maildir = tmp_path / "Mail"
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{maildir}"\n'
        f'{mail_user.toml("imap", "tls")}\npassword_command = ["printf", "%s", "{mail_user.password}"]\n'
    )
    mail_user.append(message(1, subject="first"), "INBOX")
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--push-delay", "0.3", "--interval", "600"],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: local_has(maildir, b"Hello 1."), 20, "the initial sync")
        log = isolated_env["state"] / "logs" / "watch.log"
        wait_for(lambda: log.exists() and "watching INBOX" in log.read_text(), 10, "IDLE started")

        # a message appended on the server appears locally within seconds
        t0 = time.monotonic()
        mail_user.append(message(2, subject="second"), "INBOX")
        wait_for(lambda: local_has(maildir, b"Hello 2."), 10, "server mail arriving locally")
        arrive = time.monotonic() - t0

        # a flag set locally reaches the server within seconds
        t0 = time.monotonic()
        set_local_flags(find_local(maildir, "INBOX", b"Hello 1."), "FS")
        wait_for(lambda: {"\\Flagged", "\\Seen"} <= server_flags(mail_user, b"first"), 10, "a local flag reaching the server")
        push = time.monotonic() - t0
        assert arrive < 10 and push < 10

        # Dovecot goes away and comes back: watch reconnects and carries on
        mail_user.server.stop()
        time.sleep(2)
        mail_user.server.start()
        mail_user.append(message(3, subject="third"), "INBOX")
        wait_for(lambda: local_has(maildir, b"Hello 3."), 30, "mail after the server restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("pigeon watch did not stop on SIGTERM") from None
    assert proc.returncode == 0, err.decode()
    text = (isolated_env["state"] / "logs" / "watch.log").read_text()
    assert "stopped" in text and "Traceback" not in err.decode()
