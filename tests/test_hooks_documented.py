"""docs/hooks.md documents every hook the plugin manager knows, with the spec's argument names.

A hook section is a ``## pigeon_name`` heading followed by a code block whose first line is the
signature with argument names only (``pigeon_name(a, b) -> Type``) and a ``Semantics: ...``
line that agrees with the spec's docstring.
"""

from __future__ import annotations

import re

from helpers import REPO
from pigeon.core.pluginmanager import make_plugin_manager

DOC = REPO / "docs" / "hooks.md"
SEMANTICS = re.compile(r"^\s*Semantics:\s*(\w+)", re.M)


def hook_specs() -> dict:
    pm = make_plugin_manager(load_entrypoints=False, load_user=False, report_to_stderr=False)
    return {
        name: caller.spec
        for name, caller in vars(pm.hook).items()
        if name.startswith("pigeon_") and getattr(caller, "spec", None) is not None
    }


def doc_sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## (pigeon_\w+)[ \t]*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def documented_signature(name: str, section: str) -> list[str] | None:
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S)
    if not block:
        return None
    first = block.group(1).strip().splitlines()[0]
    m = re.fullmatch(rf"{name}\((.*)\)\s*->\s*\S.*", first)
    if not m:
        return None
    return [a.split(":")[0].split("=")[0].strip() for a in m.group(1).split(",") if a.strip()]


def test_every_hook_documented_with_its_arguments() -> None:
    specs, sections = hook_specs(), doc_sections()
    assert len(specs) >= 30
    problems = []
    for name, spec in sorted(specs.items()):
        if name not in sections:
            problems.append(f"{name}: no '## {name}' section in docs/hooks.md")
            continue
        args = documented_signature(name, sections[name])
        if args is None:
            problems.append(f"{name}: the section's first code line is not '{name}(args) -> type'")
        elif args != list(spec.argnames):
            problems.append(f"{name}: documented ({', '.join(args)}) but the spec takes ({', '.join(spec.argnames)})")
    for name in sorted(set(sections) - set(specs)):
        problems.append(f"{name}: documented but no such hook")
    assert not problems, "\n".join(problems)


def test_every_spec_states_its_semantics_and_docs_agree() -> None:
    sections = doc_sections()
    problems = []
    for name, spec in sorted(hook_specs().items()):
        doc = spec.function.__doc__ or ""
        m = SEMANTICS.search(doc)
        if not m:
            problems.append(f"{name}: the spec's docstring has no 'Semantics:' line")
            continue
        said = m.group(1)
        opts = spec.opts
        expected = "firstresult" if opts.get("firstresult") else "historic" if opts.get("historic") else None
        if expected and said != expected:
            problems.append(f"{name}: the spec is {expected} but its docstring says {said}")
        if not expected and said not in ("collect", "event"):
            problems.append(f"{name}: 'Semantics: {said}' is not one of firstresult, collect, event, historic")
        documented = SEMANTICS.search(sections.get(name, ""))
        if name in sections and (not documented or documented.group(1) != said):
            problems.append(f"{name}: docs/hooks.md says {documented.group(1) if documented else 'nothing'}, the spec {said}")
    assert not problems, "\n".join(problems)
