"""POP3: POP3S or STLS with the IMAP rules, and a UIDL-based download into a Maildir folder.

``Pop3Session(server, credentials, trace=...)``:

- ``security = "tls"`` (POP3S, 995) or ``"starttls"`` (STLS on 110): CAPA must list STLS, the
  answer must be ``+OK`` with nothing buffered behind it (ST-04), CAPA is asked again over TLS.
  Any failure is a ``SecurityError`` before USER, PASS or AUTH is sent. ``"none"`` only to
  loopback. Certificates and pinning as in ``pigeon.core.transport``.
- Authentication only over TLS: ``AUTH PLAIN`` when the server lists SASL PLAIN, else
  USER/PASS; ``AUTH XOAUTH2``/``OAUTHBEARER`` for tokens, never a password instead.
- Bounded: lines (poplib's 2048 bytes), messages (``max_message``), UIDL listings.

``download(session, store, folder, record, leave_on_server=True) -> DownloadReport`` fetches
every message whose UIDL is not in ``record`` (``FetchRecord``: an SQLite file under the state
dir), delivers it into the Maildir ``folder`` (atomically, via ``pigeon.core.maildir``), records
its UID right after, and deletes it from the server unless ``leave_on_server``. Server UIDs
never become file names: hostile ones (``..``, ``/``, NUL) are stored as data only.
"""

from __future__ import annotations

import base64
import poplib
import socket
import sqlite3
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from pigeon.core.imap_conn import OAuthMechanism
from pigeon.core.maildir_names import unique_name
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

MAX_LINE = 2048 + 2  # poplib's _MAXLINE, plus the CRLF
MAX_MESSAGE = 256 * 1024 * 1024
MAX_UIDL = 1_000_000


class _GuardedPOP3(poplib.POP3):
    def __init__(self, server: ServerConfig, trace: ProtocolTrace) -> None:
        self.server = server
        self.trace = trace
        self.encrypted = False
        self.tls_socket: ssl.SSLSocket | None = None
        self._in_auth = False
        super().__init__(server.host, server.port, timeout=server.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return open_for(self)

    def _putline(self, line: bytes) -> None:
        if self.trace.enabled:
            word = line.split(b" ", 1)[0].upper()
            if self._in_auth:
                self.trace.sent("pop3", line, redact_from=0)
            elif word == b"PASS":
                self.trace.sent("pop3", line, redact_from=5)
            elif word == b"AUTH" and line.count(b" ") >= 2:
                self.trace.sent("pop3", line, redact_from=len(b" ".join(line.split(b" ")[:2])) + 1)
            else:
                self.trace.sent("pop3", line)
        if line.split(b" ", 1)[0].upper() == b"AUTH":
            self._in_auth = True
        try:
            self.sock.sendall(line + b"\r\n")
        except OSError as exc:
            raise lost(self.server, exc) from None

    def _getline(self) -> tuple[bytes, int]:
        try:
            line = self.file.readline(MAX_LINE + 1)
        except OSError as exc:
            raise lost(self.server, exc) from None
        if len(line) > MAX_LINE:
            raise ProtocolError(f"{where(self.server)}: server sent a line longer than {MAX_LINE - 2} bytes")
        if not line:
            raise ConnectionLost(f"{where(self.server)}: connection closed by the server")
        if not self._quiet:
            self.trace.received("pop3", line, pre_tls=not self.encrypted)
        if self._in_auth and line[:1] != b"+" or line[:3] == b"+OK":
            self._in_auth = False
        octets = len(line)
        if line[-2:] == b"\r\n":
            return line[:-2], octets
        return line[:-1], octets

    _quiet = False  # message bodies are not traced line by line

    def _getline_long(self) -> tuple[bytes, int]:
        """A message line: same cap as any line would refuse long MIME lines, so allow 64 KiB."""
        try:
            line = self.file.readline(65536 + 1)
        except OSError as exc:
            raise lost(self.server, exc) from None
        if len(line) > 65536:
            raise ProtocolError(f"{where(self.server)}: server sent a message line longer than 65536 bytes")
        if not line:
            raise ConnectionLost(f"{where(self.server)}: connection closed in the middle of a message")
        octets = len(line)
        return (line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")), octets


@dataclass
class DownloadReport:
    fetched: int = 0
    skipped: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)
    arrived: list[tuple[str, Path]] = field(default_factory=list)  # (folder, path) of each new message


class Pop3Session:
    """One authenticated POP3 connection (see the module docstring)."""

    def __init__(self, server: ServerConfig, credentials, *, trace: ProtocolTrace = NO_TRACE) -> None:  # noqa: ANN001
        if server.protocol != "pop3":
            raise ValueError("Pop3Session needs a POP3 ServerConfig")
        self.server = server
        self._credentials = credentials
        self.trace = trace if trace is not NO_TRACE else ProtocolTrace(False)
        self.pop: _GuardedPOP3 | None = None
        self.capabilities: dict[str, list[str]] = {}
        self.mechanism = ""
        self.max_message = MAX_MESSAGE
        self._out_of_step = False  # commands sent whose answers were never read

    def __enter__(self) -> Pop3Session:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()

    def connect(self) -> Pop3Session:
        srv = where(self.server)
        try:
            try:
                self.pop = _GuardedPOP3(self.server, self.trace)
            except poplib.error_proto as exc:
                raise ProtocolError(f"{srv}: server refused the connection: {self._text(exc)}") from None
            self.capabilities = self._capa()
            if self.server.security == "starttls":
                self._stls()
            self._authenticate()
        except poplib.error_proto as exc:
            self._drop()
            raise TransportError(f"{srv}: {self._text(exc)}") from None
        except BaseException:
            self._drop()
            raise
        return self

    def _capa(self) -> dict[str, list[str]]:
        assert self.pop is not None
        try:
            resp, lines, _ = self.pop._longcmd("CAPA")
        except poplib.error_proto:
            return {}
        caps: dict[str, list[str]] = {}
        for line in lines[:1000]:
            words = line.decode("ascii", "replace").split()
            if words:
                caps[words[0].upper()] = words[1:]
        return caps

    def _stls(self) -> None:
        pop = self.pop
        assert pop is not None
        srv = where(self.server)
        if "STLS" not in self.capabilities:
            raise SecurityError(f"{srv}: server does not offer STLS; refusing to continue in plaintext")
        pop._putcmd("STLS")
        try:
            line, _ = pop._getline()
        except ConnectionLost:
            raise SecurityError(f"{srv}: connection closed in answer to STLS; refusing to continue") from None
        if not line.startswith(b"+OK"):
            raise SecurityError(f"{srv}: server refused STLS; refusing to continue in plaintext")
        if has_buffered(pop.file, pop.sock):
            raise SecurityError(f"{srv}: server sent data after agreeing to STLS (response injection); refusing to continue")
        tls = wrap_tls(pop.sock, self.server, after="STLS")
        pop.sock = tls
        pop.tls_socket = tls
        pop.file = tls.makefile("rb")
        pop.encrypted = True
        pop._tls_established = True
        self.capabilities = self._capa()

    def _authenticate(self) -> None:
        pop = self.pop
        assert pop is not None
        srv = where(self.server)
        if not pop.encrypted and self.server.security != "none":
            raise SecurityError(f"{srv}: refusing to authenticate over an unencrypted connection")
        creds: Credentials = self._credentials(False)
        self.trace.add_secret(creds.secret)
        user = self.server.username or creds.username
        sasl = {m.upper() for m in self.capabilities.get("SASL", [])}
        if self.server.auth == "password":
            if creds.kind != "password":
                raise AuthError(f"{srv}: auth = \"password\" but the credentials are an OAuth2 token")
            try:
                if "PLAIN" in sasl:
                    blob = b"\0" + user.encode() + b"\0" + creds.secret.encode()
                    self.trace.add_secret(blob)
                    self._sasl("PLAIN", blob)
                    self.mechanism = "PLAIN"
                else:
                    pop.user(user)
                    pop.pass_(creds.secret)
                    self.mechanism = "USER"
            except poplib.error_proto as exc:
                raise AuthError(f"{srv}: login failed for {user}: {self._text(exc)}") from None
            return
        if creds.kind != "oauth2":
            raise AuthError(f"{srv}: auth = \"{self.server.auth}\" needs an OAuth2 token; refusing to send a password instead")
        want = {"oauthbearer": ["OAUTHBEARER"], "xoauth2": ["XOAUTH2"], "oauth2": ["OAUTHBEARER", "XOAUTH2"]}[self.server.auth]
        mech = next((m for m in want if m in sasl), None)
        if mech is None:
            raise AuthError(f"{srv}: server does not offer {' or '.join(want)}; refusing to fall back to a password")
        for attempt in (0, 1):
            m = OAuthMechanism(mech, user, creds.secret, self.server.host, self.server.port)
            self.trace.add_secret(m.initial())
            try:
                self._sasl(mech, m.initial(), m)
                self.mechanism = mech
                return
            except poplib.error_proto as exc:
                if attempt == 1:
                    raise AuthError(f"{srv}: the server rejected the OAuth2 token for {user}: {self._text(exc)}") from None
            creds = self._credentials(True)
            self.trace.add_secret(creds.secret)

    def _sasl(self, mech: str, initial: bytes, on_challenge: Any = None) -> None:
        pop = self.pop
        assert pop is not None
        pop._putcmd(f"AUTH {mech} {base64.b64encode(initial).decode() or '='}")
        for _ in range(5):
            line, _ = pop._getline()
            if line.startswith(b"+OK"):
                return
            if not line.startswith(b"+"):
                raise poplib.error_proto(line)
            answer = on_challenge(base64.b64decode(line[2:] or b"")) if on_challenge else b""
            pop._putline(base64.b64encode(answer) if answer is not None else b"*")
        raise ProtocolError(f"{where(self.server)}: AUTH {mech} challenge loop")

    def _text(self, exc: BaseException | bytes | str) -> str:
        text = exc.args[0] if isinstance(exc, BaseException) and exc.args else exc
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return self.trace.scrub(str(text))

    def tls_info(self) -> TLSInfo | None:
        sock = self.pop.tls_socket if self.pop else None
        return TLSInfo.of(sock, self.server) if sock is not None else None

    # ------------------------------------------------------------------ mailbox

    def _run(self, what: str, fn):  # noqa: ANN001, ANN202
        try:
            return fn()
        except poplib.error_proto as exc:
            raise TransportError(f"{where(self.server)}: {what} failed: {self._text(exc)}") from None

    def uidl(self) -> dict[int, str]:
        """``{message number: unique id}`` for every message on the server."""
        pop = self.pop
        assert pop is not None

        def go() -> dict[int, str]:
            pop._putcmd("UIDL")
            pop._getresp()
            out: dict[int, str] = {}
            while True:
                line, _ = pop._getline()
                if line == b".":
                    return out
                if len(out) >= MAX_UIDL:
                    raise ProtocolError(f"{where(self.server)}: UIDL listing longer than {MAX_UIDL}")
                parts = line.split()
                if len(parts) != 2 or not parts[0].isdigit():
                    raise ProtocolError(f"{where(self.server)}: bad UIDL line {line[:80]!r}")
                out[int(parts[0])] = parts[1].decode("latin-1")

        return self._run("UIDL", go)

    def retr(self, number: int) -> bytes:
        """Message ``number`` as bytes with LF line ends (dot-unstuffed), size-capped."""
        pop = self.pop
        assert pop is not None

        def go() -> bytes:
            pop._putcmd(f"RETR {int(number)}")
            return self._message(number)

        return self._run(f"RETR {number}", go)

    def retr_many(self, numbers: Iterable[int], window: int = 32) -> Iterator[tuple[int, bytes]]:
        """``(number, message)`` for each of ``numbers``, in order, as :meth:`retr` gives them.
        Where the server offers PIPELINING (RFC 2449), up to ``window`` RETR commands are in
        flight, so a download waits one round trip per ``window`` messages instead of one per
        message (on a 20 ms network, 4,000 messages would wait 80 s); otherwise one at a time.
        Left before the end (an error, a full disk), the answers still coming leave the
        connection out of step: :meth:`quit` then drops it without QUIT, committing nothing."""
        numbers = [int(n) for n in numbers]
        if "PIPELINING" not in self.capabilities or len(numbers) < 2:
            for n in numbers:
                yield n, self.retr(n)
            return
        pop = self.pop
        assert pop is not None
        todo = iter(numbers)
        sent: deque[int] = deque()

        def send(n: int) -> None:
            self._run(f"RETR {n}", lambda: pop._putcmd(f"RETR {n}"))
            sent.append(n)

        try:
            for n in islice(todo, window):
                send(n)
            while sent:
                n = sent[0]
                data = self._run(f"RETR {n}", lambda n=n: self._message(n))
                sent.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    send(nxt)
                yield n, data
        finally:
            if sent:
                self._out_of_step = True

    def _message(self, number: int) -> bytes:
        """The answer to ``RETR number``: the message, dot-unstuffed and size-capped."""
        pop = self.pop
        assert pop is not None
        pop._getresp()
        lines: list[bytes] = []
        total = 0
        pop._quiet = True
        try:
            while True:
                line, octets = pop._getline_long()
                if line == b".":
                    break
                if line.startswith(b".."):
                    line = line[1:]
                total += octets
                if total > self.max_message:
                    raise ProtocolError(f"{where(self.server)}: message {number} is larger than {self.max_message} bytes")
                lines.append(line)
        finally:
            pop._quiet = False
        self.trace.received("pop3", f"<message {number}: {total} bytes>")
        return b"\n".join(lines) + b"\n"

    def dele(self, number: int) -> None:
        assert self.pop is not None
        self._run(f"DELE {number}", lambda: self.pop.dele(int(number)))

    def dele_many(self, numbers: Iterable[int], window: int = 32) -> None:
        """DELE each of ``numbers`` (committed by the server at QUIT), ``window`` at a time in
        one flight where the server offers PIPELINING."""
        numbers = [int(n) for n in numbers]
        pop = self.pop
        assert pop is not None
        if "PIPELINING" not in self.capabilities:
            for n in numbers:
                self.dele(n)
            return
        for i in range(0, len(numbers), window):
            chunk = numbers[i : i + window]
            for n in chunk:
                self._run(f"DELE {n}", lambda n=n: pop._putcmd(f"DELE {n}"))
            for k, n in enumerate(chunk):
                try:
                    self._run(f"DELE {n}", pop._getresp)
                except BaseException:
                    if k + 1 < len(chunk):
                        self._out_of_step = True
                    raise

    def stat(self) -> tuple[int, int]:
        assert self.pop is not None
        return self._run("STAT", lambda: self.pop.stat())

    def quit(self) -> None:
        """QUIT (the server commits deletions only then), then close; never raises. A
        connection left out of step (answers still coming) is closed without QUIT: its QUIT
        would be answered by one of them, and nothing must be committed on a guess."""
        if self.pop is not None and not self._out_of_step:
            quietly(self.pop.quit)
        self._drop()

    def _drop(self) -> None:
        if self.pop is not None:
            quietly(self.pop.close)
        self.pop = None




# --------------------------------------------------------------------------- download


class FetchRecord:
    """Which POP3 UIDs were fetched, per account and server: SQLite under the state dir.

    A batch is recorded before its files exist (``reserve``: pending, with the names they
    will have) and confirmed once they are stored (``confirm``); ``settle`` resolves what a
    crash left pending by looking for the files. So a crash never leaves a stored message
    unrecorded (which the next run would fetch again, a second copy), nor a recorded one
    missing."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.db = sqlite3.connect(str(path))
        path.chmod(0o600)
        self.db.execute("CREATE TABLE IF NOT EXISTS fetched (uid TEXT PRIMARY KEY, key TEXT, at REAL,"
                        " pending INTEGER NOT NULL DEFAULT 0)")
        if "pending" not in {r[1] for r in self.db.execute("PRAGMA table_info(fetched)")}:
            # a record written before batches were recorded as pending
            self.db.execute("ALTER TABLE fetched ADD COLUMN pending INTEGER NOT NULL DEFAULT 0")
        self.db.commit()

    @staticmethod
    def path_for(state_dir: Path, account: str, server: ServerConfig) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{account}-{server.host}-{server.username or ''}")
        return state_dir / "pop3" / f"{safe}.sqlite"

    @classmethod
    def for_account(cls, state_dir: Path, account: str, server: ServerConfig) -> FetchRecord:
        return cls(cls.path_for(state_dir, account, server))

    def __contains__(self, uid: str) -> bool:
        return self.db.execute("SELECT 1 FROM fetched WHERE uid = ?", (uid,)).fetchone() is not None

    def add(self, uid: str, key: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO fetched VALUES (?, ?, ?, 0)", (uid, key, time.time()))
        self.db.commit()

    def reserve(self, pairs: list[tuple[str, str]]) -> None:
        """(uid, file name) of a batch about to be stored, pending until :meth:`confirm`."""
        now = time.time()
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO fetched VALUES (?, ?, ?, 1)", [(u, k, now) for u, k in pairs])

    def confirm(self, uids: list[str]) -> None:
        with self.db:
            self.db.executemany("UPDATE fetched SET pending = 0 WHERE uid = ?", [(u,) for u in uids])

    def settle(self, stored: Callable[[str], bool]) -> None:
        """What a crash left pending: fetched if ``stored(name)`` finds its file, else forgotten
        (fetched again)."""
        pending = list(self.db.execute("SELECT uid, key FROM fetched WHERE pending = 1"))
        if not pending:
            return
        with self.db:
            for uid, key in pending:
                if stored(key):
                    self.db.execute("UPDATE fetched SET pending = 0 WHERE uid = ?", (uid,))
                else:
                    self.db.execute("DELETE FROM fetched WHERE uid = ?", (uid,))

    def forget_except(self, uids: set[str]) -> None:
        """Drop records of messages no longer on the server (keeps the file small)."""
        known = {r[0] for r in self.db.execute("SELECT uid FROM fetched")}
        gone = known - uids
        self.db.executemany("DELETE FROM fetched WHERE uid = ?", [(u,) for u in gone])
        self.db.commit()

    def close(self) -> None:
        self.db.close()


BATCH_MESSAGES = 100  # messages stored (and made durable) together ...
BATCH_BYTES = 4 * 1024 * 1024  # ... within this many bytes


def _stored(store: Any, folder: str, key: str) -> bool:
    try:
        store.get(folder, key)
    except Exception:  # noqa: BLE001 - not there (or unreadable): fetched again
        return False
    return True


def download(session: Pop3Session, store: Any, folder: str, record: FetchRecord, *, leave_on_server: bool = True,
             progress: Any = None) -> DownloadReport:
    """Fetch each new message once into ``store`` (a ``Maildir``) ``folder``; ``progress`` (a
    ``pigeon.core.sync.Progress``) hears of each batch stored."""
    report = DownloadReport()
    listing = session.uidl()
    if not store.has_folder(folder):
        store.create_folder(folder)
    record.settle(lambda key: _stored(store, folder, key))
    new: list[int] = []
    seen: set[str] = set()
    for n, uid in sorted(listing.items()):
        if uid not in record and uid not in seen:  # a UID listed twice is fetched once
            seen.add(uid)
            new.append(n)
    report.skipped = len(listing) - len(new)
    if progress is not None and new:
        progress.folder(folder, len(new), 0)  # sizes unknown: POP3's LIST would cost a round trip
    batch: list[tuple[int, bytes]] = []

    def store_batch() -> None:
        # Recorded (pending) before the files exist, confirmed once they are durable.
        keys = [unique_name() for _ in batch]
        uids = [listing[n] for n, _data in batch]
        record.reserve(list(zip(uids, keys, strict=True)))
        entries = store.add_many(folder, [data for _n, data in batch], keys)
        record.confirm(uids)
        report.fetched += len(entries)
        report.arrived.extend((folder, e.path) for e in entries)
        if progress is not None:
            progress.advance(folder, len(entries), sum(len(data) for _n, data in batch))
        batch.clear()

    size = 0
    for number, data in session.retr_many(new):
        batch.append((number, data))
        size += len(data)
        if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
            store_batch()
            size = 0
    if batch:
        store_batch()
    if leave_on_server:
        record.forget_except(set(listing.values()))
    else:  # each message stored and recorded by now; the server commits the deletions at QUIT
        session.dele_many(sorted(listing))
        report.deleted = len(listing)
    return report


def fetch_account(app: Any, account: Any, *, trace: ProtocolTrace | None = None, progress: Any = None) -> DownloadReport:
    """Download ``account``'s POP3 mail into its INBOX folder (what ``pigeon sync`` calls for POP3).

    ``[accounts.NAME.sync] leave_on_server = false`` deletes each message from the server once
    it is safely in the Maildir and recorded; the default leaves them there.
    """
    from pigeon.core.transport import credential_source

    server = account.pop3
    if server is None:
        raise TransportError(f"account {account.name}: no [pop3] server configured")
    sync = account.extra.get("sync") if isinstance(account.extra.get("sync"), dict) else {}
    leave = sync.get("leave_on_server", True) is not False
    record = FetchRecord.for_account(app.state_dir, account.name, server)
    try:
        with Pop3Session(server, credential_source(app.pm, account, server), trace=trace or ProtocolTrace(False)) as session:
            return download(session, app.store(account), account.folder("inbox"), record, leave_on_server=leave,
                            progress=progress)
    finally:
        record.close()
