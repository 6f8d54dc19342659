"""The server side of sync: the IMAP conversation the engine needs, on top of a logged-in
``imapclient.IMAPClient`` that the transport layer (``pigeon.core.imap``) opened and secured.

Nothing here opens sockets or handles TLS or credentials. What it adds is what the sync engine
needs beyond plain commands and typed answers: ``LIST … RETURN (STATUS …)`` (one round trip
for every folder's UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ), ``SELECT … (QRESYNC …)`` with
``VANISHED (EARLIER)``, ``CHANGEDSINCE``, batched body fetches, MOVE/COPYUID, MULTIAPPEND/
APPENDUID and UID EXPUNGE, each falling back when the server lacks the extension.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pigeon.core import sync_answers as answers
from pigeon.core.sync_answers import FolderInfo, Selected, parse_uid_set, uid_set  # noqa: F401 - the engine's names

if TYPE_CHECKING:
    from pigeon.core.sync_types import RemoteMsg

_STATUS_ITEMS = ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "MESSAGES")
_CODE_RE = re.compile(rb"\[(APPENDUID|COPYUID) ([^\]]*)\]", re.I)


class RemoteError(Exception):
    """A command the server refused, with its answer (one line)."""


class Refused(str):
    """In :meth:`Remote.append`'s answer: a message the server would not store (its answer)."""


def _quote(name: str) -> bytes:
    from imapclient.imap_utf7 import encode

    raw = encode(name)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


class Remote:
    """One logged-in IMAP session used by the sync engine."""

    def __init__(self, session) -> None:  # noqa: ANN001 - ImapSession or imapclient.IMAPClient
        client = getattr(session, "client", session)
        self.session = session
        self.client = client
        self.imap = client._imap  # the imaplib object underneath, for extension commands
        self.caps = {c.decode().upper() if isinstance(c, bytes) else str(c).upper() for c in client.capabilities()}
        self.qresync = False
        self.condstore = False
        self.selected: str | None = None
        self.writable = False  # the selected folder was SELECTed, not EXAMINEd
        self.rtt: float | None = None  # seconds, measured by enable_and_list

    def has(self, cap: str) -> bool:
        return cap.upper() in self.caps

    # ------------------------------------------------------------------ raw helpers

    def _run(self, command: bytes, args: list[bytes], *, uid: bool = False) -> tuple[bytes, dict[str, list]]:
        """Send a command; return (tagged text, untagged responses collected during it)."""
        self.imap.untagged_responses.clear()
        if hasattr(self.imap, "_untagged_count"):
            self.imap._untagged_count = 0  # the transport's flood guard counts per command
        typ, data = self.client._raw_command(command, args, uid=uid)
        untagged = dict(self.imap.untagged_responses)
        self.imap.untagged_responses.clear()
        text = data[0] if data and isinstance(data[0], bytes) else b""
        if typ != "OK":
            raise RemoteError(f"{command.decode()} failed: {text.decode('utf-8', 'replace')[:200]}")
        return text, untagged

    def enable(self) -> None:
        """ENABLE QRESYNC (which implies CONDSTORE) or CONDSTORE where offered."""
        if self.has("QRESYNC") and self.has("ENABLE"):
            enabled = {e.upper() for e in self.client.enable("QRESYNC", "CONDSTORE")}
            self.qresync = b"QRESYNC" in enabled
            self.condstore = self.qresync or b"CONDSTORE" in enabled
        elif self.has("CONDSTORE"):
            self.condstore = True  # CONDSTORE is enabled by its first use

    # ------------------------------------------------------------------ folders

    def conveyor(self, first: list[tuple[str, list[bytes], str | None, Any]],
                 on_reply: Callable[[Any, tuple[str, bytes, dict[str, list]]], list | None]) -> None:
        """Pipelined commands, some depending on earlier answers: ``first`` (name, arguments,
        the folder a SELECT/EXAMINE opens, a context) is sent at once, before any answer is
        read (IMAP answers in order, ending each with its tagged line, so what arrives between
        two tagged lines belongs to the second command; a name may be ``UID FETCH``). Each answer
        goes to ``on_reply(context, (status, text, untagged))`` as soon as it is complete, and
        the commands it returns are sent right away, behind those still unanswered. The server
        therefore never waits for the client except where an answer decides what to ask next.
        A refused command does not raise here; afterwards ``selected`` is the folder of the
        last SELECT/EXAMINE if it went through. An exception from ``on_reply`` stops further
        sending; it is raised once every answer sent for has been read, so the connection stays
        in step."""
        import imaplib
        from collections import deque

        imap = self.imap
        imap.untagged_responses.clear()
        if hasattr(imap, "_untagged_count"):
            imap._untagged_count = 0
        waiting: deque[tuple[str, bytes, str | None, Any]] = deque()

        def send(commands: list[tuple[str, list[bytes], str | None, Any]]) -> None:
            for name, args, folder, ctx in commands:
                words = name.split()
                if words[0] in ("SELECT", "EXAMINE"):
                    imap.state = "AUTH"
                tag = imap._command(*words, *args)
                if words[0] in ("SELECT", "EXAMINE"):
                    imap.state = "SELECTED"  # for the commands that follow it
                waiting.append((words[0], tag, folder, ctx))

        send(first)
        failed: Exception | None = None
        while waiting:
            name, tag, folder, ctx = waiting.popleft()
            try:
                typ, dat = imap._command_complete(name, tag)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:  # BAD: the stream is still in step
                typ, dat = "BAD", [str(exc).encode()]
            untagged = dict(imap.untagged_responses)
            imap.untagged_responses.clear()
            if name in ("SELECT", "EXAMINE"):
                self.selected = folder if typ == "OK" else None
                self.writable = name == "SELECT" and typ == "OK"
            if failed is not None:
                continue
            text = dat[-1] if dat and isinstance(dat[-1], bytes) else b""
            try:
                more = on_reply(ctx, (typ, text, untagged))
            except Exception as exc:  # noqa: BLE001 - raised once every answer is read
                failed = exc
                continue
            if more:
                send(more)
        imap.state = "SELECTED" if self.selected is not None else "AUTH"
        if failed is not None:
            raise failed

    def enable_and_list(self) -> dict[str, FolderInfo]:
        """:meth:`enable` and :meth:`list_folders` in one round trip (both commands sent before
        either answer is read) where the server offers QRESYNC, ENABLE and LIST-STATUS."""
        if not (self.has("QRESYNC") and self.has("ENABLE") and self.has("LIST-STATUS")):
            self.enable()
            return self.list_folders()
        imap = self.imap
        imap.untagged_responses.clear()
        if hasattr(imap, "_untagged_count"):
            imap._untagged_count = 0
        import time

        sent = time.monotonic()
        t_enable = imap._command("ENABLE", "QRESYNC", "CONDSTORE")
        t_list = imap._command("LIST", '""', '"*"', "RETURN", "(STATUS (" + " ".join(_STATUS_ITEMS) + "))")
        typ_e, dat_e = imap._command_complete("ENABLE", t_enable)
        self.rtt = time.monotonic() - sent  # ENABLE costs the server nothing: about a round trip
        typ_l, dat_l = imap._command_complete("LIST", t_list)
        untagged = dict(imap.untagged_responses)
        imap.untagged_responses.clear()
        for typ, dat, what in ((typ_e, dat_e, "ENABLE"), (typ_l, dat_l, "LIST")):
            if typ != "OK":
                text = dat[-1] if dat and isinstance(dat[-1], bytes) else b""
                raise RemoteError(f"{what} failed: {text.decode('utf-8', 'replace')[:200]}")
        enabled = {e.upper() for line in untagged.get("ENABLED", []) if isinstance(line, bytes) for e in line.split()}
        self.qresync = b"QRESYNC" in enabled
        self.condstore = self.qresync or b"CONDSTORE" in enabled or self.has("CONDSTORE")
        return answers.folders_from(untagged)

    def list_folders(self) -> dict[str, FolderInfo]:
        """Every folder, with its status where the server can say it in the same round trip."""
        want_status = self.has("LIST-STATUS")
        items = [i for i in _STATUS_ITEMS if i != "HIGHESTMODSEQ" or self.condstore]
        args = [b'""', b'"*"']
        if want_status:
            args += [b"RETURN", b"(STATUS (" + " ".join(items).encode() + b"))"]
        _, untagged = self._run(b"LIST", args)
        return answers.folders_from(untagged)

    def status(self, name: str) -> dict[str, int]:
        items = [i for i in _STATUS_ITEMS if i != "HIGHESTMODSEQ" or self.condstore]
        _, untagged = self._run(b"STATUS", [_quote(name), b"(" + " ".join(items).encode() + b")"])
        from imapclient.response_parser import parse_response

        for line in untagged.get("STATUS", []):
            raw = line if isinstance(line, bytes) else b"".join(p for p in line if isinstance(p, bytes))
            _, values = parse_response([raw])
            it = iter(values)
            return {k.decode().upper(): int(v) for k, v in zip(it, it, strict=False)}
        return {}

    def create(self, name: str) -> None:
        self._run(b"CREATE", [_quote(name)])

    def rename(self, old: str, new: str) -> None:
        """RENAME: the folder, its messages (UIDs kept where the server can) and its subfolders."""
        self._run(b"RENAME", [_quote(old), _quote(new)])

    # ------------------------------------------------------------------ selecting

    def select(self, name: str, *, known: tuple[int, int] | None = None, readonly: bool = False) -> Selected:
        """SELECT (or EXAMINE) ``name``; with QRESYNC and ``known=(uidvalidity, modseq)`` the
        answer carries every change since: FETCH for changed/new UIDs, VANISHED for expunged."""
        args, use_q = self.examine_args(name, known)
        _, untagged = self._run(b"EXAMINE" if readonly else b"SELECT", args)
        self.imap.state = "SELECTED"
        self.selected = name
        self.writable = not readonly
        return answers.selected_from(untagged, use_q)

    def examine_args(self, name: str, known: tuple[int, int] | None) -> tuple[list[bytes], bool]:
        """The arguments of ``EXAMINE name`` (with QRESYNC when ``known`` allows), and whether
        QRESYNC is used."""
        args = [_quote(name)]
        use_q = bool(known and self.qresync and known[0] and known[1])
        if use_q:
            args.append(f"(QRESYNC ({known[0]} {known[1]}))".encode())
        elif self.condstore:
            args.append(b"(CONDSTORE)")
        return args, use_q

    # ------------------------------------------------------------------ reading

    def fetch_meta(self, uids: str | Iterable[int], *, sizes: bool = True, ids: bool = False,
                   changedsince: int | None = None, vanished: bool = False) -> tuple[dict[int, RemoteMsg], set[int]]:
        """UID FETCH flags (and size, Message-ID) of ``uids`` (a set string like "1:*" or UIDs)."""
        spec = uids if isinstance(uids, str) else uid_set(uids)
        if not spec:
            return {}, set()
        items = ["UID", "FLAGS"] + (["RFC822.SIZE"] if sizes else []) + (["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"] if ids else [])
        args = [spec.encode(), ("(" + " ".join(items) + ")").encode()]
        if changedsince is not None:
            args.append(f"(CHANGEDSINCE {changedsince}{' VANISHED' if vanished else ''})".encode())
        _, untagged = self._run(b"FETCH", args, uid=True)
        return answers.meta_from(untagged, ids), answers.vanished_from(untagged) if vanished else set()

    def all_uids(self) -> set[int]:
        """Every UID in the selected folder (ESEARCH answers with ranges where offered)."""
        if self.has("ESEARCH"):
            _, untagged = self._run(b"SEARCH", [b"RETURN", b"(ALL)", b"ALL"], uid=True)
            for line in untagged.get("ESEARCH", []):
                text = line.decode() if isinstance(line, bytes) else str(line)
                m = re.search(r"\bALL (\S+)", text)
                return set(parse_uid_set(m.group(1))) if m else set()
            return set()
        return set(self.client.search("ALL"))

    def fetch_bodies(self, uids: list[int]) -> list[tuple[int, bytes]]:
        """UID FETCH BODY.PEEK[] for ``uids`` (one batch): [(uid, bytes)].

        The answers are picked out of imaplib's untagged list directly (the UID from the text
        before each literal): the general FETCH parser tokenises every byte around the
        literals and costs more than the transfer itself.
        """
        if not uids:
            return []
        _, untagged = self._run(b"FETCH", [uid_set(uids).encode(), b"(UID BODY.PEEK[])"], uid=True)
        return answers.bodies_from(untagged)

    def fetch_new(self, uids: list[int]) -> list[tuple[int, str, frozenset[str], int, bytes]]:
        """UID FETCH (UID FLAGS RFC822.SIZE BODY.PEEK[]) of a few new messages at once:
        [(uid, flag letters, keywords, size, body)]. One round trip instead of a metadata
        fetch now and a body fetch later."""
        if not uids:
            return []
        from pigeon.core.sync_flags import from_imap

        _, untagged = self._run(b"FETCH", [uid_set(uids).encode(), b"(UID FLAGS RFC822.SIZE BODY.PEEK[])"], uid=True)
        out = []
        lines = untagged.get("FETCH", [])
        for item in lines:
            if not isinstance(item, tuple) or len(item) != 2:
                continue
            head, body = item
            m_uid = answers.UID_IN_FETCH.search(head)
            m_flags = answers.FLAGS_IN_FETCH.search(head)
            m_size = answers.SIZE_IN_FETCH.search(head)
            if not (m_uid and m_flags and answers.BODY_LITERAL.search(head)):
                continue  # unusual layout: these messages are fetched again the general way
            letters, kws = from_imap(m_flags.group(1).split())
            out.append((int(m_uid.group(1)), letters, kws, int(m_size.group(1)) if m_size else len(body), body))
        return out

    # ------------------------------------------------------------------ writing

    def store(self, uids: Iterable[int], op: str, flags: Iterable[str]) -> None:
        """UID STORE uids +FLAGS.SILENT/-FLAGS.SILENT (flags)."""
        spec = uid_set(uids)
        flags = list(flags)
        if not spec or not flags:
            return
        self._run(b"STORE", [spec.encode(), f"{op}FLAGS.SILENT".encode(), ("(" + " ".join(flags) + ")").encode()], uid=True)

    def expunge(self, uids: Iterable[int]) -> None:
        """Expunge exactly ``uids`` (which must carry \\Deleted): UID EXPUNGE where offered."""
        spec = uid_set(uids)
        if not spec:
            return
        if self.has("UIDPLUS"):
            self._run(b"EXPUNGE", [spec.encode()], uid=True)
        else:
            self._run(b"EXPUNGE", [])

    def delete(self, uids: Iterable[int]) -> None:
        uids = list(uids)
        self.store(uids, "+", ["\\Deleted"])
        self.expunge(uids)

    def move(self, uids: list[int], dest: str) -> dict[int, int]:
        """Move ``uids`` to ``dest``; returns {old UID: new UID} where the server says (COPYUID)."""
        if not uids:
            return {}
        spec = uid_set(uids).encode()
        if self.has("MOVE"):
            text, untagged = self._run(b"MOVE", [spec, _quote(dest)], uid=True)
            lines = [text] + [x for x in untagged.get("OK", []) if isinstance(x, bytes)]
        else:
            text, untagged = self._run(b"COPY", [spec, _quote(dest)], uid=True)
            lines = [text]
            self.delete(uids)
        for line in lines:
            m = _CODE_RE.search(line)
            if m and m.group(1).upper() == b"COPYUID":
                parts = m.group(2).split()
                if len(parts) == 3:
                    src, dst = parse_uid_set(parts[1]), parse_uid_set(parts[2])
                    return dict(zip(src, dst, strict=False))
        return {}

    def append(self, folder: str, messages: list[tuple[bytes, list[str], float | None]]) -> list[int | Refused | None]:
        """APPEND (MULTIAPPEND where offered) messages (data with CRLF, flags, mtime); returns the
        new UIDs in order where the server says (APPENDUID), else None for each, and
        :class:`Refused` for a message the server would not take (an empty file, one over its
        size limit): the others are stored all the same."""
        if not messages:
            return []
        from imapclient.imapclient import _literal

        def parts(data: bytes, flags: list[str], mtime: float | None) -> list[bytes]:
            out = [("(" + " ".join(flags) + ")").encode()]
            if mtime:
                import time as _t

                out.append(b'"' + _t.strftime("%d-%b-%Y %H:%M:%S +0000", _t.gmtime(mtime)).encode() + b'"')
            out.append(_literal(data))
            return out

        groups = [messages] if self.has("MULTIAPPEND") and len(messages) > 1 else [[m] for m in messages]
        uids: list[int | Refused | None] = []
        for group in groups:
            args = [_quote(folder)]
            for data, flags, mtime in group:
                args += parts(data, flags, mtime)
            try:
                text, _ = self._run(b"APPEND", args)
            except RemoteError as exc:
                # A MULTIAPPEND stores all or nothing (RFC 3502): one message the server will
                # not take fails the lot, so each goes alone to find which.
                if len(group) == 1:
                    uids.append(Refused(str(exc)))
                else:
                    for m in group:
                        uids += self.append(folder, [m])
                continue
            m = _CODE_RE.search(text)
            got = parse_uid_set(m.group(2).split()[1]) if m and m.group(1).upper() == b"APPENDUID" else []
            uids += got if len(got) == len(group) else [None] * len(group)
        return uids

    def noop(self) -> None:
        """NOOP: the session still answers, in step (raises otherwise)."""
        self._run(b"NOOP", [])

    def unselect(self) -> None:
        """Leave the selected folder without expunging anything: UNSELECT, else CLOSE, which
        would expunge the messages marked ``\\Deleted`` of a folder SELECTed read-write, so
        that one is EXAMINEd first."""
        if self.selected is None:
            return
        if self.has("UNSELECT"):
            self._run(b"UNSELECT", [])
        else:
            if self.writable:
                self._run(b"EXAMINE", [_quote(self.selected)])
            self._run(b"CLOSE", [])
        self.imap.state = "AUTH"
        self.selected = None
        self.writable = False

    def logout(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a dead connection must not mask the real error
            pass
