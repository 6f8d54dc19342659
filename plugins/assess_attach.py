"""Dangerous attachments: executable types, disguised names, archives holding executables.

Archives are only *listed* (zip central directory, tar headers, ISO 9660 root directory): no
member is ever extracted or decompressed, and nothing is written to disk.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage

from pigeon.hooks.types import Finding
from pigeon.plugins.assess_links import MAX_PARTS, is_attachment, parse_html, part_text

#: Gmail's blocked types (support.google.com/mail/answer/6590) plus a few script hosts.
DANGEROUS_EXTENSIONS = frozenset(
    """ade adp apk appx appxbundle bat cab chm cmd com cpl diagcab diagcfg diagpkg dll dmg ex ex_
    exe hta img ins iso isp jar jnlp js jse lib lnk mde mjs msc msi msix msixbundle msp mst nsh
    pif ps1 scr sct shb sys vb vbe vbs vhd vhdx vxd wsc wsf wsh xll reg url scf application
    gadget settingcontent-ms""".split()
)
MACRO_EXTENSIONS = frozenset({"docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "sldm"})
ARCHIVE_EXTENSIONS = frozenset({"zip", "tar", "tgz", "gz", "tbz2", "bz2", "txz", "xz", "rar", "7z", "ace", "arj", "cab", "lzh", "z"})
HTML_EXTENSIONS = frozenset({"html", "htm", "shtml", "xhtml", "svg", "mht", "mhtml"})
DANGEROUS_TYPES = frozenset(
    {"application/x-msdownload", "application/x-msdos-program", "application/x-dosexec",
     "application/x-ms-shortcut", "application/hta", "application/x-executable",
     "application/vnd.microsoft.portable-executable", "application/x-ms-installer",
     "application/x-iso9660-image", "application/javascript", "text/javascript", "application/x-sh"}
)
_ZIP_FAMILY = frozenset({"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "jar", "apk", "epub", "xpi", "kmz", "docm", "xlsm", "pptm"})

INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u061c]")
MAX_ARCHIVE = 50 * 1024 * 1024
MAX_MEMBERS = 2000


def _ext(name: str) -> str:
    base = name.strip().rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower().strip() if "." in base else ""


def _exts(name: str) -> list[str]:
    return [e.lower().strip() for e in name.strip().split(".")[1:]]


def attachments(msg: EmailMessage) -> Iterator[tuple[str, EmailMessage]]:
    """Each attachment leaf with its file name ('' when it has none)."""
    for n, part in enumerate(msg.walk()):
        if n >= MAX_PARTS:
            break
        if part.is_multipart() or not is_attachment(part):
            continue
        try:
            name = part.get_filename() or ""
        except Exception:
            name = ""
        yield str(name), part


def _payload(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def zip_names(data: bytes) -> tuple[list[str], bool]:
    """Member names of a zip (from its central directory) and whether any member is encrypted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()[:MAX_MEMBERS]
            return [i.filename for i in infos], any(i.flag_bits & 0x1 for i in infos)
    except Exception:
        return [], False


def tar_names(data: bytes) -> list[str]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            names = []
            for member in tf:  # reads headers only; members are never extracted
                names.append(member.name)
                if len(names) >= MAX_MEMBERS:
                    break
            return names
    except Exception:
        return []


def iso_names(data: bytes) -> list[str]:
    """File names in the root directory of an ISO 9660 image (primary volume descriptor)."""
    sector = 2048
    pvd = data[16 * sector : 17 * sector]
    if len(pvd) < 190 or pvd[1:6] != b"CD001":
        return []
    root = pvd[156:190]
    extent = int.from_bytes(root[2:6], "little")
    size = int.from_bytes(root[10:14], "little")
    directory = data[extent * sector : extent * sector + min(size, 64 * sector)]
    names, pos = [], 0
    while pos < len(directory):
        length = directory[pos]
        if length == 0:  # records do not cross sectors; skip to the next one
            pos = (pos // sector + 1) * sector
            continue
        name_len = directory[pos + 32]
        raw = directory[pos + 33 : pos + 33 + name_len]
        if raw not in (b"\x00", b"\x01"):
            names.append(raw.decode("ascii", "replace").split(";", 1)[0])
        pos += length
    return names


def _visible(name: str) -> str:
    """The name with invisible and bidi characters shown as <U+XXXX>."""
    return INVISIBLE.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", name)


def _name_findings(name: str, where: str) -> list[Finding]:
    out: list[Finding] = []
    shown = _visible(name)
    ext = _ext(INVISIBLE.sub("", name))
    if INVISIBLE.search(name):
        out.append(Finding("danger", "attachment-bidi", f"{where} {shown!r} hides its real name with invisible or right-to-left characters; its real type is .{ext or '?'}"))
    if re.search(r"\s{3,}\.?\w+$", name) or re.search(r"\.\w+\s{3,}", name):
        out.append(Finding("danger", "attachment-padding", f"{where} {shown.strip()!r} is padded with spaces to hide its real extension .{ext or '?'}"))
    if ext in DANGEROUS_EXTENSIONS:
        exts = _exts(INVISIBLE.sub("", name))
        if len(exts) >= 2 and exts[-2] and exts[-2] not in DANGEROUS_EXTENSIONS and len(exts[-2]) <= 5:
            out.append(Finding("danger", "attachment-double-extension", f"{where} {shown!r} pretends to be .{exts[-2]} but is .{ext} (a program or script)"))
        else:
            out.append(Finding("danger", "attachment-executable", f"{where} {shown!r} is a .{ext} file, a type that can run code when opened"))
    elif ext in MACRO_EXTENSIONS:
        out.append(Finding("warning", "attachment-macro", f"{where} {shown!r} is an Office document that can hold macros (.{ext})"))
    return out


def assess_attachments(msg: EmailMessage) -> list[Finding]:
    """Findings for every attachment of a message."""
    findings: list[Finding] = []
    for name, part in attachments(msg):
        label = "Attachment"
        findings.extend(_name_findings(name, label))
        ext = _ext(INVISIBLE.sub("", name))
        try:
            ctype = part.get_content_type()
        except Exception:
            ctype = ""
        if ctype in DANGEROUS_TYPES and ext not in DANGEROUS_EXTENSIONS:
            findings.append(Finding("danger", "attachment-type", f"Attachment {_visible(name)!r} is declared as {ctype}, a program or script"))
        data = _payload(part)
        if data[:2] == b"MZ" and ext not in DANGEROUS_EXTENSIONS:
            findings.append(Finding("danger", "attachment-magic", f"Attachment {_visible(name)!r} is a Windows program whatever its name says"))
        elif data[:4] == b"\x7fELF" and ext not in DANGEROUS_EXTENSIONS:
            findings.append(Finding("danger", "attachment-magic", f"Attachment {_visible(name)!r} is a Linux program whatever its name says"))
        if len(data) > MAX_ARCHIVE:
            continue
        members: list[str] = []
        encrypted = False
        if data[:4] == b"PK\x03\x04" and (ext not in _ZIP_FAMILY - {"zip"} or ext == "zip"):
            members, encrypted = zip_names(data)
        elif ext in ("tar", "tgz", "gz", "tbz2", "bz2", "txz", "xz"):
            members = tar_names(data)
        elif ext in ("iso", "img") or data[16 * 2048 + 1 : 16 * 2048 + 6] == b"CD001":
            members = iso_names(data)
        bad = []
        for member in members:
            base = member.rsplit("/", 1)[-1]
            if _ext(base) in DANGEROUS_EXTENSIONS or INVISIBLE.search(base) or _ext(base) in ARCHIVE_EXTENSIONS:
                bad.append(_visible(base))
        if bad:
            shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            findings.append(Finding("danger", "attachment-archive", f"Archive {_visible(name)!r} holds {shown}: programs, scripts or nested archives"))
        if encrypted:
            findings.append(Finding("warning", "attachment-encrypted-archive", f"Archive {_visible(name)!r} is password-protected, so its contents cannot be checked"))
        if ext in HTML_EXTENSIONS or ctype == "text/html":
            facts = parse_html(part_text(part))
            if facts.password_inputs:
                findings.append(Finding("danger", "attachment-html-password", f"HTML attachment {_visible(name)!r} asks for a password: a common way to steal logins"))
            elif facts.forms:
                findings.append(Finding("warning", "attachment-html-form", f"HTML attachment {_visible(name)!r} holds a form that sends what you type to a web site"))
    return findings

