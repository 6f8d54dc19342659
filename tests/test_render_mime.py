"""pigeon.core.mime: parsing that never raises, headers and text decoded whatever the sender did."""

from __future__ import annotations

from helpers import CORPUS
from pigeon.core import mime


def msg(raw: str | bytes):
    return mime.parse_bytes(raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw)


def test_encoded_words_lenient() -> None:
    m = msg(
        "Subject: =?utf-8?b?Zm9v?= =?utf-8?b?YmFy?= and =?iso-8859-1?q?caf=E9?=\n"
        "X-Split: =?utf-8?b?w6k=?==?utf-8?b?w6k?=\n"  # missing padding, adjacent words
        "X-Unknown: =?x-unknown?q?caf=C3=A9?= =?bogus-charset?q?na=EFve?=\n"
        "X-Broken: =?utf-8?b?!!!?= tail\n\nbody\n"
    )
    assert mime.header_str(m, "Subject") == "foobar and café"
    assert mime.header_str(m, "x-split") == "éé"
    # whitespace between adjacent encoded-words is not text (RFC 2047 §6.2)
    assert mime.header_str(m, "X-Unknown") == "cafénaïve"
    assert "tail" in mime.header_str(m, "X-Broken")
    assert mime.header_str(m, "Missing", "none") == "none"


def test_raw_8bit_headers_decoded() -> None:
    m = msg(b"Subject: caf\xc3\xa9 and \xe9t\xe9\nFrom: \"J\xc3\xa4n\" <j@example.org>\n\nx\n")
    assert mime.header_str(m, "Subject").startswith("caf")
    assert "\ufffd" in mime.header_str(m, "Subject") or "été" in mime.header_str(m, "Subject")
    assert mime.addresses(m, "From") == [("Jän", "j@example.org")]


def test_mailsploit_addr_spec_is_not_decoded() -> None:
    raw = (
        "From: =?utf-8?b?cG90dXNAd2hpdGVob3VzZS5nb3Y=?==?utf-8?Q?=00?="
        "=?utf-8?b?cG90dXNAd2hpdGVob3VzZS5nb3Y=?=@mailsploit.com\n\nx\n"
    )
    shown = mime.header_str(msg(raw), "From")
    assert "potus@whitehouse.gov" not in shown
    assert "@mailsploit.com" in shown


def test_group_header_that_breaks_the_stdlib() -> None:
    m = msg("To: unlisted-recipients:; (no To-header on input)\nCc: A <a@x.org>, b@y.org\n\nx\n")
    assert mime.header_str(m, "To").startswith("unlisted-recipients:;")
    assert mime.addresses(m, "To") == []
    assert mime.addresses(m, "Cc") == [("A", "a@x.org"), ("", "b@y.org")]


def test_charset_aliases() -> None:
    cases = {
        "ks_c_5601-1987": "한국어".encode("cp949"),
        "iso-8859-8-i": "שלום".encode("iso8859_8"),
        "windows-874": "ไทย".encode("cp874"),
        "cp-850": "Ærø".encode("cp850"),
        "x-mac-roman": "café".encode("mac_roman"),
        "utf8": "ünï".encode(),
        "x-unknown": "naïve".encode(),
        "unknown-8bit": "naïve".encode("cp1252"),
        "us-ascii": "mislabelled ü".encode(),
        "iso-8859-1": "“smart”".encode("cp1252"),
    }
    for charset, data in cases.items():
        assert "\ufffd" not in mime.decode_bytes(data, charset), charset
    assert mime.decode_bytes("한국어".encode("cp949"), "ks_c_5601-1987") == "한국어"
    assert mime.decode_bytes("שלום".encode("iso8859_8"), "iso-8859-8-i") == "שלום"
    assert mime.decode_bytes("ไทย".encode("cp874"), "windows-874") == "ไทย"
    assert mime.decode_bytes("Ærø".encode("cp850"), "cp-850") == "Ærø"
    assert mime.decode_bytes("café".encode("mac_roman"), "x-mac-roman") == "café"
    assert mime.decode_bytes("naïve".encode("cp1252"), "unknown-8bit") == "naïve"
    assert mime.decode_bytes("mislabelled ü".encode(), "us-ascii") == "mislabelled ü"
    assert mime.decode_bytes("“smart”".encode("cp1252"), "iso-8859-1") == "“smart”"
    assert mime.decode_bytes(b"[\\]{|}", "SEN_850200_B") == "ÄÖÅäöå"
    # codecs that are not charsets are refused, not run
    assert mime.decode_bytes(b"\\x1b[31m", "unicode_escape") == "\\x1b[31m"
    assert mime.decode_bytes(b"abc\xff", "utf-8") == "abc\ufffd"


def test_broken_transfer_encodings_still_give_text() -> None:
    b64 = msg(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        "aGVsbG8g!d29y\nbGQ=aGk\n"  # a stray character, padding in the middle, no final padding
    )
    assert mime.part_text(b64) == "hello worldhi"
    qp = msg("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =ZZ soft=\nbreak\n")
    assert mime.part_text(qp) == "café =ZZ softbreak\n"


def test_unknown_charset_and_quoted_type_parts() -> None:
    m = msg('Content-Type: "application/pdf"\n\n%PDF\n')
    assert mime.content_type(m) == "application/pdf"
    m = msg("Content-Type: text/plain; charset=DEFAULT_CHARSET\n\nna\xefve\n".encode("latin-1"))
    assert mime.part_text(m) == "naïve\n"


def test_missing_boundary_gives_raw_text() -> None:
    m = msg("Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhidden text\n--x--\n")
    assert not mime.is_multipart(m)
    assert "hidden text" in mime.part_text(m)


def test_parse_never_raises_on_junk() -> None:
    for junk in (b"", b"\x00\xff\xfe", b"\xef\xbb\xbfSubject: bom\n\nx", b"   \nFrom: a@b\n\nx", b"no headers at all"):
        m = mime.parse_bytes(junk)
        mime.part_text(m)
        mime.header_str(m, "Subject")
    assert mime.header_str(mime.parse_bytes(b"\xef\xbb\xbfSubject: bom\n\nx"), "Subject") == "bom"


def test_mbox_split_and_detection() -> None:
    data = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n\nFrom c@d Tue Jan  2 00:00:00 2024\nSubject: two\n\nx\n"
    parts = mime.split_mbox(data)
    assert [mime.header_str(mime.parse_bytes(p), "Subject") for p in parts] == ["one", "two"]
    assert parts[0].endswith(b"body\n")
    assert mime.looks_like_mbox(data, "mail.mbox")
    assert not mime.looks_like_mbox(data, "x.eml")
    patch = CORPUS / "notmuch/corpora/insert/mbox-attachment.eml"
    assert not mime.looks_like_mbox(patch.read_bytes(), str(patch))


def test_corpus_mbox_counts_match_the_stdlib() -> None:
    import mailbox

    for name in ("mimekit/mbox/content-length.mbox.txt", "mime-torture/crispin-torture.mbox", "spamassassin/nice.mbox"):
        path = CORPUS / name
        box = mailbox.mbox(str(path), create=False)
        try:
            expected = len([k for k in box.iterkeys()])
        finally:
            box.close()
        assert len(mime.split_mbox(path.read_bytes())) == expected, name


def test_filename_rfc2231_and_encoded() -> None:
    m = msg(
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n\nx\n"
    )
    assert mime.filename(m) == "résumé.pdf"
    m = msg('Content-Type: application/octet-stream; name="=?utf-8?q?inv=E2=80=AEfdp.exe?="\n\nx\n')
    assert mime.filename(m) == "inv\u202efdp.exe"


def test_address_headers_shown_cleanly_or_as_sent() -> None:
    def shown(raw: str) -> str:
        return mime.header_str(msg(f"From: {raw}\n\nx\n"), "From")

    assert shown('"Keith Packard" <keithp@keithp.com>') == "Keith Packard <keithp@keithp.com>"
    assert shown("=?utf-8?q?J=C3=B6rg?= <j@x.de>, a@b.c") == "Jörg <j@x.de>, a@b.c"
    # a display name that carries an address keeps its quotes: the real address stays apart
    assert shown('"PayPal <service@paypal.com>" <x@evil.tld>') == '"PayPal <service@paypal.com>" <x@evil.tld>'
    assert shown("The Manager") == "The Manager"  # no address at all: shown as sent
