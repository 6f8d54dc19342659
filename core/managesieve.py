"""A small ManageSieve client (RFC 5804): STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT, SETACTIVE.

``pigeon rules upload ACCOUNT`` compiles the rules (``pigeon.core.sieve``) and installs the
script on the account's server, so filing also happens while pigeon is off. The server is the
account's IMAP host on port 4190 unless ``[accounts.NAME.sieve]`` gives ``host``/``port``;
TLS is required (STARTTLS, verified against the system or the account's ``cafile``), and the
secret comes from ``pigeon_credentials`` with purpose ``"imap"``.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
from typing import Any

from pigeon.core.errors import PigeonError

DEFAULT_PORT = 4190
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class SieveError(PigeonError):
    """A ManageSieve failure, with the server's own words."""


class ManageSieve:
    """One ManageSieve session."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 30.0) -> None:
        self.host = host
        try:
            self.sock: Any = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise SieveError(f"cannot connect to ManageSieve at {host}:{port}: {exc.strerror or exc}") from None
        self.file = self.sock.makefile("rb")
        self.capabilities = self._read_capabilities()

    # ------------------------------------------------------------------ protocol

    def _line(self) -> bytes:
        line = self.file.readline(65536)
        if not line:
            raise SieveError("the ManageSieve server closed the connection")
        return line

    def _read_response(self) -> tuple[str, list[bytes], str]:
        """(OK|NO|BYE, data lines, the response text)."""
        data: list[bytes] = []
        while True:
            line = self._line()
            m = _LITERAL.search(line)
            if m and not line.startswith((b"OK", b"NO", b"BYE")):
                data.append(self.file.read(int(m.group(1))))
                continue
            for status in ("OK", "NO", "BYE"):
                if line.upper().startswith(status.encode()):
                    return status, data, line[len(status):].strip().decode("utf-8", "replace")
            data.append(line.rstrip(b"\r\n"))

    def _read_capabilities(self) -> dict[str, str]:
        status, lines, text = self._read_response()
        if status != "OK":
            raise SieveError(f"ManageSieve greeting refused: {text}")
        caps: dict[str, str] = {}
        for line in lines:
            parts = re.findall(rb'"((?:[^"\\]|\\.)*)"', line)
            if parts:
                caps[parts[0].decode().upper()] = parts[1].decode() if len(parts) > 1 else ""
        return caps

    def command(self, line: str, literal: bytes | None = None) -> tuple[list[bytes], str]:
        data = line.encode("utf-8")
        if literal is not None:
            data += f" {{{len(literal)}+}}\r\n".encode() + literal
        self.sock.sendall(data + b"\r\n")
        status, lines, text = self._read_response()
        if status != "OK":
            raise SieveError(f"{line.split()[0]} failed: {text}")
        return lines, text

    @staticmethod
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    # ------------------------------------------------------------------ steps

    def starttls(self, context: ssl.SSLContext) -> None:
        if "STARTTLS" not in self.capabilities:
            raise SieveError(f"{self.host} does not offer STARTTLS on ManageSieve; refusing to send the password in clear")
        self.command("STARTTLS")
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        self.file = self.sock.makefile("rb")
        # RFC 5804 §2.2: the server sends its capabilities again after the handshake.
        self.capabilities = self._read_capabilities()

    def authenticate(self, username: str, secret: str) -> None:
        mechs = self.capabilities.get("SASL", "").upper().split()
        if "PLAIN" not in mechs:
            raise SieveError(f"{self.host} offers no SASL PLAIN on ManageSieve (offers: {' '.join(mechs) or 'none'})")
        token = base64.b64encode(f"\0{username}\0{secret}".encode()).decode()
        self.command(f'AUTHENTICATE "PLAIN" {self.quote(token)}')

    def checkscript(self, script: str) -> None:
        self.command("CHECKSCRIPT", script.encode("utf-8"))

    def putscript(self, name: str, script: str) -> None:
        self.command(f"PUTSCRIPT {self.quote(name)}", script.encode("utf-8"))

    def setactive(self, name: str) -> None:
        self.command(f"SETACTIVE {self.quote(name)}")

    def listscripts(self) -> list[tuple[str, bool]]:
        lines, _ = self.command("LISTSCRIPTS")
        out = []
        for line in lines:
            m = re.match(rb'"((?:[^"\\]|\\.)*)"(\s+ACTIVE)?', line)
            if m:
                out.append((m.group(1).decode(), bool(m.group(2))))
        return out

    def logout(self) -> None:
        try:
            self.command("LOGOUT")
        except (SieveError, OSError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def upload_rules(app: Any, account_name: str, rules: list[Any], script_name: str = "pigeon") -> list[str]:
    """Compile the rules, then install and activate them on the account's ManageSieve server."""
    from pigeon.core.sieve import compile_rules

    acct = app.account(account_name)
    script, skipped = compile_rules(rules, acct)
    if not script:
        raise PigeonError("no rule can be compiled to Sieve" + (f": {next(iter(skipped.values()))}" if skipped else ""))
    sieve_cfg = dict(acct.extra.get("sieve", {}) or {}) if isinstance(acct.extra.get("sieve", {}), dict) else {}
    imap = acct.imap
    host = sieve_cfg.get("host") or (imap.host if imap else None)
    if not host:
        raise PigeonError(f"account {acct.name!r} has no IMAP server to find ManageSieve on (set [accounts.{acct.name}.sieve] host)")
    port = int(sieve_cfg.get("port", DEFAULT_PORT))
    username = sieve_cfg.get("username") or (imap.username if imap and imap.username else acct.address)
    cafile = sieve_cfg.get("cafile") or (imap.cafile if imap else None)
    creds = app.pm.hook.pigeon_credentials(account=acct, purpose="imap", username=username)
    if creds is None:
        raise PigeonError(f"no password for {username} (configure password_command or the keyring)")
    if creds.kind == "oauth2":
        # never hand an OAuth2 token to SASL PLAIN as if it were a password
        raise PigeonError(f"account {acct.name}: uploading Sieve rules with OAuth2 sign-in is not supported yet; rules still run in pigeon on arrival")
    from pigeon.core.transport import system_context

    context = ssl.create_default_context(cafile=cafile) if cafile else system_context()
    session = ManageSieve(host, port, timeout=imap.timeout if imap else 30.0)
    try:
        session.starttls(context)
        session.authenticate(username, creds.secret)
        session.checkscript(script)
        session.putscript(script_name, script)
        session.setactive(script_name)
    finally:
        session.logout()
    lines = [f"installed and activated Sieve script {script_name!r} on {host}:{port} ({len(rules) - len(skipped)} rules)"]
    lines += [f"left to pigeon (not expressible in Sieve): {name}: {why}" for name, why in skipped.items()]
    return lines
