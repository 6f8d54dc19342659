"""Helpers for the assessment tests: crafted messages and a real App to assess them with."""

from __future__ import annotations

import base64
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from pigeon.core.app import App
from pigeon.hooks.types import Finding

CONFIG = """
[assess]
authserv_ids = ["mx.example.org"]
own_domains = ["ourcorp.com"]
"""


def make_app(config_dir: Path, extra: str = "") -> App:
    (config_dir / "config.toml").write_text(CONFIG + extra)
    return App.create(config_dir, load_entrypoints=False)


def parse(raw: str | bytes) -> EmailMessage:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def findings(app: App, raw: str | bytes) -> list[Finding]:
    out: list[Finding] = []
    for result in app.pm.hook.pigeon_assess_message(message=parse(raw), ref=None):
        out.extend(result or [])
    return out


def codes(found: list[Finding], at_least: str = "notice") -> set[str]:
    from pigeon.hooks.types import SEVERITY_ORDER

    return {f.code for f in found if SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[at_least]}


def message(
    headers: str = "From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: hello\n",
    body: str = "Hello Bob.\n",
    html: str | None = None,
) -> str:
    """A message from the given header block and a text (or HTML) body."""
    if html is None:
        return f"{headers}Message-ID: <m1@example.com>\nContent-Type: text/plain; charset=utf-8\n\n{body}"
    return (
        f"{headers}Message-ID: <m1@example.com>\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n\n" + html
    )


def with_attachment(name: str, data: bytes, ctype: str = "application/octet-stream") -> str:
    """A message carrying one attachment called ``name`` (``name`` may hold any character)."""
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "bob@ourcorp.com"
    msg["Subject"] = "invoice"
    msg["Message-ID"] = "<a1@example.com>"
    msg.set_content("See the attachment.\n")
    maintype, subtype = ctype.split("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_string()


def iso_image(names: list[str]) -> bytes:
    """A minimal ISO 9660 image whose root directory lists ``names`` (file data empty)."""
    sector = 2048

    def record(name: bytes, extent: int, size: int, flags: int) -> bytes:
        body = bytearray(33 + len(name) + (1 - len(name) % 2))
        body[0] = len(body)
        body[2:6] = extent.to_bytes(4, "little")
        body[10:14] = size.to_bytes(4, "little")
        body[25] = flags
        body[32] = len(name)
        body[33 : 33 + len(name)] = name
        return bytes(body)

    root = record(b"\x00", 18, sector, 2) + record(b"\x01", 18, sector, 2)
    for n in names:
        root += record(n.upper().encode("ascii") + b";1", 19, 0, 0)
    pvd = bytearray(sector)
    pvd[0] = 1
    pvd[1:6] = b"CD001"
    pvd[156:190] = record(b"\x00", 18, sector, 2)
    return bytes(16 * sector) + bytes(pvd) + bytes(sector) + root.ljust(sector, b"\x00") + bytes(sector)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
