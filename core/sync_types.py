"""The sync planner's vocabulary: what the engine tells it about each side of a folder
(``LocalMsg``, ``RemoteMsg``, ``RemoteView``, ``FolderInput``) and the actions it answers with
(``Download``, ``Upload``, ``Pair``, deletions, moves), gathered per folder in a ``Plan``.
Plain data; the rules are in ``pigeon.core.sync_plan``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from pigeon.core.sync_state import MessageState

# --------------------------------------------------------------------------- inputs


class LocalMsg(NamedTuple):
    """One message file as listed now. ``size``/``digest``/``msgid`` are filled in by the engine
    only for files the state does not know (they are what a content match needs)."""

    key: str
    flags: str = ""
    name: str | None = None  # file name; None when synthesised from the state
    subdir: str = "cur"
    uid_hint: int | None = None  # from ",U=<uid>" in the name
    size: int | None = None  # RFC822 size: bytes with CRLF line ends
    digest: str | None = None
    msgid: str | None = None


class RemoteMsg(NamedTuple):
    """One message on the server: its flags now, and (for new ones) its size and Message-ID."""

    uid: int
    flags: str = ""
    keywords: frozenset[str] = frozenset()
    size: int | None = None
    msgid: str | None = None


@dataclass
class RemoteView:
    """What the server said about a folder.

    ``changed`` holds the messages new or changed since the last sync (or every message when
    ``complete``); ``vanished`` the UIDs expunged since (only meaningful when not complete).
    """

    uidvalidity: int | None = None
    changed: dict[int, RemoteMsg] = field(default_factory=dict)
    vanished: set[int] = field(default_factory=set)
    complete: bool = False


@dataclass
class FolderInput:
    """Everything the planner needs about one folder. ``local``/``remote`` None: that side is
    untouched since the last agreement. ``local_keywords`` maps a unique name to its tags when
    tags are tracked locally; None means keywords are kept in the state only."""

    name: str
    known: dict[int, MessageState]
    local: list[LocalMsg] | None = None
    remote: RemoteView | None = None
    local_keywords: dict[str, frozenset[str]] | None = None
    # messages in the folder when ``known`` holds only some of them; a callable is asked only
    # when the mass-deletion guard needs the number (enough deletions to possibly trip it)
    total: int | Callable[[], int] | None = None
    # UIDVALIDITY changed: ``known`` is the state re-keyed by the new UIDs, and the ",U=<uid>"
    # in file names (the old numbers) no longer pairs anything
    rebased: bool = False
    # The folder is no longer on the server (kept here): its messages are looked for only in
    # folders new on the server (a folder renamed there), to be moved across; nothing else
    # is done to it.
    gone: bool = False
    # The folder was removed here as a whole: a message whose file turned up in another folder
    # is moved there on the server; the others are downloaded again, never deleted there.
    missing: bool = False


# --------------------------------------------------------------------------- actions
# Plain tuples with names: a sync makes one per message it touches, and a NamedTuple class
# costs a fraction of a frozen dataclass to define at import (this module is on every
# sync's path).


class Download(NamedTuple):
    folder: str
    remote: RemoteMsg
    reason: str = "new"


class Upload(NamedTuple):
    folder: str
    local: LocalMsg
    keywords: frozenset[str] = frozenset()
    reason: str = "new"


class Pair(NamedTuple):
    """A message present on both sides: bring both to ``record`` (flags, keywords, key).

    Covers flag changes either way and pairing a local file with a UID it was not yet known
    under (``adopted``). ``store_add``/``store_remove`` are IMAP flags for UID STORE;
    ``local_flags`` is the new letter set for the file, None when the file stays as it is.
    """

    folder: str
    uid: int
    local: LocalMsg
    record: MessageState
    store_add: tuple[str, ...] = ()
    store_remove: tuple[str, ...] = ()
    local_flags: str | None = None
    adopted: bool = False


class DeleteRemote(NamedTuple):
    folder: str
    uid: int
    key: str


class DeleteLocal(NamedTuple):
    folder: str
    local: LocalMsg
    uid: int


class Forget(NamedTuple):
    folder: str
    uid: int


class MoveRemote(NamedTuple):
    """Moved locally from ``src`` to ``dest``: UID MOVE on the server, then flags as ``flags``."""

    src: str
    uid: int
    dest: str
    local: LocalMsg
    known: MessageState
    flags: str
    keywords: frozenset[str]


class MoveLocal(NamedTuple):
    """Moved on the server from ``src`` to ``dest`` (new UID there): rename the file across."""

    src: str
    local: LocalMsg
    dest: str
    remote: RemoteMsg
    known: MessageState
    flags: str
    keywords: frozenset[str]


@dataclass
class FolderPlan:
    name: str
    known: int = 0
    download: list[Download] = field(default_factory=list)
    upload: list[Upload] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    delete_remote: list[DeleteRemote] = field(default_factory=list)
    delete_local: list[DeleteLocal] = field(default_factory=list)
    forget: list[Forget] = field(default_factory=list)
    withheld: list[DeleteRemote | DeleteLocal] = field(default_factory=list)
    guard: str | None = None
    notes: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.download or self.upload or self.pairs or self.delete_remote or self.delete_local or self.forget)


@dataclass
class Plan:
    folders: dict[str, FolderPlan] = field(default_factory=dict)
    moves_remote: list[MoveRemote] = field(default_factory=list)
    moves_local: list[MoveLocal] = field(default_factory=list)

    def folder(self, name: str) -> FolderPlan:
        if name not in self.folders:
            self.folders[name] = FolderPlan(name)
        return self.folders[name]

    def counts(self) -> dict[str, int]:
        """What the plan would do, in the terms of a SyncReport."""
        fps = self.folders.values()
        flags_up = sum(1 for f in fps for p in f.pairs if p.store_add or p.store_remove)
        flags_down = sum(1 for f in fps for p in f.pairs if p.local_flags is not None)
        return {
            "downloaded": sum(len(f.download) for f in fps),
            "uploaded": sum(len(f.upload) for f in fps),
            "flags_up": flags_up,
            "flags_down": flags_down,
            "deleted_local": sum(len(f.delete_local) for f in fps),
            "deleted_remote": sum(len(f.delete_remote) for f in fps),
            "moved": len(self.moves_remote) + len(self.moves_local),
        }

    def guarded(self) -> list[FolderPlan]:
        return [f for f in self.folders.values() if f.guard]

    def describe(self) -> list[str]:
        """One line per action, for ``--dry-run``."""
        out: list[str] = []
        for name in sorted(self.folders):
            fp = self.folders[name]
            out += [f"{name}: download UID {d.remote.uid}" + (f" ({d.reason})" if d.reason != "new" else "") for d in fp.download]
            out += [f"{name}: upload {u.local.key}" + (f" ({u.reason})" if u.reason != "new" else "") for u in fp.upload]
            for p in fp.pairs:
                parts = []
                if p.store_add or p.store_remove:
                    parts.append("server " + " ".join([f"+{f}" for f in p.store_add] + [f"-{f}" for f in p.store_remove]))
                if p.local_flags is not None:
                    parts.append(f"local flags {p.local_flags or '-'}")
                if p.adopted:
                    parts.append(f"pair with {p.local.key}")
                if p.record.keywords and not parts:
                    parts.append("keywords")
                if parts:
                    out.append(f"{name}: UID {p.uid}: " + ", ".join(parts))
            out += [f"{name}: delete UID {d.uid} on the server" for d in fp.delete_remote]
            out += [f"{name}: delete {d.local.key} locally" for d in fp.delete_local]
            if fp.guard:
                out.append(f"{name}: {fp.guard}")
            out += [f"{name}: {n}" for n in fp.notes]
        out += [f"move UID {m.uid} {m.src} -> {m.dest} on the server" for m in self.moves_remote]
        out += [f"move {m.local.key} {m.src} -> {m.dest} locally" for m in self.moves_local]
        return out
