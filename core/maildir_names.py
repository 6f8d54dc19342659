"""Maildir names: unique names, the ``:2,`` info with its flags, and folder names confined.

Everything here is pure string work; ``pigeon.core.maildir`` does the file system part.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import time

from pigeon.core.errors import StoreError

SUBDIRS = ("cur", "new", "tmp")
#: Flags that carry a meaning (maildir spec): Draft, Flagged, Passed, Replied, Seen, Trashed.
STANDARD_FLAGS = "DFPRST"
INFO_RE = re.compile(r"^(?P<key>.+?)(?P<sep>[:!])2,(?P<flags>[A-Za-z]*)$")
UID_RE = re.compile(r",U=(\d+)")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MAX_SEGMENT = 255

_counter = itertools.count(1)


def parse_name(name: str) -> tuple[str, str, str | None]:
    """Split a file name into (key, sorted flags, separator or None when it has no info)."""
    m = INFO_RE.match(name)
    if not m:
        return name, "", None
    return m.group("key"), normalize_flags(m.group("flags"), strict=False), m.group("sep")


def normalize_flags(flags: str, *, strict: bool = True) -> str:
    """Sorted, de-duplicated flag letters. Lower-case letters are keywords (Dovecot, mu)."""
    if strict and not re.fullmatch(r"[A-Za-z]*", flags):
        raise StoreError(f"bad Maildir flags {flags!r}: only letters are allowed")
    return "".join(sorted(set(c for c in flags if c.isalpha() and c.isascii())))


def _host() -> str:
    # The spec asks for "/" and ":" in the host name to be escaped; "!" too, for the mu separator.
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072").replace("!", "\\041") or "localhost"


_me: tuple[int, str] | None = None  # (pid, escaped host name), asked once per process


def _forget_me() -> None:
    global _me
    _me = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_me)


def unique_name(uid: int | None = None) -> str:
    """``<time>.<pid>_<counter>.<host>`` (the form mutt, mu and mbsync write), plus ``,U=<uid>``."""
    global _me
    if _me is None:  # a sync names hundreds of files: the host name is asked once
        _me = (os.getpid(), _host())
    name = f"{int(time.time())}.{_me[0]}_{next(_counter)}.{_me[1]}"
    if uid is not None:
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
            raise StoreError(f"bad UID {uid!r}")
        name += f",U={uid}"
    return name


def check_folder_name(folder: str) -> list[str]:
    """The segments of a folder name, or StoreError if the name could escape or clash."""
    if not isinstance(folder, str):
        raise StoreError(f"bad folder name {folder!r}: not a string")
    if folder == "":
        return []
    shown = CONTROL_RE.sub("?", folder)
    if CONTROL_RE.search(folder):
        raise StoreError(f"bad folder name {shown!r}: control characters are not allowed")
    if folder.startswith("/") or folder.startswith("\\") or re.match(r"^[A-Za-z]:[\\/]", folder):
        raise StoreError(f"bad folder name {shown!r}: absolute paths are not allowed")
    parts = folder.split("/")
    for part in parts:
        if part == "":
            raise StoreError(f"bad folder name {shown!r}: empty path segment")
        if part in (".", ".."):
            raise StoreError(f"bad folder name {shown!r}: '{part}' is not allowed")
        if part.startswith("."):
            raise StoreError(f"bad folder name {shown!r}: a segment may not start with '.'")
        if part in SUBDIRS:
            raise StoreError(f"bad folder name {shown!r}: '{part}' clashes with a Maildir's own cur/new/tmp")
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_SEGMENT:
            raise StoreError(f"bad folder name {shown[:40]!r}...: a segment is longer than {_MAX_SEGMENT} bytes")
    return parts


def check_key(key: str) -> str:
    """A unique name given from outside: one file name, no info separator, no controls."""
    if (
        not isinstance(key, str)
        or not key
        or key.startswith(".")
        or any(c in key for c in "/:!\\")
        or CONTROL_RE.search(key)
        or len(key.encode("utf-8", "surrogateescape")) > 200
    ):
        raise StoreError(f"bad message key {CONTROL_RE.sub('?', str(key))!r}")
    return key
