"""Sender signals: A-R (PH-01), Mailsploit (DS-01), Composition Kills (DS-02..07), DS-08, PH-03/04."""

from __future__ import annotations

from pathlib import Path

import pytest
from assess_helpers import b64, codes, findings, make_app, message


@pytest.fixture
def app(config_dir: Path):
    return make_app(config_dir)


def test_plain_message_has_no_warning(app) -> None:
    found = findings(app, message())
    assert codes(found, "warning") == set()


# ---------------------------------------------------------------- PH-01 Authentication-Results


def test_ph01_forged_pass_below_trusted_fail_shows_fail(app) -> None:
    raw = message(
        "Authentication-Results: mx.example.org; dmarc=fail header.from=paypal.com\n"
        "Authentication-Results: mx.example.org; dmarc=pass header.from=paypal.com\n"
        "From: PayPal <service@paypal.com>\nTo: bob@ourcorp.com\nSubject: account\n"
    )
    found = findings(app, raw)
    assert "auth-dmarc-fail" in codes(found, "danger")
    assert not [f for f in found if f.severity == "ok"]


def test_ph01_untrusted_authserv_id_is_ignored(app) -> None:
    raw = message(
        "Authentication-Results: evil.example; dmarc=pass header.from=paypal.com; dkim=pass header.d=paypal.com\n"
        "From: PayPal <service@paypal.com>\nTo: bob@ourcorp.com\nSubject: account\n"
    )
    found = findings(app, raw)
    assert not [f for f in found if f.severity == "ok"]
    assert any(f.code == "auth-untrusted" and "evil.example" in f.reason for f in found)


def test_trusted_pass_is_reported_ok(app) -> None:
    raw = message(
        "Authentication-Results: mx.example.org (comment); dkim=pass header.d=example.com;\n"
        " dmarc=pass (p=reject) header.from=example.com\n"
        "From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: hi\n"
    )
    found = findings(app, raw)
    assert [f.code for f in found if f.severity == "ok"] == ["auth-pass"]


def test_dkim_fail_from_trusted_server_warns(app) -> None:
    raw = message(
        "Authentication-Results: mx.example.org; dkim=fail header.d=example.com; spf=fail smtp.mailfrom=example.com\n"
        "From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: hi\n"
    )
    assert "auth-fail" in codes(findings(app, raw), "warning")


def test_own_domain_without_authentication_warns(app) -> None:
    raw = message("From: CEO <ceo@ourcorp.com>\nTo: bob@ourcorp.com\nSubject: wire\n")
    assert "auth-own-domain-unverified" in codes(findings(app, raw), "warning")


# ---------------------------------------------------------------- DS-01 Mailsploit


@pytest.mark.parametrize(
    "from_header",
    [
        "From: =?utf-8?b?cG90dXNAd2hpdGVob3VzZS5nb3Y=?==?utf-8?Q?=00?==?utf-8?b?cG90dXNAd2hpdGVob3VzZS5nb3Y=?=@mailsploit.com",
        "From: =?utf-8?Q?potus@whitehouse.gov=00?= <evil@mailsploit.com>",
        "From: =?utf-8?Q?potus@whitehouse.gov=0A?= <evil@mailsploit.com>",
        "From: =?utf-8?Q?potus@whitehouse.gov=0D?= <evil@mailsploit.com>",
        "From: =?utf-8?b?" + b64("<potus@whitehouse.gov>") + "?= <evil@mailsploit.com>",
        "From: =?utf-8?Q?<script>alert(1)</script>_potus@whitehouse.gov?= <evil@mailsploit.com>",
    ],
)
def test_ds01_mailsploit_variants_are_flagged(app, from_header: str) -> None:
    raw = message(f"{from_header}\nTo: bob@ourcorp.com\nSubject: hi\n")
    found = findings(app, raw)
    assert codes(found, "warning"), found
    # never presented as coming from the spoofed address without a warning naming the real one
    assert all("potus@whitehouse.gov" not in f.reason or "evil@mailsploit.com" in f.reason or f.code.startswith("from-") for f in found)


# ---------------------------------------------------------------- DS-02..07 Composition Kills


def test_ds_a6_two_from_headers(app) -> None:
    raw = message("From: <any@attack.com>\nFrom: <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    found = findings(app, raw)
    assert "from-several" in codes(found, "danger")
    reason = next(f.reason for f in found if f.code == "from-several")
    assert "any@attack.com" in reason and "admin@legitimate.com" in reason


def test_ds_a7_space_preceded_first_header(app) -> None:
    raw = message(" From: <admin@legitimate.com>\nFrom: <any@attack.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert "headers-malformed" in codes(findings(app, raw), "warning")


def test_ds_a7_folded_from(app) -> None:
    raw = message("From\n : <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert codes(findings(app, raw), "warning") & {"from-missing", "headers-malformed"}


def test_ds_a8_no_from_but_sender(app) -> None:
    raw = message("Sender: <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    found = findings(app, raw)
    assert "from-missing" in codes(found, "warning")
    assert "Sender" in next(f.reason for f in found if f.code == "from-missing")


def test_ds_a9_several_mailboxes(app) -> None:
    raw = message("From: <any@attack.com>, <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert "from-mailboxes" in codes(findings(app, raw), "warning")


def test_ds_a10_base64_address(app) -> None:
    raw = message(f"From: =?utf-8?B?{b64('<admin@legitimate.com>')}?=, <any@attack.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert codes(findings(app, raw), "warning")


def test_ds_a11_route_portion(app) -> None:
    raw = message("From: <@attack.com,@any.com:admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert "from-route" in codes(findings(app, raw), "warning")


def test_ds_a12_quoted_pair(app) -> None:
    raw = message("From: <admin@legitimate.com>\\,<second@attack.com>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert codes(findings(app, raw), "warning")


@pytest.mark.parametrize("value", ["admin@legitimate.com,<second@attack.com>", "<any@attack.com>admin@legitimate.com"])
def test_ds_a13_precedence(app, value: str) -> None:
    raw = message(f"From: {value}\nTo: bob@ourcorp.com\nSubject: x\n")
    assert codes(findings(app, raw), "warning")


def test_ds_b1_invisible_character(app) -> None:
    raw = message("From: =?utf-8?Q?admin=40legitimate=2Ecom=E2=80=80?= <admin@legitimate.com\u2000>\nTo: bob@ourcorp.com\nSubject: x\n")
    assert codes(findings(app, raw), "warning")


def test_ds_a15_duplicate_subject(app) -> None:
    raw = message("From: <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: first\nSubject: second\n")
    assert "headers-duplicate" in codes(findings(app, raw), "warning")


def test_ds_a16_dkim_length_tag(app) -> None:
    raw = message(
        "DKIM-Signature: v=1; a=rsa-sha256; d=legitimate.com; s=s; l=10; h=from; bh=x; b=y\n"
        "From: <admin@legitimate.com>\nTo: bob@ourcorp.com\nSubject: x\n"
    )
    assert "dkim-partial" in codes(findings(app, raw), "notice")


def test_mbox_envelope_line_kept_as_header_is_only_a_notice(app) -> None:
    raw = message(
        "From: list-admin@lists.example.org  Thu Aug 22 12:46:39 2002\n"
        "From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: x\n"
    )
    found = findings(app, raw)
    assert codes(found, "warning") == set()
    assert "alice@example.com" in next(f.reason for f in found if f.code == "from-envelope")


# ---------------------------------------------------------------- DS-08 address in display name


@pytest.mark.parametrize(
    "from_header",
    ['From: "security@paypal.com" <x@evil.tld>', 'From: "PayPal <service@paypal.com>          " <x@evil.tld>'],
)
def test_ds08_address_in_display_name(app, from_header: str) -> None:
    found = findings(app, message(f"{from_header}\nTo: bob@ourcorp.com\nSubject: x\n"))
    hit = [f for f in found if f.code == "name-has-address"]
    assert hit and hit[0].severity == "danger"
    assert "x@evil.tld" in hit[0].reason


def test_own_address_as_display_name_is_fine(app) -> None:
    found = findings(app, message('From: "alice@example.com" <alice@example.com>\nTo: bob@ourcorp.com\nSubject: x\n'))
    assert "name-has-address" not in codes(found)


# ---------------------------------------------------------------- PH-03 look-alike, punycode


@pytest.mark.parametrize(
    ("from_header", "code"),
    [
        ("From: PayPal <service@p\u0430ypal.com>", "lookalike-domain"),
        ("From: PayPal <service@xn--pypal-4ve.com>", "lookalike-domain"),
        ("From: PayPal <service@paypaI.com>", "lookalike-domain"),
        ("From: Bank <info@p\u0430ypal-secure.com>", "mixed-script-domain"),
    ],
)
def test_ph03_lookalike_and_punycode(app, from_header: str, code: str) -> None:
    found = findings(app, message(f"{from_header}\nTo: bob@ourcorp.com\nSubject: x\n"))
    hit = [f for f in found if f.code == code]
    assert hit, found
    if "xn--" in from_header or "\u0430" in from_header:
        assert "xn--" in hit[0].reason  # the punycode is shown


def test_lookalike_of_own_domain(app) -> None:
    found = findings(app, message("From: IT <it@ourc0rp.com>\nTo: bob@ourcorp.com\nSubject: x\n"))
    assert any(f.code == "lookalike-domain" and "ourcorp.com" in f.reason for f in found)


# ---------------------------------------------------------------- PH-04 Reply-To, first-time


def test_ph04_reply_to_divergence_and_first_time_sender(app) -> None:
    raw = message("From: CEO <ceo@ourcorp.com>\nReply-To: ceo.ourcorp@gmail.com\nTo: bob@ourcorp.com\nSubject: wire\n")
    found = findings(app, raw)
    assert "reply-to-differs" in codes(found, "warning")
    assert "first-time-sender" in codes(found, "notice")


def test_list_reply_to_is_not_a_warning(app) -> None:
    raw = message(
        "From: Alice <alice@example.com>\nReply-To: dev@lists.example.net\n"
        "List-Id: <dev.lists.example.net>\nList-Post: <mailto:dev@lists.example.net>\n"
        "To: dev@lists.example.net\nSubject: x\n"
    )
    assert "reply-to-differs" not in codes(findings(app, raw))


def test_sender_differs_is_a_notice(app) -> None:
    raw = message("From: Alice <alice@example.com>\nSender: bounces@mailer.example.net\nTo: bob@ourcorp.com\nSubject: x\n")
    found = findings(app, raw)
    assert "sender-differs" in codes(found, "notice")
    assert "sender-differs" not in codes(found, "warning")


def test_invisible_characters_in_subject(app) -> None:
    raw = message("From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: =?utf-8?Q?pay=E2=80=AEnow?=\n")
    assert "subject-invisible" in codes(findings(app, raw), "notice")
