"""False positives: the share of real ham that the assessment flags at warning level or worse.

Ham = SpamAssassin ``nice`` (+ ``nice.mbox``), aerc's easy_ham sample and the notmuch corpora,
fed in order through the arrival hook, so that senders become known as they would in a mailbox.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from assess_helpers import make_app, parse
from pigeon.hooks.types import MessageRef

MAX_FP_RATE = 0.02


def ham_messages(corpus: Path) -> Iterator[tuple[str, bytes]]:
    for p in sorted((corpus / "spamassassin" / "nice").rglob("*")):
        if p.is_file():
            yield str(p), p.read_bytes()
    for i, m in enumerate(mailbox.mbox(str(corpus / "spamassassin" / "nice.mbox"))):
        yield f"nice.mbox#{i}", m.as_bytes()
    for folder in (corpus / "aerc" / "jwz-testdata", corpus / "aerc" / "rfc822-testdata", corpus / "notmuch" / "corpora"):
        for p in sorted(folder.rglob("*")):
            if p.is_file() and p.name != "README":
                yield str(p), p.read_bytes()


def test_ham_false_positive_rate_at_most_two_percent(config_dir: Path, corpus: Path) -> None:
    app = make_app(config_dir)
    total = 0
    flagged: list[str] = []
    for name, data in ham_messages(corpus):
        total += 1
        verdicts = app.pm.hook.pigeon_filter_message(message=parse(data), ref=MessageRef(Path(name), "INBOX", "ham"))
        if any(v and "suspicious" in v.add_tags for v in verdicts):
            flagged.append(name)
    assert total >= 470  # 64 SpamAssassin + 95 aerc + 320 notmuch
    rate = len(flagged) / total
    print(f"assessment false positives: {len(flagged)}/{total} = {rate:.1%}: {flagged}")
    assert rate <= MAX_FP_RATE, flagged
