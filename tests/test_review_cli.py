"""CLI commands as a user meets them in a terminal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.dovecot import free_ports
from helpers import REPO, run_pigeon


def test_watch_says_what_it_watches_and_where_it_logs(config_dir: Path, tmp_path: Path) -> None:
    """Without -v, ``pigeon watch`` used to print nothing at all: it looked hung."""
    port = free_ports(1)[0]  # nobody listens: the greeting comes before any connection
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "a@example.org"\nmaildir = "{tmp_path / "Mail"}"\n'
        f'imap = {{ host = "127.0.0.1", port = {port}, security = "tls", username = "a" }}\n'
        'password_command = ["printf", "x"]\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "pigeon.core.cli", "watch", "--interval", "600"],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = Path(os.environ["PIGEON_STATE_DIR"]) / "logs" / "watch.log"
    try:
        deadline = time.monotonic() + 20
        while b"watching work" not in (log.read_bytes() if log.exists() else b"") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    line = err.decode().splitlines()[0] if err else ""
    assert line.startswith("pigeon watch: watching work; log in ") and "watch.log" in line and "Ctrl-C stops" in line


def test_show_on_a_directory_says_so(config_dir: Path, tmp_path: Path) -> None:
    p = run_pigeon("show", str(tmp_path))
    assert p.returncode == 1 and p.stderr.decode() == f"pigeon: {tmp_path} is a directory, not a message file\n"


def test_doctor_names_a_config_error_file_once(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "config.toml").write_text(f'[accounts.a]\naddress = "a@example.org"\nmaildir = "{tmp_path}"\nname = "A"\n')
    p = run_pigeon("doctor")
    cfg = config_dir / "config.toml"
    line = next(x for x in p.stdout.decode().splitlines() if "unknown key" in x)
    assert line == f"severe   {cfg}:4: accounts.a.name: unknown key (did you mean 'real_name'?)"


def test_search_lists_a_message_without_subject_as_such(config_dir: Path, tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp"):
        (maildir / "INBOX" / sub).mkdir(parents=True)
    (maildir / "INBOX" / "cur" / "1700000000.1_1.h:2,S").write_bytes(
        b"From: Bob <bob@example.org>\nTo: a@example.org\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <ns@example.org>\n\nno subject here\n"
    )
    (config_dir / "config.toml").write_text(f'[accounts.a]\naddress = "a@example.org"\nmaildir = "{maildir}"\n')
    assert run_pigeon("index").returncode == 0
    out = run_pigeon("search", "from:bob").stdout.decode()
    assert "Bob <bob@example.org>; (no subject) (" in out
    out = run_pigeon("search", "--threads", "from:bob").stdout.decode()
    assert "Bob; (no subject) (" in out or "(no subject) (" in out


def test_show_an_unknown_id_speaks_of_the_index(config_dir: Path) -> None:
    p = run_pigeon("show", "id:nope@example.org")
    assert p.returncode == 1
    assert p.stderr.decode() == "pigeon: no message id:nope@example.org in the index (pigeon index brings it up to date)\n"


@pytest.mark.dovecot
def test_sync_and_index_write_durations_alike(mail_user, config_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """``pigeon sync`` said "in 0.84s" and ``pigeon index`` "in 0.36 s": one style."""
    from sync_support import message

    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "{mail_user.name}@example.org"\nmaildir = "{tmp_path / "Mail"}"\n'
        f'{mail_user.toml("imap", "tls")}\npassword_command = ["printf", "%s", "{mail_user.password}"]\n'
    )
    mail_user.append(message(1), "INBOX")
    lines = []
    for command in ("sync", "index"):
        p = run_pigeon(command)
        assert p.returncode == 0, p.stderr.decode()
        lines.append(p.stdout.decode().splitlines()[-1])
    assert lines[0].startswith("1 down, 0 up") and lines[1].startswith("1 added")
    assert all(re.search(r" in \d+\.\d\ds$", line) for line in lines), lines


def test_help_lists_each_command_once_and_every_command_explains_itself() -> None:
    from pigeon.core.cli import SUBCOMMANDS

    top = run_pigeon("--help", env={"COLUMNS": "100"})
    assert top.returncode == 0
    text = top.stdout.decode()
    for name, (_module, summary) in SUBCOMMANDS.items():
        assert text.count(f"\n  {name} ") == 1, name  # listed once, on one line with its summary
        assert summary in text
    assert "pigeon COMMAND --help" in text
    for name in SUBCOMMANDS:
        p = run_pigeon(name, "--help", env={"COLUMNS": "100"})
        out = p.stdout.decode()
        assert p.returncode == 0 and out.startswith(f"usage: pigeon {name} "), (name, p.stderr)
        description = out.split("\n\n")[1]
        assert description.startswith(f"pigeon {name}: ") and description.endswith(".") and "``" not in description, description
        assert "DESIGN.md" not in out, name  # users do not have the design notes
        lines = out.partition("\noptions:\n")[2].splitlines() + [""]
        # an option with its help neither beside it nor on the next line says nothing
        bare = [a for a, b in zip(lines, lines[1:], strict=False) if a.startswith("  -") and "  " not in a.strip() and not b.startswith("      ")]
        assert not bare, (name, bare)
