"""Compile the rules that Sieve can express into one Sieve script (RFC 5228).

Extensions: fileinto, imap4flags (RFC 5232: tags become IMAP keywords, ``flag`` and ``read``
the \\Flagged and \\Seen flags), variables (RFC 5229) and body (RFC 5173). The script keeps
pigeon's semantics: rules run in order, tags add up, the last move wins, ``stop`` ends the rule
list, and the message is filed once at the end (no duplicate copies from several ``fileinto``).

Query terms Sieve can test: free words, ``from:``, ``to:`` (To and Cc), ``cc:``, ``subject:``,
``body:``, ``size:`` (``>N``/``<N``), joined with and/or/not. A rule using anything else
(tags, folders, dates, threads, ``is:``, ``has:`` …) is left to pigeon and listed as skipped.
Sieve compares substrings without stemming, so a Sieve rule may match a little more or less
than the index does.
"""

from __future__ import annotations

import re
from typing import Any

from pigeon.core.rules import Rule

HEADERS = {"from": ["From"], "to": ["To", "Cc"], "cc": ["Cc"], "subject": ["Subject"]}
FREE_HEADERS = ["From", "To", "Cc", "Subject"]
_KEYWORD = re.compile(r"^[!#$&'+.0-9;<=>@A-Z^_`a-z|~-]+$")  # IMAP atom characters a keyword may use
FLAG_TAGS = {"flagged": ("\\\\Flagged", False), "unread": ("\\\\Seen", True), "replied": ("\\\\Answered", False)}


class Unsupported(Exception):
    """A rule part Sieve cannot express."""


def quote(text: str) -> str:
    """A Sieve quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strings(items: list[str]) -> str:
    return quote(items[0]) if len(items) == 1 else "[" + ", ".join(quote(i) for i in items) + "]"


def _match(value: str) -> tuple[str, str]:
    """(match type, key) for a query word: a trailing * becomes a :matches pattern."""
    if value.endswith("*") and len(value) > 1:
        stem = value[:-1].replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
        return ":matches", "*" + stem + "*"
    return ":contains", value


def test_for(node: Any) -> str:
    """A Sieve test for a query tree node (``pigeon.core.query.Node``)."""
    kind = node.kind
    if kind == "all":
        return "true"
    if kind in ("and", "or"):
        parts = [test_for(c) for c in node.children]
        return f"{'allof' if kind == 'and' else 'anyof'}({', '.join(parts)})"
    if kind == "not":
        return f"not {test_for(node.children[0])}"
    prefix, value = node.prefix, node.value
    if prefix in HEADERS:
        mt, key = _match(value)
        return f"header {mt} {_strings(HEADERS[prefix])} {quote(key)}"
    if prefix == "body":
        mt, key = _match(value)
        return f"body :text {mt} {quote(key)}"
    if prefix == "":
        mt, key = _match(value)
        return f"anyof(header {mt} {_strings(FREE_HEADERS)} {quote(key)}, body :text {mt} {quote(key)})"
    if prefix == "size":
        m = re.fullmatch(r"([<>])\s*(\d+)([kKmM]?)", value.strip())
        if not m:
            raise Unsupported(f"size:{value} (Sieve takes size:>N or size:<N)")
        unit = m.group(3).upper()
        return f"size {':over' if m.group(1) == '>' else ':under'} {m.group(2)}{unit}"
    raise Unsupported(f"{prefix}: terms")


def _uses(test: str) -> set[str]:
    return {"body"} if "body :text" in test else set()


def compile_rule(rule: Rule, trash: str) -> tuple[list[str], set[str]]:
    """The Sieve lines of one rule and the extensions they need; raises Unsupported."""
    from pigeon.core.query import parse

    test = test_for(parse(rule.match))
    body: list[str] = []
    for tag in rule.add_tags:
        body.append(_flag_line(tag, add=True))
    for tag in rule.remove_tags:
        body.append(_flag_line(tag, add=False))
    if rule.flag:
        body.append('addflag "\\\\Flagged";')
    if rule.read:
        body.append('addflag "\\\\Seen";')
    if rule.delete:
        body.append(f'set "folder" {quote(trash)};')
    elif rule.move_to:
        body.append(f'set "folder" {quote(rule.move_to)};')
    if rule.stop:
        body.append('set "stop" "1";')
    body = [b for b in body if b]
    lines = [f"# rule {rule.name}: {rule.match}".replace("\n", " "),
             f'if allof(string :is "${{stop}}" "", {test}) {{']
    lines += ["    " + b for b in body] or ["    # (no action Sieve can take)"]
    lines.append("}")
    return lines, _uses(test)


def _flag_line(tag: str, add: bool) -> str:
    if tag == "inbox":
        return ""  # leaving the inbox is the move itself
    if tag in FLAG_TAGS:
        flag, inverse = FLAG_TAGS[tag]
        verb = "addflag" if add != inverse else "removeflag"
        return f'{verb} "{flag}";'
    if not _KEYWORD.match(tag):
        raise Unsupported(f"tag {tag!r} is not a valid IMAP keyword")
    return f"{'addflag' if add else 'removeflag'} {quote(tag)};"


def compile_rules(rules: list[Rule], account: Any = None) -> tuple[str, dict[str, str]]:
    """The Sieve script for the rules it can express, and {rule name: why not} for the rest."""
    trash = account.folder("trash") if account is not None else "Trash"
    skipped: dict[str, str] = {}
    blocks: list[str] = []
    needs = {"fileinto", "imap4flags", "variables"}
    try:
        import pigeon.core.query  # noqa: F401
    except ImportError:
        return "", {r.name: "the search index (query parser) is not installed" for r in rules}
    for rule in rules:
        try:
            lines, uses = compile_rule(rule, trash)
        except Unsupported as exc:
            skipped[rule.name] = f"uses {exc}"
            continue
        except Exception as exc:  # a query error is reported by rules check already
            skipped[rule.name] = str(exc)
            continue
        needs |= uses
        blocks.append("\n".join(lines))
    head = [
        "# Generated by pigeon from the [[rules]] of config.toml; edits here are overwritten.",
        f"require {_strings(sorted(needs))};",
        'set "folder" "";',
        'set "stop" "";',
    ]
    tail = ['if string :is "${folder}" "" {', "    keep;", "} else {", '    fileinto "${folder}";', "}"]
    return "\n".join(head + blocks + tail) + "\n", skipped
