"""Shared fixtures: an isolated config home, state home and environment for every test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Shared servers and TLS material (tests/fixtures/): importing the fixtures makes them available
# to every test. See tests/fixtures/__init__.py for what each one gives.
from fixtures.dovecot import dovecot, mail_user  # noqa: F401
from fixtures.hostile import hostile  # noqa: F401
from fixtures.pki import pki  # noqa: F401
from fixtures.smtpd import smtp_inbox, smtp_server  # noqa: F401
from fixtures.tokens import oauth_server, token_endpoint  # noqa: F401
from helpers import CORPUS

pytest_plugins = ["fixtures.gpg"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every test gets its own config and state directories; nothing touches the real home."""
    config = tmp_path / "config"
    state = tmp_path / "state"
    config.mkdir()
    monkeypatch.setenv("PIGEON_CONFIG_DIR", str(config))
    monkeypatch.setenv("PIGEON_STATE_DIR", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("PIGEON_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("PIGEON_TRACE_PLUGINS", raising=False)
    yield {"config": config, "state": state}
    # An index update the search plugin scheduled must not run in the next test, against its
    # state directory with this test's accounts.
    search = sys.modules.get("pigeon.plugins.search")
    if search is not None:
        search.cancel_settling()
    # user plugin modules are per test
    for name in [m for m in sys.modules if m.startswith("pigeon_user")]:
        del sys.modules[name]


@pytest.fixture
def config_dir(isolated_env: dict[str, Path]) -> Path:
    return isolated_env["config"]


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    return CORPUS

