"""The Maildir store: one Maildir per folder, nested folders as nested directories.

The layout is mbsync's ``SubFolders Verbatim``: folder ``Archive/2024`` is the directory
``<root>/Archive/2024`` holding ``cur/``, ``new/`` and ``tmp/``; ``INBOX`` is ``<root>/INBOX``.
The root itself is the folder ``""`` only when it is a Maildir (as in notmuch's corpus).

Messages are delivered atomically (written to ``tmp/``, flushed, fsynced, then linked into
``cur/`` or ``new/`` and the directory fsynced), so a reader such as mutt, notmuch, mu or mbsync
never sees half a message. Flags live in the ``:2,`` info suffix; ``!`` is accepted as the
separator too (mu and mbsync use it where ``:`` is not allowed in file names).

The folder operations (``folders``, ``folder_path``, ``create_folder``...) live in
``pigeon.core.maildir_folders``, the name rules in ``pigeon.core.maildir_names``.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pigeon.core.durable import fsync_path
from pigeon.core.errors import StoreError
from pigeon.core.maildir_folders import MaildirFolders, _oserror, is_maildir
from pigeon.core.maildir_names import (  # noqa: F401 - re-exported: the store's public names
    STANDARD_FLAGS,
    SUBDIRS,
    UID_RE,
    check_folder_name,
    check_key,
    normalize_flags,
    parse_name,
    unique_name,
)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink_quietly(paths: Sequence[Path]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


@dataclass(frozen=True)
class Entry:
    """One message file."""

    folder: str  # "/"-separated; "" = the root when the root itself is a Maildir
    key: str  # the unique name: the file name before ":2,"
    path: Path
    flags: str  # sorted flag letters from the ":2," suffix, e.g. "FS"
    subdir: str  # "new" or "cur"
    size: int
    mtime: float

    @property
    def uid(self) -> int | None:
        """The ``,U=<uid>`` that mbsync (and pigeon's sync) put in the unique name, if any."""
        m = UID_RE.search(self.key)
        return int(m.group(1)) if m else None

    @property
    def name(self) -> str:
        return self.path.name


class Maildir(MaildirFolders):
    """A tree of Maildir folders under ``root``."""

    def __init__(self, root: Path | str, create: bool = True, *, separator: str = ":") -> None:
        if separator not in (":", "!"):
            raise StoreError(f"bad Maildir info separator {separator!r}: use ':' or '!'")
        self.root = Path(root).expanduser()
        self.separator = separator
        self._batch = threading.local()
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            except (FileExistsError, NotADirectoryError):
                raise StoreError(f"cannot create the Maildir {self.root}: it (or a directory above it) is a file") from None
            except OSError as exc:
                raise _oserror(f"cannot create the Maildir {self.root}", exc) from None
        elif not self.root.is_dir():
            raise StoreError(f"no Maildir at {self.root}")

    def __repr__(self) -> str:
        return f"Maildir({str(self.root)!r})"

    # ------------------------------------------------------------------ durability

    def _sync_dir(self, path: Path) -> None:
        """Make a directory's new entries durable now, or at the end of the current batch."""
        pending = getattr(self._batch, "dirs", None)
        if pending is not None:
            pending.add(path)
            return
        try:
            fsync_path(path)
        except OSError:
            pass  # some file systems cannot fsync a directory; the rename itself is done

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many changes, one fsync per directory at the end (a sync downloading a folder).

        Every message's data is still fsynced before it is linked into place, so a crash never
        leaves half a message; only the directory entries are made durable together when the
        block ends. Commit anything that depends on them (sync state) after the block.
        Batches are per thread and may nest.
        """
        if getattr(self._batch, "dirs", None) is not None:
            yield
            return
        self._batch.dirs = set()
        try:
            yield
        finally:
            dirs, self._batch.dirs = self._batch.dirs, None
            for d in sorted(dirs):
                try:
                    fsync_path(d)
                except OSError:
                    pass

    # ------------------------------------------------------------------ messages

    def _entry(self, folder: str, subdir: str, de: os.DirEntry[str] | Path) -> Entry | None:
        name = de.name
        if name.startswith("."):
            return None
        try:
            if isinstance(de, Path):
                st = de.stat()
                if not stat.S_ISREG(st.st_mode):
                    return None
            else:
                if not de.is_file():
                    return None
                st = de.stat()
        except OSError:
            return None
        key, flags, _sep = parse_name(name)
        path = de if isinstance(de, Path) else Path(de.path)
        return Entry(folder, key, path, flags, subdir, st.st_size, st.st_mtime)

    def _scan(self, folder: str) -> Iterator[Entry]:
        path = self.folder_path(folder)
        for subdir in ("new", "cur"):
            try:
                it = os.scandir(path / subdir)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _oserror(f"cannot list folder {folder!r}", exc) from None
            with it:
                for de in it:
                    entry = self._entry(folder, subdir, de)
                    if entry is not None:
                        yield entry

    def list(self, folder: str) -> list[Entry]:
        """The messages of ``folder`` (new/ and cur/), sorted by unique name."""
        if not is_maildir(self.folder_path(folder)):
            raise StoreError(f"no folder {folder!r} in {self.root}")
        return sorted(self._scan(folder), key=lambda e: (e.key, e.subdir))

    def _lookup(self, folder: str, key: str) -> Entry | None:
        if not key or "/" in key or key.startswith(".") or "\x00" in key:
            raise StoreError(f"bad message key {key!r}")
        path = self.folder_path(folder)
        # The common cases first: no scan when the name is exactly known.
        for subdir in ("new", "cur"):
            p = path / subdir / key
            if p.is_file():
                return self._entry(folder, subdir, p)
        for subdir in ("cur", "new"):
            d = path / subdir
            try:
                with os.scandir(d) as it:
                    for de in it:
                        if de.name.startswith(key) and len(de.name) > len(key) and de.name[len(key)] in ":!":
                            k, _f, sep = parse_name(de.name)
                            if sep is not None and k == key:
                                entry = self._entry(folder, subdir, de)
                                if entry is not None:
                                    return entry
            except FileNotFoundError:
                continue
        return None

    def get(self, folder: str, key: str) -> Entry:
        """The message ``key`` of ``folder`` as it is now (its flags may have renamed it)."""
        entry = self._lookup(folder, key)
        if entry is None:
            raise StoreError(f"no message {key!r} in folder {folder!r}")
        return entry

    def find_key(self, key: str) -> Entry | None:
        """The message ``key`` in any folder, or None."""
        for folder in self.folders():
            entry = self._lookup(folder, key)
            if entry is not None:
                return entry
        return None

    def _current(self, entry: Entry) -> Entry:
        """``entry`` if its file is still there, else where it went (another tool changed flags)."""
        if entry.path.exists():
            return entry
        return self.get(entry.folder, entry.key)

    def read(self, entry_or_path: Entry | Path | str) -> bytes:
        """The bytes of a message (an Entry whose file was renamed is found again)."""
        if isinstance(entry_or_path, Entry):
            try:
                return entry_or_path.path.read_bytes()
            except FileNotFoundError:
                return self._current(entry_or_path).path.read_bytes()
            except OSError as exc:
                raise _oserror(f"cannot read message {entry_or_path.key!r}", exc) from None
        try:
            return Path(entry_or_path).read_bytes()
        except OSError as exc:
            raise _oserror("cannot read message", exc) from None

    def _file_name(self, key: str, flags: str, subdir: str, sep: str | None = None) -> str:
        if subdir == "new" and not flags:
            return key
        return f"{key}{sep or self.separator}2,{flags}"

    def add(
        self,
        folder: str,
        data: bytes,
        flags: str = "",
        *,
        uid: int | None = None,
        subdir: str | None = None,
        key: str | None = None,
    ) -> Entry:
        """Deliver ``data`` into ``folder`` atomically and return its Entry.

        The file is written to ``tmp/``, flushed and fsynced, then linked into ``cur/`` (or
        ``new/`` when ``subdir="new"`` and there are no flags), and the directory is fsynced.
        A failure (a full disk) removes the temporary file and raises ``StoreError``; no half
        message ever appears in ``cur/`` or ``new/``. ``key`` names the file instead of a fresh
        unique name (the demo mailbox is made this way, to be the same on every machine).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StoreError("a message must be bytes")
        flags = normalize_flags(flags)
        if subdir not in (None, "cur", "new"):
            raise StoreError(f"bad subdir {subdir!r}: 'cur' or 'new'")
        target = "new" if subdir == "new" and not flags else "cur"
        path = self.folder_path(folder)
        if not is_maildir(path) or not (path / "tmp").is_dir():
            self.create_folder(folder)
        tmp_dir = path / "tmp"
        if key is not None:
            check_key(key)
            if self._lookup(folder, key) is not None:
                raise StoreError(f"folder {folder!r} already holds a message named {key!r}")
        given = key
        for _attempt in range(100):
            key = given or unique_name(uid)
            tmp_path = tmp_dir / key
            final = path / target / self._file_name(key, flags, target)
            # The name is unique by construction (time, pid, counter, host); O_EXCL and
            # link(2) below refuse to clobber if it is not, so no scan of cur/ is needed.
            if given is None and final.exists():
                continue
            try:
                fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            except FileExistsError:
                if given is not None:
                    raise StoreError(f"a delivery of {key!r} to {folder!r} is already in progress") from None
                continue
            except OSError as exc:
                raise _oserror(f"cannot store a message in {folder or '(root)'!r}", exc) from None
            break
        else:  # pragma: no cover - would need 100 name collisions in a row
            raise StoreError(f"cannot find a unique name in {folder!r}")
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._place(tmp_path, final)
        except FileExistsError:
            os.unlink(tmp_path)
            raise StoreError(f"folder {folder!r} already holds a message named {key!r}") from None
        except OSError as exc:
            _unlink_quietly([tmp_path])
            raise _oserror(f"cannot store a message in {folder or '(root)'!r}", exc) from None
        self._sync_dir(final.parent)  # the message is in place either way
        st = final.stat()
        return Entry(folder, key, final, flags, target, st.st_size, st.st_mtime)

    def add_many(self, folder: str, messages: Sequence[bytes], keys: Sequence[str], *, subdir: str = "new") -> list[Entry]:
        """Deliver several messages at once (a POP3 download's batch), without flags, named
        ``keys`` (fresh unique names, chosen first so that a record can name the files before
        they exist). Each is written to ``tmp/``, the batch is made durable together
        (``pigeon.core.durable``: one ``syncfs`` where that is safe, else an fsync per file),
        then each is linked into ``subdir`` and the directory fsynced once. A failure removes
        the batch's files still in ``tmp/`` and raises ``StoreError``: none of the batch is
        linked unless the failure came while linking."""
        from pigeon.core.durable import Barrier

        if len(keys) != len(messages):
            raise StoreError("add_many: one key per message")
        if subdir not in ("cur", "new"):
            raise StoreError(f"bad subdir {subdir!r}: 'cur' or 'new'")
        for key in keys:
            check_key(key)
        path = self.folder_path(folder)
        if not is_maildir(path) or not (path / "tmp").is_dir():
            self.create_folder(folder)
        staged: list[Path] = []
        finals: list[Path] = []
        with Barrier(path / "tmp") as barrier:  # opened before the writes: it hears of their failures
            try:
                for key, data in zip(keys, messages, strict=True):
                    tmp_path = path / "tmp" / key
                    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
                    staged.append(tmp_path)
                    try:
                        _write_all(fd, data)
                    finally:
                        os.close(fd)
                barrier.wait([str(p) for p in staged])
                for key, tmp_path in zip(keys, staged, strict=True):
                    final = path / subdir / self._file_name(key, "", subdir)
                    self._place(tmp_path, final)
                    finals.append(final)
            except BaseException as exc:  # an error, or Ctrl-C: nothing of the batch stays in tmp/
                _unlink_quietly(staged)  # those linked already are gone from tmp/
                if isinstance(exc, OSError):
                    raise _oserror(f"cannot store a message in {folder or '(root)'!r}", exc) from None
                raise
        self._sync_dir(path / subdir)
        out = []
        for key, final in zip(keys, finals, strict=True):
            st = final.stat()
            out.append(Entry(folder, key, final, "", subdir, st.st_size, st.st_mtime))
        return out

    @staticmethod
    def _place(src: Path, dst: Path) -> None:
        """Move ``src`` to ``dst`` without ever replacing an existing ``dst``.

        ``link`` + ``unlink`` as the Maildir spec describes: ``link`` fails if ``dst`` exists.
        File systems without hard links fall back to a checked ``rename``.
        """
        try:
            os.link(src, dst)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise
            if dst.exists():
                raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
            os.rename(src, dst)
            return
        os.unlink(src)

    def set_flags(self, entry: Entry, flags: str) -> Entry:
        """Rename the message so its info carries ``flags``; a message in new/ moves to cur/."""
        flags = normalize_flags(flags)
        entry = self._current(entry)
        _key, _old, sep = parse_name(entry.path.name)
        target = "cur" if flags or entry.subdir == "cur" else "new"
        if target == "new":
            # No flags and still new: nothing to rename.
            return entry
        name = self._file_name(entry.key, flags, "cur", sep)
        dst = self.folder_path(entry.folder) / "cur" / name
        if dst == entry.path:
            return entry
        try:
            # One rename(2), so a watcher sees one move and the message is never missing.
            os.rename(entry.path, dst)
        except FileNotFoundError:
            raise StoreError(f"message {entry.key!r} vanished while its flags were changed") from None
        except OSError as exc:
            raise _oserror(f"cannot change the flags of {entry.key!r}", exc) from None
        self._sync_dir(dst.parent)
        if entry.path.parent != dst.parent:
            self._sync_dir(entry.path.parent)
        st = dst.stat()
        return Entry(entry.folder, entry.key, dst, flags, "cur", st.st_size, st.st_mtime)

    def move(self, entry: Entry, dest_folder: str) -> Entry:
        """Move a message to another folder under the same unique name and flags (rename(2)).

        A ``,U=<uid>`` in the name is dropped: a UID belongs to its folder, and mbsync refuses
        a folder holding two files with the same UID (its documentation asks MUAs to do this).
        """
        entry = self._current(entry)
        if dest_folder == entry.folder:
            return entry
        dpath = self.folder_path(dest_folder)
        if not is_maildir(dpath) or not (dpath / entry.subdir).is_dir():
            self.create_folder(dest_folder)
        key = UID_RE.sub("", entry.key)
        if self._lookup(dest_folder, key) is not None:
            raise StoreError(f"folder {dest_folder!r} already holds a message named {key!r}")
        dst = dpath / entry.subdir / (key + entry.path.name[len(entry.key):])
        try:
            if dst.exists():
                raise FileExistsError(errno.EEXIST, "file exists", str(dst))
            os.rename(entry.path, dst)
        except FileExistsError:
            raise StoreError(f"folder {dest_folder!r} already holds a message named {key!r}") from None
        except FileNotFoundError:
            raise StoreError(f"message {entry.key!r} vanished while it was moved") from None
        except OSError as exc:
            raise _oserror(f"cannot move {entry.key!r} to {dest_folder!r}", exc) from None
        self._sync_dir(dst.parent)
        self._sync_dir(entry.path.parent)
        st = dst.stat()
        return Entry(dest_folder, key, dst, entry.flags, entry.subdir, st.st_size, st.st_mtime)

    def delete(self, entry: Entry, *, missing_ok: bool = False) -> None:
        """Remove a message file (``missing_ok``: a message already gone is not an error)."""
        try:
            current = self._current(entry)
        except StoreError:
            if missing_ok:
                return
            raise
        try:
            os.unlink(current.path)
        except FileNotFoundError:
            if not missing_ok:
                raise StoreError(f"no message {entry.key!r} in folder {entry.folder!r}") from None
        except OSError as exc:
            raise _oserror(f"cannot delete {entry.key!r}", exc) from None

    def clean_tmp(self, folder: str, older_than: float = 36 * 3600) -> int:
        """Remove files left in ``tmp/`` by a crash, as the Maildir spec advises (36 hours)."""
        tmp = self.folder_path(folder) / "tmp"
        removed = 0
        cutoff = time.time() - older_than
        try:
            with os.scandir(tmp) as it:
                for de in it:
                    try:
                        if de.is_file() and de.stat().st_mtime < cutoff:
                            os.unlink(de.path)
                            removed += 1
                    except OSError:
                        continue
        except FileNotFoundError:
            return 0
        return removed


def entry_for_path(store: Maildir, path: Path | str) -> Entry | None:
    """The Entry of a message file inside ``store`` (None if the path is not a message there)."""
    p = Path(path)
    subdir = p.parent.name
    if subdir not in ("cur", "new"):
        return None
    try:
        rel = p.parent.parent.relative_to(store.root)
    except ValueError:
        return None
    folder = "/".join(rel.parts)
    try:
        check_folder_name(folder)
    except StoreError:
        return None
    return store._entry(folder, subdir, p)
