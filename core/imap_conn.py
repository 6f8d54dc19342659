"""The guarded IMAP connection under ``pigeon.core.imap``: TLS that cannot be stripped, safe auth.

``GuardedIMAP4`` is an ``imaplib.IMAP4`` that imapclient drives (``IMAPClient._create_IMAP4``
returns it). It changes what imaplib does in the places SECURITY.md §1.4 names:

- the greeting: ``BYE`` or garbage ends the connection; ``PREAUTH`` on a connection that is not
  yet encrypted ends it before any command is sent (ST-03);
- STARTTLS is driven here, not by imaplib: the capability must be offered, the pre-TLS untagged
  responses are thrown away before the command, the reply must be exactly the tagged ``OK``
  (an untagged line or a continuation inside the exchange aborts, ST-05), and any byte still
  buffered after that ``OK`` aborts (response injection, ST-04). Nothing is sent between
  ``STARTTLS`` and the handshake (ST-10). After TLS, capabilities are asked again and only
  those count;
- reads are bounded: a line longer than ``max_line``, a literal larger than ``max_literal``
  (read in chunks, so a lying ``{4294967296}`` allocates nothing) or more than
  ``max_untagged`` untagged responses for one command abort the connection (ST-12);
- every socket error, timeout or imaplib ``abort`` becomes ``ConnectionLost``;
- the debug trace shows both directions with ``LOGIN`` arguments and SASL exchanges redacted.
"""

from __future__ import annotations

import base64
import imaplib
import random
import re
import socket
import ssl
from typing import Any

from pigeon.core.transport import (
    ConnectionLost,
    ProtocolError,
    ProtocolTrace,
    SecurityError,
    has_buffered,
    lost,
    open_for,
    where,
    wrap_tls,
)
from pigeon.hooks.types import ServerConfig

MAX_LINE = 1_000_000  # imaplib's own _MAXLINE
MAX_LITERAL = 256 * 1024 * 1024  # one message; bigger is a hostile server, not mail
MAX_UNTAGGED = 2_000_000
CHUNK = 1 << 20


class GuardedIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 with the STARTTLS, PREAUTH and resource guards described above."""

    def __init__(self, server: ServerConfig, trace: ProtocolTrace, sock: socket.socket | None = None) -> None:
        self.server = server
        self.trace = trace
        self._presock = sock  # a connection ``transport.open_socket`` made already
        self.max_line = MAX_LINE
        self.max_literal = MAX_LITERAL
        self.max_untagged = MAX_UNTAGGED
        self.encrypted = False
        self.tls_socket: ssl.SSLSocket | None = None
        self._untagged_count = 0
        self._auth_tag: bytes | None = None
        super().__init__(server.host, server.port, timeout=server.timeout)
        self.debug = 0

    # ------------------------------------------------------------------ imaplib plumbing

    def _mesg(self, s: str, secs: Any = None) -> None:  # imaplib's own debug output: never
        pass

    def _log(self, line: str) -> None:  # imaplib keeps recent commands (with LOGIN) in memory
        pass

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock, self._presock = self._presock, None
        if sock is None:
            return open_for(self)
        if isinstance(sock, ssl.SSLSocket):  # as open_for marks an implicit-TLS connection
            self.encrypted = True
            self.tls_socket = sock
        return sock

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.host, self.port = host, port
        self.sock = self._create_socket(timeout)
        self.file = self.sock.makefile("rb")

    def read(self, size: int) -> bytes:
        if size > self.max_literal:
            raise ProtocolError(f"{where(self.server)}: server announced a {size}-byte literal (limit {self.max_literal})")
        chunks, left = [], size
        try:
            while left:
                chunk = self.file.read(min(left, CHUNK))
                if not chunk:
                    raise ConnectionLost(f"{where(self.server)}: connection closed in the middle of a literal")
                chunks.append(chunk)
                left -= len(chunk)
        except (TimeoutError, OSError) as exc:
            raise self._lost(exc) from None
        self.trace.received("imap", f"<literal {size} bytes>", pre_tls=not self.encrypted)
        return b"".join(chunks)

    def readline(self) -> bytes:
        try:
            line = self.file.readline(self.max_line + 1)
        except (TimeoutError, OSError) as exc:
            raise self._lost(exc) from None
        if len(line) > self.max_line:
            raise ProtocolError(f"{where(self.server)}: server sent a line longer than {self.max_line} bytes")
        if line:
            self.trace.received("imap", line, pre_tls=not self.encrypted)
            if self._auth_tag and line.startswith(self._auth_tag + b" "):
                self._auth_tag = None
        return line

    def send(self, data: bytes) -> None:
        self._trace_sent(data)
        try:
            self.sock.sendall(data)
        except (TimeoutError, OSError) as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: BaseException) -> ConnectionLost:
        return lost(self.server, exc)

    def _append_untagged(self, typ: str, dat: Any) -> None:
        self._untagged_count += 1
        if self._untagged_count > self.max_untagged:
            raise ProtocolError(f"{where(self.server)}: server flooded the connection with untagged responses")
        super()._append_untagged(typ, dat)

    def _command(self, name: str, *args: Any) -> bytes:
        self._untagged_count = 0
        return super()._command(name, *args)

    def _trace_sent(self, data: bytes) -> None:
        if not self.trace.enabled or data == b"\r\n":
            return
        if self._auth_tag is not None:
            self.trace.sent("imap", data, redact_from=0)  # SASL response lines
            return
        if not data.endswith(b"\r\n") or data.count(b"\r\n") > 1:
            if data != b"\r\n":
                self.trace.sent("imap", f"<{len(data)} bytes of literal data>")
            return
        m = re.match(rb"(\S+) (LOGIN|AUTHENTICATE) ", data, re.IGNORECASE)
        if m:
            if m.group(2).upper() == b"LOGIN":
                # tag LOGIN user <redacted>: the user name is useful when debugging
                parts = data.split(b" ", 3)
                self.trace.sent("imap", data, redact_from=len(b" ".join(parts[:3])) + 1)
            else:
                parts = data.split(b" ", 3)
                self.trace.sent("imap", data, redact_from=len(b" ".join(parts[:3])) + 1 if len(parts) > 3 else None)
                self._auth_tag = m.group(1)
            return
        self.trace.sent("imap", data)

    # ------------------------------------------------------------------ greeting and STARTTLS

    def _connect(self) -> None:
        self.tagpre = imaplib.Int2AP(random.randint(4096, 65535))
        self.tagre = re.compile(rb"(?P<tag>" + self.tagpre + rb"\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        self._cmd_log_len, self._cmd_log_idx, self._cmd_log = 10, 0, {}
        try:
            self.welcome = self._get_response()
        except imaplib.IMAP4.abort as exc:
            raise ProtocolError(f"{where(self.server)}: bad greeting: {exc}") from None
        if "PREAUTH" in self.untagged_responses:
            if not self.encrypted:
                raise SecurityError(
                    f"{where(self.server)}: server skipped authentication on an unencrypted connection (PREAUTH); refusing to continue"
                )
            self.state = "AUTH"
        elif "OK" in self.untagged_responses:
            self.state = "NONAUTH"
        else:
            raise ProtocolError(f"{where(self.server)}: server refused the connection (no OK greeting)")
        # A greeting read over TLS from the first byte may carry the capabilities (Dovecot's
        # does): as trustworthy as asking, and one round trip less. After STARTTLS, ask.
        greeting_caps = self.untagged_responses.get("CAPABILITY") if self.encrypted else None
        if self.server.security == "starttls":
            self._starttls()
        self.untagged_responses.clear()  # nothing from before this point may count
        if greeting_caps and isinstance(greeting_caps[-1], bytes) and greeting_caps[-1].strip():
            self.capabilities = tuple(greeting_caps[-1].decode("ascii", "replace").upper().split())
        else:
            self.refresh_capabilities()
        if "IMAP4REV1" not in self.capabilities and "IMAP4REV2" not in self.capabilities:
            raise ProtocolError(f"{where(self.server)}: not an IMAP4rev1 server")

    def refresh_capabilities(self) -> tuple[str, ...]:
        self.untagged_responses.pop("CAPABILITY", None)
        try:
            typ, dat = self._simple_command("CAPABILITY")
        except imaplib.IMAP4.error as exc:
            raise ProtocolError(f"{where(self.server)}: CAPABILITY failed: {exc}") from None
        caps = self.untagged_responses.pop("CAPABILITY", [None])[-1]
        if typ != "OK" or not caps:
            raise ProtocolError(f"{where(self.server)}: server sent no capabilities")
        self.capabilities = tuple(caps.decode("ascii", "replace").upper().split())
        return self.capabilities

    def _starttls(self) -> None:
        srv = where(self.server)
        # The capability must be offered: ask (a plaintext CAPABILITY carries no user data).
        caps = self.refresh_capabilities()
        if "STARTTLS" not in caps:
            raise SecurityError(f"{srv}: server does not offer STARTTLS; refusing to continue in plaintext")
        self.untagged_responses.clear()
        tag = self._new_tag()
        self.tagged_commands.pop(tag, None)
        self.send(tag + b" STARTTLS\r\n")
        line = self.readline()
        if not line:
            raise SecurityError(f"{srv}: connection closed in answer to STARTTLS")
        if not line.startswith(tag + b" "):
            raise SecurityError(f"{srv}: unexpected data in the STARTTLS exchange (possible injection); refusing to continue")
        status = line[len(tag) + 1 :].split(b" ", 1)[0].upper()
        if status != b"OK":
            raise SecurityError(f"{srv}: server refused STARTTLS ({status.decode('ascii', 'replace')}); refusing to continue in plaintext")
        if has_buffered(self.file, self.sock):
            raise SecurityError(f"{srv}: server sent data after agreeing to STARTTLS (response injection); refusing to continue")
        tls = wrap_tls(self.sock, self.server, after="STARTTLS")
        self.sock = tls
        self.tls_socket = tls
        self.file = tls.makefile("rb")
        self._tls_established = True
        self.encrypted = True
        self.untagged_responses.clear()
        self.capabilities = ()


def sasl_plain(user: str, password: str) -> bytes:
    return b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")


class OAuthMechanism:
    """An XOAUTH2 or OAUTHBEARER client: the token first, then the error-challenge answer.

    On a failure the server sends a (base64 JSON) challenge; RFC 7628 wants ``%x01`` in
    answer (OAUTHBEARER), XOAUTH2 an empty response. ``error`` keeps the server's JSON.
    """

    def __init__(self, mech: str, user: str, token: str, host: str, port: int) -> None:
        self.mech = mech
        self.user = user
        self.token = token
        self.host = host
        self.port = port
        self.step = 0
        self.error = b""

    def initial(self) -> bytes:
        if self.mech == "XOAUTH2":
            return f"user={self.user}\1auth=Bearer {self.token}\1\1".encode()
        authz = self.user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={authz},\1host={self.host}\1port={self.port}\1auth=Bearer {self.token}\1\1".encode()

    def __call__(self, challenge: bytes) -> bytes:
        self.step += 1
        if self.step == 1 and not challenge:
            return self.initial()
        self.error = challenge
        return b"\1" if self.mech == "OAUTHBEARER" else b""

    def encoded_initial(self) -> str:
        return base64.b64encode(self.initial()).decode()
