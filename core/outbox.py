"""The Outbox: composed messages wait as files in the account's Outbox Maildir folder.

``queue(app, account, message)`` writes one there. ``send_queued(app, account)`` sends them
all over one SMTP connection, oldest first:

1. ``pigeon_before_send`` for each message; any returned reason vetoes it (it stays queued
   and the user sees the reason);
2. ``pigeon_protect_outgoing`` (the PGP plugin applies the account's policy and Autocrypt);
   when the message asks for it (``X-Pigeon-Sign``/``X-Pigeon-Encrypt`` from ``pigeon compose``)
   or the account's ``pgp`` table says ``"always"``, a protected message must come back, or it
   is not sent at all (never plaintext instead); a plugin that raises keeps it queued too;
3. SMTP submission (``pigeon.core.smtp``); on success the message is copied into the
   account's Sent folder (flag ``S``; the sync engine uploads it), removed from the Outbox,
   and ``pigeon_after_send`` is called.

A message that fails stays queued with its error, recorded in ``<state>/outbox/<account>.json``
(``errors(app, account)``). A connection or TLS failure stops the run: the rest stay queued.

A message the journal holds (undo-send delay, send-later time: ``pigeon.core.actions.send``)
stays queued until its time. ``send_queued`` runs under ``<state>/outbox/<account>.lock``: when
``pigeon watch`` and the client both run, one of them sends and the other finds the lock taken,
and ``actions.recall`` takes the same lock, so a message is either recalled or sent, never both.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from pigeon.core.compose import POLICY_HEADERS
from pigeon.core.errors import PigeonError
from pigeon.core.pluginmanager import call_isolated
from pigeon.core.transport import ProtocolTrace, TransportError, credential_source
from pigeon.hooks.types import SendPolicy


@dataclass
class Outcome:
    key: str
    subject: str
    recipients: list[str]
    sent: bool
    error: str = ""
    refused: dict[str, str] = field(default_factory=dict)


def _folder(account: Any) -> str:
    return account.folder("outbox")


def queue(app: Any, account: Any, message: EmailMessage) -> Any:
    """Write ``message`` into the account's Outbox; returns the Maildir entry."""
    store = app.store(account)
    folder = _folder(account)
    if not store.has_folder(folder):
        store.create_folder(folder)
    return store.add(folder, message.as_bytes(policy=policy.default), flags="")


def queued(app: Any, account: Any) -> list[Any]:
    store = app.store(account)
    folder = _folder(account)
    if not store.has_folder(folder):
        return []
    return sorted(store.list(folder), key=lambda e: (e.mtime, e.key))


def _errors_path(app: Any, account: Any) -> Path:
    d = app.state_dir / "outbox"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d / f"{account.name}.json"


def errors(app: Any, account: Any) -> dict[str, dict[str, Any]]:
    """``{message key: {"error": ..., "at": ..., "attempts": n}}`` for messages that failed."""
    path = _errors_path(app, account)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_errors(app: Any, account: Any, data: dict[str, Any]) -> None:
    path = _errors_path(app, account)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


@contextlib.contextmanager
def lock(app: Any, account: Any, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the account's Outbox lock; yields False (not holding it) when another process
    holds it longer than ``wait`` seconds."""
    path = app.state_dir / "outbox"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path / f"{account.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        end = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= end:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _journal(app: Any) -> Any:
    from pigeon.core.journal import open_journal

    return open_journal(app)


def held(app: Any, account: Any) -> dict[str, float]:
    """Outbox keys waiting for their time (undo-send, send later): ``{key: due}``."""
    with _journal(app) as j:
        return j.held(account.name)


def _wants(message: EmailMessage, account: Any) -> tuple[SendPolicy, bool]:
    """What this message asks for, and whether sending it unprotected is forbidden."""
    pgp = account.extra.get("pgp") if isinstance(account.extra.get("pgp"), dict) else {}
    sign = str(message.get("X-Pigeon-Sign", "")).lower() == "yes"
    encrypt = str(message.get("X-Pigeon-Encrypt", "")).lower() == "yes"
    required = sign or encrypt or pgp.get("sign") in (True, "always") or pgp.get("encrypt") in (True, "always")
    return SendPolicy(sign=True if sign else None, encrypt=True if encrypt else None), required


def send_queued(app: Any, account: Any, *, trace: ProtocolTrace | None = None) -> list[Outcome]:
    """Send every queued message of ``account`` that is due (see the module docstring)."""
    with lock(app, account) as mine:
        if not mine:
            return []  # another pigeon is sending this account's Outbox right now
        return _send_queued(app, account, trace=trace)


def _send_queued(app: Any, account: Any, *, trace: ProtocolTrace | None = None) -> list[Outcome]:
    from pigeon.core.mime import header_str
    from pigeon.core.smtp import SmtpSession, recipients_of

    waiting = held(app, account)
    entries = [e for e in queued(app, account) if e.key not in waiting]
    if not entries:
        return []
    if account.smtp is None:
        raise PigeonError(f"account {account.name}: no [smtp] server configured; {len(entries)} message(s) stay queued")
    store = app.store(account)
    errs = errors(app, account)
    outcomes: list[Outcome] = []
    session: SmtpSession | None = None
    trace = trace or ProtocolTrace(False)
    try:
        for entry in entries:
            data = store.read(entry)
            msg = BytesParser(policy=policy.default).parsebytes(data)
            subject = header_str(msg, "Subject")
            rcpts = recipients_of(msg)
            out = Outcome(entry.key, subject, rcpts, False)
            outcomes.append(out)
            reasons = [r for r in call_isolated(app.pm, "pigeon_before_send", message=msg, account=account) if r]
            if reasons:
                out.error = "vetoed: " + "; ".join(str(r) for r in reasons)
                continue
            wants, required = _wants(msg, account)
            for h in POLICY_HEADERS:
                del msg[h]
            try:  # the PGP plugin applies the account's policy (and Autocrypt) when asked nothing
                protected = app.pm.hook.pigeon_protect_outgoing(message=msg, policy=wants, account=account)
            except Exception as exc:  # the plugin refuses: never send in plaintext instead
                out.error = f"not protected as asked: {exc}"
                continue
            if protected is None and required:
                out.error = "signing/encryption was asked for but no plugin protects outgoing mail"
                continue
            if protected is not None:
                msg = protected
                rcpts = recipients_of(msg) or rcpts
            if not rcpts:
                out.error = "no recipients"
                continue
            try:
                if session is None:
                    creds = credential_source(app.pm, account, account.smtp)
                    session = SmtpSession(account.smtp, creds, trace=trace).connect()
                out.refused = session.send(msg, account.address, rcpts)
            except TransportError as exc:
                out.error = str(exc)
                from pigeon.core.smtp import SendError

                if not isinstance(exc, SendError):
                    break  # connection, TLS or auth failure: keep the rest queued
                continue
            out.sent = True
            sent_folder = account.folder("sent")
            if not store.has_folder(sent_folder):
                store.create_folder(sent_folder)
            store.add(sent_folder, msg.as_bytes(policy=policy.default), flags="S")  # Bcc kept: it is your copy
            store.delete(entry)
            errs.pop(entry.key, None)
            with _journal(app) as j:
                op = j.send_for(account.name, entry.key)
                if op is not None:
                    j.set_status(op.id, "sent")
            call_isolated(app.pm, "pigeon_after_send", message=msg, account=account, recipients=rcpts)
    finally:
        if session is not None:
            session.quit()
        for out in outcomes:
            if out.error:
                prev = errs.get(out.key, {})
                errs[out.key] = {"error": out.error, "at": time.time(), "attempts": int(prev.get("attempts", 0)) + 1, "subject": out.subject}
        known = {e.key for e in queued(app, account)}
        with _journal(app) as j:
            for out in outcomes:
                op = j.send_for(account.name, out.key) if out.error else None
                if op is not None:
                    j.set_error(op.id, out.error)
        _save_errors(app, account, {k: v for k, v in errs.items() if k in known})
    return outcomes
