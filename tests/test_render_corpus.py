"""Every message of the shared corpus renders: exit 0, and nothing that could drive a terminal.

The corpus is walked the way its ``check_parse.py`` walks it (keys, oracles and docs skipped).
Most files go through the function ``pigeon show`` uses, in-process with one App, for speed; a
handful also go through the real command.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
from helpers import CORPUS, run_pigeon
from pigeon.core.app import App
from pigeon.core.cli_show import show_text
from pigeon.core.mime import looks_like_mbox

# C0 but TAB and LF, DEL, C1, and the bidi embeddings, overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")

# The messages on which the stdlib raises in get_content() or a header read (check_parse.py).
STDLIB_FAILURES = [
    "aerc/rfc822-testdata/valid/quoted-mime-type",
    "flanker/messages/false-multipart.eml",
    "mail-parser/mails/mail_malformed_1",
    "mime-torture/imc-mimetest/EM1.1.1",
    "mime-torture/imc-mimetest/M4.1.2",
    "mime-torture/imc-mimetest/M5",
    "mimekit/messages/delivery-status.txt",
    "notmuch/corpora/lkml/cur/1382298770.002930:2,",
    "python-stdlib/messages/msg_25.txt",
    "spamassassin/spam/utf16.eml",
]


def _check_parse():
    spec = importlib.util.spec_from_file_location("corpus_check_parse", CORPUS / "check_parse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # stdlib only; defines functions, runs nothing
    return module


def corpus_files() -> list[Path]:
    cp = _check_parse()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(CORPUS):
        dirnames[:] = sorted(d for d in dirnames if d not in cp.SKIP_DIRS)
        if Path(dirpath) == CORPUS:
            continue
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and cp.is_candidate(path):
                out.append(Path(path))
    return out


def test_every_corpus_message_renders_clean(corpus: Path, config_dir: Path) -> None:
    files = corpus_files()
    assert len(files) == 820  # 813 messages and 7 mboxes, as the corpus README counts them
    app = App.create(config_dir)
    failures: list[str] = []
    mboxes = 0
    for path in files:
        rel = str(path.relative_to(corpus))
        try:
            text = show_text(app, path.read_bytes(), name=str(path), width=80)
            text.encode("utf-8")  # no lone surrogates: printable as it is
        except Exception as exc:  # collect them all, then fail once with the list
            failures.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        bad = FORBIDDEN.search(text)
        if bad:
            failures.append(f"{rel}: {bad.group()!r} in the output")
        if looks_like_mbox(path.read_bytes(), str(path)):
            mboxes += 1
        if not text.strip():
            failures.append(f"{rel}: empty output")
    assert not failures, "\n".join(failures)
    assert mboxes == 7  # as check_parse.py counts them (two hold a single message)
    assert not app.pm.errors, [e.line() for e in app.pm.errors]


@pytest.mark.parametrize("rel", STDLIB_FAILURES)
def test_stdlib_failures_render_through_the_command(corpus: Path, rel: str) -> None:
    result = run_pigeon("show", str(corpus / rel))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("utf-8")
    assert not FORBIDDEN.search(out)
    assert out.strip()
    assert not result.stderr


def test_show_mbox_through_the_command(corpus: Path) -> None:
    result = run_pigeon("show", str(corpus / "mimekit/mbox/simple.mbox.txt"))
    assert result.returncode == 0, result.stderr
    assert "═══ message 3 of 3" in result.stdout.decode()


def test_specific_corpus_renderings(corpus: Path, config_dir: Path) -> None:
    app = App.create(config_dir)

    def show(rel: str) -> str:
        return show_text(app, (corpus / rel).read_bytes(), name=rel, width=80)

    swedish = show("mime-torture/imc-mimetest/EM1.1.1")
    assert "LATIN CAPITAL LETTER A WITH RING ABOVE     Å" in swedish
    dsn = show("mimekit/messages/delivery-status.txt")
    assert "To: unlisted-recipients:;" in dsn and "Final-Recipient: RFC822; newsletter-request@imusic.com" in dsn
    assert "│ Subject: unsubscribe" in dsn
    spam = show("spamassassin/spam/009")
    assert "[5] http://slashdot.org@1113343456/" in spam
