"""Filter rules from config.toml: ``[[rules]]`` with a name, a ``match`` query and actions.

    [[rules]]
    name = "lists"
    match = "to:dev@lists.example.org or from:notifications@github.com"
    actions = ["tag +lists -inbox", "move Lists", "stop"]

Actions: ``tag +x -y``, ``move FOLDER``, ``flag``, ``read``, ``delete`` (to Trash), ``stop``
(no later rule or filter acts on the message). ``match`` is the search query language
(``pigeon.core.query``); a rule matches a message when the index finds the message under the
rule's query, so ``pigeon rules test`` counts what ``pigeon count`` counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pigeon.core.errors import PigeonError

if TYPE_CHECKING:  # made where a rule matches: loading the rules (every command) needs it not
    from pigeon.hooks.types import Verdict

ACTION_WORDS = ("tag", "move", "flag", "read", "delete", "stop")
_TAG_RE = re.compile(r"^[+-][^\s()\"]+$")


class RuleError(PigeonError):
    """A rule that cannot be used; the message names the rule."""


@dataclass
class Rule:
    """One validated rule."""

    name: str
    match: str
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    move_to: str | None = None
    flag: bool = False
    read: bool = False
    delete: bool = False
    stop: bool = False
    actions: list[str] = field(default_factory=list)

    def verdict(self) -> Verdict:
        from pigeon.hooks.types import Verdict

        return Verdict(
            add_tags=list(self.add_tags),
            remove_tags=list(self.remove_tags),
            move_to=self.move_to,
            flags_add=("F" if self.flag else "") + ("S" if self.read else ""),
            delete=self.delete,
            final=self.stop,
            reason=f"rule {self.name!r} matched: {self.match}",
            source=f"rule:{self.name}",
        )


def parse_action(rule: str, action: Any) -> tuple[str, list[str]]:
    if not isinstance(action, str) or not action.strip():
        raise RuleError(f"rule {rule!r}: each action must be a non-empty string")
    words = action.split()
    verb = words[0].lower()
    if verb not in ACTION_WORDS:
        raise RuleError(f"rule {rule!r}: unknown action {words[0]!r} (known: {', '.join(ACTION_WORDS)})")
    args = words[1:]
    if verb == "tag":
        if not args:
            raise RuleError(f"rule {rule!r}: 'tag' needs +TAG or -TAG")
        for a in args:
            if not _TAG_RE.match(a):
                raise RuleError(f"rule {rule!r}: bad tag change {a!r} (write +tag or -tag)")
    elif verb == "move":
        if len(args) != 1:
            raise RuleError(f"rule {rule!r}: 'move' needs one folder name (quote none; use / for subfolders)")
        from pigeon.core.maildir import check_folder_name

        try:
            check_folder_name(args[0])
        except PigeonError as exc:
            raise RuleError(f"rule {rule!r}: {exc}") from None
    elif args:
        raise RuleError(f"rule {rule!r}: {verb!r} takes no argument")
    return verb, args


def check_query(name: str, query: str) -> None:
    try:
        from pigeon.core.query import parse
    except ImportError:  # the index is not installed: the query is checked when it is used
        return
    try:
        parse(query)
    except PigeonError as exc:
        raise RuleError(f"rule {name!r}: match: {exc}") from None


def load_rules(raw: Any) -> list[Rule]:
    """Validate the ``rules`` list of config.toml; raises RuleError naming the bad rule."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        raise RuleError("rules: expected [[rules]] tables")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, table in enumerate(raw, 1):
        if not isinstance(table, dict):
            raise RuleError(f"rules: entry {i} is not a table")
        unknown = set(table) - {"name", "match", "actions"}
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RuleError(f"rules: entry {i} needs a name")
        if unknown:
            raise RuleError(f"rule {name!r}: unknown key {sorted(unknown)[0]!r} (known: name, match, actions)")
        if name in seen:
            raise RuleError(f"rule {name!r} is defined twice")
        seen.add(name)
        match = table.get("match")
        if not isinstance(match, str) or not match.strip():
            raise RuleError(f"rule {name!r}: match must be a search query")
        check_query(name, match)
        actions = table.get("actions")
        if isinstance(actions, str):
            actions = [actions]
        if not isinstance(actions, list) or not actions:
            raise RuleError(f"rule {name!r}: actions must be a list such as [\"tag +work\", \"move Work\"]")
        rule = Rule(name, match, actions=[str(a) for a in actions])
        for action in actions:
            verb, args = parse_action(name, action)
            if verb == "tag":
                rule.add_tags += [a[1:] for a in args if a[0] == "+"]
                rule.remove_tags += [a[1:] for a in args if a[0] == "-"]
            elif verb == "move":
                rule.move_to = args[0]
            elif verb == "flag":
                rule.flag = True
            elif verb == "read":
                rule.read = True
            elif verb == "delete":
                rule.delete = True
            elif verb == "stop":
                rule.stop = True
        if rule.delete and rule.move_to:
            raise RuleError(f"rule {name!r}: 'delete' and 'move' contradict each other")
        rules.append(rule)
    return rules


def rules_of(config: Any) -> list[Rule]:
    return load_rules(config.get("rules", []))


def match_query(rule: Rule, message_id: str) -> str:
    """The query that finds one message when the rule matches it."""
    mid = message_id.strip().strip("<>").replace('"', "")
    return f'({rule.match}) and mid:"{mid}"'


def matching(index: Any, rules: list[Rule], message_id: str) -> list[Rule]:
    """The rules that match a message, in order, up to the first that says ``stop``."""
    out = []
    for rule in rules:
        if index.count(match_query(rule, message_id)) > 0:
            out.append(rule)
            if rule.stop:
                break
    return out


def combined_verdict(matched: list[Rule]) -> Verdict | None:
    """One verdict for the matched rules (tags add up, the last move wins, stop is final)."""
    if not matched:
        return None
    from pigeon.hooks.types import Verdict

    v = Verdict(source="rule:" + ",".join(r.name for r in matched))
    reasons = []
    for r in matched:
        rv = r.verdict()
        v.add_tags += [t for t in rv.add_tags if t not in v.add_tags]
        v.remove_tags += [t for t in rv.remove_tags if t not in v.remove_tags]
        v.move_to = rv.move_to or v.move_to
        v.flags_add = "".join(sorted(set(v.flags_add + rv.flags_add)))
        v.delete = v.delete or rv.delete
        v.final = v.final or rv.final
        reasons.append(rv.reason)
    v.reason = "; ".join(reasons)
    return v
