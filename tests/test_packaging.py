"""Guards for the package-dir mapping (STYLE.md §3.1)."""

from __future__ import annotations

import re
import tomllib

from helpers import REPO


def test_every_subpackage_is_listed() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    mapping = pyproject["tool"]["setuptools"]["package-dir"]
    found = set()
    for import_name, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            parts = [] if str(rel) == "." else list(rel.parts)
            found.add(".".join([import_name, *parts]))
    assert found == listed, f"unlisted: {found - listed}, stale: {listed - found}"


def test_no_bare_imports_of_top_level_folders() -> None:
    bare = re.compile(r"^\s*(from|import)\s+(core|hooks|plugins)(\.|\s|$)", re.M)
    offenders = []
    for folder in ("core", "hooks", "plugins", "tests", "user-config", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            if bare.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_hooks_import_nothing_from_core() -> None:
    imports_core = re.compile(r"^\s*(from|import)\s+pigeon\.core\b", re.M)
    for path in (REPO / "hooks").rglob("*.py"):
        assert not imports_core.search(path.read_text()), path


def test_core_never_imports_ui_or_gpg() -> None:
    forbidden = re.compile(r"^\s*(from|import)\s+(prompt_toolkit|gnupg)\b", re.M)
    for path in (REPO / "core").rglob("*.py"):
        assert not forbidden.search(path.read_text()), path
