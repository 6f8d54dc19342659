"""``pigeon show`` as a reader sees it in a terminal: nothing wider than the window."""

from __future__ import annotations

from helpers import CORPUS, run_pigeon

MAILS = CORPUS / "mail-parser" / "mails"


def head_at(width: int, name: str) -> list[str]:
    p = run_pigeon("show", "--width", str(width), str(MAILS / name))
    assert p.returncode == 0, p.stderr
    head = p.stdout.decode().split("─" * width)[0].splitlines()
    # every word but URLs and file names fits: nothing is left for the terminal to clip
    assert all(len(line) <= width or " " not in line.strip() for line in head), head
    return head


def test_show_wraps_long_banners_at_the_width(config_dir) -> None:  # noqa: ANN001
    head = head_at(60, "mail_test_11")  # a [danger] banner naming a 150-character file name
    danger = next(i for i, line in enumerate(head) if line.startswith("[danger] Archive"))
    assert head[danger + 1].startswith("    ")  # continued, indented
    assert "programs, scripts or nested archives" in " ".join(head[danger:])


def test_show_wraps_a_long_to_header(config_dir) -> None:  # noqa: ANN001
    head = head_at(60, "mail_test_9")  # To: 30 addresses
    to = next(i for i, line in enumerate(head) if line.startswith("To: "))
    assert head[to + 1].startswith("    ") and "<sales@onlab.cn>" in " ".join(head[to : to + 4])


def test_folder_listing_is_newest_first_when_counters_grow_a_digit(tmp_path) -> None:  # noqa: ANN001
    """A sync writes hundreds of files in one second: ``_99`` then ``_100``; ``_100`` is newer."""
    from pigeon.plugins.tui.source import FolderListing, MiniStore

    cur = tmp_path / "M" / "cur"
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "M" / sub).mkdir(parents=True)
    for n in (8, 9, 10, 99, 100, 101):
        (cur / f"1700000000.4242_{n}.host,U={n}:2,S").write_bytes(b"Subject: x\n\nx\n")
    (cur / "1700000001.4242_1.host,U=102:2,S").write_bytes(b"Subject: x\n\nx\n")
    listing = FolderListing(MiniStore(tmp_path / "M"), "a", "", None)
    listing.scan()
    assert [int(n.split(",U=")[1].split(":")[0]) for n in listing.names] == [102, 101, 100, 99, 10, 9, 8]



def test_key_tables_mark_a_cut_description() -> None:
    """C-h b at 80 columns: a row too long for the window ends in an ellipsis, not mid-word."""
    from pigeon.plugins.tui.model import TextBuffer

    row = "  C-c C-c        send                       " + "Send the message: it waits send.undo_seconds (10) in the outbox, when M-x undo-send takes it back."
    buf = TextBuffer("*Help*", "compose mode:\n" + row + "\n  q  quit")
    buf.kind = "table"
    buf.wrap(79)
    assert buf.lines == ["compose mode:", row[:78] + "…", "  q  quit"]


def test_folder_list_names_a_parent_that_is_not_a_folder() -> None:
    """``lists/dev`` without a ``lists`` Maildir must not look like a child of ``Trash``."""
    from pigeon.plugins.tui.model import FolderBuffer

    buf = FolderBuffer([("w", "INBOX"), ("w", "Trash"), ("w", "lists/dev"), ("w", "a"), ("w", "a/b"), ("w", "a/b/c")])
    names = [buf.line_text(i).split("w", 1)[1].rstrip() for i in range(buf.line_count())]
    assert names == ["          INBOX", "          Trash", "          lists/dev", "          a", "            b", "              c"]


def test_the_inbox_tag_is_left_off_lines_in_the_inbox_only(tmp_path) -> None:  # noqa: ANN001
    """Every message in INBOX has the ``inbox`` tag: there it is noise on every line and is
    not shown; in any other folder it says something and stays."""
    from pigeon.plugins.tui.model import MessageListBuffer
    from pigeon.plugins.tui.source import FolderListing, MiniStore

    for folder in ("INBOX", "Archive"):
        for sub in ("cur", "new", "tmp"):
            (tmp_path / "M" / folder / sub).mkdir(parents=True)
        (tmp_path / "M" / folder / "cur" / "1700000000.1_1.host,U=1:2,S").write_bytes(b"Subject: x\n\nx\n")
    shown = {}
    for folder in ("INBOX", "Archive"):
        listing = FolderListing(MiniStore(tmp_path / "M"), "a", folder, None)
        listing.scan()
        buf = MessageListBuffer(listing)
        buf.tags["1700000000.1_1.host,U=1"] = ["inbox", "work"]
        shown[folder] = buf.columns(0)[5]
    assert shown == {"INBOX": "work", "Archive": "inbox work"}
