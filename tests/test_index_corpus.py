"""Every message of the shared corpus indexes without error."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

from index_helpers import CORPUS
from pigeon.core.index import Index


def test_every_corpus_message_indexes(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite", [("corpus", CORPUS)])
    report = index.update()
    assert report.errors == []
    assert index.count("*") > 600
    # A file is left out only when it is not mail by notmuch's rule: none of From, To, Subject
    # (the keys, oracles and docs of the corpus, MIME parts, BSMTP transcripts, an Outlook .msg).
    skipped = [Path(p) for (p,) in index.db.conn.execute("SELECT path FROM files WHERE docid IS NULL")]
    assert report.not_mail == len(skipped)
    for path in skipped:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        msg = message_from_bytes(data, policy=compat32)
        assert not any(str(msg.get(h) or "").strip() for h in ("From", "To", "Subject")), path
    # and every indexed message can be found by its id and shows up in a thread
    rows = index.db.conn.execute("SELECT msgid FROM messages").fetchall()
    assert len({r[0] for r in rows}) == index.count("*")
    assert index.count_threads("*") == len(index.all_threads())
    for thread in index.all_threads()[:50]:
        assert index.thread_tree(thread)
