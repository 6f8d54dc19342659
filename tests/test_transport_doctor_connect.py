"""pigeon doctor --connect against the private Dovecot and aiosmtpd."""

from __future__ import annotations

import sys

import pytest
from helpers import run_pigeon

pytestmark = pytest.mark.dovecot


def write(config_dir, tmp_path, mail_user, server, user, imap_extra: str = "") -> None:
    imap = mail_user.toml("imap", "tls")
    if imap_extra:
        imap = imap[:-2] + ", " + imap_extra + " }"
    (config_dir / "config.toml").write_text(
        f"""
[accounts.me]
address = "alice@example.org"
maildir = "{tmp_path / 'Mail'}"
{imap}
{mail_user.toml("pop3", "starttls")}
password_command = ["{sys.executable}", "-c", "print('{mail_user.password}')"]

[accounts.out]
address = "bob@example.org"
maildir = "{tmp_path / 'Mail2'}"
{server.toml(user, "starttls")}
password_command = ["{sys.executable}", "-c", "print('{user.password}')"]
"""
    )


def test_doctor_connect_reports_tls_certificate_capabilities_auth(config_dir, tmp_path, mail_user, smtp_inbox) -> None:
    server, user = smtp_inbox
    write(config_dir, tmp_path, mail_user, server, user)
    r = run_pigeon("--debug", "doctor", "--connect")
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    for proto in ("imap", "pop3", "smtp"):
        lines = [ln for ln in out.splitlines() if f" {proto} localhost:" in ln]
        assert any("TLSv1." in ln and "cipher" in ln for ln in lines), lines
        assert any("certificate CN=localhost" in ln and "expires" in ln and "verified" in ln for ln in lines)
        assert any("authenticated (PLAIN)" in ln for ln in lines)
    everything = r.stdout + r.stderr
    assert mail_user.password.encode() not in everything and user.password.encode() not in everything
    assert b"pigeon debug: imap C:" in r.stderr and b"<redacted>" in r.stderr


def test_doctor_connect_fails_on_pin_mismatch_and_bad_password(config_dir, tmp_path, mail_user, smtp_inbox) -> None:
    server, user = smtp_inbox
    write(config_dir, tmp_path, mail_user, server, user, imap_extra=f'fingerprint = "{"ab" * 32}"')
    user.password = "not-the-password"  # the config now carries a wrong SMTP password
    (config_dir / "config.toml").write_text((config_dir / "config.toml").read_text().replace(server.users[user.name], "wrong-one"))
    r = run_pigeon("doctor", "--connect")
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "does not match the pinned" in out and "authentication failed" in out
    assert "severe" in out and "wrong-one" not in out
