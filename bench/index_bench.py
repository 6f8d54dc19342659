#!/usr/bin/env python3
"""Local index benchmark: pigeon against notmuch and mu on the same generated Maildir, one run.

    python bench/index_bench.py [-n 10000] [--runs 3] [--work /tmp/pigeon-index-bench] [--keep]

Generates the corpus with ``../shared/bench/gen_corpus.py`` (or ``--gen PATH``; deterministic,
seed 1), moves the Maildir++ root into an ``INBOX`` folder so that ``folder:INBOX`` means the
same to every peer, then times, as whole commands (process start included):

* the first index from an empty database (``pigeon index``, ``notmuch new``, ``mu init`` +
  ``mu index``), then a no-change re-index;
* five queries: a sender, a subject word, a date range, a body word, a thread listing.

pigeon is the ``pigeon`` next to the Python running this script: measure an installed one
(``pip install .`` with a recent pip, whose launcher does not import ``re``). Each figure is the
median wall time of ``--runs`` runs, peers interleaved. Prints a table with
the ratio of each peer's time to pigeon's (above 1: pigeon is faster). Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

QUERIES = {
    # name: (pigeon args, notmuch args, mu args)
    "sender": (["search", "from:alice@example.com"], ["search", "from:alice@example.com"],
               ["find", "from:alice@example.com"]),
    "subject word": (["search", "subject:release"], ["search", "subject:release"], ["find", "subject:release"]),
    "date range": (["search", "date:2023-01-01..2023-03-31"], ["search", "date:2023-01-01..2023-03-31"],
                   ["find", "date:20230101..20230331"]),
    "body word": (["search", "München"], ["search", "München"], ["find", "München"]),
    "thread listing": (["search", "--threads", "folder:INBOX"], ["search", "folder:INBOX"],
                       ["find", "--threads", "maildir:/INBOX"]),
}


def find_gen(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else []
    candidates += [REPO.parent / "shared" / "bench" / "gen_corpus.py",
                   REPO.parent.parent / "shared" / "bench" / "gen_corpus.py"]
    for c in candidates:
        if c.is_file():
            return c
    sys.exit("gen_corpus.py not found: pass --gen PATH")


def pigeon_command() -> list[str]:
    script = Path(sys.executable).parent / "pigeon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pigeon.core.cli"]


class Peer:
    def __init__(self, name: str, work: Path, maildir: Path) -> None:
        self.name = name
        self.state = work / f"state-{name}"
        self.maildir = maildir
        self.env = dict(os.environ, TZ="UTC")

    def run(self, args: list[str]) -> tuple[float, int]:
        t0 = time.monotonic()
        proc = subprocess.run(args, env=self.env, capture_output=True)
        elapsed = time.monotonic() - t0
        if proc.returncode not in (0, 4):  # mu find: 4 = no match
            sys.exit(f"{self.name}: {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
        return elapsed, proc.stdout.count(b"\n")

    def reset(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        self.state.mkdir(parents=True)


class Pigeon(Peer):
    def reset(self) -> None:
        super().reset()
        config = self.state / "config"
        config.mkdir()
        (config / "config.toml").write_text(
            f'state_dir = "{self.state / "data"}"\n[accounts.bench]\naddress = "bench@example.org"\n'
            f'maildir = "{self.maildir}"\n')
        self.env["PIGEON_CONFIG_DIR"] = str(config)

    def index(self) -> tuple[float, int]:
        return self.run([*pigeon_command(), "index", "--quiet"])

    rescan = index

    def query(self, name: str) -> tuple[float, int]:
        return self.run([*pigeon_command(), *QUERIES[name][0]])

    def version(self) -> str:
        return "pigeon (this checkout), Python " + sys.version.split()[0]


class PigeonThreads(Pigeon):
    """The same index as ``pigeon``, listing threads as notmuch search does (same output)."""

    def __init__(self, name: str, work: Path, maildir: Path) -> None:
        super().__init__(name, work, maildir)
        self.state = work / "state-pigeon"

    def reset(self) -> None:
        self.env["PIGEON_CONFIG_DIR"] = str(self.state / "config")

    def query(self, name: str) -> tuple[float, int]:
        args = QUERIES[name][0]
        if "--threads" not in args:
            args = [args[0], "--threads", *args[1:]]
        return self.run([*pigeon_command(), *args])


class Notmuch(Peer):
    def reset(self) -> None:
        super().reset()
        (self.state / "db").mkdir()
        cfg = self.state / "config"
        cfg.write_text(f"[database]\npath={self.state / 'db'}\nmail_root={self.maildir}\n[new]\ntags=unread;inbox\n"
                       "ignore=\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=true\n")
        self.env["NOTMUCH_CONFIG"] = str(cfg)

    def index(self) -> tuple[float, int]:
        return self.run(["notmuch", "new", "--quiet"])

    rescan = index

    def query(self, name: str) -> tuple[float, int]:
        return self.run(["notmuch", *QUERIES[name][1]])

    def version(self) -> str:
        return subprocess.run(["notmuch", "--version"], capture_output=True, text=True).stdout.strip()


class Mu(Peer):
    def index(self) -> tuple[float, int]:
        t1, _ = self.run(["mu", "init", f"--muhome={self.state}", f"--maildir={self.maildir}",
                          "--my-address=bench@example.org"])
        t2, n = self.run(["mu", "index", f"--muhome={self.state}", "--quiet"])
        return t1 + t2, n

    def rescan(self) -> tuple[float, int]:
        return self.run(["mu", "index", f"--muhome={self.state}", "--quiet"])

    def query(self, name: str) -> tuple[float, int]:
        args = QUERIES[name][2]
        return self.run(["mu", args[0], f"--muhome={self.state}", *args[1:]])

    def version(self) -> str:
        return subprocess.run(["mu", "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def make_corpus(gen: Path, work: Path, n: int, seed: int) -> Path:
    maildir = work / "Maildir"
    stamp = work / f".corpus-{n}-{seed}"
    if stamp.exists() and maildir.is_dir():
        return maildir
    shutil.rmtree(maildir, ignore_errors=True)
    subprocess.run([sys.executable, str(gen), "--maildir", str(maildir), "-n", str(n), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    inbox = maildir / "INBOX"
    inbox.mkdir()
    for sub in ("cur", "new", "tmp"):
        os.rename(maildir / sub, inbox / sub)
    stamp.touch()
    return maildir


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/pigeon-index-bench")
    ap.add_argument("--gen", help="path of gen_corpus.py")
    ap.add_argument("--peers", default="pigeon,notmuch,mu")
    ap.add_argument("--keep", action="store_true", help="keep the corpus and databases")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    maildir = make_corpus(find_gen(args.gen), work, args.n, args.seed)
    print(f"corpus: {args.n} messages in {maildir} ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    classes = {"pigeon": Pigeon, "pigeon --threads": PigeonThreads, "notmuch": Notmuch, "mu": Mu}
    names = [p for p in args.peers.split(",") if p]
    if "pigeon" in names and "notmuch" in names:
        names.insert(names.index("pigeon") + 1, "pigeon --threads")
    peers = [classes[p](p, work, maildir) for p in names]
    indexers = [p for p in peers if not isinstance(p, PigeonThreads)]
    rows: dict[str, dict[str, list[float]]] = {}
    lines: dict[str, dict[str, int]] = {}

    def record(op: str, peer: Peer, result: tuple[float, int]) -> None:
        rows.setdefault(op, {}).setdefault(peer.name, []).append(result[0])
        lines.setdefault(op, {})[peer.name] = result[1]

    for r in range(args.runs):
        for peer in indexers:
            peer.reset()
            record("first index", peer, peer.index())
            print(f"run {r + 1}: {peer.name} first index {rows['first index'][peer.name][-1]:.2f} s", file=sys.stderr)
    for peer in peers:
        if isinstance(peer, PigeonThreads):
            peer.reset()
    for _ in range(args.runs):
        for peer in indexers:
            record("no-change re-index", peer, peer.rescan())
    for name in QUERIES:
        for _ in range(args.runs):
            for peer in peers:
                record(name, peer, peer.query(name))

    print(f"\n## Index benchmark, N={args.n}, median of {args.runs} runs, whole commands (wall time)\n")
    for p in indexers:
        print(f"- {p.version()}")
    # Ratios against the pigeon column that prints the same thing: notmuch search lists
    # threads (as pigeon search --threads), mu find lists messages (as pigeon search).
    same = {"notmuch": "pigeon --threads", "mu": "pigeon"}
    others = [n for n in names if n in same]
    head = "| operation | " + " | ".join(names) + " | " + " | ".join(f"{o}/{same[o]}" for o in others) + " |"
    print("\n" + head)
    print("|" + "---|" * (1 + len(names) + len(others)))
    for op, by_peer in rows.items():
        med = {n: statistics.median(v) for n, v in by_peer.items()}
        cells = []
        for n in names:
            v = med.get(n)
            if v is None:
                cells.append("")
                continue
            text = f"{v:.2f} s" if v >= 1 else f"{v * 1000:.0f} ms"
            if op not in ("first index", "no-change re-index"):
                text += f" [{lines[op][n]}]"
            cells.append(text)
        ratios = []
        for o in others:
            ref = same[o] if same[o] in med else "pigeon"
            ratios.append(f"{med[o] / med[ref]:.1f}×" if ref in med and med[ref] > 0 else "-")
        print(f"| {op} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("\n[n] = lines of output. Above 1×: pigeon is faster. Index rows compare with the pigeon column.")
    if not args.keep:
        for p in peers:
            shutil.rmtree(p.state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
