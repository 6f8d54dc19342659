"""Built-in plugin: warnings about attachments whose name or type deceives or can run code.

Judged from the name and the declared type only; the content is never opened here. The core
shows the sanitised name (bidi controls removed, so the real extension reads plainly); the
warnings say why that matters.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from pigeon.hooks.types import Attachment, RenderContext

EXECUTABLE_EXTENSIONS = frozenset(
    "exe scr com pif bat cmd msi msp mst cpl dll sys drv ocx hta jar js jse vbs vbe wsf wsh wsc ws "
    "ps1 psm1 psd1 ps1xml psc1 lnk url scf reg inf gadget application appref-ms msc vb vbscript "
    "sh bash zsh csh ksh command run bin elf app apk appx msix xbap action workflow scpt "
    "docm xlsm pptm dotm xltm potm ppam xlam sldm one chm iqy slk xll library-ms settingcontent-ms".split()
)
ARCHIVE_EXTENSIONS = frozenset("zip rar 7z tar gz tgz bz2 tbz xz txz cab arj lzh lha ace z zst jar".split())
DISK_IMAGE_EXTENSIONS = frozenset("iso img vhd vhdx dmg udf".split())
DOCUMENT_EXTENSIONS = frozenset(
    "pdf doc docx xls xlsx ppt pptx odt ods odp rtf txt csv jpg jpeg png gif bmp tif tiff "
    "htm html mp3 mp4 wav avi mov zip rar eml msg".split()
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec",
        "application/x-executable", "application/x-ms-installer", "application/x-msi",
        "application/x-sh", "application/x-shellscript", "application/x-bat", "application/x-csh",
        "application/javascript", "application/x-javascript", "text/javascript", "application/hta",
        "application/x-ms-shortcut", "application/vnd.microsoft.portable-executable",
        "application/java-archive", "application/x-java-archive", "text/vbscript", "application/x-vbscript",
        "application/vnd.ms-htmlhelp", "application/x-apple-diskimage",
    }
)
ARCHIVE_TYPES = frozenset(
    {
        "application/zip", "application/x-zip-compressed", "application/x-rar-compressed",
        "application/vnd.rar", "application/x-7z-compressed", "application/x-tar", "application/gzip",
        "application/x-gzip", "application/x-bzip2", "application/x-xz", "application/vnd.ms-cab-compressed",
        "application/x-iso9660-image",
    }
)
# Patterns, not compiled at import (~0.3 ms for every command): ``re`` compiles and caches them
# the first time an attachment is named.
_INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u061c]"
_PADDING = r"[\s\u00a0\u2000-\u200b\u3000_.]{8,}"


def extensions(name: str) -> list[str]:
    """The lower-case extensions of a file name, outermost last (``a.pdf.exe`` -> pdf, exe)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    parts = base.strip().split(".")
    return [p.strip().lower() for p in parts[1:] if p.strip()]


@hookimpl
def pigeon_attachment_warnings(attachment: Attachment, ctx: RenderContext) -> list[str] | None:
    raw = attachment.raw_name or attachment.name
    if not raw and not attachment.content_type:
        return None
    warnings: list[str] = []
    visible = re.sub(_INVISIBLE, "", "".join(ch for ch in raw if unicodedata.category(ch) != "Cc"))
    exts = extensions(visible)
    real = exts[-1] if exts else ""

    if any(ch in raw for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"):
        warnings.append(
            f"the name holds right-to-left or other direction controls that make it read differently; "
            f"its real extension is .{real or '(none)'}"
        )
    elif re.search(_INVISIBLE, raw):
        warnings.append("the name holds invisible characters")
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        warnings.append("the name holds control characters")
    if re.search(_PADDING, visible.rsplit(".", 1)[0]) and real:
        warnings.append(f"the name is padded to hide its real extension .{real}")
    if len(exts) >= 2 and real in EXECUTABLE_EXTENSIONS | DISK_IMAGE_EXTENSIONS and exts[-2] in DOCUMENT_EXTENSIONS:
        warnings.append(f"double extension: it looks like .{exts[-2]} but is .{real}")
    ctype = attachment.content_type.lower()
    if real in EXECUTABLE_EXTENSIONS or ctype in EXECUTABLE_TYPES:
        what = f".{real}" if real in EXECUTABLE_EXTENSIONS else ctype
        warnings.append(f"executable or script ({what}): it can run code if opened")
    elif real in DISK_IMAGE_EXTENSIONS:
        warnings.append(f"disk image (.{real}): it can hide programs from attachment checks")
    elif real in ARCHIVE_EXTENSIONS or ctype in ARCHIVE_TYPES:
        warnings.append("archive: check what is inside before opening anything from it")
    if real in DOCUMENT_EXTENSIONS and ctype in EXECUTABLE_TYPES:
        warnings.append(f"the name says .{real} but the type says {ctype}")
    return warnings or None
