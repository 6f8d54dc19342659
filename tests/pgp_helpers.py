"""Helpers for the PGP tests: a real plugin manager and a render context like the renderer's."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import getaddresses

from pigeon.core.pluginmanager import make_plugin_manager
from pigeon.hooks.types import RenderContext


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def pm():  # noqa: ANN201
    return make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)


def ctx_for(msg: EmailMessage, raw: bytes | None = None, purpose: str = "view") -> RenderContext:
    froms = msg.get_all("From") or []
    pairs = getaddresses([str(froms[0])]) if len(froms) == 1 else []
    addr = pairs[0][1] if len(pairs) == 1 else ""
    state = {"root": msg, "from": addr}
    if raw is not None:
        state["raw"] = raw
    return RenderContext(purpose=purpose, state=state)  # type: ignore[arg-type]


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
