"""``pigeon sync`` starts lean: what a real sync imports and builds, and that what it no longer
imports at start is still there for whoever asks (the hook value types, the IMAP session's
values, the terminal sanitiser's expressions). Times are in bench/; no timed assertion here."""

from __future__ import annotations

import dataclasses
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO
from sync_support import message

#: what ``pigeon sync`` with nothing to do, or a few messages to fetch, does not need
NOT_FOR_SYNC = (
    "argparse", "json", "pigeon.core.cli_parser", "pigeon.core.imap_values", "pigeon.core.rules",
    "pigeon.core.commands", "pigeon.plugins.spam_classifier", "pigeon.hooks.types_render",
    "pigeon.hooks.types_filter", "pigeon.hooks.types_crypto", "pigeon.hooks.types_ui",
    "encodings.idna",  # an ASCII host name goes to the resolver and TLS as bytes
    "pigeon.core.sync_renames",  # only when a folder the state knows is gone from one side
)

# ``import pigeon`` first: an editable install's import finder brings modules of its own
PROBE = """
import sys, io, contextlib, pigeon
before = set(sys.modules)
from pigeon.core.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main({argv!r})
from pigeon.core import sanitize
new = set(sys.modules) - before
print(status, out.getvalue().split(",")[0], sorted(m for m in {names!r} if m in new), bool(sanitize._compiled))
"""


def _sync_probe(argv: list[str]) -> str:
    code = PROBE.format(argv=argv, names=NOT_FOR_SYNC)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.dovecot
def test_a_sync_imports_only_what_it_uses(mail_user, config_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    (config_dir / "config.toml").write_text(
        f"""
[accounts.work]
address = "{mail_user.name}@example.org"
maildir = "{tmp_path / 'Mail'}"
{mail_user.toml("imap", "tls")}
password_command = ["printf", "%s", "{mail_user.password}"]
"""
    )
    for i in range(3):
        mail_user.append(message(i), "INBOX")
    # the first sync fetches (events on a first sync are off by default), the second has nothing
    # to do; neither needs argparse, json, the rules, the render types or the IMAP values, and
    # their summary lines are plain ASCII: the sanitiser's expressions are never compiled
    assert _sync_probe(["sync", "work"]) == "0 3 down [] False"
    assert _sync_probe(["sync"]) == "0 0 down [] False"


def test_every_hook_type_is_found_where_it_always_was() -> None:
    from pigeon.hooks import types

    names = {n for ns in types.THEMES.values() for n in ns}
    assert set(types.__all__) == names | {"SEVERITY_ORDER", "Severity"}
    assert names <= set(dir(types))
    for theme, members in types.THEMES.items():
        module = __import__(f"pigeon.hooks.types_{theme}", fromlist=["x"])
        for name in members:
            assert getattr(types, name) is getattr(module, name)
        assert {n for n, v in vars(module).items() if isinstance(v, type) and v.__module__ == module.__name__} == set(members)
    with pytest.raises(AttributeError):
        types.NoSuchType  # noqa: B018
    star: dict[str, object] = {}
    exec("from pigeon.hooks.types import *", star)  # the star import a plugin may use
    assert names <= set(star)


def test_hook_types_keep_their_dataclass_behaviour() -> None:
    from pigeon.hooks.types import Credentials, Finding, MessageRef, SyncReport, Verdict

    ref = MessageRef(Path("/m/cur/1"), "INBOX", "work")
    assert ref == MessageRef(Path("/m/cur/1"), "INBOX", "work") and hash(ref) == hash(pickle.loads(pickle.dumps(ref)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.folder = "Junk"  # type: ignore[misc]
    assert "secret" not in repr(Credentials("me", "secret"))
    assert Verdict().add_tags is not Verdict().add_tags
    assert [f.name for f in dataclasses.fields(Finding)] == ["severity", "code", "reason", "source"]
    assert pickle.loads(pickle.dumps(SyncReport("a", downloaded=2))) == SyncReport("a", downloaded=2)


def test_the_imap_values_are_found_where_they_always_were() -> None:
    from pigeon.core import imap, imap_types, imap_values
    from pigeon.core.imap import SelectResult, UIDSet, decode_folder, encode_folder

    assert UIDSet is imap_values.UIDSet is imap_types.UIDSet and SelectResult is imap_values.SelectResult
    for name in imap_types.VALUES:
        assert getattr(imap, name) is getattr(imap_values, name)
    assert str(UIDSet.parse("5,1:3,4")) == "1:5" and decode_folder(encode_folder("Brouillons é")) == "Brouillons é"
    with pytest.raises(AttributeError):
        imap.NoSuchValue  # noqa: B018


def test_spam_settings_default_to_the_classifiers_bands() -> None:
    from pigeon.hooks.types import SettingsRegistry
    from pigeon.plugins import spam
    from pigeon.plugins.spam_classifier import HAM_CUTOFF, SPAM_CUTOFF

    registry = SettingsRegistry()
    spam.pigeon_add_settings(registry)
    assert registry.get("spam.threshold").default == SPAM_CUTOFF  # type: ignore[union-attr]
    assert registry.get("spam.unsure").default == HAM_CUTOFF  # type: ignore[union-attr]


def _slow_text(text: str) -> str:
    """sanitize_text without its shortcut for printable ASCII."""
    from pigeon.core.sanitize import _patterns, _replace

    escape_seq, controls, _, _ = _patterns()
    return controls.sub(_replace, escape_seq.sub("", text.replace("\r\n", "\n")))


def _slow_line(text: str) -> str:
    from pigeon.core.sanitize import _patterns, _replace

    escape_seq, _, line_controls, line_breaks = _patterns()
    return line_controls.sub(_replace, line_breaks.sub(" ", escape_seq.sub("", text)))


def test_the_sanitisers_shortcut_changes_nothing() -> None:
    from pigeon.core.sanitize import sanitize_line, sanitize_text

    rnd = random.Random(4)
    ascii_ = [chr(i) for i in range(128)]
    wide = [*ascii_, "\x85", "\x9b", "\x9d", "\u2028", "\u2029", "\u202e", "\u200e", "\u061c", "\ud800", "é", "\u3000"]
    samples = ["", "plain", "a\tb\nc", "x\r\ny", "\x1b[31mred\x1b[0m", "\x1b]8;;http://e\x07", "café", "tab\there"]
    samples += ["".join(rnd.choice(ascii_ if i % 2 else wide) for _ in range(rnd.randint(1, 16))) for i in range(4000)]
    samples += [chr(i) for i in range(0x3000)]
    for text in samples:
        assert sanitize_text(text) == _slow_text(text), repr(text)
        assert sanitize_line(text) == _slow_line(text), repr(text)
    assert sanitize_line("a\x1b[2Jb\u202e") == "ab" and sanitize_text("a\x07b") == "a\ufffdb"
