"""The system's certificate authorities, read the quick way (``transport.system_context``):
from OpenSSL's hashed directory when it covers the bundle, else the whole bundle. Either way
the same servers are trusted and the others refused; the system store is stood in for by
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` pointing at this test's own authorities."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import trustme
from pigeon.core.imap import ImapSession
from pigeon.core.transport import CertificateError, system_context
from pigeon.hooks.types import Credentials

pytestmark = pytest.mark.dovecot


def _hash(pem: Path) -> str:
    return subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pem)], capture_output=True, check=True, text=True).stdout.strip()


def system_store(monkeypatch, tmp_path: Path, cas: list[Path], linked: list[Path]) -> None:  # noqa: ANN001
    """A stand-in system store: a bundle of ``cas`` and a directory of hashed links to ``linked``."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(p.read_bytes() for p in cas))
    certs = tmp_path / "certs"
    certs.mkdir()
    for p in linked:
        shutil.copy(p, certs / f"{_hash(p)}.0")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))


def connect(mail_user) -> None:  # noqa: ANN001
    sc = mail_user.server_config("imap", "tls", cafile=None)
    with ImapSession(sc, lambda refresh: Credentials(mail_user.name, mail_user.password)) as s:
        assert "INBOX" in {f for _flags, _d, f in s.client.list_folders()}


def other_ca(tmp_path: Path) -> Path:
    p = tmp_path / "other-ca.pem"
    trustme.CA(organization_name="someone else").cert_pem.write_to_path(str(p))
    return p


def test_the_hashed_directory_is_read_when_it_covers_the_bundle(mail_user, pki, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    system_store(monkeypatch, tmp_path, [pki.cafile], [pki.cafile])
    ctx = system_context()
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing read up front: looked up at the handshake
    connect(mail_user)


def test_the_whole_bundle_is_read_when_the_directory_has_fewer(mail_user, pki, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """A bundle with an authority the directory lacks (added by hand, say) is read whole, so
    that authority is still trusted."""
    system_store(monkeypatch, tmp_path, [other_ca(tmp_path), pki.cafile], [tmp_path / "other-ca.pem"])
    assert system_context().cert_store_stats()["x509_ca"] == 2
    connect(mail_user)


def test_an_authority_in_neither_is_refused(mail_user, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    other = other_ca(tmp_path)
    system_store(monkeypatch, tmp_path, [other], [other])
    assert system_context().cert_store_stats()["x509_ca"] == 0
    with pytest.raises(CertificateError) as ei:
        connect(mail_user)
    assert ei.value.reason == "unknown-ca"
