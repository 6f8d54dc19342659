"""Whole-command times of the everyday ``pigeon`` commands, and what their imports cost.

    python bench/startup_bench.py [-n 1000] [--runs 30] [--work DIR] [--keep] [--no-sync]

Sets up a small fixture: a generated Maildir (``gen_corpus.py``, five folders) APPENDed to a
private Dovecot on 127.0.0.1 (``tests/fixtures/dovecot.py``, free ports), synced once with
``pigeon sync`` and indexed with ``pigeon index``. Then times with ``hyperfine -N`` (no shell;
warm-up runs first) the whole command, Python's start-up included, of ``pigeon --help``,
``search subject:WORD``, ``count '*'``, ``show ID``, ``sync`` with nothing changed and
``sync --dry-run``, next to ``python -c pass`` (the interpreter alone) and, when installed,
``notmuch search`` of the same word on a notmuch database of the same Maildir. Last, for
``search`` and ``sync --dry-run``, the total of ``python -X importtime`` (top-level imports,
inflated by the measuring itself) and the ten dearest modules.

Measure an installed pigeon (``pip install .``, not ``-e``: an editable install adds its
finder's cost to every command), installed by a recent pip (26 here: the launcher script of
older pips imports ``re``, ~4 ms): the script runs the ``pigeon`` next to the Python running it.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pigeon_cmd() -> list[str]:
    script = Path(sys.executable).parent / "pigeon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pigeon.core.cli"]


def run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    proc = subprocess.run(args, env=env, capture_output=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-800:]}")
    return proc


def start_dovecot(work: Path):  # noqa: ANN201 - (server, user)
    sys.path.insert(0, str(REPO / "tests"))
    from fixtures.dovecot import DovecotServer
    from fixtures.pki import PKI

    root = Path(tempfile.mkdtemp(prefix="pgsb-"))  # short: unix socket paths are limited
    server = DovecotServer(root, PKI(work / "pki"))
    server.start()
    return server, server.add_user(), root


def load_server(user, corpus: Path) -> int:  # noqa: ANN001
    """APPEND every generated message to its folder, with its flags (one connection)."""
    letters = {"S": b"\\Seen", "F": b"\\Flagged", "R": b"\\Answered", "D": b"\\Draft"}
    client = user.imap()
    count = 0
    try:
        sep = client.namespace().personal[0][1] or "/"
        sep = sep.decode() if isinstance(sep, bytes) else sep
        for folder_dir in sorted([corpus, *[p for p in corpus.iterdir() if p.name.startswith(".")]]):
            # Maildir++ ".lists.dev" is "lists/dev" on a server whose separator is "/"
            folder = "INBOX" if folder_dir == corpus else folder_dir.name[1:].replace(".", sep)
            if folder != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            for sub in ("cur", "new"):
                for f in sorted((folder_dir / sub).iterdir()) if (folder_dir / sub).is_dir() else []:
                    info = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
                    client.append(folder, f.read_bytes(), flags=[letters[c] for c in info if c in letters])
                    count += 1
    finally:
        client.logout()
    return count


def hyperfine(commands: dict[str, list[str]], env: dict[str, str], runs: int, work: Path) -> dict[str, tuple[float, float]]:
    out = work / "hyperfine.json"
    args = ["hyperfine", "-N", "-w", "3", "-r", str(runs), "--export-json", str(out), "--style", "none"]
    for name, cmd in commands.items():
        args += ["-n", name, subprocess.list2cmdline(cmd)]
    run(args, env)
    data = json.loads(out.read_text())
    return {r["command"]: (r["mean"] * 1000, r["stddev"] * 1000) for r in data["results"]}


def import_profile(cmd: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]]]:
    """Total of the top-level ``-X importtime`` entries (ms) and the ten dearest of them."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pigeon.core.cli", *cmd[1:]],
                          env=env, capture_output=True)
    tops: list[tuple[float, str]] = []
    for line in proc.stderr.decode(errors="replace").splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if m and not m.group(2).startswith(" "):
            tops.append((int(m.group(1)) / 1000, m.group(2)))
    return sum(t for t, _ in tops), sorted(tops, reverse=True)[:10]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="messages in the fixture (default 1000)")
    ap.add_argument("--runs", type=int, default=30, help="hyperfine runs per command (default 30)")
    ap.add_argument("--work", type=Path, default=None, help="work directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-sync", action="store_true", help="no Dovecot: time the local commands only")
    ap.add_argument("--word", default="meeting", help="the subject word searched (default meeting)")
    opts = ap.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is not installed (Debian package hyperfine)")
    work = opts.work or Path(tempfile.mkdtemp(prefix="pigeon-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    server = root = None
    try:
        corpus = work / "corpus"
        if not corpus.exists():
            run([sys.executable, str(REPO / "bench" / "gen_corpus.py"), "--maildir", str(corpus), "-n", str(opts.n)], dict(os.environ))
        config = work / "config"
        config.mkdir(exist_ok=True)
        env = dict(os.environ, PIGEON_CONFIG_DIR=str(config), PIGEON_STATE_DIR=str(work / "state"), TZ="UTC")
        env.pop("PIGEON_DEBUG", None)
        account = f'[accounts.bench]\naddress = "bench@example.org"\nmaildir = "{work / "Mail"}"\n'
        if opts.no_sync:
            account = f'[accounts.bench]\naddress = "bench@example.org"\nmaildir = "{corpus}"\n'
        else:
            server, user, root = start_dovecot(work)
            t0 = time.monotonic()
            count = load_server(user, corpus)
            print(f"loaded {count} messages into the private Dovecot in {time.monotonic() - t0:.1f}s")
            account += f'{user.toml("imap", "tls")}\npassword_command = ["printf", "%s", "{user.password}"]\n'
        (config / "config.toml").write_text(f'state_dir = "{work / "state"}"\n{account}')
        pigeon = pigeon_cmd()
        if not opts.no_sync:
            t0 = time.monotonic()
            run([*pigeon, "sync"], env)
            print(f"initial pigeon sync: {time.monotonic() - t0:.2f}s")
        run([*pigeon, "index", "--quiet"], env)
        first = run([*pigeon, "search", "--limit", "1", f"subject:{opts.word}"], env).stdout.decode().split()
        if not first:
            sys.exit(f"no message with subject:{opts.word} in the fixture: pass --word")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "pigeon --help": [*pigeon, "--help"],
            f"pigeon search subject:{opts.word}": [*pigeon, "search", f"subject:{opts.word}"],
            "pigeon count '*'": [*pigeon, "count", "*"],
            "pigeon show ID": [*pigeon, "show", first[0]],
            "pigeon index (no change)": [*pigeon, "index", "--quiet"],
        }
        if not opts.no_sync:
            commands["pigeon sync (no change)"] = [*pigeon, "sync"]
            commands["pigeon sync --dry-run"] = [*pigeon, "sync", "--dry-run"]
        if shutil.which("notmuch"):
            nm = work / "notmuch"
            nm.mkdir(exist_ok=True)
            (nm / "config").write_text(f"[database]\npath={nm / 'db'}\nmail_root={work / 'Mail' if not opts.no_sync else corpus}\n"
                                       "[new]\ntags=unread;inbox\nignore=\n[search]\nexclude_tags=\n")
            env["NOTMUCH_CONFIG"] = str(nm / "config")
            (nm / "db").mkdir(exist_ok=True)
            run(["notmuch", "new", "--quiet"], env)
            commands[f"notmuch search subject:{opts.word}"] = ["notmuch", "search", f"subject:{opts.word}"]
        print(f"{opts.n} messages; {' '.join(pigeon)}; Python {sys.version.split()[0]}; hyperfine -N -w 3 -r {opts.runs}")
        times = hyperfine(commands, env, opts.runs, work)
        width = max(len(n) for n in commands)
        for name in commands:
            mean, sd = times[name]
            print(f"  {name:<{width}}  {mean:7.1f} ms ± {sd:4.1f}")
        for label, cmd in ((f"search subject:{opts.word}", commands[f"pigeon search subject:{opts.word}"]),
                           *((("sync --dry-run", commands["pigeon sync --dry-run"]),) if not opts.no_sync else ())):
            total, top = import_profile(cmd, env)
            print(f"imports of pigeon {label} (python -X importtime, top level): {total:.1f} ms")
            print("    " + ", ".join(f"{name} {ms:.1f}" for ms, name in top))
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
        if opts.keep:
            print(f"kept {work}")
        elif opts.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
