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


def test_quick_splitter_reads_every_corpus_file_like_the_stdlib() -> None:
    """Big multipart mail skips the feedparser's line-by-line scan of attachments; forced on
    for every file, the records must equal the stdlib parser's."""
    from pigeon.core.index_parse import parse_bytes

    def norm(record):  # noqa: ANN001, ANN202
        if record is None:
            return None
        d = dict(record.__dict__)
        d["body"] = " ".join(d["body"].split())
        return d

    checked = 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert norm(parse_bytes(data, quick_min=0)) == norm(parse_bytes(data, quick_min=10**12)), path
        checked += 1
    assert checked > 800
