"""Spam filter cross-validation: pigeon's classifier against bogofilter on the same folds.

Corpus: ``shared/corpus/spamassassin`` (71 spam in ``spam/``, 64 ham in ``nice/`` and
``nice.mbox``). Each fold trains both filters on the other folds (bogofilter ``-s``/``-n`` in a
temporary ``-d`` directory) and scores the held-out messages (bogofilter ``-T``).

Run: ``python bench/spam_bench.py [--folds 10] [--seeds 1,2,3,4,5] [--corpus DIR] [--json]``
(each seed is one shuffle into folds; the figures add up over all seeds).

Reported per filter, over all held-out messages:
- errors: a definite verdict that is wrong (spam judged ham, ham judged spam) at the filter's
  own cutoffs (pigeon: its defaults, spam >= 0.95, ham <= 0.10; bogofilter: its configured
  cutoffs);
- unsure: messages left in the middle band;
- error@0.5: wrong side of 0.5 on the raw probability (every message forced to a verdict).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = Path(os.environ.get("PIGEON_CORPUS") or HERE.parent.parent / "shared" / "corpus")
NOT_MESSAGES = {"bsmtp", "bsmtpnull"}  # a raw SMTP transcript and a 1-byte file (SOURCE.md)


def load(corpus: Path) -> list[tuple[str, bytes, bool]]:
    sa = corpus / "spamassassin"
    items = [
        (str(p.relative_to(sa)), p.read_bytes(), True)
        for p in sorted((sa / "spam").rglob("*"))
        if p.is_file() and p.name not in NOT_MESSAGES
    ]
    items += [(str(p.relative_to(sa)), p.read_bytes(), False) for p in sorted((sa / "nice").rglob("*")) if p.is_file()]
    items += [(f"nice.mbox#{i}", m.as_bytes(), False) for i, m in enumerate(mailbox.mbox(str(sa / "nice.mbox")))]
    return items


def folds(items: list, k: int, seed: int) -> list[list[int]]:
    """Stratified folds: spam and ham each dealt round-robin after a seeded shuffle."""
    out: list[list[int]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for label in (True, False):
        idx = [i for i, it in enumerate(items) if it[2] is label]
        rng.shuffle(idx)
        for n, i in enumerate(idx):
            out[n % k].append(i)
    return out


def run_pigeon(items, train: list[int], test: list[int]) -> dict[int, tuple[float, str]]:
    from pigeon.plugins.spam_classifier import HAM_CUTOFF, SPAM_CUTOFF, Classifier, TokenStore

    parse = BytesParser(policy=policy.default).parsebytes
    clf = Classifier(TokenStore(None))
    for i in train:
        clf.train(parse(items[i][1]), items[i][2], items[i][1])  # type: ignore[arg-type]
    out = {}
    for i in test:
        p = clf.score(parse(items[i][1]))  # type: ignore[arg-type]
        out[i] = (p, "S" if p >= SPAM_CUTOFF else "H" if p <= HAM_CUTOFF else "U")
    clf.store.close()
    return out


def run_bogofilter(items, train: list[int], test: list[int], tmp: Path) -> dict[int, tuple[float, str]]:
    db = tmp / "db"
    shutil.rmtree(db, ignore_errors=True)
    db.mkdir()
    for i in train:
        flag = "-s" if items[i][2] else "-n"
        subprocess.run(["bogofilter", "-d", str(db), flag], input=items[i][1], check=True)
    files = []
    for i in test:
        f = tmp / f"m{i}"
        f.write_bytes(items[i][1])
        files.append(str(f))
    res = subprocess.run(["bogofilter", "-d", str(db), "-T", "-B", *files], capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        name, verdict, prob = line.rsplit(None, 2)
        out[int(Path(name).name[1:])] = (float(prob), verdict)
    return out


def summarise(items, results: list[tuple[int, float, str]]) -> dict[str, float]:
    n = len(results)
    fn = sum(1 for i, _, v in results if items[i][2] and v == "H")
    fp = sum(1 for i, _, v in results if not items[i][2] and v == "S")
    unsure = sum(1 for _, _, v in results if v == "U")
    e5 = sum(1 for i, p, _ in results if (p >= 0.5) != items[i][2])
    return {
        "messages": n,
        "false_negatives": fn,
        "false_positives": fp,
        "errors": fn + fp,
        "error_rate": (fn + fp) / n,
        "unsure": unsure,
        "unsure_rate": unsure / n,
        "errors_at_0.5": e5,
        "error_rate_at_0.5": e5 / n,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated shuffle seeds")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("bogofilter") is None:
        print("bogofilter is not installed (Debian package bogofilter)", file=sys.stderr)
        return 2
    items = load(args.corpus)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    pigeon: list[tuple[int, float, str]] = []
    bogo: list[tuple[int, float, str]] = []
    times = {"pigeon": 0.0, "bogofilter": 0.0}
    with tempfile.TemporaryDirectory(prefix="spam-bench-") as tmp:
        for seed in seeds:
            for test in folds(items, args.folds, seed):
                held_out = set(test)
                train = [i for i in range(len(items)) if i not in held_out]
                t = time.perf_counter()
                pigeon += [(i, p, v) for i, (p, v) in run_pigeon(items, train, test).items()]
                times["pigeon"] += time.perf_counter() - t
                t = time.perf_counter()
                bogo += [(i, p, v) for i, (p, v) in run_bogofilter(items, train, test, Path(tmp)).items()]
                times["bogofilter"] += time.perf_counter() - t
    report = {
        "corpus": str(args.corpus / "spamassassin"),
        "spam": sum(1 for it in items if it[2]),
        "ham": sum(1 for it in items if not it[2]),
        "folds": args.folds,
        "seeds": seeds,
        "pigeon": summarise(items, pigeon) | {"seconds": round(times["pigeon"], 2)},
        "bogofilter": summarise(items, bogo) | {"seconds": round(times["bogofilter"], 2)},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['spam']} spam + {report['ham']} ham, {args.folds}-fold cross-validation, "
            f"seeds {args.seeds}: {len(pigeon)} held-out verdicts per filter"
        )
        print(f"{'filter':<11} {'errors':>6} {'FN':>4} {'FP':>4} {'unsure':>7} {'error%':>7} {'err@0.5':>8} {'seconds':>8}")
        for name in ("pigeon", "bogofilter"):
            r = report[name]
            print(
                f"{name:<11} {r['errors']:>6} {r['false_negatives']:>4} {r['false_positives']:>4} {r['unsure']:>7} "
                f"{100 * r['error_rate']:>6.1f}% {100 * r['error_rate_at_0.5']:>7.1f}% {r['seconds']:>8}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
