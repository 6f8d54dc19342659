"""The statistical classifier: tokens, chi-square combining, training and untraining."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from assess_helpers import parse
from helpers import REPO
from pigeon.plugins.spam_classifier import Classifier, TokenStore, chi2q, combine, tokenize
from spam_helpers import HAMMY, SPAMMY, variants


def test_tokens_cover_headers_html_text_and_links() -> None:
    toks = tokenize(parse(SPAMMY))
    assert {"subject:cheap", "subject:viagra", "from:dom:cheap-pills.example", "viagra", "prescription"} <= toks
    assert "url:ip-literal" in toks and "html:font" in toks
    assert not any("<font" in t for t in toks)  # HTML is reduced to its text


def test_chi_square_combining() -> None:
    assert combine([]) == 0.5
    assert combine([0.99] * 20) > 0.99
    assert combine([0.01] * 20) < 0.01
    assert 0.3 < combine([0.99] * 10 + [0.01] * 10) < 0.7  # conflicting evidence: unsure
    assert abs(chi2q(0.0, 4) - 1.0) < 1e-9


def test_train_score_and_relabel(tmp_path: Path) -> None:
    clf = Classifier(TokenStore(tmp_path / "spam.sqlite"))
    for raw in variants(SPAMMY, 6):
        assert clf.train(parse(raw), True, raw.encode())
    for raw in variants(HAMMY, 6):
        clf.train(parse(raw), False, raw.encode())
    assert clf.store.totals() == (6, 6)
    new_spam = SPAMMY.replace("90%", "95%")
    new_ham = HAMMY.replace("Thursday", "Friday")
    assert clf.score(parse(new_spam)) > 0.95
    assert clf.score(parse(new_ham)) < 0.05
    # the same message again is not counted twice; the other label moves it
    raw = variants(HAMMY, 1)[0]
    assert not clf.train(parse(raw), False, raw.encode())
    assert clf.train(parse(raw), True, raw.encode())
    assert clf.store.totals() == (7, 5)
    assert clf.untrain(parse(raw), raw.encode())
    assert clf.store.totals() == (6, 5)
    clf.store.close()


def test_hostile_bytes_are_stored(tmp_path: Path) -> None:
    raw = b"From: \xff\xfe <x@y.example>\nSubject: \xc3\x28 bad\n\n\x00\x1b[31m body \xff\n"
    clf = Classifier(TokenStore(tmp_path / "s.sqlite"))
    clf.train(parse(raw), True, raw)
    assert 0.0 <= clf.score(parse(raw)) <= 1.0


@pytest.mark.slow
def test_cross_validation_no_worse_than_bogofilter(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bench/spam_bench.py on one shuffle: pigeon's error rates <= bogofilter's on the same folds."""
    import json

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import spam_bench
    finally:
        sys.path.pop(0)
    assert spam_bench.main(["--seeds", "1", "--json", "--corpus", str(corpus)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["spam"], report["ham"]) == (71, 64)
    pigeon, bogo = report["pigeon"], report["bogofilter"]
    assert pigeon["messages"] == bogo["messages"] == 135
    assert pigeon["error_rate"] <= bogo["error_rate"]
    assert pigeon["error_rate_at_0.5"] <= bogo["error_rate_at_0.5"]
