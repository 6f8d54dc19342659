"""Helpers for the sync tests: build messages, run the engine, and compare the whole server
(folders, UIDs, flags, keywords, bytes) with the Maildir and the sync state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pigeon.core import sync_local
from pigeon.core.maildir import Maildir
from pigeon.core.sync import Result, SyncEngine, SyncOptions, local_name
from pigeon.core.sync_plan import from_imap
from pigeon.core.sync_remote import Remote
from pigeon.core.sync_state import SyncState


def message(n: int, subject: str = "", size: int = 0, tag: str = "t") -> bytes:
    """A small RFC 5322 message with a unique Message-ID (CRLF line ends, as on the wire)."""
    body = f"Hello {n}.\r\n" + ("x" * 70 + "\r\n") * (size // 72)
    return (
        f"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n"
        f"Subject: {subject or f'message {n}'}\r\nMessage-ID: <{tag}-{n}@example.org>\r\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


def session(user: Any) -> Any:
    """A logged-in transport session (pigeon.core.imap) for the fixture's user."""
    from pigeon.core.imap import ImapSession
    from pigeon.hooks.types import Credentials

    s = ImapSession(user.server_config("imap", "tls"), lambda refresh: Credentials(user.name, user.password))
    return s.connect()


def sync(user: Any, root: Path, state_path: Path, **opts: Any) -> Result:
    """One sync of ``user``'s mailbox into the Maildir at ``root`` over a fresh session."""
    s = session(user)
    try:
        with SyncState(state_path) as st:
            return SyncEngine(Maildir(root), st, Remote(s), account="t", options=SyncOptions(**opts)).run()
    finally:
        s.logout()


def server_snapshot(user: Any) -> dict[str, dict[int, tuple[str, frozenset[str], bytes]]]:
    """{local folder name: {uid: (flag letters, keywords, bytes with LF)}} for every folder."""
    client = user.imap()
    out: dict[str, dict[int, tuple[str, frozenset[str], bytes]]] = {}
    try:
        for flags, delim, name in client.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            delim_s = delim.decode() if isinstance(delim, bytes) else delim
            client.select_folder(name, readonly=True)
            uids = client.search("ALL")
            msgs = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
            rows = {}
            for uid, d in msgs.items():
                letters, kws = from_imap(d[b"FLAGS"])
                rows[uid] = (letters, kws, sync_local.normalise(d[b"BODY[]"]))
            out[local_name(name, delim_s)] = rows
    finally:
        client.logout()
    return out


def local_snapshot(root: Path) -> dict[str, list[tuple[str, str, bytes]]]:
    """{folder: [(unique name, synced flag letters, bytes)]} for every folder of the Maildir."""
    from pigeon.core.sync_plan import synced_letters

    store = Maildir(root)
    out = {}
    for folder in store.folders():
        rows = []
        for e in store.list(folder):
            rows.append((e.key, synced_letters(e.flags), e.path.read_bytes()))
        out[folder] = rows
    return out


def assert_agree(user: Any, root: Path, state_path: Path, *, ignore: tuple[str, ...] = ()) -> dict:
    """The server, the Maildir and the state describe the same mail: same folders; per folder
    the same messages (bytes), flags, no duplicate, and the state maps every UID to its file."""
    server = server_snapshot(user)
    local = local_snapshot(root)
    st = SyncState(state_path)
    try:
        for folder in sorted(set(server) | set(local)):
            if folder in ignore:
                continue
            srv = server.get(folder)
            loc = local.get(folder)
            assert srv is not None, f"{folder} exists locally but not on the server"
            assert loc is not None, f"{folder} exists on the server but not locally"
            rows = st.messages(folder)
            assert sorted(rows) == sorted(srv), f"{folder}: state UIDs {sorted(rows)} != server {sorted(srv)}"
            by_key = {}
            for key, flags, data in loc:
                assert key not in by_key, f"{folder}: duplicate file {key}"
                by_key[key] = (flags, data)
            assert len(loc) == len(srv), f"{folder}: {len(loc)} local files, {len(srv)} on the server"
            for uid, (flags, kws, data) in srv.items():
                row = rows[uid]
                assert row.key in by_key, f"{folder} UID {uid}: no local file {row.key}"
                lflags, ldata = by_key[row.key]
                assert ldata == data, f"{folder} UID {uid}: bytes differ"
                assert lflags == flags, f"{folder} UID {uid}: local flags {lflags!r} != server {flags!r}"
                assert row.flags == flags and row.keywords == kws, f"{folder} UID {uid}: state {row} != server {flags} {kws}"
            bodies = [d for _, _, d in loc]
            assert len(set(bodies)) == len(bodies), f"{folder}: the same message twice"
    finally:
        st.close()
    return server


def put_local(root: Path, folder: str, data: bytes, flags: str = "") -> Path:
    """Deliver a message into the Maildir as another tool (mutt, an MTA) would."""
    entry = Maildir(root).add(folder, data.replace(b"\r\n", b"\n"), flags)
    return entry.path


def find_local(root: Path, folder: str, needle: bytes) -> Path:
    d = Maildir(root).folder_path(folder)
    for sub in ("cur", "new"):
        for n in os.listdir(d / sub):
            p = d / sub / n
            if needle in p.read_bytes():
                return p
    raise FileNotFoundError(needle)


def set_local_flags(path: Path, flags: str) -> Path:
    key, _ = sync_local.split_name(path.name)
    dst = path.parent.parent / "cur" / f"{key}:2,{flags}"
    os.rename(path, dst)
    return dst
