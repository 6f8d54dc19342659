"""IMAP for pigeon: a connection that cannot be downgraded, and a typed session API for sync.

Connecting
----------
``ImapSession(server, credentials, trace=...)`` with a ``ServerConfig`` (hooks/types.py) and a
``credentials(refresh: bool) -> Credentials`` callable (``credentials_for(app, account,
"imap")`` asks the ``pigeon_credentials`` hook). ``connect()`` (or ``with session:``) does:

1. TCP with ``server.timeout`` for the connect and every read; implicit TLS when
   ``security = "tls"`` (default, port 993), verified against the system store or ``cafile``,
   optional SHA-256 pin (``pigeon.core.transport``);
2. with ``security = "starttls"``: STARTTLS must be offered and must succeed; ``PREAUTH`` in
   plaintext, untagged data inside the exchange, or bytes buffered behind the go-ahead end the
   connection (``SecurityError``) before anything else is sent; every pre-TLS response and
   capability is discarded (``pigeon.core.imap_conn`` explains each guard);
3. CAPABILITY after TLS; authentication — ``auth = "password"``: AUTHENTICATE PLAIN (or LOGIN)
   only over TLS; ``auth = "oauth2" | "oauthbearer" | "xoauth2"``: SASL with a token, one
   refresh-and-retry when the token is rejected, and never a password instead;
4. CAPABILITY after login (only these capabilities count from then on).

Errors are ``pigeon.core.transport`` exceptions with one-line messages naming the server;
``ConnectionLost`` is the only one worth retrying (``reconnect()`` uses ``Backoff``).

Session API (every call returns typed values)
---------------------------------------------
Folder names are ``str`` in UTF-8 everywhere; modified UTF-7 on the wire is handled here
(``encode_folder``/``decode_folder``). UID sets are ``UIDSet`` (ranges, never expanded blindly:
a hostile ``1:4294967295`` costs nothing).

- ``list_folders() -> list[FolderInfo]``: LIST (``RETURN (SPECIAL-USE)`` when offered), with
  ``role`` from the special-use flags (``sent``, ``drafts``, ``trash``, ``junk``, ``archive``...).
- ``select(folder, readonly=False, condstore=False, qresync=None) -> SelectResult``:
  ``qresync=(uidvalidity, highestmodseq, known_uids_or_None)`` enables QRESYNC and returns
  ``vanished`` (UIDs expunged since) and ``changed`` (FETCH of flags changed since);
  ``condstore=True`` asks for HIGHESTMODSEQ. Both degrade to a plain SELECT when the server
  lacks them (``highestmodseq`` is then None).
- ``fetch(uids, items=..., batch=200, changedsince=None) -> Iterator[FetchedMessage]``:
  UID FETCH in batches; ``uids`` may be a list, a ``UIDSet`` or a string like ``"1:*"``.
- ``search(*criteria) -> list[int]``: UID SEARCH.
- ``store(uids, add=(), remove=(), replace=None, unchangedsince=None) -> StoreResult``:
  flags and keywords (validated as IMAP atoms); ``modified`` lists UIDs refused by
  UNCHANGEDSINCE.
- ``move(uids, folder) -> CopyResult``: MOVE, else COPY + STORE \\Deleted + UID EXPUNGE
  (without UIDPLUS, refused when other messages are marked \\Deleted); ``mapping`` from COPYUID.
- ``append(folder, data, flags=(), when=None) -> AppendResult``: the new UID from UIDPLUS.
- ``expunge(uids=None)``: UID EXPUNGE of those UIDs (UIDPLUS), else EXPUNGE.
- ``create_folder``, ``delete_folder``, ``rename_folder``, ``status``, ``noop``.
- ``idle(timeout) -> list[IdleEvent]``: IDLE until something arrives or ``timeout`` passes.
- ``tls_info() -> TLSInfo``, ``capabilities``, ``logout()``.

``session.client`` is the underlying ``imapclient.IMAPClient`` for anything else; its
capability checks see only the post-TLS, post-login capabilities. The value types live in
``pigeon.core.imap_values`` and the folder-name helpers in ``pigeon.core.imap_types`` (both
re-exported here, the values loaded on first use); the guarded imaplib connection in
``pigeon.core.imap_conn``; the message commands in ``pigeon.core.imap_messages`` and IDLE in
``pigeon.core.imap_idle`` (the session's base classes). ``credentials_for(app, account)``
builds the credentials callable.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

# isort: off
import pigeon.core.imap_import  # noqa: F401 - before imapclient: skips its metadata lookup
import imapclient
# isort: on
from pigeon.core.imap_conn import GuardedIMAP4, OAuthMechanism, sasl_plain
from pigeon.core.imap_idle import Idling
from pigeon.core.imap_messages import MessageCommands
from pigeon.core.imap_types import (  # noqa: F401 - re-exported: the session API's names
    DEFAULT_FETCH,
    MAX_UIDS,
    SPECIAL_USE_ROLES,
    _atoms,
    _s,
    decode_folder,
    encode_folder,
)
from pigeon.core.transport import (
    NO_TRACE,
    AuthError,
    Backoff,
    ConnectionLost,
    ProtocolError,
    ProtocolTrace,
    SecurityError,
    TLSInfo,
    TransportError,
    quietly,
    where,
)
from pigeon.hooks.types import Credentials, ServerConfig

CredentialSource = Callable[[bool], Credentials]

if TYPE_CHECKING:
    from pigeon.core.imap_values import (
        FolderInfo,
        SelectResult,
        UIDSet,
    )


def __getattr__(name: str) -> Any:
    """The session API's values (``from pigeon.core.imap import UIDSet``), built on first use:
    ``pigeon sync`` only connects through the session and spares their ~3 ms (the methods that
    make them import them)."""
    from pigeon.core import imap_types

    if name in imap_types.VALUES:
        return getattr(imap_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def credentials_for(app, account, purpose: str = "imap") -> CredentialSource:  # noqa: ANN001
    """The ``credentials(refresh)`` callable for ``account``'s ``purpose`` server (the hook)."""
    from pigeon.core.transport import credential_source

    server = getattr(account, purpose)
    if server is None:
        raise TransportError(f"account {account.name}: no [{purpose}] server configured")
    return credential_source(app.pm, account, server)


# --------------------------------------------------------------------------- client


class _Client(imapclient.IMAPClient):
    """IMAPClient over a ``GuardedIMAP4``; its capability checks use post-TLS data only."""

    def __init__(self, server: ServerConfig, trace: ProtocolTrace, sock: Any = None) -> None:
        self._pigeon_server = server
        self._pigeon_trace = trace
        self._pigeon_sock = sock
        super().__init__(server.host, server.port, ssl=False, timeout=server.timeout)
        self._imap.debug = 0
        self._imap._mesg = lambda *a, **k: None  # imapclient rewires imaplib's debug output

    def _create_IMAP4(self) -> GuardedIMAP4:
        sock, self._pigeon_sock = self._pigeon_sock, None
        return GuardedIMAP4(self._pigeon_server, self._pigeon_trace, sock)

    def capabilities(self) -> tuple[bytes, ...]:
        return tuple(c.encode() for c in self._imap.capabilities)


class ImapSession(MessageCommands, Idling):
    """One authenticated IMAP connection (see the module docstring)."""

    def __init__(
        self,
        server: ServerConfig,
        credentials: CredentialSource,
        *,
        trace: ProtocolTrace = NO_TRACE,
        backoff: Backoff | None = None,
        sock: Any = None,
    ) -> None:
        """``sock``: a connection to ``server`` made already (``transport.open_socket``), which
        the first :meth:`connect` takes instead of opening one."""
        if server.protocol != "imap":
            raise ValueError("ImapSession needs an IMAP ServerConfig")
        self.server = server
        self._credentials = credentials
        self.trace = trace if trace is not NO_TRACE else ProtocolTrace(False)
        self.backoff = backoff or Backoff()
        self._client: _Client | None = None
        self._enabled: set[str] = set()
        self.selected: str | None = None
        self.mechanism = ""
        self._presock = sock

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> ImapSession:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.logout()

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise ConnectionLost(f"{where(self.server)}: not connected")
        return self._client

    @property
    def imap(self) -> GuardedIMAP4:
        return self.client._imap  # type: ignore[return-value]

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.imap.capabilities) if self._client else frozenset()

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    def connect(self) -> ImapSession:
        try:
            sock, self._presock = self._presock, None
            self._client = _Client(self.server, self.trace, sock)
        except imaplib.IMAP4.error as exc:
            raise ProtocolError(f"{where(self.server)}: {self._text(exc)}") from None
        try:
            caps = None
            if self.imap.state == "NONAUTH":
                self.imap.untagged_responses.pop("CAPABILITY", None)
                self._authenticate()
                # The server usually says its post-login capabilities with the login's answer
                # (over the same encrypted connection): use them instead of asking again.
                caps = self.imap.untagged_responses.pop("CAPABILITY", None)
            if caps and isinstance(caps[-1], bytes) and caps[-1].strip():
                self.imap.capabilities = tuple(caps[-1].decode("ascii", "replace").upper().split())
            else:
                self.imap.refresh_capabilities()
        except BaseException:
            self._drop()
            raise
        self._enabled.clear()
        self.selected = None
        return self

    def reconnect(self) -> ImapSession:
        """Drop the connection and connect again with backoff; reselects the last folder."""
        folder = self.selected
        self._drop()
        self.backoff.run(self.connect)
        if folder is not None:
            self.select(folder)
        return self

    def logout(self, *, wait: bool = True) -> None:
        """LOGOUT, then close; never raises. ``wait=False`` sends LOGOUT and closes without
        waiting for the server's goodbye (a command-line run that is done with the connection)."""
        if self._client is not None:
            if wait:
                quietly(self._client.logout)
            else:
                imap = self._client._imap
                quietly(lambda: imap.send(imap._new_tag() + b" LOGOUT\r\n"))
        self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            quietly(self._client._imap.shutdown)
        self._client = None

    def tls_info(self) -> TLSInfo | None:
        sock = self.imap.tls_socket
        return TLSInfo.of(sock, self.server) if sock is not None else None

    # ------------------------------------------------------------------ authentication

    def _authenticate(self) -> None:
        srv = where(self.server)
        if not self.imap.encrypted and self.server.security != "none":
            raise SecurityError(f"{srv}: refusing to authenticate over an unencrypted connection")
        creds = self._credentials(False)
        self.trace.add_secret(creds.secret)
        user = self.server.username or creds.username
        caps = self.capabilities
        if self.server.auth == "password":
            if creds.kind != "password":
                raise AuthError(f"{srv}: auth = \"password\" but the credentials are an OAuth2 token")
            try:
                if "AUTH=PLAIN" in caps:
                    self.mechanism = "PLAIN"
                    secret = sasl_plain(user, creds.secret)
                    self.trace.add_secret(secret)
                    if "SASL-IR" in caps:
                        self._plain_initial_response(secret)  # RFC 4959: one round trip
                    else:
                        self.client.sasl_login("PLAIN", lambda _c: secret)
                elif "LOGINDISABLED" not in caps:
                    self.mechanism = "LOGIN"
                    self.client.login(user, creds.secret)
                else:
                    raise AuthError(f"{srv}: the server offers no password mechanism (LOGINDISABLED, no AUTH=PLAIN)")
            except imapclient.exceptions.LoginError as exc:
                raise AuthError(f"{srv}: login failed for {user}: {self._text(exc)}") from None
            except imaplib.IMAP4.abort as exc:
                raise ConnectionLost(f"{srv}: connection lost during login: {self._text(exc)}") from None
            return
        if creds.kind != "oauth2":
            raise AuthError(f"{srv}: auth = \"{self.server.auth}\" needs an OAuth2 token; refusing to send a password instead")
        mech = self._oauth_mechanism(caps)
        for attempt in (0, 1):
            m = OAuthMechanism(mech, user, creds.secret, self.server.host, self.server.port)
            self.trace.add_secret(m.initial())
            try:
                self.client.sasl_login(mech, m)
                self.mechanism = mech
                return
            except imapclient.exceptions.LoginError as exc:
                if attempt == 1:
                    raise AuthError(f"{srv}: the server rejected the OAuth2 token for {user}: {self._text(exc)}") from None
            except imaplib.IMAP4.abort as exc:
                raise ConnectionLost(f"{srv}: connection lost during login: {self._text(exc)}") from None
            creds = self._credentials(True)  # the token may have expired: refresh once
            self.trace.add_secret(creds.secret)
            if creds.kind != "oauth2":
                raise AuthError(f"{srv}: token refresh did not give an OAuth2 token")

    def _plain_initial_response(self, secret: bytes) -> None:
        """AUTHENTICATE PLAIN with the credentials in the command (SASL-IR)."""
        import base64

        encoded = base64.b64encode(secret).decode("ascii")
        self.trace.add_secret(encoded)
        imap = self.imap
        typ, dat = imap._simple_command("AUTHENTICATE", "PLAIN", encoded)
        if typ != "OK":
            text = dat[-1] if dat and isinstance(dat[-1], bytes) else b""
            raise imapclient.exceptions.LoginError(text.decode("utf-8", "replace"))
        imap.state = "AUTH"

    def _oauth_mechanism(self, caps: frozenset[str]) -> str:
        want = {"oauthbearer": ["OAUTHBEARER"], "xoauth2": ["XOAUTH2"], "oauth2": ["OAUTHBEARER", "XOAUTH2"]}[self.server.auth]
        for mech in want:
            if f"AUTH={mech}" in caps:
                return mech
        raise AuthError(f"{where(self.server)}: the server does not offer {' or '.join(want)}; refusing to fall back to a password")

    def _text(self, exc: BaseException | str) -> str:
        text = exc if isinstance(exc, str) else str(exc)
        if text.startswith(("b'", 'b"')):
            text = text[2:-1]
        return self.trace.scrub(text)

    # ------------------------------------------------------------------ running commands

    def _run(self, what: str, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise ConnectionLost(f"{where(self.server)}: {what}: {self._text(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise TransportError(f"{where(self.server)}: {what} failed: {self._text(exc)}") from None
        except (ConnectionLost, ProtocolError):
            self._drop()
            raise

    def _simple(self, what: str, name: str, *args: str | bytes) -> tuple[str, list]:
        imap = self.imap

        def go() -> tuple[str, list]:
            typ, data = imap._simple_command(name, *args)
            if typ != "OK":
                raise imaplib.IMAP4.error(data[-1] if data else typ)
            return typ, data

        return self._run(what, go)  # type: ignore[return-value]

    def _folder_arg(self, folder: str) -> bytes:
        return self.client._normalise_folder(folder)

    def _enable(self, capability: str) -> None:
        if capability in self._enabled or not self.has(capability):
            return
        if self.imap.state == "SELECTED":
            return  # ENABLE is legal only before SELECT; callers enable early
        self._run("ENABLE", lambda: self.client.enable(capability))
        self._enabled.add(capability)

    # ------------------------------------------------------------------ folders

    def list_folders(self, pattern: str = "*") -> list[FolderInfo]:
        from pigeon.core.imap_values import FolderInfo

        args: list[str | bytes] = [b'""', self._folder_arg(pattern)]
        if self.has("SPECIAL-USE"):
            args.append(b"RETURN (SPECIAL-USE)")
        self.imap.untagged_responses.pop("LIST", None)
        typ, data = self._simple("LIST", "LIST", *args)
        raw = self.imap.untagged_responses.pop("LIST", [])
        out = []
        for flags, delim, name in self.client._proc_folder_list(raw):
            fl = tuple(_s(f) for f in flags)
            role = next((SPECIAL_USE_ROLES[f.upper()] for f in fl if f.upper() in SPECIAL_USE_ROLES), None)
            name = _s(name)
            if name.upper() == "INBOX":
                role = "inbox"
            out.append(FolderInfo(name, _s(delim) if delim else "", fl, role))
        return out

    def create_folder(self, folder: str) -> None:
        self._simple(f"CREATE {folder}", "CREATE", self._folder_arg(folder))

    def delete_folder(self, folder: str) -> None:
        self._simple(f"DELETE {folder}", "DELETE", self._folder_arg(folder))

    def rename_folder(self, old: str, new: str) -> None:
        self._simple(f"RENAME {old}", "RENAME", self._folder_arg(old), self._folder_arg(new))

    def status(self, folder: str, items: Sequence[str] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")) -> dict[str, int]:
        if self.has("CONDSTORE") and "HIGHESTMODSEQ" not in items:
            items = (*items, "HIGHESTMODSEQ")
        result = self._run("STATUS", lambda: self.client.folder_status(folder, list(items)))
        return {_s(k).upper(): int(v) for k, v in result.items()}  # type: ignore[union-attr]

    def noop(self) -> None:
        self._simple("NOOP", "NOOP")

    # ------------------------------------------------------------------ select

    def select(
        self,
        folder: str,
        readonly: bool = False,
        *,
        condstore: bool = False,
        qresync: tuple[int, int, UIDSet | str | None] | None = None,
    ) -> SelectResult:
        from pigeon.core.imap_values import SelectResult, UIDSet

        imap = self.imap
        params = []
        use_qresync = qresync is not None and self.has("QRESYNC")
        if use_qresync and "QRESYNC" not in self._enabled and imap.state == "SELECTED":
            # ENABLE is legal only outside a mailbox; leave it with UNSELECT. Never with CLOSE,
            # which would silently expunge the messages marked \Deleted.
            if self.has("UNSELECT"):
                self._simple("UNSELECT", "UNSELECT")
                imap.state = "AUTH"
            else:
                use_qresync = False
        if use_qresync:
            self._enable("QRESYNC")
            uv, ms, known = qresync  # type: ignore[misc]
            inner = f"{int(uv)} {int(ms)}" + (f" {known}" if known else "")
            params.append(f"QRESYNC ({inner})")
        elif (condstore or qresync is not None) and self.has("CONDSTORE"):
            params.append("CONDSTORE")
        args: list[str | bytes] = [self._folder_arg(folder)]
        if params:
            args.append("(" + " ".join(params) + ")")
        imap.untagged_responses.clear()
        name = "EXAMINE" if readonly else "SELECT"
        self.selected = None
        self._simple(f"{name} {folder}", name, *args)
        imap.state = "SELECTED"
        imap.is_readonly = readonly
        self.selected = folder
        ur = imap.untagged_responses

        def num(key: str) -> int | None:
            vals = ur.get(key)
            if not vals or vals[-1] is None:
                return None
            m = re.match(rb"\s*(\d+)", vals[-1] if isinstance(vals[-1], bytes) else b"")
            return int(m.group(1)) if m else None

        def flaglist(key: str) -> tuple[str, ...]:
            vals = ur.get(key)
            if not vals or not isinstance(vals[-1], bytes):
                return ()
            return tuple(_s(f) for f in vals[-1].strip(b"() ").split())

        vanished = UIDSet()
        for v in ur.get("VANISHED", []):
            if isinstance(v, bytes):
                vanished = UIDSet.from_ranges(vanished.ranges + UIDSet.parse(v.replace(b"(EARLIER)", b"")).ranges)
        changed = tuple(self._to_messages(ur.get("FETCH", [])))
        uidvalidity = num("UIDVALIDITY")
        if uidvalidity is None:
            raise ProtocolError(f"{where(self.server)}: SELECT {folder} gave no UIDVALIDITY")
        return SelectResult(
            folder=folder,
            uidvalidity=uidvalidity,
            uidnext=num("UIDNEXT"),
            exists=num("EXISTS") or 0,
            highestmodseq=None if "NOMODSEQ" in ur else num("HIGHESTMODSEQ"),
            flags=flaglist("FLAGS"),
            permanent_flags=flaglist("PERMANENTFLAGS"),
            readonly=readonly or "READ-ONLY" in ur,
            vanished=vanished,
            changed=changed,
            qresync=use_qresync,
        )
