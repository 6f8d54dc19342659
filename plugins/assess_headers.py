"""Sender signals: Authentication-Results, From ambiguity, display names, Reply-To and Sender.

SECURITY.md §4.3–4.5 (Mailsploit, Composition Kills DS-01…DS-08) and §6.2 P1–P5, P11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import errors
from email.message import EmailMessage
from typing import Any

from pigeon.hooks.types import Finding
from pigeon.plugins.assess_contacts import Contacts
from pigeon.plugins.assess_domains import (
    ascii_host,
    brand_as_subdomain,
    is_idn,
    lookalike_of,
    mixed_script,
    registrable,
    unicode_host,
)

SINGLETONS = ("subject", "date", "to", "message-id", "content-type", "mime-version", "sender", "reply-to")
INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\u061c\u2000-\u200a\u00ad]")
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
ADDRESS_IN_TEXT = re.compile(r"[\w.+-]+@((?:[\w-]+\.)+[\w-]{2,})", re.U)
DOMAIN_IN_TEXT = re.compile(r"(?<![@\w.-])((?:[\w-]+\.)+(?:com|net|org|gov|edu|info|biz|io|co|uk|de|fr|us|ru|cn)(?:\.[a-z]{2})?)(?![\w.-])", re.I)
ENVELOPE = re.compile(r"^\S+@\S+ (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4}$")
BENIGN_DEFECTS: tuple[type, ...] = (errors.UndecodableBytesDefect, errors.NonASCIILocalPartDefect)
BENIGN_TEXTS = ("encoded word inside quoted string", "whitespace after encoded-word", "whitespace before encoded word")
FREEMAIL = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "aol.com",
     "gmx.com", "gmx.net", "gmx.de", "mail.com", "icloud.com", "yandex.ru", "proton.me",
     "protonmail.com", "zoho.com", "mail.ru", "qq.com", "163.com", "web.de"}
)


@dataclass
class Sender:
    """The From address the assessment reasons about (the first mailbox of the first From)."""

    name: str = ""
    addr: str = ""
    domain: str = ""
    candidates: list[str] = field(default_factory=list)  # every address any From names


@dataclass
class Settings:
    """What the user configured, plus what the assessment knows about them."""

    trusted_ids: frozenset[str] = frozenset()
    own_domains: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    contacts: Contacts | None = None
    _known: set[str] | None = field(default=None, repr=False)

    def known_domains(self) -> set[str]:
        """Own, brand and correspondent domains (computed once per assessment)."""
        if self._known is None:
            known = {registrable(d) for d in self.own_domains | self.brands}
            if self.contacts is not None:
                known |= {registrable(d) for d in self.contacts.correspondent_domains()}
            self._known = {d for d in known if d}
        return self._known


def fix_text(text: str) -> str:
    """Undo the parser's surrogate escapes: raw UTF-8 in headers (SMTPUTF8) becomes text again."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _raw(msg: EmailMessage, name: str) -> list[str]:
    try:
        return [fix_text(str(v)) for k, v in msg.raw_items() if k.lower() == name]
    except Exception:
        return []


def is_envelope_line(raw: str) -> bool:
    """``addr  Thu Aug 22 12:46:39 2002``: an mbox "From " line that a converter kept as a header."""
    return bool(ENVELOPE.match(" ".join(raw.split())))


def _serious(defects: Any) -> bool:
    """Defects that change what an address means; 8-bit bytes and sloppy encoded words do not."""
    for d in defects or ():
        if isinstance(d, BENIGN_DEFECTS):
            continue
        if any(text in str(d) for text in BENIGN_TEXTS):
            continue
        return True
    return False


def _addresses(msg: EmailMessage, name: str) -> tuple[list[tuple[str, str]], bool]:
    """(name, addr) pairs of every header called ``name``, and whether any had serious defects.

    For From, a header that is an mbox envelope line (see ``is_envelope_line``) is skipped.
    """
    out: list[tuple[str, str]] = []
    defects = False
    try:
        values = msg.get_all(name) or []
    except Exception:
        return out, True
    raws = _raw(msg, name)
    for i, value in enumerate(values):
        if name == "from" and i < len(raws) and is_envelope_line(raws[i]):
            continue
        try:
            if _serious(getattr(value, "defects", None)):
                defects = True
            out.extend((fix_text(a.display_name), fix_text(a.addr_spec)) for a in value.addresses)
        except Exception:
            defects = True
    return out, defects


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().lower().rstrip(">") if "@" in addr else ""


def sender_of(msg: EmailMessage) -> Sender:
    pairs, _ = _addresses(msg, "from")
    if not pairs:
        return Sender()
    name, addr = pairs[0]
    return Sender(name, addr, _domain(addr), [a for _, a in pairs])


# --------------------------------------------------------------------------- P2: From ambiguity


def from_ambiguity(msg: EmailMessage) -> list[Finding]:
    """DS-01…DS-07: anything that lets two programs disagree about who sent the message."""
    out: list[Finding] = []
    raws = _raw(msg, "from")
    envelopes = [r for r in raws if is_envelope_line(r)]
    raws = [r for r in raws if not is_envelope_line(r)]
    pairs, defects = _addresses(msg, "from")
    if envelopes:
        author = pairs[0][1] if pairs else "unknown"
        first = " ".join(envelopes[0].split()).split(" ", 1)[0]
        out.append(Finding("notice", "from-envelope", f"An mbox envelope line ({first}) was kept as an extra From header; the author is {author}"))
    addrs = [a for _, a in pairs]
    if not raws:
        others = [h for h in ("sender", "resent-from") if _raw(msg, h)]
        extra = f"; it names {' and '.join(o.title() for o in others)}, which is not the author" if others else ""
        out.append(Finding("warning", "from-missing", f"The message has no From header{extra}"))
    if len(raws) > 1:
        distinct = sorted({a.lower() for a in addrs if "@" in a})
        if len(distinct) > 1:
            out.append(Finding("danger", "from-several", f"The message has {len(raws)} From headers naming different senders ({', '.join(distinct)}); programs differ in which they show"))
        else:
            out.append(Finding("notice", "from-duplicate", f"The message has {len(raws)} From headers"))
    elif len(pairs) > 1:
        out.append(Finding("warning", "from-mailboxes", f"The From header names several senders: {', '.join(addrs)}"))
    for raw in raws:
        if re.search(r"<[^>]*=\?[^?]+\?[bBqQ]\?", raw) or re.search(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=[^\s<>\"]*@", raw):
            out.append(Finding("danger", "from-encoded-address", "The sender address is built from encoded words (Mailsploit): the address shown may not be the real one"))
            break
    for raw in raws:
        if re.search(r"<\s*@[^:>]*:", raw):
            out.append(Finding("warning", "from-route", "The sender address carries a source route (<@host:...>) that hides part of it"))
            break
    for name, addr in pairs:
        local, _, dom = addr.rpartition("@")
        if CONTROL.search(name + addr):
            out.append(Finding("danger", "from-control", "The sender name or address hides control characters (NUL, newline): it may display as someone else"))
        elif not addr or "@" not in addr or not dom:
            out.append(Finding("danger", "from-no-domain", f"The sender address {addr or '(empty)'!r} has no domain: it is not a real address"))
        elif re.search(r"[<>@]", local.strip('"')) or re.search(r"[<>@]", local):
            out.append(Finding("danger", "from-odd-local", f"The sender address {addr!r} contains another address in its local part"))
        if INVISIBLE.search(name + addr):
            out.append(Finding("warning", "from-invisible", "The sender name or address contains invisible or direction-changing characters"))
    if raws and defects and not any(f.severity == "danger" for f in out):
        named = sorted({m.group(0).lower() for r in raws for m in ADDRESS_IN_TEXT.finditer(r)})
        which = f" (it names {', '.join(named)})" if named else ""
        out.append(Finding("warning", "from-malformed", f"The From header is malformed{which}; the sender shown may not be what the servers checked"))
    try:
        hdr_defects = [type(d).__name__ for d in msg.defects]
    except Exception:
        hdr_defects = []
    for defect in ("FirstHeaderLineIsContinuationDefect", "MissingHeaderBodySeparatorDefect", "MisplacedEnvelopeHeaderDefect"):
        if defect in hdr_defects:
            out.append(Finding("warning", "headers-malformed", "The header block is malformed, so some headers may be hidden or read differently by servers"))
            break
    return out


def duplicate_headers(msg: EmailMessage) -> list[Finding]:
    """A15: two Subject, Date, To, ... headers; DKIM and clients may use different copies."""
    counts: dict[str, int] = {}
    try:
        for k, _ in msg.raw_items():
            counts[k.lower()] = counts.get(k.lower(), 0) + 1
    except Exception:
        return []
    dups = [h for h in SINGLETONS if counts.get(h, 0) > 1]
    if not dups:
        return []
    names = ", ".join(h.title() for h in dups)
    return [Finding("warning", "headers-duplicate", f"The message repeats headers that must appear once ({names}); programs differ in which copy they show")]


def invisible_in_subject(msg: EmailMessage) -> list[Finding]:
    try:
        subject = str(msg.get("subject", "") or "")
    except Exception:
        return []
    if INVISIBLE.search(subject.replace("\u00a0", "")):
        return [Finding("notice", "subject-invisible", "The subject contains invisible or direction-changing characters")]
    return []


# --------------------------------------------------------------------------- P3: display name


def display_name(sender: Sender, settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    name = sender.name
    if not name or not sender.addr:
        return out
    real_reg = registrable(sender.domain)
    for m in ADDRESS_IN_TEXT.finditer(name):
        claimed = m.group(0).lower()
        if claimed != sender.addr.lower():
            known = registrable(m.group(1)) in settings.known_domains()
            out.append(Finding("danger" if known else "warning", "name-has-address", f"The sender's name shows the address {claimed}, but the message comes from {sender.addr}"))
            return out
    if "@" not in name:
        for m in DOMAIN_IN_TEXT.finditer(name):
            if registrable(m.group(1)) != real_reg:
                out.append(Finding("notice", "name-has-domain", f"The sender's name mentions {m.group(1)}, but the message comes from {sender.addr}"))
                break
    contacts = settings.contacts
    if contacts is not None and contacts.lookup(sender.addr) is None:
        others = [(a, s, r) for a, s, r in contacts.addresses_named(name) if a != sender.addr.lower()]
        if others and len(name.split()) >= 1 and len(name) >= 4:
            written = [a for a, s, _ in others if s > 0]
            if written:
                out.append(Finding("warning", "name-new-address", f"{name} is a contact you write to at {written[0]}; this message comes from a new address, {sender.addr}"))
            else:
                out.append(Finding("notice", "name-new-address", f"{name} has written before from {others[0][0]}, not from {sender.addr}"))
    return out


# --------------------------------------------------------------------------- P4, P5, P6


def first_time(sender: Sender, msgid: str, settings: Settings) -> list[Finding]:
    contacts = settings.contacts
    if contacts is None or not sender.addr or "@" not in sender.addr:
        return []
    if not contacts.is_new_sender(sender.addr, msgid):
        return []
    extra = "" if contacts.domain_known(sender.domain) else f" (and the first from {sender.domain})"
    return [Finding("notice", "first-time-sender", f"This is the first message from {sender.addr}{extra}")]


def reply_to_and_sender(msg: EmailMessage, sender: Sender, settings: Settings) -> list[Finding]:
    out: list[Finding] = []
    if not sender.domain:
        return out
    from_reg = registrable(sender.domain)
    is_list = any(_raw(msg, h) for h in ("list-id", "list-post", "mailing-list"))
    list_regs = set()
    for h in ("list-post", "list-id", "list-unsubscribe"):
        for value in _raw(msg, h):
            for m in re.finditer(r"@([\w.-]+)|<?([\w-]+(?:\.[\w-]+)+)>", value):
                list_regs.add(registrable(m.group(1) or m.group(2)))
    sender_pairs, _ = _addresses(msg, "sender")
    for _, addr in sender_pairs[:1]:
        sreg = registrable(_domain(addr))
        if sreg and sreg != from_reg:
            # A list or a calendar service sending for someone is everyday mail: say it quietly.
            out.append(Finding("info" if is_list else "notice", "sender-differs", f"Sent by {addr} on behalf of {sender.addr}"))
    reply_pairs, _ = _addresses(msg, "reply-to")
    for _, addr in reply_pairs:
        rreg = registrable(_domain(addr))
        if not rreg or rreg == from_reg or rreg in list_regs:
            continue
        if is_list and not list_regs:
            continue
        # CEO fraud: a trusted-looking From, replies to a free mailbox or to a known name's domain.
        own = from_reg in settings.own_domains or from_reg in settings.known_domains()
        severity = "warning" if (own or (rreg in FREEMAIL and from_reg not in FREEMAIL)) else "notice"
        out.append(Finding(severity, "reply-to-differs", f"Replies go to {addr}, not to the sender {sender.addr}"))
        break
    return out


def lookalike(host: str, what: str, settings: Settings) -> list[Finding]:
    """P6 for one host: look-alike of a known domain, mixed scripts, punycode."""
    out: list[Finding] = []
    if not host:
        return out
    known = settings.known_domains()
    shown = unicode_host(host)
    puny = ascii_host(host)
    label = mixed_script(host)
    target = lookalike_of(host, known)
    if target:
        out.append(Finding("danger", "lookalike-domain", f"{what} {shown} ({puny}) imitates {target}"))
    elif label:
        out.append(Finding("warning", "mixed-script-domain", f"{what} {shown} ({puny}) mixes alphabets in {label!r}"))
    elif is_idn(host):
        out.append(Finding("notice", "punycode-domain", f"{what} {shown} is an international name, written {puny}"))
    brand = brand_as_subdomain(host, known) if not target else None
    if brand:
        out.append(Finding("warning", "brand-subdomain", f"{what} {host} starts with {brand} but belongs to {registrable(host)}"))
    return out


# --------------------------------------------------------------------------- P1: A-R


def _strip_comments(text: str) -> str:
    out, depth, escaped = [], 0, False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def parse_auth_results(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """RFC 8601: (authserv-id, [(method, result, {ptype.property: value})])."""
    parts = [p.strip() for p in _strip_comments(value).split(";")]
    head = parts[0].split()
    authserv = head[0].lower() if head else ""
    results = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        props = {}
        for tok in tokens[1:]:
            if "=" in tok:
                k, _, v = tok.partition("=")
                props[k.lower()] = v.strip('"').lower()
        results.append((method.split("/")[0].lower(), result.lower(), props))
    return authserv, results


def auth_results(msg: EmailMessage, sender: Sender, settings: Settings) -> list[Finding]:
    """P1: only the topmost A-R from a trusted authserv-id counts; the rest are ignored."""
    out: list[Finding] = []
    headers = _raw(msg, "authentication-results")
    parsed = [parse_auth_results(" ".join(h.split())) for h in headers]
    trusted = [p for p in parsed if p[0] in settings.trusted_ids]
    ignored = sorted({p[0] for p in parsed if p[0] not in settings.trusted_ids and p[0]})
    if ignored and settings.trusted_ids:
        out.append(Finding("info", "auth-untrusted", f"Authentication-Results from {', '.join(ignored)} ignored: not a trusted server"))
    from_reg = registrable(sender.domain)
    if not trusted:
        if settings.trusted_ids and from_reg and registrable(sender.domain) in settings.own_domains:
            out.append(Finding("warning", "auth-own-domain-unverified", f"The message claims to come from your own domain {sender.domain} but your server did not authenticate it"))
        elif settings.trusted_ids:
            out.append(Finding("info", "auth-none", "Your server left no authentication result on this message"))
        return out
    _, results = trusted[0]
    by_method: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for method, result, props in results:
        by_method.setdefault(method, []).append((result, props))

    def aligned(props: dict[str, str], keys: tuple[str, ...]) -> bool:
        return any(registrable(props.get(k, "").rsplit("@", 1)[-1]) == from_reg for k in keys if props.get(k))

    dmarc = by_method.get("dmarc", [])
    if any(r == "fail" for r, _ in dmarc):
        out.append(Finding("danger", "auth-dmarc-fail", f"Your server could not confirm that this message came from {sender.domain or 'its sender'} (DMARC failed)"))
        return out
    if any(r == "pass" and (aligned(p, ("header.from",)) or not p.get("header.from")) for r, p in dmarc):
        out.append(Finding("ok", "auth-pass", f"Your server confirmed that this message came from {sender.domain} (DMARC pass)"))
        return out
    dkim_ok = any(r == "pass" and aligned(p, ("header.d", "header.i")) for r, p in by_method.get("dkim", []))
    spf_ok = any(r == "pass" and aligned(p, ("smtp.mailfrom", "smtp.helo")) for r, p in by_method.get("spf", []))
    if dkim_ok or spf_ok:
        out.append(Finding("ok", "auth-pass", f"Your server confirmed the sender domain {sender.domain} ({'DKIM' if dkim_ok else 'SPF'} pass)"))
        return out
    fails = [f"{m}={r}" for m, rs in by_method.items() for r, _ in rs if r in ("fail", "permerror", "softfail")]
    if fails:
        sev = "warning" if any("=fail" in f or "permerror" in f for f in fails) else "notice"
        out.append(Finding(sev, "auth-fail", f"Your server could not authenticate {sender.domain or 'the sender'} ({', '.join(fails)})"))
    for result, props in by_method.get("dkim", []):
        if result == "pass" and props.get("header.d"):
            out.append(Finding("notice", "auth-other-signer", f"Signed by {props['header.d']}, not by the sender's domain {sender.domain} (via {props['header.d']})"))
            break
    if not fails and from_reg in settings.own_domains:
        out.append(Finding("warning", "auth-own-domain-unverified", f"The message claims to come from your own domain {sender.domain} but your server did not authenticate it"))
    return out


def dkim_length(msg: EmailMessage) -> list[Finding]:
    """A16: a DKIM signature with ``l=`` covers only the start of the body."""
    for value in _raw(msg, "dkim-signature"):
        m = re.search(r"(?:^|;)\s*l\s*=\s*(\d+)", " ".join(value.split()))
        if m:
            return [Finding("notice", "dkim-partial", f"The DKIM signature covers only the first {m.group(1)} bytes of the body; text after them may have been added")]
    return []
