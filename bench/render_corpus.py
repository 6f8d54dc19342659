#!/usr/bin/env python3
"""Rendering speed: pigeon against ``mu view`` on the shared corpus (same files, one run).

    python bench/render_corpus.py [--corpus DIR] [--repeat N]

Reports, as a markdown table:
- every single-message file of the corpus rendered in one process (pigeon: ``show_text`` with
  one App, as ``pigeon show`` does; mu: ``mu view`` over batches of 100 files);
- a cold ``pigeon show FILE`` against a cold ``mu view FILE`` (median of 15 files), which is
  what a user pays per message from a shell.
mbox files are left out (``mu view`` reads single messages only). Not part of the test run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def corpus_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    for cand in (REPO.parent / "shared" / "corpus", REPO.parent.parent / "shared" / "corpus"):
        if cand.is_dir():
            return cand
    sys.exit("corpus not found: pass --corpus DIR")


def message_files(corpus: Path) -> list[Path]:
    spec = importlib.util.spec_from_file_location("check_parse", corpus / "check_parse.py")
    cp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cp)
    out = []
    for dirpath, dirnames, filenames in os.walk(corpus):
        dirnames[:] = sorted(d for d in dirnames if d not in cp.SKIP_DIRS)
        if Path(dirpath) == corpus:
            continue
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and cp.is_candidate(path) and not cp.is_mbox(path):
                out.append(Path(path))
    return out


def pigeon_in_process(files: list[Path], repeat: int) -> float:
    os.environ.setdefault("PIGEON_CONFIG_DIR", tempfile.mkdtemp(prefix="pigeon-bench-"))
    from pigeon.core.app import App
    from pigeon.core.cli_show import show_text

    app = App.create(report_to_stderr=False)
    datas = [(p.read_bytes(), str(p)) for p in files]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for data, name in datas:
            show_text(app, data, name=name, width=80)
        best = min(best, time.perf_counter() - start)
    return best


def mu_batched(files: list[Path], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(files), 100):
            subprocess.run(["mu", "view", *map(str, files[i : i + 100])], capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def cold(cmd: list[str], files: list[Path]) -> float:
    times = []
    for path in files:
        start = time.perf_counter()
        subprocess.run([*cmd, str(path)], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = message_files(corpus_dir(args.corpus))
    sample = files[:: max(1, len(files) // 15)][:15]
    pigeon_cmd = [sys.executable, "-m", "pigeon.core.cli", "show"]
    rows = [("whole corpus, one process", f"{len(files)} files", pigeon_in_process(files, args.repeat), None)]
    rows.append(("cold `show FILE`, median", f"{len(sample)} files", cold(pigeon_cmd, sample), None))
    if shutil.which("mu"):
        rows[0] = (*rows[0][:3], mu_batched(files, args.repeat))
        rows[1] = (*rows[1][:3], cold(["mu", "view"], sample))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| operation | input | pigeon (s) | mu view (s) | pigeon / mu |")
    print("|---|---|---|---|---|")
    for name, what, ours, theirs in rows:
        ratio = f"{ours / theirs:.1f}x" if theirs else "-"
        mu = f"{theirs:.3f}" if theirs else "-"
        print(f"| {name} | {what} | {ours:.3f} | {mu} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
