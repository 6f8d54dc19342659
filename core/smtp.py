"""SMTP submission: implicit TLS (465) or STARTTLS (587), authenticated, never in plaintext.

``SmtpSession(server, credentials, trace=...)`` mirrors ``ImapSession``:

- ``security = "tls"``: TLS from the first byte; ``"starttls"``: EHLO must succeed and offer
  STARTTLS, the answer must be 220 with nothing buffered behind it (ST-04), and EHLO is sent
  again over TLS (only that feature list counts). Anything else raises ``SecurityError``
  before a credential, an envelope address or a byte of the message is sent. ``"none"`` only
  to loopback.
- Certificates: as for IMAP (``pigeon.core.transport``): system store or ``cafile``, optional
  SHA-256 pin, errors that say which check failed.
- AUTH only over TLS: PLAIN (UTF-8 safe), else LOGIN, for passwords; XOAUTH2/OAUTHBEARER for
  tokens with one refresh-and-retry, never a password instead.
- Replies are bounded (line length, lines per reply); the debug trace redacts AUTH exchanges.

``send(message, sender, recipients)`` takes an ``EmailMessage`` (serialised with CRLF line
ends, ``Bcc`` removed) or raw bytes, and returns the recipients the server refused; a message
refused as a whole raises ``SendError``. ``recipients_of(message)`` collects To, Cc and Bcc.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

from pigeon.core.imap_conn import OAuthMechanism
from pigeon.core.transport import (
    NO_TRACE,
    AuthError,
    ConnectionLost,
    ProtocolError,
    ProtocolTrace,
    SecurityError,
    TLSInfo,
    TransportError,
    has_buffered,
    lost,
    open_for,
    quietly,
    where,
    wrap_tls,
)
from pigeon.hooks.types import Credentials, ServerConfig

MAX_LINE = 8192
MAX_REPLY_LINES = 1000
SMTP_POLICY = policy.SMTPUTF8.clone(linesep="\r\n")


class SendError(TransportError):
    """The server refused the message (or every recipient)."""


class _GuardedSMTP(smtplib.SMTP):
    """smtplib.SMTP with our socket, bounded replies and a redacting trace."""

    def __init__(self, server: ServerConfig, trace: ProtocolTrace) -> None:
        self.server = server
        self.trace = trace
        self.encrypted = False
        self.tls_socket: ssl.SSLSocket | None = None
        self._in_auth = False
        super().__init__(local_hostname="localhost", timeout=server.timeout)

    def _get_socket(self, host: str, port: int, timeout: float | None) -> socket.socket:
        return open_for(self)

    def send(self, s: str | bytes) -> None:
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        if self.trace.enabled:
            if self._in_auth:
                self.trace.sent("smtp", data, redact_from=0)
            elif data[:5].upper() == b"AUTH ":
                parts = data.split(b" ")
                self.trace.sent("smtp", data, redact_from=len(b" ".join(parts[:2])) + 1 if len(parts) > 2 else None)
            elif data.count(b"\r\n") > 1 or not data.endswith(b"\r\n"):
                self.trace.sent("smtp", f"<{len(data)} bytes of message data>")
            else:
                self.trace.sent("smtp", data)
        if data[:5].upper() == b"AUTH ":
            self._in_auth = True
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("not connected")
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.close()
            raise lost(self.server, exc) from None

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None:
            self.file = self.sock.makefile("rb")
        resp: list[bytes] = []
        errcode = -1
        while True:
            try:
                line = self.file.readline(MAX_LINE + 1)
            except OSError as exc:
                self.close()
                raise lost(self.server, exc) from None
            if not line:
                self.close()
                raise ConnectionLost(f"{where(self.server)}: connection closed by the server")
            if len(line) > MAX_LINE:
                self.close()
                raise ProtocolError(f"{where(self.server)}: server sent a line longer than {MAX_LINE} bytes")
            self.trace.received("smtp", line, pre_tls=not self.encrypted)
            resp.append(line[4:].strip(b" \t\r\n"))
            if len(resp) > MAX_REPLY_LINES:
                self.close()
                raise ProtocolError(f"{where(self.server)}: server reply has more than {MAX_REPLY_LINES} lines")
            try:
                errcode = int(line[:3])
            except ValueError:
                errcode = -1
                break
            if line[3:4] != b"-":
                break
        if errcode != 334:
            self._in_auth = False
        return errcode, b"\n".join(resp)


def recipients_of(message: EmailMessage) -> list[str]:
    """Envelope recipients: every address in To, Cc and Bcc, deduplicated, in order."""
    values = [str(v) for h in ("To", "Cc", "Bcc") for v in (message.get_all(h) or [])]
    out: list[str] = []
    for _name, addr in getaddresses(values):
        if addr and addr not in out:
            out.append(addr)
    return out


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, no Bcc header."""
    msg = message
    if "Bcc" in message:
        import copy

        msg = copy.copy(message)
        del msg["Bcc"]
    return msg.as_bytes(policy=SMTP_POLICY)


class SmtpSession:
    """One authenticated SMTP submission connection (see the module docstring)."""

    def __init__(self, server: ServerConfig, credentials, *, trace: ProtocolTrace = NO_TRACE) -> None:  # noqa: ANN001
        if server.protocol != "smtp":
            raise ValueError("SmtpSession needs an SMTP ServerConfig")
        self.server = server
        self._credentials = credentials
        self.trace = trace if trace is not NO_TRACE else ProtocolTrace(False)
        self.smtp: _GuardedSMTP | None = None
        self.mechanism = ""
        self.features: dict[str, str] = {}

    def __enter__(self) -> SmtpSession:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()

    # ------------------------------------------------------------------ connection

    def connect(self) -> SmtpSession:
        srv = where(self.server)
        smtp = _GuardedSMTP(self.server, self.trace)
        self.smtp = smtp
        try:
            code, msg = smtp.connect(self.server.host, self.server.port)
            if code != 220:
                raise ProtocolError(f"{srv}: server refused the connection ({code})")
            self._ehlo("EHLO")
            if self.server.security == "starttls":
                self._starttls()
            self._authenticate()
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise ConnectionLost(f"{srv}: connection closed: {exc}") from None
        except smtplib.SMTPException as exc:
            self._drop()
            raise TransportError(f"{srv}: {self._text(exc)}") from None
        except BaseException:
            self._drop()
            raise
        return self

    def _ehlo(self, when: str) -> None:
        smtp = self.smtp
        assert smtp is not None
        code, _msg = smtp.ehlo()
        if code != 250:
            if self.server.security == "starttls" and not smtp.encrypted:
                raise SecurityError(f"{where(self.server)}: EHLO refused ({code}), so STARTTLS is unavailable; refusing to continue in plaintext")
            raise ProtocolError(f"{where(self.server)}: {when} refused ({code})")
        self.features = dict(smtp.esmtp_features)

    def _starttls(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        srv = where(self.server)
        if not smtp.has_extn("starttls"):
            raise SecurityError(f"{srv}: server does not offer STARTTLS; refusing to continue in plaintext")
        try:
            code, _msg = smtp.docmd("STARTTLS")
        except ConnectionLost:
            raise SecurityError(f"{srv}: connection closed in answer to STARTTLS; refusing to continue") from None
        if code != 220:
            raise SecurityError(f"{srv}: server refused STARTTLS ({code}); refusing to continue in plaintext")
        if smtp.file is not None and has_buffered(smtp.file, smtp.sock):
            raise SecurityError(f"{srv}: server sent data after agreeing to STARTTLS (response injection); refusing to continue")
        tls = wrap_tls(smtp.sock, self.server, after="STARTTLS")
        smtp.sock = tls
        smtp.tls_socket = tls
        smtp.file = None
        smtp.encrypted = True
        smtp.helo_resp = smtp.ehlo_resp = None
        smtp.esmtp_features = {}
        smtp.does_esmtp = False
        self._ehlo("EHLO after STARTTLS")

    def _authenticate(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        srv = where(self.server)
        if not smtp.encrypted and self.server.security != "none":
            raise SecurityError(f"{srv}: refusing to authenticate over an unencrypted connection")
        if not smtp.has_extn("auth"):
            raise AuthError(f"{srv}: server offers no AUTH after TLS")
        mechs = set(smtp.esmtp_features.get("auth", "").upper().split())
        creds: Credentials = self._credentials(False)
        self.trace.add_secret(creds.secret)
        user = self.server.username or creds.username
        if self.server.auth == "password":
            if creds.kind != "password":
                raise AuthError(f"{srv}: auth = \"password\" but the credentials are an OAuth2 token")
            if "PLAIN" in mechs:
                blob = b"\0" + user.encode() + b"\0" + creds.secret.encode()
                self.trace.add_secret(blob)
                code, resp = self._sasl("PLAIN", [blob])
            elif "LOGIN" in mechs:
                code, resp = self._sasl("LOGIN", [None, user.encode(), creds.secret.encode()])
            else:
                raise AuthError(f"{srv}: server offers neither AUTH PLAIN nor LOGIN")
            if code != 235:
                raise AuthError(f"{srv}: authentication failed for {user} ({code} {self._text(resp)})")
            self.mechanism = "PLAIN" if "PLAIN" in mechs else "LOGIN"
            return
        if creds.kind != "oauth2":
            raise AuthError(f"{srv}: auth = \"{self.server.auth}\" needs an OAuth2 token; refusing to send a password instead")
        want = {"oauthbearer": ["OAUTHBEARER"], "xoauth2": ["XOAUTH2"], "oauth2": ["OAUTHBEARER", "XOAUTH2"]}[self.server.auth]
        mech = next((m for m in want if m in mechs), None)
        if mech is None:
            raise AuthError(f"{srv}: server does not offer {' or '.join(want)}; refusing to fall back to a password")
        for attempt in (0, 1):
            m = OAuthMechanism(mech, user, creds.secret, self.server.host, self.server.port)
            self.trace.add_secret(m.initial())
            code, resp = self._sasl(mech, [m.initial()], on_challenge=m)
            if code == 235:
                self.mechanism = mech
                return
            if attempt == 1:
                raise AuthError(f"{srv}: the server rejected the OAuth2 token for {user} ({code})")
            creds = self._credentials(True)
            self.trace.add_secret(creds.secret)

    def _sasl(self, mech: str, steps: list[bytes | None], on_challenge=None) -> tuple[int, bytes]:  # noqa: ANN001
        """AUTH with an initial response (``steps[0]``, None for none) then one step per 334."""
        smtp = self.smtp
        assert smtp is not None
        first = steps[0]
        arg = mech if first is None else f"{mech} {base64.b64encode(first).decode() or '='}"
        code, resp = smtp.docmd("AUTH", arg)
        rest = list(steps[1:])
        rounds = 0
        while code == 334:
            rounds += 1
            if rounds > 5:
                raise ProtocolError(f"{where(self.server)}: AUTH {mech} challenge loop")
            if rest:
                answer = rest.pop(0) or b""
            elif on_challenge is not None:
                answer = on_challenge(base64.b64decode(resp or b"", validate=False))
            else:
                answer = None
            if answer is None:
                smtp.send(b"*\r\n")  # cancel
            else:
                smtp.send(base64.b64encode(answer) + b"\r\n")
            code, resp = smtp.getreply()
        return code, resp

    def _text(self, exc: BaseException | bytes | str) -> str:
        if isinstance(exc, bytes):
            text = exc.decode("utf-8", "replace")
        else:
            text = str(exc)
        return self.trace.scrub(text.replace("\n", " "))

    def tls_info(self) -> TLSInfo | None:
        sock = self.smtp.tls_socket if self.smtp else None
        return TLSInfo.of(sock, self.server) if sock is not None else None

    # ------------------------------------------------------------------ sending

    def send(self, message: EmailMessage | bytes, sender: str, recipients: Iterable[str]) -> dict[str, str]:
        """Submit one message; returns ``{recipient: reason}`` for refused recipients."""
        smtp = self.smtp
        if smtp is None:
            raise ConnectionLost(f"{where(self.server)}: not connected")
        rcpts = list(recipients)
        if not rcpts:
            raise SendError("the message has no recipients")
        for addr in [sender, *rcpts]:
            if any(c in addr for c in "\r\n\0<>") or not addr.strip():
                raise SendError(f"invalid address {addr!r}")
        data = message_bytes(message) if isinstance(message, EmailMessage) else message
        options: list[str] = []
        if any(not a.isascii() for a in [sender, *rcpts]):
            if not smtp.has_extn("smtputf8"):
                raise SendError(f"{where(self.server)}: the server cannot take non-ASCII addresses (no SMTPUTF8)")
            options.append("SMTPUTF8")
        if not data.isascii() and smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        try:
            refused = smtp.sendmail(sender, rcpts, data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{a}: {c} {self._text(m)}" for a, (c, m) in exc.recipients.items())
            raise SendError(f"{where(self.server)}: every recipient was refused ({reasons})") from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"{where(self.server)}: message refused ({exc.smtp_code} {self._text(exc.smtp_error)})") from None
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise ConnectionLost(f"{where(self.server)}: connection lost while sending: {exc}") from None
        return {a: f"{c} {self._text(m)}" for a, (c, m) in refused.items()}

    def quit(self) -> None:
        """QUIT, then close; never raises."""
        if self.smtp is not None:
            quietly(self.smtp.quit)
        self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            quietly(self.smtp.close)
        self.smtp = None
