"""Helpers for the journal tests: a config for the private Dovecot and aiosmtpd that can be
switched offline (both servers pointed at a closed port) and back."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

from fixtures.dovecot import free_ports


def write_config(config_dir: Path, user: Any, smtp: Any, maildir: Path, *, online: bool = True, extra: str = "") -> None:
    """One account ``work``: IMAP on the fixture's Dovecot, SMTP on aiosmtpd (same user and
    password). Offline: both ports replaced by a port nobody listens on."""
    imap = user.toml("imap", "tls")
    sub = smtp.toml(smtp.add_user(user.name, user.password), "tls")
    if not online:
        closed = free_ports(1)[0]
        imap = re.sub(r"port = \d+", f"port = {closed}", imap)
        sub = re.sub(r"port = \d+", f"port = {closed}", sub)
    (config_dir / "config.toml").write_text(
        f"""{extra}
[accounts.work]
address = "{user.name}@example.org"
maildir = "{maildir}"
{imap}
{sub}
password_command = ["{sys.executable}", "-c", "print('{user.password}')"]
"""
    )


def wait_for(pred: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def server_flags(user: Any, folder: str) -> dict[bytes, set[bytes]]:
    """{Message-ID: flags} of every message in a server folder."""
    client = user.imap()
    try:
        if not client.folder_exists(folder):
            return {}
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        data = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        out = {}
        for d in data.values():
            mid = d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].split(b":", 1)[1].strip()
            out[mid] = set(d[b"FLAGS"]) - {b"\\Recent"}
        return out
    finally:
        client.logout()
