"""The documented mapping between pigeon tags and IMAP keywords (docs/sync.md)."""

from __future__ import annotations

from pigeon.core.sync_tags import keyword_for, keywords_for, tag_for, tags_for


def test_which_tags_travel() -> None:
    for local in ("inbox", "unread", "flagged", "replied", "draft", "passed", "attachment", "signed", "encrypted"):
        assert keyword_for(local) is None
    assert keyword_for("spam") == "$Junk"
    assert keyword_for("work") == "work"
    assert keyword_for("$MDNSent") == "$MDNSent"
    for not_an_atom in ("a*b", "x]", "café", "q\"", "back\\slash", "{3}"):
        assert keyword_for(not_an_atom) is None


def test_keywords_become_tags() -> None:
    assert tags_for({"$Junk", "work", "$NotJunk", "\\Seen", "inbox", "$label1"}) == {"spam", "work", "$label1"}
    assert tag_for("$junk") == "spam"
    assert tag_for("$NotJunk") is None


def test_keywords_of_tags_keep_what_no_tag_stands_for() -> None:
    base = frozenset({"$NotJunk", "Work", "old"})
    assert keywords_for({"work", "inbox", "unread"}, base) == {"$NotJunk", "Work"}  # the server's spelling kept
    assert keywords_for({"spam"}, base) == {"$Junk"}  # spam drops $NotJunk
