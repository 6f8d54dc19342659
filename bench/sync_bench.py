#!/usr/bin/env python3
"""pigeon sync against mbsync, offlineimap3 and the raw cost of fetching every message once.

    python3 bench/sync_bench.py                       # N = 1,000 and 10,000 (several minutes)
    python3 bench/sync_bench.py --sizes 1000 --peers pigeon,mbsync --inc-rounds 1
    python3 bench/sync_bench.py --report              # tables again from bench/results/
    python3 bench/sync_bench.py --sizes 10000 --peers pigeon,mbsync --latency-ms 10 --out /tmp/lat
                                                      # the clients 10 ms (each way) from the server
    python3 bench/sync_bench.py --sizes 100000 --small --peers pigeon,mbsync --inc-rounds 0 --full-runs 1
                                                      # 100,000 short messages: initial + no-change

Builds on the shared harness (``run.py``, ``server.sh``, ``gen_corpus.py``, ``imaptool.py``,
``adapters/``, copied from ../shared/bench): a private Dovecot on 127.0.0.1 (ports from
``MAILBENCH_*_PORT``, default 11143/11993/11110/11995; state in ``MAILBENCH_STATE``), a generated
corpus over five folders, and per N: initial sync into an empty Maildir, no-change re-sync,
and rounds of {100 new, 100 flag changes, 50 expunged on the server; incremental sync}. Every
client's Maildir is verified against the server after its initial sync and after each round
(counts, Message-IDs, flags, sizes). Times are medians of wall-clock time of the whole command;
each cell also gives the command's peak memory (max RSS, from ``/usr/bin/time -v``), and a
line per N states pigeon's largest. ``--small`` makes every message a short text/plain one
(the many-messages case: cost per folder, not per message).

Before running, pigeon's modules are byte-compiled (an installed pigeon has its ``.pyc``
files; a source tree under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile on every run).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULTS = {
    "MAILBENCH_STATE": "/var/tmp/pigeon-syncbench/server",
    "MAILBENCH_IMAP_PORT": "11143",
    "MAILBENCH_IMAPS_PORT": "11993",
    "MAILBENCH_POP3_PORT": "11110",
    "MAILBENCH_POP3S_PORT": "11995",
}
OPS = ("full sync", "re-sync", "incremental")
TARGETS = {"full sync": ("mbsync", 0.8), "incremental": ("mbsync", 1.0)}


def pigeon_command() -> str:
    exe = Path(sys.executable).with_name("pigeon")
    return str(exe) if exe.exists() else (shutil.which("pigeon") or "pigeon")


def median_wall(runs: list[dict]) -> float | None:
    vals = [r["wall"] for r in runs if "wall" in r and not r.get("rc")]
    return statistics.median(vals) if vals else None


def max_rss(runs: list[dict]) -> float | None:
    """The largest max RSS (MB) over the runs: peak memory, not a typical one."""
    vals = [r["rss_mb"] for r in runs if "rss_mb" in r and not r.get("rc")]
    return max(vals) if vals else None


def fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:.3f} s" if v < 1 else f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def ratio_table(results: dict) -> str:
    """Markdown: per N and operation, every peer's median and pigeon's ratio to each."""
    out = []
    for n, res in results.items():
        if n == "machine" or "ops" not in res:
            continue
        c = res.get("corpus", {})
        kind = ", short messages" if c.get("small") else ""
        out.append(f"\n### N = {int(n):,} ({c.get('messages')} messages, {c.get('bytes_lf', 0) / 1e6:.1f} MB{kind})\n")
        out.append("Median wall time of the whole command (peak max RSS over the runs).\n")
        peers = [p for p in ("pigeon", "mbsync", "offlineimap", "upper-bound") if any(p in res["ops"].get(o, {}) for o in OPS)]
        others = [p for p in peers if p != "pigeon"]
        out.append("| operation | " + " | ".join(peers) + " | " + " | ".join(f"pigeon ÷ {p}" for p in others) + " |")
        out.append("|---|" + "---:|" * (len(peers) + len(others)))
        for op in OPS:
            per = res["ops"].get(op, {})
            walls = {p: median_wall(per.get(p, [])) for p in peers}
            ratios = []
            for p in others:
                a, b = walls.get("pigeon"), walls.get(p)
                ratios.append(f"{a / b:.2f}×" if a and b else "–")
            cells = []
            for p in peers:
                rss = max_rss(per.get(p, []))
                cells.append(fmt(walls[p]) + (f" ({rss:.0f} MB)" if rss is not None and walls[p] is not None else ""))
            out.append(f"| {op} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        checks = []
        per = res["ops"]
        for op, (peer, limit) in TARGETS.items():
            a, b = median_wall(per.get(op, {}).get("pigeon", [])), median_wall(per.get(op, {}).get(peer, []))
            if a and b:
                checks.append(f"{op} ≤ {limit}× {peer}: {'yes' if a <= limit * b else 'NO'} ({a / b:.2f}×)")
        nc = median_wall(per.get("re-sync", {}).get("pigeon", []))
        if nc is not None:
            checks.append(f"no-change re-sync < 0.25 s: {'yes' if nc < 0.25 else 'NO'} ({nc:.3f} s)")
        peak = [max_rss(per.get(op, {}).get("pigeon", [])) for op in OPS]
        peak = [x for x in peak if x is not None]
        if peak:
            checks.append(f"pigeon peak memory {max(peak):.0f} MB")
        if checks:
            out.append("\ntargets: " + "; ".join(checks))
        ver = res.get("verify", {})
        if ver:
            out.append("\nverification against the server:")
            for p, labels in ver.items():
                bad = [label for label, r in labels.items() if not r["ok"]]
                out.append(f"- {p}: " + ("OK after " + ", ".join(labels) if not bad else "MISMATCH after " + ", ".join(bad)))
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--peers", default="pigeon,mbsync,offlineimap")
    ap.add_argument("--runs", type=int, default=3, help="no-change re-syncs per peer (median)")
    ap.add_argument("--full-runs", type=int, default=0, help="initial syncs per peer (run.py default: 3, 1 above 10k)")
    ap.add_argument("--inc-rounds", type=int, default=3)
    ap.add_argument("--work", default="/var/tmp/pigeon-syncbench/work", help="local Maildirs and client state")
    ap.add_argument("--out", default=str(BENCH / "results" / "sync"))
    ap.add_argument("--small", action="store_true", help="short text/plain messages (e.g. N = 100,000)")
    ap.add_argument("--keep", action="store_true", help="keep the local Maildirs and state (for profiling)")
    ap.add_argument("--report", action="store_true", help="only print the tables of the last run")
    ap.add_argument("--latency-ms", type=float, default=0,
                    help="clients reach the server through delay_proxy.py adding this much each way")
    a = ap.parse_args()
    out = Path(a.out)
    if not a.report:
        env = dict(os.environ)
        for k, v in DEFAULTS.items():
            env.setdefault(k, v)
        env["PIGEON"] = pigeon_command()
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "core"), str(REPO / "hooks"), str(REPO / "plugins")], check=False)
        cmd = [sys.executable, str(BENCH / "run.py"), "--sizes", a.sizes, "--peers", a.peers, "--index-peers", "",
               "--runs", str(a.runs), "--inc-rounds", str(a.inc_rounds), "--work", a.work, "--out", str(out)]
        if a.full_runs:
            cmd += ["--full-runs", str(a.full_runs)]
        cmd += ["--small"] * a.small + ["--keep"] * a.keep
        proxy = None
        if a.latency_ms:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                env["MAILBENCH_CLIENT_IMAPS_PORT"] = str(s.getsockname()[1])
            proxy = subprocess.Popen([sys.executable, str(BENCH / "delay_proxy.py"), env["MAILBENCH_CLIENT_IMAPS_PORT"],
                                      env["MAILBENCH_IMAPS_PORT"], str(a.latency_ms)], stdout=subprocess.PIPE, text=True)
            print("+ delay_proxy.py:", proxy.stdout.readline().strip() if proxy.stdout else "", flush=True)
        print("+", " ".join(cmd), flush=True)
        try:
            rc = subprocess.run(cmd, env=env).returncode
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.wait(10)
        subprocess.run([str(BENCH / "server.sh"), "stop"], env=env, check=False)
        if rc != 0:
            print(f"run.py exited {rc}", file=sys.stderr)
    results = json.loads((out / "results.json").read_text())
    text = ratio_table(results)
    if a.latency_ms:
        text = (f"\nThe clients reached the server through bench/delay_proxy.py adding {a.latency_ms:g} ms each way"
                f" (a {2 * a.latency_ms:g} ms round trip); imaptool's changes and checks went direct.\n" + text)
    (out / "sync_table.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
