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
``pigeon.core.imap_conn``. ``credentials_for(app, account)`` builds the credentials callable.
"""

from __future__ import annotations

import imaplib
import re
import select as _select
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

# isort: off
import pigeon.core.imap_import  # noqa: F401 - before imapclient: skips its metadata lookup
import imapclient
# isort: on
from imapclient.response_parser import parse_fetch_response
from pigeon.core.imap_conn import GuardedIMAP4, OAuthMechanism, sasl_plain
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
    has_buffered,
    quietly,
    where,
)
from pigeon.hooks.types import Credentials, ServerConfig

CredentialSource = Callable[[bool], Credentials]

if TYPE_CHECKING:
    from pigeon.core.imap_values import (
        AppendResult,
        CopyResult,
        FetchedMessage,
        FolderInfo,
        IdleEvent,
        SelectResult,
        StoreResult,
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

    def __init__(self, server: ServerConfig, trace: ProtocolTrace) -> None:
        self._pigeon_server = server
        self._pigeon_trace = trace
        super().__init__(server.host, server.port, ssl=False, timeout=server.timeout)
        self._imap.debug = 0
        self._imap._mesg = lambda *a, **k: None  # imapclient rewires imaplib's debug output

    def _create_IMAP4(self) -> GuardedIMAP4:
        return GuardedIMAP4(self._pigeon_server, self._pigeon_trace)

    def capabilities(self) -> tuple[bytes, ...]:
        return tuple(c.encode() for c in self._imap.capabilities)


class ImapSession:
    """One authenticated IMAP connection (see the module docstring)."""

    def __init__(
        self,
        server: ServerConfig,
        credentials: CredentialSource,
        *,
        trace: ProtocolTrace = NO_TRACE,
        backoff: Backoff | None = None,
    ) -> None:
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
            self._client = _Client(self.server, self.trace)
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

    # ------------------------------------------------------------------ messages

    def _to_messages(self, raw: list) -> Iterator[FetchedMessage]:
        from pigeon.core.imap_values import FetchedMessage

        if not raw:
            return
        try:
            parsed = parse_fetch_response(raw, normalise_times=True, uid_is_key=True)
        except Exception as exc:
            raise ProtocolError(f"{where(self.server)}: unparseable FETCH response: {exc}") from None
        for uid, d in parsed.items():
            if not isinstance(uid, int):
                continue
            body = d.get(b"BODY[]", d.get(b"RFC822"))
            modseq = d.get(b"MODSEQ")
            yield FetchedMessage(
                uid=uid,
                flags=tuple(_s(f) for f in d.get(b"FLAGS", ())),
                modseq=int(modseq[0]) if isinstance(modseq, tuple) and modseq else None,
                size=d.get(b"RFC822.SIZE"),
                internaldate=d.get(b"INTERNALDATE"),
                body=bytes(body) if body is not None else None,
                seq=d.get(b"SEQ"),
            )

    def fetch(
        self,
        uids: Iterable[int] | UIDSet | str,
        items: Sequence[str] = DEFAULT_FETCH,
        *,
        batch: int = 200,
        changedsince: int | None = None,
    ) -> Iterator[FetchedMessage]:
        from pigeon.core.imap_values import UIDSet

        items = list(items)
        if changedsince is not None and "MODSEQ" not in items:
            items.append("MODSEQ")
        modifiers = [f"CHANGEDSINCE {int(changedsince)}"] if changedsince is not None else None
        if isinstance(uids, str):
            chunks: Iterable[str] = [uids]
        else:
            ordered = sorted(set(uids))
            chunks = (str(UIDSet.of(ordered[i : i + batch])) for i in range(0, len(ordered), batch))
        for chunk in chunks:
            def go(chunk: str = chunk) -> list:
                typ, data = self.imap.uid("FETCH", chunk, "(" + " ".join(items) + ")" + (f" ({modifiers[0]})" if modifiers else ""))
                if typ != "OK":
                    raise imaplib.IMAP4.error(data[-1] if data else typ)
                return data

            data = self._run("FETCH", go)
            yield from sorted(self._to_messages([d for d in data if d is not None]), key=lambda m: m.uid)  # type: ignore[arg-type]

    def search(self, *criteria: str) -> list[int]:
        result = self._run("SEARCH", lambda: self.client.search(list(criteria) or ["ALL"]))
        return sorted(int(u) for u in result)  # type: ignore[union-attr]

    def store(
        self,
        uids: Iterable[int] | UIDSet | str,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        replace: Iterable[str] | None = None,
        *,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        from pigeon.core.imap_values import StoreResult, UIDSet

        uidset = uids if isinstance(uids, str) else str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        ops = [("FLAGS", list(replace))] if replace is not None else []
        ops += [(op, list(f)) for op, f in (("+FLAGS", add), ("-FLAGS", remove)) if f]
        flags: dict[int, tuple[str, ...]] = {}
        modseq: dict[int, int] = {}
        modified = UIDSet()
        unch = f"(UNCHANGEDSINCE {int(unchangedsince)})" if unchangedsince is not None else None
        for op, fl in ops:
            args = [a for a in (uidset, unch, op, _atoms(fl)) if a is not None]
            self.imap.untagged_responses.pop("MODIFIED", None)

            def go(args: list = args) -> list:
                typ, data = self.imap.uid("STORE", *args)
                if typ != "OK":
                    raise imaplib.IMAP4.error(data[-1] if data else typ)
                return data

            data = self._run("STORE", go)
            for m in self._to_messages([d for d in data if d is not None]):  # type: ignore[union-attr]
                flags[m.uid] = m.flags
                if m.modseq is not None:
                    modseq[m.uid] = m.modseq
            for v in self.imap.untagged_responses.pop("MODIFIED", []):
                modified = UIDSet.from_ranges(modified.ranges + UIDSet.parse(v).ranges)
        return StoreResult(flags, modseq, modified)

    def _copyuid(self) -> CopyResult:
        from pigeon.core.imap_values import CopyResult, UIDSet

        vals = self.imap.untagged_responses.pop("COPYUID", [])
        if not vals:
            return CopyResult(None, {})
        parts = _s(vals[-1]).split()
        if len(parts) != 3 or not parts[0].isdigit():
            raise ProtocolError(f"{where(self.server)}: bad COPYUID {vals[-1]!r}")
        src, dst = list(UIDSet.parse(parts[1])), list(UIDSet.parse(parts[2]))
        return CopyResult(int(parts[0]), dict(zip(src, dst, strict=False)))

    def move(self, uids: Iterable[int] | UIDSet, folder: str) -> CopyResult:
        from pigeon.core.imap_values import UIDSet

        uidset = str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        self.imap.untagged_responses.pop("COPYUID", None)
        dest = self._folder_arg(folder)
        if self.has("MOVE"):
            self._uid_simple("MOVE", uidset, dest)
            return self._copyuid()
        self._uid_simple("COPY", uidset, dest)
        result = self._copyuid()
        self.store(uidset, add=["\\Deleted"])
        self.expunge(UIDSet.parse(uidset))
        return result

    def copy(self, uids: Iterable[int] | UIDSet, folder: str) -> CopyResult:
        from pigeon.core.imap_values import UIDSet

        uidset = str(uids if isinstance(uids, UIDSet) else UIDSet.of(uids))
        self.imap.untagged_responses.pop("COPYUID", None)
        self._uid_simple("COPY", uidset, self._folder_arg(folder))
        return self._copyuid()

    def _uid_simple(self, command: str, *args: str | bytes) -> list:
        def go() -> list:
            typ, data = self.imap.uid(command, *args)
            if typ != "OK":
                raise imaplib.IMAP4.error(data[-1] if data else typ)
            return data

        return self._run(command, go)  # type: ignore[return-value]

    def append(self, folder: str, data: bytes, flags: Iterable[str] = (), when: datetime | None = None) -> AppendResult:
        from pigeon.core.imap_values import AppendResult

        flags = list(flags)
        _atoms(flags)
        self.imap.untagged_responses.pop("APPENDUID", None)
        resp = self._run("APPEND", lambda: self.client.append(folder, data, flags=flags, msg_time=when))
        vals = self.imap.untagged_responses.pop("APPENDUID", [])
        text = _s(vals[-1]) if vals else ""
        if not text:
            m = re.search(rb"\[APPENDUID (\d+ \d+)\]", resp if isinstance(resp, bytes) else b"")
            text = m.group(1).decode() if m else ""
        parts = text.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            return AppendResult(int(parts[0]), int(parts[1]))
        return AppendResult(None, None)

    def expunge(self, uids: Iterable[int] | UIDSet | None = None) -> None:
        """Remove messages marked \\Deleted: only ``uids`` when given (UID EXPUNGE).

        Without UIDPLUS a plain EXPUNGE would also remove other messages the user marked
        \\Deleted; it is refused then unless no such other message exists.
        """
        from pigeon.core.imap_values import UIDSet

        if uids is None:
            self._simple("EXPUNGE", "EXPUNGE")
            return
        wanted = uids if isinstance(uids, UIDSet) else UIDSet.of(uids)
        if self.has("UIDPLUS"):
            self._uid_simple("EXPUNGE", str(wanted))
            return
        others = [u for u in self.search("DELETED") if u not in wanted]
        if others:
            raise TransportError(
                f"{where(self.server)}: the server lacks UIDPLUS and {len(others)} other message(s) are marked \\Deleted; not expunging"
            )
        self._simple("EXPUNGE", "EXPUNGE")

    # ------------------------------------------------------------------ IDLE

    def idle(self, timeout: float, *, settle: float = 0.1) -> list[IdleEvent]:
        """Wait in IDLE up to ``timeout`` seconds; return the events (empty when nothing came).

        Without the IDLE capability this is a NOOP after waiting ``timeout``.
        """
        if not self.has("IDLE"):
            time.sleep(timeout)
            self.imap.untagged_responses.clear()
            self.noop()
            return self._events_from_untagged()
        imap = self.imap

        def go() -> list[IdleEvent]:
            tag = imap._new_tag()
            imap.tagged_commands.pop(tag, None)
            imap.send(tag + b" IDLE\r\n")
            line = imap.readline()
            if not line.startswith(b"+"):
                raise imaplib.IMAP4.error(f"IDLE refused: {line.strip()!r}")
            events: list[IdleEvent] = []
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if not self._readable(min(left, 1.0)):
                    continue
                events.append(self._event(imap.readline()))
                if events[-1].kind == "bye":
                    raise imaplib.IMAP4.abort("server said BYE during IDLE")
                deadline = min(deadline, time.monotonic() + settle)  # collect a burst, then return
            imap.send(b"DONE\r\n")
            while True:
                line = imap.readline()
                if not line:
                    raise imaplib.IMAP4.abort("EOF during IDLE")
                if line.startswith(tag + b" "):
                    if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                        raise imaplib.IMAP4.error(f"IDLE ended with {line.strip()!r}")
                    return events
                events.append(self._event(line))

        return self._run("IDLE", go)  # type: ignore[return-value]

    def _readable(self, timeout: float) -> bool:
        imap = self.imap
        if has_buffered(imap.file, imap.sock):
            return True
        r, _, _ = _select.select([imap.sock], [], [], timeout)
        return bool(r)

    @staticmethod
    def _event(line: bytes) -> IdleEvent:
        from pigeon.core.imap_values import IdleEvent

        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b ?(.*)", line.rstrip(b"\r\n"), re.IGNORECASE)
        if m:
            return IdleEvent(m.group(2).decode().lower(), int(m.group(1)), m.group(3))
        if re.match(rb"\* VANISHED", line, re.IGNORECASE):
            return IdleEvent("vanished", None, line[10:].strip())
        if re.match(rb"\* BYE", line, re.IGNORECASE):
            return IdleEvent("bye", None, line[5:].strip())
        return IdleEvent("other", None, line.strip())

    def _events_from_untagged(self) -> list[IdleEvent]:
        from pigeon.core.imap_values import IdleEvent

        out = []
        for key in ("EXISTS", "RECENT", "EXPUNGE"):
            for v in self.imap.untagged_responses.pop(key, []):
                if isinstance(v, bytes) and v.isdigit():
                    out.append(IdleEvent(key.lower(), int(v)))
        return out
