"""The Maildir store with the tools people already use: notmuch, mu and mbsync, both ways."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pigeon.core.maildir import Maildir


def message(n: int, subject: str = "") -> bytes:
    return (
        f"From: Sender {n} <s{n}@example.org>\r\n"
        f"To: me@example.org\r\n"
        f"Subject: {subject or f'message {n}'}\r\n"
        f"Date: Mon, 0{1 + n % 9} Jan 2024 10:00:00 +0000\r\n"
        f"Message-ID: <m{n}@example.org>\r\n\r\n"
        f"Body {n}.\r\n"
    ).encode()


def notmuch(db: Path, home: Path, *args: str) -> str:
    cfg = home / "notmuch-config"
    if not cfg.exists():
        cfg.write_text(
            f"[database]\npath={db}\n[new]\ntags=unread;inbox;\nignore=.uidvalidity;.mbsyncstate\n"
            "[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=true\n"
        )
    env = {**os.environ, "NOTMUCH_CONFIG": str(cfg), "HOME": str(home)}
    res = subprocess.run(["notmuch", *args], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def mu(muhome: Path, *args: str) -> str:
    res = subprocess.run(["mu", *args, f"--muhome={muhome}"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def make_store(root: Path) -> tuple[Maildir, dict[str, list[str]]]:
    """A small store with flags in several folders; returns the expected flags per folder."""
    store = Maildir(root)
    expected: dict[str, list[str]] = {}
    layout = {"INBOX": ["", "S", "FS", "RS", ""], "Sent": ["S"], "Archive/2024": ["S", "S"], "Drafts": ["D"]}
    n = 0
    for folder, flag_list in layout.items():
        for flags in flag_list:
            n += 1
            store.add(folder, message(n), flags, subdir="new" if not flags else None)
            expected.setdefault(folder, []).append(flags)
    return store, expected


def test_notmuch_corpus_reads_like_notmuch_sees_it(tmp_path: Path, corpus: Path) -> None:
    root = tmp_path / "default"
    shutil.copytree(corpus / "notmuch" / "corpora" / "default", root)
    store = Maildir(root, create=False)
    # the root is itself a Maildir; nested folders are nested directories
    assert store.folders() == ["", "bar", "bar/baz", "foo", "foo/baz"]
    ours = {str(e.path) for f in store.folders() for e in store.list(f)}
    assert all(e.flags == "" for f in store.folders() for e in store.list(f))
    notmuch(root, tmp_path, "new", "--quiet")
    theirs = set(notmuch(root, tmp_path, "search", "--output=files", "*").split())
    # notmuch also indexes the loose files lying next to cur/ and new/; the Maildir ones match
    in_maildir = {p for p in theirs if Path(p).parent.name in ("cur", "new")}
    assert ours == in_maildir and len(ours) == 43 and len(theirs) == 53
    assert {e.key for e in store.list("foo/baz")} == {Path(p).name.split(":")[0] for p in in_maildir if "/foo/baz/" in p}


def test_mu_corpus_with_bang_separator_and_partial_maildirs(tmp_path: Path, corpus: Path) -> None:
    root = tmp_path / "testdata"
    shutil.copytree(corpus / "mu" / "testdata", root)
    store = Maildir(root, create=False)
    folders = store.folders()
    assert "testdir" in folders and "testdir2/Foo" in folders and "testdir2/wom_bat" in folders
    assert "cjk" in folders  # only a cur/ directory: still a Maildir
    assert "testdir4" not in folders and "" not in folders  # loose files, no cur/ or new/
    by_name = {e.path.name: e for e in store.list("testdir")}
    assert by_name["1220863087.12663_15.mindcrime!2,PS"].flags == "PS"
    assert by_name["special!2,Sabc"].key == "special" and by_name["special!2,Sabc"].flags == "Sabc"
    assert by_name["1220863087.12663_23.mindcrime"].subdir == "new"
    # tmp/ holds an unfinished delivery that is not a message yet
    assert not any(e.key.endswith(".ignore") for e in store.list("testdir"))
    # mu agrees about which files are messages
    muhome = tmp_path / "muhome"
    mu(muhome, "init", f"--maildir={root}")
    mu(muhome, "index", "--quiet")
    theirs = set(mu(muhome, "find", "--fields=l", "maildir:/testdir").split("\n")) - {""}
    assert theirs == {str(e.path) for e in store.list("testdir")}
    flagged = set(mu(muhome, "find", "--fields=l", "maildir:/testdir", "flag:flagged").split("\n")) - {""}
    assert flagged == {str(e.path) for e in store.list("testdir") if "F" in e.flags}
    # a flag change keeps mu's separator, and mu re-indexes it with the new flag
    msg = by_name["1220863087.12663_15.mindcrime!2,PS"]
    changed = store.set_flags(msg, "FPS")
    assert changed.path.name == "1220863087.12663_15.mindcrime!2,FPS"
    mu(muhome, "index", "--quiet")
    flagged = set(mu(muhome, "find", "--fields=l", "maildir:/testdir", "flag:flagged").split("\n")) - {""}
    assert str(changed.path) in flagged


def test_what_pigeon_writes_notmuch_reads(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store, expected = make_store(root)
    notmuch(root, tmp_path, "new", "--quiet")
    total = sum(len(v) for v in expected.values())
    assert notmuch(root, tmp_path, "count", "*").strip() == str(total)
    assert notmuch(root, tmp_path, "count", "folder:Archive/2024").strip() == "2"
    assert notmuch(root, tmp_path, "count", "tag:flagged").strip() == "1"
    assert notmuch(root, tmp_path, "count", "tag:replied").strip() == "1"
    assert notmuch(root, tmp_path, "count", "tag:draft").strip() == "1"
    unread = sum(1 for v in expected.values() for f in v if "S" not in f)
    assert notmuch(root, tmp_path, "count", "tag:unread").strip() == str(unread)
    # notmuch changes flags (tag -unread renames the file); pigeon follows
    notmuch(root, tmp_path, "tag", "-unread", "+flagged", "folder:Sent")
    (sent,) = store.list("Sent")
    assert sent.flags == "FS"


def test_what_pigeon_writes_mu_reads(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store, expected = make_store(root)
    muhome = tmp_path / "muhome"
    mu(muhome, "init", f"--maildir={root}")
    mu(muhome, "index", "--quiet")
    files = set(mu(muhome, "find", "--fields=l", "").split("\n")) - {""}
    assert files == {str(e.path) for f in store.folders() for e in store.list(f)}
    inbox = set(mu(muhome, "find", "--fields=l", "maildir:/INBOX").split("\n")) - {""}
    assert len(inbox) == len(expected["INBOX"])
    nested = set(mu(muhome, "find", "--fields=l", "maildir:/Archive/2024").split("\n")) - {""}
    assert len(nested) == 2
    unread = set(mu(muhome, "find", "--fields=l", "flag:unread").split("\n")) - {""}
    assert len(unread) == sum(1 for v in expected.values() for f in v if "S" not in f)


MBSYNC_RC = """\
MaildirStore far
Path {far}/
Inbox {far}/INBOX
SubFolders Verbatim

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel both
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState {state}/
"""


def mbsync(tmp_path: Path, far: Path, near: Path) -> None:
    rc = tmp_path / "mbsyncrc"
    state = tmp_path / "mbsync-state"
    state.mkdir(exist_ok=True)
    near.mkdir(exist_ok=True)
    rc.write_text(MBSYNC_RC.format(far=far, near=near, state=state))
    res = subprocess.run(["mbsync", "-q", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def contents(store: Maildir) -> dict[str, list[tuple[bytes, str]]]:
    # mbsync adds an X-TUID header to the copies it makes (to find them again after a crash)
    def clean(data: bytes) -> bytes:
        return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", data)

    return {f: sorted((clean(store.read(e)), e.flags) for e in store.list(f)) for f in store.folders()}


def test_mbsync_both_ways(tmp_path: Path) -> None:
    """mbsync copies pigeon's Maildir (Verbatim layout) into another; pigeon reads the copy.

    Then changes made on the copy by pigeon travel back through mbsync.
    """
    far, near = tmp_path / "far", tmp_path / "near"
    ours, _expected = make_store(far)
    before = contents(ours)
    mbsync(tmp_path, far, near)
    theirs = Maildir(near, create=False)
    assert theirs.folders() == ours.folders() == ["Archive/2024", "Drafts", "INBOX", "Sent"]
    assert contents(theirs) == before
    # mbsync names its files <time>.<pid>_<n>.<host>,U=<uid>; pigeon reads the UID
    assert all(e.uid is not None for f in theirs.folders() for e in theirs.list(f))
    # pigeon works on mbsync's copy: flag, move, deliver, delete
    first = theirs.list("INBOX")[0]
    theirs.set_flags(first, first.flags + "FS")
    theirs.move(theirs.list("Sent")[0], "Archive/2024")
    theirs.add("INBOX", message(99, "written on the near side"), "S")
    theirs.delete(theirs.list("Drafts")[0])
    after = contents(theirs)
    mbsync(tmp_path, far, near)
    assert contents(Maildir(far)) == after
