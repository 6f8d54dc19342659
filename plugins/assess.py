"""Built-in plugin: phishing and spoofing assessment (SECURITY.md §4 and §6).

Answers ``pigeon_assess_message`` with findings computed locally: sender ambiguity and
authentication, display-name tricks, look-alike domains, deceptive links and forms, dangerous
attachments, first-time senders. Shows them as banners in the message view, and tags a newly
arrived message ``suspicious`` when any finding is a warning or worse.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl
from pigeon.hooks.types import SEVERITY_ORDER

if TYPE_CHECKING:  # the email package costs ~7 ms: for type checkers only
    from email.message import EmailMessage

    from pigeon.hooks.types import (
        Banner,
        Finding,
        MessageRef,
        RenderContext,
        SettingsRegistry,
        Verdict,
    )

SOURCE = "assess"
CONTACTS_FILE = "senders.sqlite"
#: Findings shown as a banner only when another finding is shown too.
CONTEXT_ONLY = frozenset({"first-time-sender"})
#: Findings the HTML renderer already shows in the view, next to the link's number.
SHOWN_BY_RENDERER = frozenset({"link-mismatch"})

_state: dict[str, Any] = {"config": None, "pm": None}


# --------------------------------------------------------------------------- settings


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    settings.add("assess.enabled", bool, True, "Assess messages for phishing and spoofing signals.")
    settings.add(
        "assess.authserv_ids",
        list,
        [],
        "authserv-ids of your own mail servers: only their Authentication-Results headers are trusted (RFC 8601).",
    )
    settings.add("assess.own_domains", list, [], "Your own (organisation's) domains; the account addresses' domains are added.")
    settings.add("assess.brand_domains", list, [], "More domains that look-alike checks protect (a built-in list of common brands is always used).")
    settings.add("assess.tag", str, "suspicious", "The tag given on arrival to a message with a warning or worse.")


@hookimpl
def pigeon_configure(config: Any) -> None:
    _state["config"] = config


@hookimpl
def pigeon_addhooks(pluginmanager: Any) -> None:
    _state["pm"] = pluginmanager


def _setting(name: str, default: Any) -> Any:
    config = _state["config"]
    return config.get(name, default) if config is not None else default


def state_dir() -> Path:
    from pigeon.core import paths

    config = _state["config"]
    return paths.ensure_private_dir(paths.state_dir(config.get("state_dir") or None if config else None))


@contextlib.contextmanager
def open_contacts() -> Iterator[Any]:
    from pigeon.plugins.assess_contacts import Contacts

    contacts = Contacts(state_dir() / CONTACTS_FILE)
    try:
        _learn_sent(contacts)
        yield contacts
    finally:
        contacts.close()


def _sent_folders() -> list[Path]:
    config = _state["config"]
    if config is None:
        return []
    out = []
    for acct in config.accounts.values():
        name = acct.folder("sent")
        for candidate in (acct.maildir / name, acct.maildir / ("." + name.replace("/", "."))):
            if (candidate / "cur").is_dir():
                out.append(candidate)
                break
    return out


def _learn_sent(contacts: Any) -> None:
    """Feed the recipients of the Sent folders, when they changed since the last look."""
    from pigeon.plugins.assess_contacts import learn_sent_folder

    for folder in _sent_folders():
        try:
            stamp = str(max((folder / d).stat().st_mtime_ns for d in ("cur", "new") if (folder / d).is_dir()))
        except (OSError, ValueError):
            continue
        key = f"sent-mtime:{folder}"
        if contacts.meta(key) != stamp:
            learn_sent_folder(contacts, folder)
            contacts.set_meta(key, stamp)


def make_settings(contacts: Any) -> Any:
    from pigeon.plugins.assess_domains import DEFAULT_BRANDS, registrable
    from pigeon.plugins.assess_headers import Settings

    config = _state["config"]
    own = {str(d).lower() for d in _setting("assess.own_domains", [])}
    if config is not None:
        own |= {a.address.rsplit("@", 1)[-1].lower() for a in config.accounts.values()}
    brands = set(DEFAULT_BRANDS) | {str(d).lower() for d in _setting("assess.brand_domains", [])}
    return Settings(
        trusted_ids=frozenset(str(i).lower() for i in _setting("assess.authserv_ids", [])),
        own_domains=frozenset(registrable(d) for d in own if d),
        brands=frozenset(brands),
        contacts=contacts,
    )


# --------------------------------------------------------------------------- the assessment


def link_findings(msg: EmailMessage, settings: Any) -> list[Finding]:
    """P7–P9: link text naming another host, IP and userinfo links, odd schemes, forms."""
    from pigeon.hooks.types import Finding
    from pigeon.plugins.assess_domains import SHORTENERS, is_ip_literal, registrable
    from pigeon.plugins.assess_headers import lookalike
    from pigeon.plugins.assess_links import (
        DANGEROUS_SCHEMES,
        message_texts,
        parse_html,
        plain_urls,
        split_url,
        text_host,
    )

    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    known = settings.known_domains()

    def add(severity: str, code: str, reason: str) -> None:
        if (code, reason) not in seen:
            seen.add((code, reason))
            out.append(Finding(severity, code, reason, SOURCE))

    checked: dict[tuple[str, bool], None] = {}

    def check_target(href: str, in_html: bool) -> str | None:
        parts = split_url(href)
        if parts is None:
            return None
        # Newsletters repeat the same few hosts hundreds of times: judge each host once.
        key = (f"{parts.scheme}://{parts.userinfo}@{parts.host}", in_html)
        if key in checked:
            return parts.host if parts.scheme in ("http", "https", "ftp") else None
        checked[key] = None
        if parts.scheme in DANGEROUS_SCHEMES:
            add("warning", "link-scheme", f"A link uses the {parts.scheme}: scheme, which can run code or open local files")
            return None
        if parts.scheme not in ("http", "https", "ftp") or not parts.host:
            return None
        if is_ip_literal(parts.host):
            add("warning" if in_html else "notice", "link-ip", f"A link goes to a bare IP address ({parts.host}) instead of a named site")
        if parts.userinfo:
            fake = parts.userinfo.split(":", 1)[0]
            add("warning", "link-userinfo", f"A link hides its real site behind {fake}@: it goes to {parts.host}")
        if parts.host in SHORTENERS:
            add("notice", "link-shortener", f"A link goes through the URL shortener {parts.host}, which hides its target")
        for f in lookalike(parts.host, "A link goes to", settings):
            if f.code != "punycode-domain" or in_html:
                add(f.severity, "link-" + f.code, f.reason)
        return parts.host

    plain, html = message_texts(msg)
    for text in plain:
        for url in plain_urls(text)[:500]:
            check_target(url, in_html=False)
    forms = passwords = 0
    for doc in html:
        facts = parse_html(doc)
        forms += len(facts.forms)
        passwords += facts.password_inputs
        for anchor in facts.anchors[:1000]:
            host = check_target(anchor.href, in_html=True)
            shown = text_host(anchor.text)
            if host and shown and not is_ip_literal(host):
                if registrable(shown) != registrable(host):
                    severity = "danger" if registrable(shown) in known else "warning"
                    add(severity, "link-mismatch", f"A link reads {anchor.text.strip()[:80]!r} but goes to {host}")
            elif host and shown and is_ip_literal(host):
                add("danger", "link-mismatch", f"A link reads {anchor.text.strip()[:80]!r} but goes to the IP address {host}")
    if passwords:
        add("danger", "form-password", "The message holds a form asking for a password")
    elif forms:
        add("warning", "form", "The message holds a form that sends what you type to a web site")
    return out


def assess(msg: EmailMessage, contacts: Any = None) -> list[Finding]:
    """Every finding of this plugin for one message, most severe first."""
    from pigeon.hooks.types import Finding
    from pigeon.plugins import assess_headers as h
    from pigeon.plugins.assess_attach import assess_attachments

    settings = make_settings(contacts)
    sender = h.sender_of(msg)
    msgid = str(msg.get("message-id", "") or "").strip() if _safe_get(msg) else ""
    findings: list[Finding] = []

    def run(check: Any, *args: Any) -> list[Finding]:
        # One check tripping over hostile input must not hide the others' findings.
        try:
            result = check(*args)
        except Exception as exc:
            result = [Finding("info", "assess-error", f"{getattr(check, '__name__', 'check')} failed: {type(exc).__name__}")]
        findings.extend(result)
        return result

    run(h.auth_results, msg, sender, settings)
    run(h.from_ambiguity, msg)
    run(h.duplicate_headers, msg)
    run(h.dkim_length, msg)
    run(h.invisible_in_subject, msg)
    run(h.display_name, sender, settings)
    run(h.first_time, sender, msgid, settings)
    run(h.reply_to_and_sender, msg, sender, settings)
    if sender.domain:
        run(h.lookalike, sender.domain, "The sender's domain", settings)
    reply_domains = {h._domain(a) for _, a in h._addresses(msg, "reply-to")[0][:3]} - {sender.domain, ""}
    for dom in sorted(reply_domains):
        run(h.lookalike, dom, "The Reply-To domain", settings)
    run(link_findings, msg, settings)
    run(assess_attachments, msg)
    for f in findings:
        f.source = f.source or SOURCE
    findings.sort(key=lambda f: -SEVERITY_ORDER.get(f.severity, 0))
    return findings


def _safe_get(msg: EmailMessage) -> bool:
    try:
        msg.get("message-id")
        return True
    except Exception:
        return False


def worst(findings: list[Finding]) -> str:
    """The most severe severity among findings ('ok' when there is none)."""
    best = "ok"
    for f in findings:
        if SEVERITY_ORDER.get(f.severity, 0) > SEVERITY_ORDER.get(best, 0):
            best = f.severity
    return best


def is_suspicious(findings: list[Finding]) -> bool:
    return SEVERITY_ORDER.get(worst(findings), 0) >= SEVERITY_ORDER["warning"]


def all_findings(msg: EmailMessage, ref: MessageRef | None) -> list[Finding]:
    """The findings of every assessment plugin (ours and the user's)."""
    pm = _state["pm"]
    if pm is None:
        with open_contacts() as contacts:
            return assess(msg, contacts)
    from pigeon.core.pluginmanager import call_isolated

    out: list[Finding] = []
    for result in call_isolated(pm, "pigeon_assess_message", message=msg, ref=ref):
        out.extend(result or [])
    out.sort(key=lambda f: -SEVERITY_ORDER.get(f.severity, 0))
    return out


# --------------------------------------------------------------------------- hooks


@hookimpl
def pigeon_assess_message(message: EmailMessage, ref: MessageRef | None) -> list[Finding] | None:
    if not _setting("assess.enabled", True):
        return None
    with open_contacts() as contacts:
        return assess(message, contacts)


@hookimpl
def pigeon_message_banners(message: EmailMessage, ctx: RenderContext) -> list[Banner] | None:
    if ctx.purpose != "view" or not _setting("assess.enabled", True):
        return None
    return banners_for(all_findings(message, ctx.ref))


def banners_for(findings: list[Finding]) -> list[Banner]:
    """Banners for the view: a headline when something is wrong, then each finding."""
    from pigeon.hooks.types import Banner

    shown = [f for f in findings if SEVERITY_ORDER.get(f.severity, 0) >= SEVERITY_ORDER["notice"] and f.code not in SHOWN_BY_RENDERER]
    # A first message from someone is everyday mail: worth saying only next to another signal.
    if all(f.code in CONTEXT_ONLY for f in shown):
        shown = []
    out: list[Banner] = []
    if is_suspicious(findings):
        out.append(Banner(worst(findings), "Be careful with this message:", SOURCE))  # type: ignore[arg-type]
    for f in shown:
        out.append(Banner(f.severity, f.reason, f.source or SOURCE))
    if not shown:
        out.extend(Banner("ok", f.reason, f.source or SOURCE) for f in findings if f.severity == "ok")
    return out


@hookimpl(tryfirst=True)
def pigeon_filter_message(message: EmailMessage, ref: MessageRef) -> Verdict | None:
    """Tag a new message suspicious, then remember its sender (after judging it)."""
    from pigeon.hooks.types import Verdict

    if not _setting("assess.enabled", True):
        return None
    findings = all_findings(message, ref)
    from pigeon.plugins.assess_headers import sender_of

    sender = sender_of(message)
    if sender.addr and "@" in sender.addr:
        with open_contacts() as contacts:
            msgid = str(message.get("message-id", "") or "").strip() if _safe_get(message) else ""
            contacts.add_received(sender.name, sender.addr, msgid)
    if not is_suspicious(findings):
        return None
    top = [f.reason for f in findings if SEVERITY_ORDER.get(f.severity, 0) >= SEVERITY_ORDER["warning"]]
    return Verdict(add_tags=[_setting("assess.tag", "suspicious")], reason="; ".join(top[:3]), source=SOURCE)


@hookimpl
def pigeon_after_send(message: EmailMessage, account: Any, recipients: list[str]) -> None:
    """Everyone the user writes to becomes a known contact."""
    from pigeon.plugins.assess_contacts import recipients_of

    named = {addr.lower(): name for name, addr in recipients_of(message)}
    with open_contacts() as contacts:
        contacts.add_sent((named.get(r.lower(), ""), r) for r in recipients)
