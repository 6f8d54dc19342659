"""What IMAP, SMTP and POP3 share: TLS contexts, certificate checks, errors, the debug trace.

Rules every protocol module follows (SECURITY.md §1, §7):

- ``security = "tls"`` (implicit TLS, the default) or ``"starttls"``; ``"none"`` only to a
  loopback address (config.py refuses anything else, ``check_plaintext_allowed`` re-checks).
- Certificates are verified against the system store, or only against ``cafile`` when set;
  TLS 1.2 at least. ``fingerprint`` pins the leaf certificate's SHA-256: with ``verify = true``
  both must hold; with ``verify = false`` the pin alone decides (the safe way to accept one
  self-signed certificate: per host and per fingerprint, never globally).
- A certificate error says which check failed (unknown CA, wrong host, expired, self-signed,
  pinned fingerprint mismatch).
- ``ProtocolTrace`` prints the conversation for ``--debug`` with secrets replaced by
  ``<redacted>``: each protocol marks the lines that carry them, and every registered secret
  (and its base64 forms) is scrubbed from any line as a last line of defence.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from pigeon.core.config import is_loopback
from pigeon.core.errors import PigeonError
from pigeon.hooks.types import ServerConfig

T = TypeVar("T")

REDACTED = "<redacted>"


# --------------------------------------------------------------------------- errors


class TransportError(PigeonError):
    """A connection to a mail server failed; the message is one line naming the server."""


class ConnectionLost(TransportError):
    """The connection dropped or timed out: worth a reconnect (with backoff)."""


class SecurityError(TransportError):
    """TLS could not be established as configured (stripping, injection, PREAUTH, bad cert).

    Never retried automatically and never answered by falling back to plaintext.
    """


class CertificateError(SecurityError):
    """The server's certificate was refused; ``reason`` says which check failed."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AuthError(TransportError):
    """The server refused the credentials, or no safe mechanism was available."""


class ProtocolError(TransportError):
    """The server broke the protocol (garbage, oversized literal or line, flood)."""


def where(server: ServerConfig) -> str:
    return f"{server.protocol} {server.host}:{server.port}"


# --------------------------------------------------------------------------- TLS


def system_context() -> ssl.SSLContext:
    """A verifying client context that trusts the system's certificate authorities.

    ``ssl.create_default_context()`` reads the whole bundle (OpenSSL's default file: 144
    certificates on Debian, ~17 ms) for every connection. OpenSSL's default directory holds the
    same authorities as hashed links (``update-ca-certificates`` writes both), from which only
    the ones a server's chain names are read, at the handshake (~0.3 ms). The directory alone is
    used where it has at least as many links as the bundle has certificates; it never trusts
    more than the default context, which reads both. Anywhere else (no directory, fewer links,
    a bundle edited by hand): the default context."""
    paths = ssl.get_default_verify_paths()
    if paths.capath and _links_cover_bundle(paths.capath, paths.cafile):
        return ssl.create_default_context(capath=paths.capath)
    return ssl.create_default_context()


def _links_cover_bundle(capath: str, cafile: str | None) -> bool:
    try:
        links = sum(1 for name in os.listdir(capath) if _is_hash_link(name))
    except OSError:
        return False
    if not links:
        return False
    if not cafile:
        return True  # no bundle: the directory is all the default context would read
    try:
        with open(cafile, "rb") as fh:
            certs = fh.read().count(b"-----BEGIN CERTIFICATE-----")
    except OSError:
        return True
    return links >= certs


def _is_hash_link(name: str) -> bool:
    """``1a2b3c4d.0``: eight hex digits, a dot, a number (OpenSSL's hashed certificate names)."""
    stem, dot, n = name.partition(".")
    return bool(dot) and len(stem) == 8 and n.isdigit() and all(c in "0123456789abcdef" for c in stem)


def make_context(server: ServerConfig) -> ssl.SSLContext:
    """The client TLS context for ``server``: verified, TLS >= 1.2, optional ``cafile``."""
    if server.cafile:
        try:
            ctx = ssl.create_default_context(cafile=server.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"{where(server)}: cannot load cafile {server.cafile}: {exc}") from None
    else:
        ctx = system_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not server.verify:
        # Only a pinned fingerprint may stand in for verification (checked after the handshake).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


_VERIFY_REASONS = {
    10: ("expired", "the certificate has expired"),
    9: ("not-yet-valid", "the certificate is not yet valid"),
    18: ("self-signed", "the certificate is self-signed"),
    19: ("unknown-ca", "the chain ends in a self-signed certificate that is not trusted"),
    20: ("unknown-ca", "the certificate is issued by an unknown certificate authority"),
    21: ("unknown-ca", "the certificate is issued by an unknown certificate authority"),
    62: ("wrong-host", "the certificate is for another host"),
    64: ("wrong-host", "the certificate is for another IP address"),
}


def certificate_error(server: ServerConfig, exc: ssl.SSLCertVerificationError) -> CertificateError:
    code = getattr(exc, "verify_code", None)
    reason, text = _VERIFY_REASONS.get(code or -1, ("untrusted", f"certificate verification failed ({exc.verify_message})"))
    if reason == "wrong-host":
        text += f" (not {server.host})"
    hint = "; set cafile or pin its fingerprint if you trust it" if reason in ("unknown-ca", "self-signed") else ""
    return CertificateError(f"{where(server)}: TLS certificate refused: {text}{hint}", reason)


def _wire_host(host: str) -> str | bytes:
    """An ASCII host name as bytes (what the resolver and the TLS name check use), which spares
    loading the IDNA codec; an internationalised one as it is, for them to encode."""
    return host.encode("ascii") if host.isascii() else host


def wrap_tls(sock: socket.socket, server: ServerConfig, ctx: ssl.SSLContext | None = None, *, after: str = "") -> ssl.SSLSocket:
    """Handshake on ``sock`` (implicit TLS, or ``after`` the server agreed to STARTTLS/STLS);
    certificate and pin checked, read timeout kept; raises ``SecurityError``, never falls back."""
    ctx = ctx or make_context(server)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=_wire_host(server.host))
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise certificate_error(server, exc) from None
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise SecurityError(f"{where(server)}: TLS handshake{f' after {after}' if after else ''} failed: {exc}") from None
    check_pin(tls, server)
    tls.settimeout(server.timeout)
    return tls


def quietly(*steps: Callable[[], object]) -> None:
    """Run each step, ignoring its failure: saying goodbye to (or closing) a connection that may
    be dead already must not raise, and a goodbye that fails must not skip the close."""
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001, S110
            pass


def fingerprint_of(tls: ssl.SSLSocket | ssl.SSLObject) -> str:
    import hashlib  # here: only a pinned certificate needs it, and loading it costs ~2 ms

    der = tls.getpeercert(binary_form=True) or b""
    return hashlib.sha256(der).hexdigest()


def check_pin(tls: ssl.SSLSocket | ssl.SSLObject, server: ServerConfig) -> None:
    if not server.verify and not server.fingerprint:
        return  # doctor reports verify = false without a pin as severe
    if server.fingerprint:
        got = fingerprint_of(tls)
        if got != server.fingerprint:
            try:
                tls.close()  # type: ignore[union-attr]
            except Exception:
                pass
            raise CertificateError(
                f"{where(server)}: TLS certificate refused: its SHA-256 fingerprint {got} does not match the pinned {server.fingerprint}",
                "fingerprint",
            )


def check_plaintext_allowed(server: ServerConfig) -> None:
    if server.security == "none" and not is_loopback(server.host):
        raise SecurityError(f"{where(server)}: plaintext (security = \"none\") is allowed only to a loopback address")


def open_socket(server: ServerConfig) -> socket.socket:
    """A TCP connection (implicit TLS already done when ``security = "tls"``), read timeout set."""
    check_plaintext_allowed(server)
    try:
        sock = socket.create_connection((_wire_host(server.host), server.port), timeout=server.timeout)
    except TimeoutError:
        raise ConnectionLost(f"{where(server)}: connection timed out after {server.timeout:g}s") from None
    except OSError as exc:
        raise ConnectionLost(f"{where(server)}: cannot connect: {exc.strerror or exc}") from None
    sock.settimeout(server.timeout)
    # No Nagle: a command often leaves in two writes (imapclient sends its CRLF on its own),
    # and the second would wait for the ACK of the first, which a server holds back while it
    # has nothing to answer yet: up to 40 ms per command on a real network (200 ms elsewhere).
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    if server.security == "tls":
        return wrap_tls(sock, server)
    return sock


def open_for(conn: Any) -> socket.socket:
    """``open_socket`` for a protocol object (``conn.server``): when TLS is implicit, marks it
    ``encrypted`` and keeps ``tls_socket``, as its STARTTLS path does."""
    sock = open_socket(conn.server)
    if isinstance(sock, ssl.SSLSocket):
        conn.encrypted = True
        conn.tls_socket = sock
    return sock


def lost(server: ServerConfig, exc: BaseException) -> ConnectionLost:
    """A socket timeout or error while talking to ``server``, in the user's words."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return ConnectionLost(f"{where(server)}: no answer within {server.timeout:g}s")
    return ConnectionLost(f"{where(server)}: connection lost: {exc}")


@dataclass
class TLSInfo:
    """What ``pigeon doctor --connect`` reports about a TLS session."""

    version: str
    cipher: str
    subject: str
    issuer: str
    not_after: str
    fingerprint: str
    verified: bool

    @classmethod
    def of(cls, tls: ssl.SSLSocket | ssl.SSLObject, server: ServerConfig) -> TLSInfo:
        der = tls.getpeercert(binary_form=True) or b""
        subject, issuer, not_after = _cert_names(tls, der)
        cipher = tls.cipher()
        return cls(
            version=tls.version() or "?",
            cipher=cipher[0] if cipher else "?",
            subject=subject,
            issuer=issuer,
            not_after=not_after,
            fingerprint=fingerprint_of(tls),
            verified=server.verify,
        )


def _cert_names(tls: ssl.SSLSocket | ssl.SSLObject, der: bytes) -> tuple[str, str, str]:
    """Subject, issuer and expiry of the peer certificate, as text."""
    info = tls.getpeercert()  # a dict only when the certificate was verified
    if info:
        def name(rdns: Any) -> str:
            return ",".join(f"{k}={v}" for rdn in reversed(rdns) for k, v in rdn)

        return (
            name(info.get("subject", ())).replace("commonName=", "CN=").replace("organizationName=", "O=").replace("organizationalUnitName=", "OU="),
            name(info.get("issuer", ())).replace("commonName=", "CN=").replace("organizationName=", "O=").replace("organizationalUnitName=", "OU="),
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ssl.cert_time_to_seconds(info["notAfter"]))) if info.get("notAfter") else "?",
        )
    try:  # an unverified (pinned) certificate: decode it with cryptography when installed
        from cryptography import x509
    except ImportError:
        return "(not verified: details unavailable)", "?", "?"
    cert = x509.load_der_x509_certificate(der)
    return (
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC"),
    )


def has_buffered(reader: Any, sock: socket.socket) -> bool:
    """True if ``reader`` (a BufferedReader over ``sock``) holds or can read bytes right now.

    Used right after a STARTTLS go-ahead: any byte already there was sent by the server in
    plaintext after agreeing to TLS (response injection, SECURITY.md ST-04).
    """
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(reader.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError, InterruptedError):
        return False
    finally:
        sock.settimeout(timeout)


# --------------------------------------------------------------------------- debug trace


@dataclass
class ProtocolTrace:
    """The ``--debug`` protocol trace, with every secret replaced by ``<redacted>``."""

    enabled: bool = False
    stream: TextIO | None = None
    secrets: set[str] = field(default_factory=set)

    def add_secret(self, secret: str | bytes) -> None:
        """Scrub this value (and its base64 forms) from every later trace line."""
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if len(secret) < 3:
            return
        self.secrets.add(secret)
        raw = secret.encode("utf-8")
        self.secrets.add(base64.b64encode(raw).decode())
        # the base64 of a SASL blob that contains the secret shifts with its offset: scrub
        # each alignment's stable middle part
        for pad, start in ((0, 0), (1, 2), (2, 3)):
            core = base64.b64encode(b"\0" * pad + raw).decode()[start:-4]
            if len(core) >= 6:
                self.secrets.add(core)

    def scrub(self, text: str) -> str:
        for s in sorted(self.secrets, key=len, reverse=True):
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def line(self, proto: str, direction: str, text: str, note: str = "") -> None:
        if not self.enabled:
            return
        from pigeon.core.sanitize import sanitize_line

        text = sanitize_line(self.scrub(text))
        if len(text) > 300:
            text = text[:300] + f"... ({len(text)} chars)"
        tag = f" [{note}]" if note else ""
        print(f"pigeon debug: {proto} {direction} {text}{tag}", file=self.stream or sys.stderr)

    def sent(self, proto: str, data: bytes | str, *, redact_from: int | None = None) -> None:
        """Trace a line sent; ``redact_from`` hides everything after that character index."""
        if not self.enabled:
            return
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        text = text.rstrip("\r\n")
        if redact_from is not None:
            text = text[:redact_from] + REDACTED
        self.line(proto, "C:", text)

    def received(self, proto: str, data: bytes | str, *, pre_tls: bool = False) -> None:
        if not self.enabled:
            return
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self.line(proto, "S:", text.rstrip("\r\n"), "pre-TLS, unauthenticated" if pre_tls else "")


NO_TRACE = ProtocolTrace(False)


# --------------------------------------------------------------------------- credentials


def credential_source(pm: Any, account: Any, server: ServerConfig) -> Callable[[bool], Any]:
    """``credentials(refresh)`` for a session: asks the ``pigeon_credentials`` hook.

    ``refresh=True`` (the server rejected an OAuth2 token) asks with purpose ``"<proto>:refresh"``.
    """

    def get(refresh: bool = False) -> Any:
        purpose = server.protocol + (":refresh" if refresh else "")
        username = server.username or account.address
        creds = pm.hook.pigeon_credentials(account=account, purpose=purpose, username=username)
        if creds is None:
            raise AuthError(
                f"{where(server)}: no credentials for account {account.name} (set password_command, keyring = true or [accounts.{account.name}.oauth2])"
            )
        return creds

    return get


# --------------------------------------------------------------------------- reconnecting


@dataclass
class Backoff:
    """Exponential backoff with jitter for reconnects: 1 s, 2 s, 4 s ... capped at ``maximum``."""

    base: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0
    attempts: int = 5
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        out, d = [], self.base
        for _ in range(self.attempts - 1):
            out.append(min(self.maximum, d) * random.uniform(0.8, 1.2))
            d *= self.factor
        return out

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn``; on ``ConnectionLost`` wait and retry. Security and auth errors are final."""
        delays = self.delays()
        while True:
            try:
                return fn()
            except ConnectionLost:
                if not delays:
                    raise
                self.sleep(delays.pop(0))
