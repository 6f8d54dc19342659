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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pigeon.core.sync_plan import RemoteMsg

_STATUS_ITEMS = ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "MESSAGES")
_UID_IN_FETCH = re.compile(rb"\bUID (\d+)")
_FLAGS_IN_FETCH = re.compile(rb"\bFLAGS \(([^)]*)\)")
_SIZE_IN_FETCH = re.compile(rb"\bRFC822\.SIZE (\d+)")
_BODY_LITERAL = re.compile(rb"BODY\[\] \{\d+\}$")
_CODE_RE = re.compile(rb"\[(APPENDUID|COPYUID) ([^\]]*)\]", re.I)


class RemoteError(Exception):
    """A command the server refused, with its answer (one line)."""


@dataclass
class FolderInfo:
    name: str  # decoded (UTF-8) server name
    delimiter: str | None
    flags: frozenset[str]
    status: dict[str, int] = field(default_factory=dict)

    @property
    def selectable(self) -> bool:
        return not ({"\\noselect", "\\nonexistent"} & self.flags)


@dataclass
class Selected:
    """What SELECT said, plus (with QRESYNC) the changes since the given modseq."""

    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None
    exists: int
    changed: dict[int, RemoteMsg] = field(default_factory=dict)
    vanished: set[int] = field(default_factory=set)
    qresync: bool = False
    permanent: tuple[str, ...] = ()  # PERMANENTFLAGS; "\\*" there: new keywords may be stored


def uid_set(uids: Iterable[int]) -> str:
    """Compact IMAP sequence set: 1:3,7,9:10."""
    out: list[str] = []
    start = prev = None
    for u in sorted(set(uids)):
        if prev is not None and u == prev + 1:
            prev = u
            continue
        if start is not None:
            out.append(f"{start}:{prev}" if start != prev else str(start))
        start = prev = u
    if start is not None:
        out.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(out)


def parse_uid_set(text: str | bytes) -> list[int]:
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if ":" in part:
            a, b = part.split(":", 1)
            lo, hi = sorted((int(a), int(b)))
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return out


def _quote(name: str) -> bytes:
    from imapclient.imap_utf7 import encode

    raw = encode(name)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _decode_name(raw: bytes | str) -> str:
    from imapclient.imap_utf7 import decode

    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return decode(raw)


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

    def list_folders(self) -> dict[str, FolderInfo]:
        """Every folder, with its status where the server can say it in the same round trip."""
        want_status = self.has("LIST-STATUS")
        items = [i for i in _STATUS_ITEMS if i != "HIGHESTMODSEQ" or self.condstore]
        args = [b'""', b'"*"']
        if want_status:
            args += [b"RETURN", b"(STATUS (" + " ".join(items).encode() + b"))"]
        _, untagged = self._run(b"LIST", args)
        from imapclient.response_parser import parse_response

        out: dict[str, FolderInfo] = {}
        for line in untagged.get("LIST", []):
            raw = line if isinstance(line, bytes) else b"".join(p for p in line if isinstance(p, bytes))
            flags, delim, name = parse_response([raw])
            if isinstance(name, int):
                name = str(name).encode()
            dname = _decode_name(name)
            out[dname] = FolderInfo(
                dname,
                delim.decode() if isinstance(delim, bytes) else None,
                frozenset(f.decode().lower() for f in flags),
            )
        for line in untagged.get("STATUS", []):
            raw = line if isinstance(line, bytes) else b"".join(p for p in line if isinstance(p, bytes))
            name, values = parse_response([raw])
            if isinstance(name, int):
                name = str(name).encode()
            dname = _decode_name(name)
            if dname in out:
                it = iter(values)
                out[dname].status = {k.decode().upper(): int(v) for k, v in zip(it, it, strict=False)}
        return out

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

    # ------------------------------------------------------------------ selecting

    def select(self, name: str, *, known: tuple[int, int] | None = None, readonly: bool = False) -> Selected:
        """SELECT (or EXAMINE) ``name``; with QRESYNC and ``known=(uidvalidity, modseq)`` the
        answer carries every change since: FETCH for changed/new UIDs, VANISHED for expunged."""
        args = [_quote(name)]
        use_q = bool(known and self.qresync and known[0] and known[1])
        if use_q:
            args.append(f"(QRESYNC ({known[0]} {known[1]}))".encode())
        elif self.condstore:
            args.append(b"(CONDSTORE)")
        text, untagged = self._run(b"EXAMINE" if readonly else b"SELECT", args)
        self.imap.state = "SELECTED"
        self.selected = name
        codes: dict[str, int] = {}
        for line in untagged.get("OK", []):
            m = re.match(rb"\[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\]", line if isinstance(line, bytes) else b"")
            if m:
                codes[m.group(1).decode()] = int(m.group(2))
        if b"NOMODSEQ" in b" ".join(x for x in untagged.get("OK", []) if isinstance(x, bytes)):
            codes.pop("HIGHESTMODSEQ", None)
        exists = int(untagged.get("EXISTS", [b"0"])[-1])
        sel = Selected(codes.get("UIDVALIDITY", 0), codes.get("UIDNEXT"), codes.get("HIGHESTMODSEQ"), exists, qresync=use_q)
        for line in untagged.get("OK", []):
            m = re.match(rb"\[PERMANENTFLAGS \(([^)]*)\)\]", line if isinstance(line, bytes) else b"")
            if m:
                sel.permanent = tuple(m.group(1).decode("utf-8", "replace").split())
        if use_q:
            sel.vanished = self._vanished(untagged)
            sel.changed = self._fetch_flags_from(untagged.get("FETCH", []))
        return sel

    @staticmethod
    def _vanished(untagged: dict[str, list]) -> set[int]:
        out: set[int] = set()
        for line in untagged.get("VANISHED", []):
            text = line.decode() if isinstance(line, bytes) else str(line)
            text = text.replace("(EARLIER)", "").strip()
            out.update(parse_uid_set(text))
        return out

    @staticmethod
    def _fetch_flags_from(lines: list) -> dict[int, RemoteMsg]:
        if not lines:
            return {}
        from imapclient.response_parser import parse_fetch_response
        from pigeon.core.sync_plan import RemoteMsg, from_imap

        out: dict[int, RemoteMsg] = {}
        for _seq, d in parse_fetch_response(lines, False, False).items():
            uid = d.get(b"UID")
            if uid is None or b"FLAGS" not in d:
                continue
            letters, kws = from_imap(d[b"FLAGS"])
            out[uid] = RemoteMsg(uid, letters, kws, d.get(b"RFC822.SIZE"))
        return out

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
        from imapclient.response_parser import parse_fetch_response
        from pigeon.core.sync_local import message_id
        from pigeon.core.sync_plan import RemoteMsg, from_imap

        out: dict[int, RemoteMsg] = {}
        lines = untagged.get("FETCH", [])
        if lines:
            for _seq, d in parse_fetch_response(lines, False, False).items():
                uid = d.get(b"UID")
                if uid is None or b"FLAGS" not in d:
                    continue
                letters, kws = from_imap(d[b"FLAGS"])
                mid = None
                if ids:
                    hdr = next((v for k, v in d.items() if k.startswith(b"BODY[HEADER")), b"") or b""
                    mid = message_id(hdr if isinstance(hdr, bytes) else b"")
                out[uid] = RemoteMsg(uid, letters, kws, d.get(b"RFC822.SIZE"), mid)
        return out, self._vanished(untagged) if vanished else set()

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
        lines = untagged.get("FETCH", [])
        out: list[tuple[int, bytes]] = []
        for i, item in enumerate(lines):
            if not isinstance(item, tuple) or len(item) != 2:
                continue
            head, body = item
            m = _UID_IN_FETCH.search(head)
            if m is None and i + 1 < len(lines) and isinstance(lines[i + 1], bytes):
                m = _UID_IN_FETCH.search(lines[i + 1])
            if m is None or not _BODY_LITERAL.search(head):
                return self._fetch_bodies_slow(lines)
            out.append((int(m.group(1)), body))
        return out

    def fetch_new(self, uids: list[int]) -> list[tuple[int, str, frozenset[str], int, bytes]]:
        """UID FETCH (UID FLAGS RFC822.SIZE BODY.PEEK[]) of a few new messages at once:
        [(uid, flag letters, keywords, size, body)]. One round trip instead of a metadata
        fetch now and a body fetch later."""
        if not uids:
            return []
        from pigeon.core.sync_plan import from_imap

        _, untagged = self._run(b"FETCH", [uid_set(uids).encode(), b"(UID FLAGS RFC822.SIZE BODY.PEEK[])"], uid=True)
        out = []
        lines = untagged.get("FETCH", [])
        for item in lines:
            if not isinstance(item, tuple) or len(item) != 2:
                continue
            head, body = item
            m_uid = _UID_IN_FETCH.search(head)
            m_flags = _FLAGS_IN_FETCH.search(head)
            m_size = _SIZE_IN_FETCH.search(head)
            if not (m_uid and m_flags and _BODY_LITERAL.search(head)):
                continue  # unusual layout: these messages are fetched again the general way
            letters, kws = from_imap(m_flags.group(1).split())
            out.append((int(m_uid.group(1)), letters, kws, int(m_size.group(1)) if m_size else len(body), body))
        return out

    @staticmethod
    def _fetch_bodies_slow(lines: list) -> list[tuple[int, bytes]]:
        from imapclient.response_parser import parse_fetch_response

        out = []
        for _seq, d in parse_fetch_response(lines, False, False).items():
            uid, body = d.get(b"UID"), d.get(b"BODY[]")
            if uid is not None and body is not None:
                out.append((uid, body))
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

    def append(self, folder: str, messages: list[tuple[bytes, list[str], float | None]]) -> list[int | None]:
        """APPEND (MULTIAPPEND where offered) messages (data with CRLF, flags, mtime); returns the
        new UIDs in order where the server says (APPENDUID), else None for each."""
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

        groups = [messages] if self.has("MULTIAPPEND") else [[m] for m in messages]
        uids: list[int | None] = []
        for group in groups:
            args = [_quote(folder)]
            for data, flags, mtime in group:
                args += parts(data, flags, mtime)
            text, _ = self._run(b"APPEND", args)
            m = _CODE_RE.search(text)
            got = parse_uid_set(m.group(2).split()[1]) if m and m.group(1).upper() == b"APPENDUID" else []
            uids += got if len(got) == len(group) else [None] * len(group)
        return uids

    def noop(self) -> None:
        """NOOP: the session still answers, in step (raises otherwise)."""
        self._run(b"NOOP", [])

    def unselect(self) -> None:
        if self.selected is None:
            return
        if self.has("UNSELECT"):
            self._run(b"UNSELECT", [])
        else:
            self._run(b"CLOSE", [])
        self.imap.state = "AUTH"
        self.selected = None

    def logout(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a dead connection must not mask the real error
            pass
