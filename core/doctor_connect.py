"""``pigeon doctor --connect``: connect to every configured server and report what was negotiated.

For each account and each of its servers (IMAP, POP3, SMTP), in that order: the TLS version
and cipher actually negotiated, the certificate's subject, issuer and expiry and whether it
was verified (or only pinned), the capabilities seen after TLS, and whether authentication
succeeded (and with which mechanism). Each finding is a ``doctor.Problem``: ``info`` lines
for what worked, one ``severe`` line for the step that failed (so ``pigeon doctor`` exits 1).
"""

from __future__ import annotations

from typing import Any

from pigeon.core.doctor import Problem
from pigeon.core.transport import ProtocolTrace, TransportError, credential_source, where


def _session(server: Any, creds: Any, trace: ProtocolTrace) -> Any:
    if server.protocol == "imap":
        from pigeon.core.imap import ImapSession

        return ImapSession(server, creds, trace=trace)
    if server.protocol == "pop3":
        from pigeon.core.pop3 import Pop3Session

        return Pop3Session(server, creds, trace=trace)
    from pigeon.core.smtp import SmtpSession

    return SmtpSession(server, creds, trace=trace)


def _capabilities(session: Any) -> list[str]:
    caps = getattr(session, "capabilities", None)
    if isinstance(caps, frozenset | set):
        return sorted(caps)
    if isinstance(caps, dict):
        return sorted(caps)
    feats = getattr(session, "features", None)
    return sorted(k.upper() for k in feats) if isinstance(feats, dict) else []


def check_server(app: Any, account: Any, server: Any, trace: ProtocolTrace) -> list[Problem]:
    label = f"{account.name} {where(server)} ({server.security})"
    out: list[Problem] = []
    snapshot: dict[str, Any] = {}
    source = credential_source(app.pm, account, server)
    session: Any = None

    def creds(refresh: bool = False) -> Any:
        # called once TLS is up and capabilities are known: record them before authenticating
        if "tls" not in snapshot:
            snapshot["tls"] = session.tls_info()
            snapshot["caps"] = _capabilities(session)
        return source(refresh)

    session = _session(server, creds, trace)
    error = ""
    try:
        session.connect()
        snapshot.setdefault("tls", session.tls_info())
        snapshot["caps"] = _capabilities(session)
        snapshot["auth"] = session.mechanism or "none needed"
    except TransportError as exc:
        error = str(exc)
    except Exception as exc:  # a credentials provider failing is a finding too
        error = f"{where(server)}: {exc}"
    finally:
        if error == "":
            try:
                session.logout() if hasattr(session, "logout") else session.quit()
            except Exception:
                pass
    info = snapshot.get("tls")
    if info is not None:
        out.append(Problem("info", "connect-tls", label, f"{info.version}, cipher {info.cipher}"))
        trust = "verified" if info.verified else "NOT verified"
        if server.fingerprint:
            trust += ", pinned fingerprint matches"
        out.append(Problem("info", "connect-cert", label, f"certificate {info.subject}, issued by {info.issuer}, expires {info.not_after}, {trust}"))
        if not info.verified and not server.fingerprint:
            out.append(Problem("severe", "connect-unverified", label, "the certificate was not verified (verify = false) and no fingerprint is pinned"))
    elif server.security == "none" and not error:
        out.append(Problem("notice", "connect-plaintext", label, "plaintext connection (loopback only)"))
    if "caps" in snapshot:
        out.append(Problem("info", "connect-capabilities", label, "capabilities: " + (" ".join(snapshot["caps"]) or "(none)")))
    if error:
        out.append(Problem("severe", "connect-failed", label, error))
    else:
        out.append(Problem("info", "connect-auth", label, f"authenticated ({snapshot['auth']})"))
    return out


def check_all(app: Any, trace: ProtocolTrace | None = None) -> list[Problem]:
    trace = trace or ProtocolTrace(False)
    out: list[Problem] = []
    for account in app.config.accounts.values():
        servers = [s for s in (account.imap, account.pop3, account.smtp) if s is not None]
        if not servers:
            out.append(Problem("info", "connect-none", account.name, "no server configured (local Maildir only)"))
        for server in servers:
            out += check_server(app, account, server, trace)
    return out
