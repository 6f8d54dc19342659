"""The sync's connection: a logged-in IMAP session from the transport layer (``pigeon.core.imap``),
opened either on the spot or on a thread while the command gets on with its own start.

``pigeon sync`` starts connecting as soon as it has read the accounts from config.toml: the TCP
and TLS handshakes overlap with importing the IMAP layer, and the greeting, the login and the
first questions with loading the plugins and the sync engine. A connection whose server
settings the loaded configuration does not confirm is dropped unused.

Credentials come through the ``pigeon_credentials`` hook, so the login waits for the plugins,
except where only the built-in ``credentials`` plugin can answer it (:func:`early_credentials`):
then it is asked at once, as the hook would ask it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Opening:
    """A session to ``server`` being opened on a thread of its own. It connects at once and
    logs in once :meth:`ready` gives it the App's credentials. ``result()`` waits for the
    session and raises what opening it raised; ``discard()`` drops a session nobody will use."""

    def __init__(self, server: Any, *, debug: bool = False, name: str = "", list_folders: bool = False,
                 imported: threading.Event | None = None, prepared: threading.Event | None = None) -> None:
        """``imported``: when given, the thread makes the TCP and TLS connection at once and
        waits for this event (the main thread has imported the IMAP layer) before going on;
        importing on two threads at once costs more than it overlaps. ``prepared``: set once
        :meth:`read_ahead` has been given what to read ahead, if anything; the thread waits for
        it after listing the folders."""
        self.server = server
        self._imported = imported
        self._prepared = prepared
        self._ahead: Callable[[Any, dict[str, Any]], Any] | None = None
        self._list = list_folders
        self._source: Callable[[bool], Any] | None = None
        self._for: tuple[Any, Any] | None = None  # (App, account) once ready
        self._ready = threading.Event()
        self._session: Any = None
        self._error: BaseException | None = None
        self.listed: Listed | None = None  # the folders, asked for once logged in
        self._lock = threading.Lock()
        self._discarded = False
        # A daemon thread: an interrupted command must not wait for a connection it gave up on.
        self._thread = threading.Thread(target=self._open, args=(debug,), name=f"pigeon-connect-{name}", daemon=True)
        self._thread.start()

    def ready(self, app: Any, account: Any) -> None:
        """The App is built: log in with the credentials it has for ``account``."""
        self._for = (app, account)
        self._ready.set()

    def read_ahead(self, reader: Callable[[Any, dict[str, Any]], Any]) -> None:
        """Once the folders are listed, ``reader(remote, folders)`` reads the changed ones on
        this thread (``Listed.ahead``), while the command is still loading."""
        self._ahead = reader

    def ready_early(self, source: Callable[[bool], Any]) -> None:
        """Log in with ``source`` (:func:`early_credentials`) without waiting for the App."""
        self._source = source
        self._ready.set()

    def _credentials(self, refresh: bool) -> Any:
        # On the connecting thread, which has imported the transport by now (finding the
        # credentials source on the main thread would wait for that import).
        self._ready.wait()
        if self._source is None:
            if self._for is None:
                from pigeon.core.errors import PigeonError

                raise PigeonError("the connection was not needed")
            from pigeon.core.imap import credentials_for

            app, account = self._for
            self._source = credentials_for(app, account, "imap")
        return self._source(refresh)

    def _open(self, debug: bool) -> None:
        try:
            sock = None
            if self._imported is not None:
                from pigeon.core.transport import open_socket, quietly

                sock = open_socket(self.server)
                while not self._imported.wait(0.05):
                    if self._discarded:
                        quietly(sock.close)
                        return
            session = _connect(self.server, self._credentials, debug, sock=sock)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits in result()
            self._error = exc
            return
        if self._list:
            # The sync's first question, asked while the command is still loading: the
            # server's answer (it may have to read every folder's index) overlaps with that.
            from pigeon.core.sync_remote import Remote

            remote = Remote(session)
            try:
                self.listed = Listed(remote, remote.enable_and_list())
            except Exception as exc:  # noqa: BLE001 - raised where the engine asks (Listed.__call__)
                self.listed = Listed(remote, error=exc)
            if self._prepared is not None:
                self._prepared.wait()
            if self._ahead is not None and self.listed.error is None and not self._discarded:
                try:
                    self.listed.ahead = self._ahead(remote, self.listed.folders or {})
                except Exception:  # noqa: BLE001, S110 - the sync asks again; a dead connection fails there
                    pass
        with self._lock:
            if not self._discarded:
                self._session = session
                return
        _close(session)
        self._drop_ahead()

    def _drop_ahead(self) -> None:
        """What was read ahead, for a connection nobody will use: its files in ``tmp/`` go."""
        ahead = self.listed.ahead if self.listed is not None else None
        if ahead is not None:
            self.listed.ahead = None
            ahead.discard()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._session

    def discard(self, wait: float = 0.5) -> None:
        """Drop the connection: a login still waiting for credentials gives up, and a session
        that arrives later is closed by its own thread. Waits up to ``wait`` seconds for the
        thread to end, so that a command leaving at once does not tear the interpreter down
        under a thread still importing or starting TLS; one blocked on a silent server is
        left behind (it holds no lock while it waits)."""
        with self._lock:
            self._discarded = True
            self._for = None
            self._source = None
            session, self._session = self._session, None
        self._ready.set()
        if session is not None:
            _close(session)
            self._drop_ahead()
        self._thread.join(wait)


class Listed:
    """``Remote.enable_and_list()`` done on the connecting thread: the ``remote`` it was done on,
    and, when called, the folders it gave or what asking for them raised."""

    def __init__(self, remote: Any, folders: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.remote = remote
        self.folders = folders
        self.error = error
        self.ahead: Any = None  # the changed folders read ahead (sync_gather.Ahead), if asked

    def __call__(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return self.folders or {}


def open_early(config_dir: Any, names: list[str], debug: bool, *, ahead: bool = False,
               ) -> tuple[dict[str, Opening], tuple[dict[str, Any], str] | None]:
    """Start an :class:`Opening` for each IMAP account to sync (``names``, else every account),
    read from config.toml before the App is built; also what was read, for the App. Nothing
    when the file cannot be read as it is: the App then reports the problem, with its line."""
    try:
        from pigeon.core import config, paths

        directory = paths.config_dir(config_dir)
        raw, text = config.read_raw(directory)
        accounts = config.read_accounts(directory, raw, text)
    except Exception:  # noqa: BLE001 - the App reads the file again and says what is wrong
        return {}, None
    chosen = [accounts[n] for n in names if n in accounts if accounts[n].imap is not None] if names \
        else [a for a in accounts.values() if a.imap is not None]
    if not chosen:
        return {}, (raw, text)
    # Imports here, not on the thread: two threads importing at once hand the GIL to each other
    # at every file the imports read, which costs more than the overlap gains. The thread's
    # handshakes need only the transport; the rest of the IMAP layer loads meanwhile.
    import pigeon.core.transport  # noqa: F401

    imported, prepared = threading.Event(), threading.Event()
    openings = {a.name: Opening(a.imap, debug=debug, name=a.name, list_folders=True, imported=imported,
                                prepared=prepared) for a in chosen}
    try:
        try:
            for a in chosen:
                source = early_credentials(directory, raw, a)
                if source is not None:
                    openings[a.name].ready_early(asked_ahead(source))
            import pigeon.core.imap  # noqa: F401
            import pigeon.core.sync_remote  # noqa: F401
        finally:
            imported.set()
        # While the thread logs in and lists the folders: what reading ahead needs.
        readers = _readers_ahead(raw, chosen) if ahead else {}
        if readers:
            import concurrent.futures.thread  # noqa: F401

            import pigeon.core.sync_files  # noqa: F401
            import pigeon.core.sync_flags  # noqa: F401
            import pigeon.core.sync_gather  # noqa: F401
            import pigeon.core.sync_types  # noqa: F401
        for name, reader in readers.items():
            openings[name].read_ahead(reader)
    finally:
        prepared.set()
    return openings, (raw, text)


def _readers_ahead(raw: dict[str, Any], chosen: list[Any]) -> dict[str, Callable[[Any, dict[str, Any]], Any]]:
    """Per account with a sync state, what reads its changed folders ahead on the connecting
    thread (``sync_gather.prefetch_ahead``), from the state file where the App will look for it
    (``state_dir`` in config.toml, else ``$PIGEON_STATE_DIR``, else the default)."""
    import os

    from pigeon.core import paths
    from pigeon.core.maildir import Maildir
    from pigeon.core.sync import SyncOptions
    from pigeon.core.sync_state import state_path

    setting = raw.get("state_dir")
    base = paths.state_dir(setting if isinstance(setting, str) and setting else None)
    out: dict[str, Callable[[Any, dict[str, Any]], Any]] = {}
    for a in chosen:
        path = state_path(base, a.name)
        if os.path.exists(path):
            try:
                store = Maildir(a.maildir)
            except Exception:  # noqa: BLE001, S112 - the sync reports it, for this account only
                continue
            out[a.name] = _reader(path, store, SyncOptions().writers)
    return out


def _reader(path: Any, store: Any, writers: int) -> Callable[[Any, dict[str, Any]], Any]:
    def read(remote: Any, folders: dict[str, Any]) -> Any:
        from pigeon.core.sync_gather import prefetch_ahead

        return prefetch_ahead(remote, folders, path, store, writers)

    return read


def asked_ahead(source: Callable[[bool], Any]) -> Callable[[bool], Any]:
    """``source`` asked at once on a thread of its own: a ``password_command`` (``pass`` with
    gpg-agent takes tens of milliseconds) then runs during the handshakes and imports, not
    after them. A refresh asks again."""
    import subprocess  # noqa: F401 - here, not on that thread: one thread imports at a time

    got: list[Any] = []
    done = threading.Event()

    def ask() -> None:
        try:
            got.append((True, source(False)))
        except BaseException as exc:  # noqa: BLE001 - raised where the login asks for it
            got.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=ask, name="pigeon-credentials", daemon=True).start()

    def answer(refresh: bool) -> Any:
        if refresh:
            return source(True)
        done.wait()
        ok, value = got[0]
        if not ok:
            raise value
        return value

    return answer


def early_credentials(config_dir: Any, raw: dict[str, Any], account: Any) -> Callable[[bool], Any] | None:
    """The ``pigeon_credentials`` answer for ``account``'s IMAP login, taken from the built-in
    ``credentials`` plugin before the plugins are loaded, where nothing else could answer:
    a password (``password_command`` or ``password``, not the keyring or OAuth2), the plugin
    not disabled, no file of the user's plugins that names the hook, and no installed package
    that declares pigeon plugins. Otherwise None, and the login waits for the hook."""
    import os

    from pigeon.core.config import disabled_from_raw
    from pigeon.core.pluginmanager import _may_declare_entrypoints, user_plugin_files

    server = account.imap
    if server is None or server.auth != "password" or account.use_keyring:
        return None
    if not account.password_command and not isinstance(account.extra.get("password"), str):
        return None
    blocked = set(disabled_from_raw(raw)) | set(os.environ.get("PIGEON_DISABLE_PLUGINS", "").replace(" ", "").split(","))
    if "credentials" in blocked:
        return None
    for path in user_plugin_files(config_dir):
        try:
            if b"pigeon_credentials" in path.read_bytes():
                return None
        except OSError:
            return None
    if _may_declare_entrypoints():
        return None
    from pigeon.plugins.credentials import pigeon_credentials

    def source(refresh: bool) -> Any:
        purpose = "imap:refresh" if refresh else "imap"
        creds = pigeon_credentials(account=account, purpose=purpose, username=server.username or account.address)
        if creds is None:  # cannot be, given the checks above; said as the hook's caller says it
            from pigeon.core.transport import AuthError, where

            raise AuthError(f"{where(server)}: no credentials for account {account.name}")
        return creds

    return source


def open_session(app: Any, account: Any) -> Any:
    """A logged-in ``ImapSession`` for ``account`` from the transport layer."""
    from pigeon.core import imap
    from pigeon.core.errors import PigeonError

    if account.imap is None:
        raise PigeonError(f"account {account.name!r} has no IMAP server configured")
    return _connect(account.imap, imap.credentials_for(app, account, "imap"), bool(getattr(app.options, "debug", False)))


def _connect(server: Any, credentials: Callable[[bool], Any], debug: bool, sock: Any = None) -> Any:
    """``ImapSession(server, credentials).connect()``, the protocol shown when ``debug``;
    over ``sock`` when a connection was made already."""
    from pigeon.core import imap

    if debug:
        from pigeon.core.transport import ProtocolTrace

        return imap.ImapSession(server, credentials, trace=ProtocolTrace(True), sock=sock).connect()
    return imap.ImapSession(server, credentials, sock=sock).connect()


def _close(session: Any) -> None:
    for name in ("logout", "close"):
        fn = getattr(session, name, None)
        if callable(fn):
            try:
                try:
                    fn(wait=False)  # the sync is done: no need to wait for the server's goodbye
                except TypeError:
                    fn()
            except Exception:  # noqa: BLE001, S110 - closing a dead session is best effort
                pass
            return
