"""The folders of the Maildir store (``pigeon.core.maildir``): which directories are folders,
where a folder lives (confined to the root), making and removing one. ``Maildir`` takes them
from the ``MaildirFolders`` mixin; ``is_maildir`` and the store's ``OSError`` wording live here
too, as both modules use them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pigeon.core.errors import StoreError
from pigeon.core.maildir_names import SUBDIRS, check_folder_name


def _oserror(action: str, exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(f"{action}: the disk is full ({exc.strerror}); nothing was stored")
    name = str(exc.filename) if exc.filename else ""
    if name and (name in action or action.endswith(name.rstrip("/"))):
        name = ""  # the action names it already
    return StoreError(f"{action}: {name + ': ' if name else ''}{exc.strerror or exc}")


def is_maildir(path: Path) -> bool:
    """A directory is a Maildir when it has ``cur/`` or ``new/`` (``tmp/`` is made when needed).

    Tools and version control drop empty directories, so requiring all three would miss
    real Maildirs such as notmuch's test corpus.
    """
    return (path / "cur").is_dir() or (path / "new").is_dir()


class MaildirFolders:
    """The folder operations of ``Maildir``, which gives ``root``."""

    root: Path

    def folder_path(self, folder: str) -> Path:
        """The directory of ``folder``, confined to the root."""
        parts = check_folder_name(folder)
        path = self.root.joinpath(*parts)
        # The name is checked segment by segment; this guards against a bug in that check.
        if os.path.commonpath([os.path.abspath(path), os.path.abspath(self.root)]) != os.path.abspath(self.root):
            raise StoreError(f"bad folder name {folder!r}: outside the store")
        return path

    def folders(self) -> list[str]:
        """Every folder (a directory with cur/ or new/), sorted; "" only if the root is a Maildir.

        Directories whose names pigeon would refuse as folder names (control characters, a
        leading dot) are left out with everything below them, and a directory reached twice
        through symbolic links is walked once.
        """
        out: list[str] = []
        if is_maildir(self.root):
            out.append("")
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[Path, str]] = [(self.root, "")]
        while stack:
            path, name = stack.pop()
            try:
                st = path.stat()
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                children = list(os.scandir(path))
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in SUBDIRS:
                    continue
                try:
                    if not child.is_dir():
                        continue
                except OSError:
                    continue
                sub = f"{name}/{child.name}" if name else child.name
                try:
                    check_folder_name(sub)
                except StoreError:
                    continue
                cpath = Path(child.path)
                if is_maildir(cpath):
                    out.append(sub)
                stack.append((cpath, sub))
        return sorted(out)

    def has_folder(self, folder: str) -> bool:
        return is_maildir(self.folder_path(folder))

    def create_folder(self, folder: str) -> Path:
        """Make ``folder`` (and its parents as plain directories); existing folders are fine."""
        path = self.folder_path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            for sub in SUBDIRS:
                (path / sub).mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _oserror(f"cannot create folder {folder!r}", exc) from None
        return path

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder (its subfolders go with it) to a name no folder has yet."""
        src, dst = self.folder_path(old), self.folder_path(new)
        if not is_maildir(src):
            raise StoreError(f"no folder {old!r}")
        if dst.exists():
            raise StoreError(f"cannot rename {old!r} to {new!r}: {new!r} exists")
        try:
            dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.rename(src, dst)
        except OSError as exc:
            raise _oserror(f"cannot rename folder {old!r} to {new!r}", exc) from None
        # The plain directories that only held it (lists/ of lists/dev) go too, once empty.
        for parent in src.parents:
            if parent == self.root or not parent.is_relative_to(self.root) or is_maildir(parent):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def file_count(self, folder: str) -> int | None:
        """How many message files ``folder`` holds (in ``cur/``, ``new/`` and ``tmp/``; dot
        files such as editors' leftovers do not count); None if it is no folder here."""
        path = self.folder_path(folder)
        try:
            if not is_maildir(path):
                return None
            return sum(1 for sub in SUBDIRS if (path / sub).is_dir() for n in os.listdir(path / sub) if not n.startswith("."))
        except OSError:
            return None

    def delete_folder(self, folder: str) -> None:
        """Remove an empty folder. Subfolders stay (their parent becomes a plain directory)."""
        if folder == "":
            raise StoreError("cannot delete the root folder")
        path = self.folder_path(folder)
        if not is_maildir(path):
            raise StoreError(f"no folder {folder!r}")
        held = self.file_count(folder)
        if held:
            raise StoreError(f"folder {folder!r} is not empty ({held} message file{'s' if held != 1 else ''})")
        # A file arriving after the check above makes the rmdir below fail: it is kept.
        try:
            for sub in SUBDIRS:
                d = path / sub
                if d.is_dir():
                    for n in os.listdir(d):  # dot files only, e.g. editors' leftovers
                        os.unlink(d / n)
                    d.rmdir()
            # Remove the folder's directory and any parents left as empty plain directories.
            while path != self.root and not is_maildir(path) and not any(path.iterdir()):
                path.rmdir()
                path = path.parent
        except OSError as exc:
            raise _oserror(f"cannot delete folder {folder!r}", exc) from None
