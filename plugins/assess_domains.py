"""Domain helpers for the assessment: registrable domains, look-alikes, scripts, IP literals.

Everything here is local and offline: the Public Suffix List comes bundled with the
``publicsuffixlist`` package (a fallback heuristic is used when it is missing), and the
confusables table is a small hand-made subset of Unicode UTS #39 aimed at domain names.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata

#: Well-known domains that phishing imitates; the user's contacts and own domains are added.
DEFAULT_BRANDS: tuple[str, ...] = (
    "paypal.com", "google.com", "gmail.com", "googlemail.com", "apple.com", "icloud.com",
    "microsoft.com", "outlook.com", "live.com", "office.com", "amazon.com", "facebook.com",
    "instagram.com", "linkedin.com", "netflix.com", "dropbox.com", "docusign.com", "github.com",
    "yahoo.com", "ebay.com", "dhl.com", "fedex.com", "ups.com", "wellsfargo.com", "chase.com",
    "bankofamerica.com", "americanexpress.com", "coinbase.com", "binance.com", "adobe.com",
)

#: URL shorteners: the real target is hidden until the link is followed.
SHORTENERS: frozenset[str] = frozenset(
    {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly",
     "cutt.ly", "tiny.cc", "shorturl.at", "t.ly", "rb.gy", "bl.ink", "s.id", "v.gd"}
)

#: A few multi-label public suffixes for the fallback when publicsuffixlist is missing.
_FALLBACK_SUFFIXES = frozenset(
    {"co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.jp", "ne.jp",
     "or.jp", "co.nz", "com.br", "com.cn", "com.tw", "co.in", "co.za", "com.mx", "co.kr"}
)

# Characters that render like a Latin letter or digit in common fonts (subset of UTS #39).
_CONFUSABLE = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ո": "n", "ս": "u", "ք": "p",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
    # Latin look-alikes and digits
    "ı": "i", "ɩ": "i", "ℓ": "l", "ǀ": "l", "|": "l", "0": "o", "1": "l", "I": "l", "5": "s",
    "ß": "b", "ø": "o", "đ": "d", "ħ": "h", "ł": "l",
}
_SEQUENCES = (("rn", "m"), ("vv", "w"))

# UTS #39 "highly restrictive": these script sets may share a label.
_ALLOWED_MIXES = (
    {"LATIN", "HAN", "HIRAGANA", "KATAKANA"},
    {"LATIN", "HAN", "BOPOMOFO"},
    {"LATIN", "HAN", "HANGUL"},
)


@functools.lru_cache(maxsize=1)
def _psl():  # noqa: ANN202 - PublicSuffixList or None
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:  # pragma: no cover - the dependency is declared
        return None
    return _quick_psl(PublicSuffixList) or PublicSuffixList(accept_unknown=False)


def _quick_psl(cls):  # noqa: ANN001, ANN202 - PublicSuffixList or None
    """The list as ``PublicSuffixList(accept_unknown=False)`` builds it, in ~15 ms instead of ~27.

    The library's parser calls a few functions per line of its ~10,000 rules and runs every rule
    through the IDNA codec; only the ~450 non-ASCII rules change under it (an ASCII rule is its
    own encoding). ``pigeon show`` pays this on every message with a link. Relies on the
    parser's two attributes; anything unexpected returns None and the library parses.
    """
    try:
        from publicsuffixlist import PSLFILE

        with open(PSLFILE, "rb") as fh:
            text = fh.read().decode("utf-8", "surrogateescape")
        lines = (line.lower().split(" ")[0].rstrip() for line in text.splitlines())
        rules = {s for s in lines if s and not s.startswith("//")}
        maxlabel = max(s.count(".") + 1 for s in rules)
        rules |= {("!" if s[0] == "!" else "") + s.lstrip("!").encode("idna").decode("ascii")
                  for s in rules if not s.isascii()}
        psl = cls(source=[], accept_unknown=False)
        if not isinstance(getattr(psl, "_publicsuffix", None), frozenset) or not isinstance(getattr(psl, "_maxlabel", None), int):
            return None
        psl._publicsuffix = frozenset(rules)
        psl._maxlabel = maxlabel
        if psl.privatesuffix("www.example.co.uk") != "example.co.uk":
            return None
        return psl
    except Exception:  # noqa: BLE001 - a changed library: let it parse its own list
        return None


def has_known_suffix(host: str) -> bool:
    """True when the host ends in a real public suffix (``invoice.pdf`` does not)."""
    host = ascii_host(host)
    psl = _psl()
    if psl is None:
        return bool(re.search(r"\.[a-z]{2,}$", host))
    return psl.publicsuffix(host) is not None


def ascii_host(host: str) -> str:
    """The host in lower-case ASCII (punycode for international names); '' when invalid."""
    host = host.encode("utf-8", "replace").decode("utf-8").strip().rstrip(".")
    if not host:
        return ""
    try:
        return host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return host.lower()


def unicode_host(host: str) -> str:
    """The host as a reader sees it: punycode labels decoded."""
    labels = []
    for label in host.split("."):
        if label.lower().startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


@functools.lru_cache(maxsize=4096)
def registrable(host: str) -> str:
    """The registrable domain (eTLD+1) of a host: ``mail.google.com`` -> ``google.com``."""
    host = ascii_host(host)
    if not host or is_ip_literal(host):
        return host
    psl = _psl()
    if psl is not None:
        found = psl.privatesuffix(host)
        if found:
            return found
        if psl.publicsuffix(host) is not None:
            return host  # the host is itself a public suffix
    # An unknown top-level domain (.example, .local, .lan): take the last two labels.
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _FALLBACK_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_IP_LIKE = re.compile(r"^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}\.?$", re.I)


def is_ip_literal(host: str) -> bool:
    """True for dotted, octal, hex and dword IPv4 forms and for IPv6 literals."""
    host = host.strip().strip("[]")
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return bool(_IP_LIKE.match(host))


@functools.lru_cache(maxsize=8192)
def skeleton(text: str) -> str:
    """A form under which look-alike strings compare equal (``pаypal`` == ``paypaI`` == ``paypal``)."""
    decomposed = unicodedata.normalize("NFKD", unicode_host(text))
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        out.append(_CONFUSABLE.get(ch, ch))
    s = "".join(out).lower()
    for a, b in _SEQUENCES:
        s = s.replace(a, b)
    return s


def scripts(label: str) -> set[str]:
    """The scripts of the letters in a label (digits and punctuation are common to all)."""
    found = set()
    for ch in label:
        if not ch.isalpha():
            continue
        try:
            name = unicodedata.name(ch)
        except ValueError:
            continue
        first = name.split(" ", 1)[0]
        if first == "CJK":
            first = "HAN"
        found.add(first)
    return found


def mixed_script(host: str) -> str | None:
    """The first label of a host that mixes scripts (``pаypal``: Latin + Cyrillic), else None."""
    for label in unicode_host(host).split("."):
        found = scripts(label)
        if len(found) > 1 and not any(found <= allowed for allowed in _ALLOWED_MIXES):
            return label
    return None


def is_idn(host: str) -> bool:
    """True when the host has a punycode label or non-ASCII characters."""
    return any(lbl.lower().startswith("xn--") for lbl in host.split(".")) or not host.isascii()


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, stopping early past ``limit`` (returns limit + 1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def lookalike_of(host: str, known: set[str] | frozenset[str]) -> str | None:
    """The known registrable domain that ``host`` imitates, or None.

    ``known`` holds registrable domains in ASCII. A host imitates a domain when its registrable
    domain differs from it but has the same skeleton, or is one edit away from it (for names
    long enough that one edit is not a coincidence).
    """
    original = host.strip().rstrip(".")
    reg = registrable(original)
    if not reg or reg in known or is_ip_literal(reg):
        return None
    # Keep the original case of the registrable part: a capital I imitates an l.
    shown = unicode_host(reg)
    if original.lower().endswith(reg):
        tail = unicode_host(original[-len(reg):])
    elif original.lower().endswith(shown.lower()):
        tail = original[-len(shown):]
    else:
        tail = shown
    sk = skeleton(tail)
    name = reg.split(".", 1)[0]
    for dom in known:
        if dom == reg:
            continue
        if skeleton(dom) == sk:
            return dom
        dom_name = dom.split(".", 1)[0]
        if (
            len(dom_name) >= 5
            and not reg.startswith("xn--")
            and reg.rsplit(".", 1)[-1] == dom.rsplit(".", 1)[-1]
            and edit_distance(name, dom_name, 1) == 1
        ):
            return dom
    return None


def brand_as_subdomain(host: str, known: set[str] | frozenset[str]) -> str | None:
    """A known domain spelled in the left-most labels of a foreign host (``paypal.com.evil.tld``)."""
    host = ascii_host(host)
    reg = registrable(host)
    if not reg or reg in known or host == reg:
        return None
    prefix = host[: -len(reg)].rstrip(".")
    for dom in known:
        if prefix == dom or prefix.endswith("." + dom) or prefix.startswith(dom + ".") or ("." + dom + ".") in ("." + prefix + "."):
            return dom
    return None
