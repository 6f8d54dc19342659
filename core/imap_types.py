"""Folder-name encoding and the small helpers of the IMAP session API (``pigeon.core.imap``).

Modified UTF-7 <-> UTF-8 for folder names, flag atoms, constants. The session's result values
(``UIDSet``, ``SelectResult``...) are in :mod:`pigeon.core.imap_values`; they are still found
here (loaded on first use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from imapclient import imap_utf7

SPECIAL_USE_ROLES = {
    "\\SENT": "sent",
    "\\DRAFTS": "drafts",
    "\\TRASH": "trash",
    "\\JUNK": "junk",
    "\\ARCHIVE": "archive",
    "\\ALL": "all",
    "\\FLAGGED": "flagged",
}
DEFAULT_FETCH = ("UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]")
_ATOM = re.compile(r"\\?[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+")
MAX_UIDS = 10_000_000  # a UID set wider than this is a hostile server, not a mailbox

#: the names of :mod:`pigeon.core.imap_values`
VALUES = ("UIDSet", "FolderInfo", "FetchedMessage", "SelectResult", "StoreResult", "AppendResult",
          "CopyResult", "IdleEvent")


def __getattr__(name: str) -> Any:
    if name in VALUES:
        from pigeon.core import imap_values

        return getattr(imap_values, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



def encode_folder(name: str) -> bytes:
    """UTF-8 folder name -> modified UTF-7 (RFC 3501 §5.1.3)."""
    return imap_utf7.encode(name)


def decode_folder(raw: bytes | str) -> str:
    """Modified UTF-7 -> UTF-8; malformed input is returned as is (decoded with replacement)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    try:
        return imap_utf7.decode(raw)
    except Exception:
        return raw.decode("utf-8", "replace")


def _atoms(flags: Iterable[str]) -> str:
    out = []
    for f in flags:
        if not _ATOM.fullmatch(f):
            raise ValueError(f"not a valid IMAP flag or keyword: {f!r}")
        out.append(f)
    return "(" + " ".join(out) + ")"


def _s(v: bytes | str) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
