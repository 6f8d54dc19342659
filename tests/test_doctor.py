"""pigeon doctor on real configuration directories: what it reports, how, and its exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_pigeon

GOOD = """
[accounts.work]
address = "me@example.org"
maildir = "{maildir}"
imap = {{ host = "imap.example.org", security = "tls" }}
smtp = {{ host = "smtp.example.org", security = "tls" }}
password_command = "pass show work"
"""


@pytest.fixture
def cfg(config_dir: Path, tmp_path: Path) -> Path:
    config_dir.chmod(0o700)
    return config_dir


def write(cfg: Path, text: str, mode: int = 0o600) -> Path:
    path = cfg / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def doctor(*args: str) -> tuple[int, list[dict[str, str]], str]:
    res = run_pigeon("doctor", "--json", *args)
    assert b"Traceback" not in res.stderr
    return res.returncode, json.loads(res.stdout or b"[]"), res.stderr.decode()


def codes(problems: list[dict[str, str]]) -> dict[str, str]:
    return {p["code"]: p["severity"] for p in problems}


def test_a_safe_configuration_has_no_problems(cfg: Path, tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    maildir.mkdir(mode=0o700)
    write(cfg, GOOD.format(maildir=maildir))
    res = run_pigeon("doctor")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == b"pigeon doctor: no problems found\n"
    assert doctor() == (0, [], "")


def test_no_account_is_information(cfg: Path) -> None:
    status, problems, _ = doctor()
    assert status == 0 and codes(problems) == {"no-account": "info"}


def test_plaintext_password_is_severe(cfg: Path, tmp_path: Path) -> None:
    write(cfg, GOOD.format(maildir=tmp_path) + 'password = "hunter2"\n')
    res = run_pigeon("doctor")
    assert res.returncode == 1
    out = res.stdout.decode()
    assert out.startswith("severe   ") and "accounts.work: a plaintext password" in out
    assert "hunter2" not in out + res.stderr.decode()
    assert res.stderr == b"pigeon: doctor found 1 severe problem\n"


def test_config_readable_by_others(cfg: Path, tmp_path: Path) -> None:
    write(cfg, GOOD.format(maildir=tmp_path), mode=0o644)
    status, problems, _ = doctor()
    assert status == 0 and codes(problems)["perm-readable"] == "warning"
    # with a password in it, readable by others is severe
    write(cfg, GOOD.format(maildir=tmp_path) + 'password = "x"\n', mode=0o640)
    status, problems, _ = doctor()
    assert status == 1
    assert codes(problems)["perm-readable-secret"] == "severe"
    assert [p for p in problems if p["code"] == "perm-readable-secret"][0]["message"].endswith(f"chmod 600 {cfg / 'config.toml'}")


def test_code_that_others_can_change_is_severe(cfg: Path, tmp_path: Path) -> None:
    write(cfg, GOOD.format(maildir=tmp_path))
    init = cfg / "init.py"
    init.write_text("")
    init.chmod(0o664)
    (cfg / "plugins").mkdir(mode=0o700)
    plugin = cfg / "plugins" / "mine.py"
    plugin.write_text("")
    plugin.chmod(0o646)
    status, problems, _ = doctor()
    assert status == 1
    writable = {p["where"] for p in problems if p["code"] == "perm-writable"}
    assert writable == {str(init), str(plugin)}
    assert all(p["severity"] == "severe" for p in problems if p["code"] == "perm-writable")
    cfg.chmod(0o777)
    status, problems, _ = doctor()
    assert str(cfg) in {p["where"] for p in problems if p["code"] == "perm-writable"}


def test_transport_settings(cfg: Path, tmp_path: Path) -> None:
    write(
        cfg,
        f"""
[accounts.a]
address = "a@example.org"
maildir = "{tmp_path}"
imap = {{ host = "imap.example.org", verify = false }}
smtp = {{ host = "smtp.example.org", security = "starttls" }}
pop3 = {{ host = "127.0.0.1", security = "none" }}
""",
    )
    res = run_pigeon("doctor")
    assert res.returncode == 1
    lines = res.stdout.decode().splitlines()
    assert lines[0].startswith("severe   ") and "accounts.a.imap: certificate verification is turned off for imap.example.org" in lines[0]
    assert any(ln.startswith("notice   ") and "accounts.a.smtp: STARTTLS to smtp.example.org" in ln for ln in lines)
    assert any(ln.startswith("notice   ") and "accounts.a.pop3: plaintext to 127.0.0.1" in ln for ln in lines)


def test_plaintext_to_a_remote_host_is_reported_although_refused(cfg: Path, tmp_path: Path) -> None:
    write(cfg, f'[accounts.a]\naddress = "a@example.org"\nmaildir = "{tmp_path}"\nimap = {{ host = "mail.example.org", security = "none" }}\n')
    status, problems, stderr = doctor()
    assert status == 1
    assert codes(problems) == {"config-error": "severe", "plaintext-remote": "severe"}
    assert stderr.startswith("pigeon: ") and stderr.count("\n") == 1
    assert "accounts.a.imap.security" in stderr and "only to a loopback address" in stderr


def test_cafile_and_token_files(cfg: Path, tmp_path: Path, isolated_env: dict[str, Path]) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    ca.chmod(0o666)
    write(
        cfg,
        f'[accounts.a]\naddress = "a@example.org"\nmaildir = "{tmp_path}"\n'
        f'imap = {{ host = "imap.example.org", cafile = "{ca}" }}\n'
        f'smtp = {{ host = "smtp.example.org", cafile = "{tmp_path / "missing.pem"}" }}\n',
    )
    state = isolated_env["state"]
    (state / "oauth").mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    token = state / "oauth" / "a.json"
    token.write_text("{}")
    token.chmod(0o644)
    status, problems, _ = doctor()
    assert status == 1
    by_where = {(p["where"], p["code"]): p["severity"] for p in problems}
    assert by_where[(str(ca), "perm-writable")] == "severe"
    assert (str(ca), "perm-readable") not in by_where  # a CA certificate is public
    assert by_where[(str(token), "perm-readable-secret")] == "severe"
    assert any(p["code"] == "cafile-missing" and "missing.pem" in p["message"] for p in problems)


def test_a_broken_config_file_is_severe(cfg: Path) -> None:
    write(cfg, "[accounts.a\n")
    res = run_pigeon("doctor")
    assert res.returncode == 1
    assert b"config.toml:1: TOML syntax error" in res.stdout and b"Traceback" not in res.stderr


def test_a_broken_init_is_a_warning(cfg: Path, tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    maildir.mkdir(mode=0o700)
    write(cfg, GOOD.format(maildir=maildir))
    (cfg / "init.py").write_text("def broken(:\n")
    (cfg / "init.py").chmod(0o600)
    status, problems, _ = doctor()
    assert status == 0
    (p,) = problems
    assert p["code"] == "plugin-error" and p["severity"] == "warning" and "'init'" in p["message"]


def test_open_maildir_is_a_warning(cfg: Path, tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    maildir.mkdir(mode=0o755)
    maildir.chmod(0o755)
    write(cfg, GOOD.format(maildir=maildir))
    status, problems, _ = doctor()
    assert status == 0 and codes(problems) == {"perm-maildir": "warning"}


def test_a_bad_config_is_reported_once_even_with_connect(cfg: Path) -> None:
    write(cfg, '[accounts.a]\naddress = "a@example.org"\nimap = { host = "127.0.0.1" }\n')
    res = run_pigeon("doctor", "--connect")
    out, err = res.stdout.decode(), res.stderr.decode()
    assert res.returncode == 1 and "Traceback" not in err
    assert (out + err).count("accounts.a.maildir") == 1, out + err
    assert out.splitlines()[0].startswith("severe   ") and "accounts.a.maildir: required" in out
    assert "info     " in out and "servers not contacted: fix the configuration first" in out
    assert err == "pigeon: doctor found 1 severe problem\n"


def test_a_file_that_does_not_parse_is_not_called_empty(cfg: Path) -> None:
    write(cfg, "[accounts.a\n")
    res = run_pigeon("doctor", "--connect")
    out = res.stdout.decode()
    assert res.returncode == 1
    assert out.count("TOML syntax error") == 1 and "no account is configured" not in out
