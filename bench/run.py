#!/usr/bin/env python3
# ruff: noqa  (copied from the shared benchmark harness, ../shared/bench; changed here: the
# order of the peers turns every other re-sync and incremental round)
"""Side-by-side benchmark of IMAP<->Maildir sync clients and local mail indexers
against the private Dovecot of server.sh, on generated corpora (gen_corpus.py).

  python3 bench/run.py                      # N=1000,10000; mbsync, offlineimap; notmuch, mu
  python3 bench/run.py --sizes 1000 --runs 3 --peers mbsync
  python3 bench/run.py --trace              # IMAP command trace per peer (Dovecot rawlog), N=1000

Per N: load corpus -> [full sync x F, interleaved with the upper bound] -> [no-change re-sync x R]
-> verify -> R rounds of {server changes (100 new, 100 flag changes, 50 expunges); incremental
sync of every peer, in turned order every other round; verify every peer} -> index peers over the mbsync copy (initial index,
no-change rescan, queries). Every command runs under /usr/bin/time -v (wall, max RSS, CPU);
the medians go to results/results.json and results/table.md.
Peers are adapters in bench/adapters/NAME.sh (see README.md).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ADAPTERS = os.path.join(BENCH, "adapters")
STATE = os.environ.get("MAILBENCH_STATE", "/tmp/mailbench")
QUERIES = ["from", "subject", "date", "inbox", "body", "count"]
IMAP_CMDS = set("""CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN SELECT EXAMINE CREATE DELETE RENAME
SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS APPEND CHECK CLOSE UNSELECT EXPUNGE SEARCH FETCH STORE
COPY MOVE UID ENABLE IDLE ID GETQUOTAROOT COMPRESS XLIST""".split())


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def server_env():
    env = {}
    for line in sh([os.path.join(BENCH, "server.sh"), "env"]).splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


def server_cpu():
    """CPU seconds of the Dovecot master plus all its reaped children (imap, imap-login, auth...)."""
    try:
        pid = open(os.path.join(STATE, "run", "master.pid")).read().strip()
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def parse_time_v(path):
    out = {}
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("Maximum resident set size"):
            out["rss_mb"] = int(line.rsplit(":", 1)[1]) / 1024
        elif line.startswith("User time"):
            out["user"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("System time"):
            out["sys"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("Elapsed (wall clock)"):
            parts = [float(x) for x in line.rsplit(" ", 1)[1].split(":")]
            out["time_v_wall"] = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
        elif line.startswith("Exit status"):
            out["rc"] = int(line.rsplit(":", 1)[1])
    return out


class Bench:
    def __init__(self, a):
        self.a = a
        self.results = {}
        os.makedirs(a.out, exist_ok=True)
        self.logf = open(os.path.join(a.out, "run.log"), "a")

    def log(self, msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.logf.write(line + "\n"); self.logf.flush()

    def timed(self, cmd, server=False, stdout_path=None):
        """Run cmd under /usr/bin/time -v; wall from a monotonic clock (ms resolution)."""
        tv = os.path.join(self.a.work, ".time-v")
        out = open(stdout_path or os.path.join(self.a.work, ".last-out"), "w")
        c0 = server_cpu() if server else None
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tv] + cmd, stdout=out, stderr=subprocess.STDOUT)
        wall = time.monotonic() - t0
        out.close()
        r = {"wall": round(wall, 4), **parse_time_v(tv)}
        if server:
            time.sleep(0.3)  # let the master reap the imap/imap-login processes
            r["server_cpu"] = round(server_cpu() - c0, 2)
        if p.returncode != 0:
            r["rc"] = p.returncode
            tail = open(stdout_path or os.path.join(self.a.work, ".last-out"), errors="replace").read()[-2000:]
            r["error_tail"] = tail
            self.log(f"  !! exit {p.returncode}: {' '.join(cmd)}\n{tail}")
        return r

    def record(self, n, op, peer, r, lines=None):
        d = self.results.setdefault(str(n), {}).setdefault("ops", {}).setdefault(op, {}).setdefault(peer, [])
        if lines is not None:
            r["output_lines"] = lines
        d.append(r)
        self.log(f"  N={n} {op:14} {peer:12} wall={r['wall']:.3f}s rss={r.get('rss_mb', 0):.0f}MB"
                 + (f" server_cpu={r['server_cpu']}s" if "server_cpu" in r else "")
                 + (f" lines={lines}" if lines is not None else "") + (f" rc={r['rc']}" if r.get("rc") else ""))
        self.save()

    def save(self):
        with open(os.path.join(self.a.out, "results.json"), "w") as fh:
            json.dump(self.results, fh, indent=1, default=str)
        with open(os.path.join(self.a.out, "table.md"), "w") as fh:
            fh.write(table(self.results))

    # ---- phases -------------------------------------------------------------------------
    def load_corpus(self, n):
        self.log(f"loading corpus N={n}")
        srv = os.path.join(BENCH, "server.sh")
        sh([srv, "stop"])
        shutil.rmtree(os.path.join(STATE, "mail", "bench"), ignore_errors=True)
        start_env = dict(os.environ, RAWLOG="1" if self.a.trace else "0")
        subprocess.run([srv, "start"], check=True, env=start_env, capture_output=True, text=True)
        self.env = server_env()
        t0 = time.monotonic()
        out = sh([sys.executable, os.path.join(BENCH, "gen_corpus.py"), "--maildir", self.env["MAILBENCH_MAILDIR"],
                  "-n", str(n), "--seed", str(self.a.seed), "--owner", "vmail"] + (["--small"] if self.a.small else []))
        gen_s = time.monotonic() - t0
        # first access: Dovecot builds dovecot-uidlist and indexes before any peer is timed
        t0 = time.monotonic()
        status = sh(["doveadm", "-c", self.env["MAILBENCH_CONF"], "mailbox", "status", "-u", "bench",
                     "messages vsize", "*"])
        warm_s = time.monotonic() - t0
        count, nbytes = (int(x) for x in out.split())
        folders = {l.split()[0]: int(l.split()[1].split("=")[1]) for l in status.splitlines()}
        self.results.setdefault(str(n), {})["corpus"] = {
            "messages": count, "bytes_lf": nbytes, "per_folder": folders, "seed": self.a.seed, "small": self.a.small,
            "generate_s": round(gen_s, 1), "dovecot_first_index_s": round(warm_s, 2)}
        self.log(f"  corpus: {count} msgs, {nbytes / 1e6:.1f} MB, {folders}, dovecot first index {warm_s:.1f}s")

    def sync_args(self, peer, n):
        base = os.path.join(self.a.work, str(n), peer)
        e = self.env
        # MAILBENCH_CLIENT_IMAPS_PORT: the clients go through a proxy there (sync_bench --latency-ms)
        port = os.environ.get("MAILBENCH_CLIENT_IMAPS_PORT") or e["MAILBENCH_IMAPS_PORT"]
        return [e["MAILBENCH_HOST"], port, e["MAILBENCH_USER"], e["MAILBENCH_PASS"],
                e["MAILBENCH_CAFILE"], os.path.join(base, "maildir"), os.path.join(base, "state")]

    def adapter(self, name):
        return os.path.join(ADAPTERS, name + ".sh")

    def verify(self, n, peer, label):
        maildir = self.sync_args(peer, n)[5]
        path = os.path.join(self.a.work, str(n), f"verify-{peer}-{label}.json")
        env = dict(os.environ, **self.env)
        p = subprocess.run([sys.executable, os.path.join(BENCH, "imaptool.py"), "verify", maildir, "--json", path],
                           env=env, capture_output=True, text=True)
        if os.path.exists(path):
            rep = json.load(open(path))
        else:  # the verifier itself failed (e.g. no local Maildir at all)
            rep = {"ok": False, "error": (p.stdout + p.stderr)[-2000:], "folders": {}}
        v = self.results[str(n)].setdefault("verify", {}).setdefault(peer, {})
        v[label] = rep
        self.log(f"  verify {peer:12} after {label}: {'OK' if rep['ok'] else 'MISMATCH'}"
                 + ("" if rep["ok"] else "\n" + p.stdout))
        self.save()

    def sync_peers(self, n):
        peers, R = self.a.peers, self.a.runs
        F = self.a.full_runs or (3 if n <= 10000 else 1)
        for r in range(F):
            for peer in (["upper-bound"] if self.a.upper_bound else []) + peers:
                args = self.sync_args(peer, n)
                shutil.rmtree(os.path.dirname(args[5]), ignore_errors=True)
                sh([self.adapter(peer), "setup"] + args)
                self.record(n, "full sync", peer, self.timed([self.adapter(peer), "full"] + args, server=True))
        for peer in peers:
            self.verify(n, peer, "full")
        for r in range(R):
            for peer in (peers if r % 2 == 0 else peers[::-1]):
                self.record(n, "re-sync", peer,
                            self.timed([self.adapter(peer), "sync"] + self.sync_args(peer, n), server=True))
        for rnd in range(self.a.inc_rounds):
            env = dict(os.environ, **self.env)
            out = sh([sys.executable, os.path.join(BENCH, "imaptool.py"), "changes", "--round", str(rnd),
                      "--seed", str(self.a.seed)], env=env)
            self.log("  " + out.strip())
            # The first client after a change set pays for the server reading its changed
            # indexes (tens of ms here); every other round the order turns, so each peer
            # pays it in half the rounds.
            for peer in (peers if rnd % 2 == 0 else peers[::-1]):
                self.record(n, "incremental", peer,
                            self.timed([self.adapter(peer), "sync"] + self.sync_args(peer, n), server=True))
            for peer in peers:
                self.verify(n, peer, f"incremental-{rnd}")

    def index_peers(self, n):
        if not self.a.index_peers:
            return
        maildir = self.sync_args(self.a.index_maildir_of, n)[5]
        I = self.a.index_runs or (3 if n <= 10000 else 1)
        for r in range(I):
            for ip in self.a.index_peers:
                st = os.path.join(self.a.work, str(n), "index-" + ip)
                sh([self.adapter(ip), "setup", maildir, st])
                self.record(n, "index (initial)", ip, self.timed([self.adapter(ip), "index", maildir, st]))
        for r in range(self.a.runs):
            for ip in self.a.index_peers:
                st = os.path.join(self.a.work, str(n), "index-" + ip)
                self.record(n, "index (no-change)", ip, self.timed([self.adapter(ip), "rescan", maildir, st]))
        outp = os.path.join(self.a.work, ".query-out")
        for q in QUERIES:
            for r in range(self.a.runs):
                for ip in self.a.index_peers:
                    st = os.path.join(self.a.work, str(n), "index-" + ip)
                    res = self.timed([self.adapter(ip), "query", q, maildir, st], stdout_path=outp)
                    lines = sum(1 for _ in open(outp, errors="replace"))
                    if q == "count":
                        lines = open(outp).read().strip()
                    if res.get("rc") == 4:  # mu find: exit 4 = no match, not a failure
                        res.pop("rc"); res.pop("error_tail", None)
                    self.record(n, f"query {q}", ip, res, lines=lines)

    def trace(self):
        """IMAP commands each peer sends (Dovecot rawlog of the client->server stream)."""
        n, raw = self.a.sizes[0], os.path.join(STATE, "rawlog")
        tdir = os.path.join(self.a.out, "trace")
        shutil.rmtree(tdir, ignore_errors=True)
        self.load_corpus(n)
        summary = [f"# IMAP command trace, N={n} (client->server, from Dovecot rawlog_dir)\n"]

        def collect(label, cmd):
            for f in os.listdir(raw):
                os.unlink(os.path.join(raw, f))
            p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **self.env))
            time.sleep(0.5)
            d = os.path.join(tdir, label)
            os.makedirs(d, exist_ok=True)
            verbs, lines = {}, []
            for f in sorted(os.listdir(raw)):
                if f.endswith(".in"):
                    if not label.startswith("server"):  # the change set's .in holds 100 message bodies
                        shutil.copy(os.path.join(raw, f), d)
                    for line in open(os.path.join(raw, f), errors="replace"):
                        t = line.split()  # "<unix time> <tag> <COMMAND> args", literals in between
                        if len(t) < 3 or not re.match(r"^\d+\.\d+$", t[0]) or t[2] not in IMAP_CMDS:  # case-sensitive: skips literal text
                            continue
                        verb = " ".join(t[2:4]).upper() if t[2].upper() == "UID" else t[2].upper()
                        verbs[verb] = verbs.get(verb, 0) + 1
                        lines.append(" ".join(t[1:])[:160])
            summary.append(f"## {label} (exit {p.returncode})\ncommand counts: {json.dumps(verbs)}\n")
            summary.append("```\n" + "\n".join(lines[:60]) + ("\n..." if len(lines) > 60 else "") + "\n```\n")
            self.log(f"  trace {label}: {verbs}")

        for peer in self.a.peers:
            args = self.sync_args(peer, n)
            shutil.rmtree(os.path.dirname(args[5]), ignore_errors=True)
            sh([self.adapter(peer), "setup"] + args)
            collect(f"{peer}-full", [self.adapter(peer), "full"] + args)
        for peer in self.a.peers:
            collect(f"{peer}-resync", [self.adapter(peer), "sync"] + self.sync_args(peer, n))
        collect("server-changes", [sys.executable, os.path.join(BENCH, "imaptool.py"), "changes", "--round", "0"])
        for peer in self.a.peers:
            collect(f"{peer}-incremental", [self.adapter(peer), "sync"] + self.sync_args(peer, n))
        with open(os.path.join(tdir, "summary.md"), "w") as fh:
            fh.write("\n".join(summary))
        subprocess.run([os.path.join(BENCH, "server.sh"), "restart"], capture_output=True)  # rawlog off again

    def run(self):
        os.makedirs(self.a.work, exist_ok=True)
        if self.a.trace:
            return self.trace()
        self.results["machine"] = machine_info(self.a)
        self.save()
        for n in self.a.sizes:
            shutil.rmtree(os.path.join(self.a.work, str(n)), ignore_errors=True)
            t0 = time.monotonic()
            self.load_corpus(n)
            self.sync_peers(n)
            self.index_peers(n)
            log = os.path.join(STATE, "log", "dovecot.log")
            errs = [l for l in open(log, errors="replace") if " Error: " in l or " Panic: " in l or " Fatal: " in l]
            self.results[str(n)]["dovecot_errors"] = errs[-20:]
            self.results[str(n)]["elapsed_s"] = round(time.monotonic() - t0)
            self.log(f"N={n} done in {time.monotonic() - t0:.0f}s, dovecot log errors: {len(errs)}")
            self.save()
            if not self.a.keep:
                shutil.rmtree(os.path.join(self.a.work, str(n)), ignore_errors=True)


def machine_info(a):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    vers = {"dovecot": sh(["dovecot", "--version"]).strip(),
            "python": platform.python_version(), "kernel": platform.release()}
    for p in ["upper-bound"] + a.peers + a.index_peers:
        cmd = [os.path.join(ADAPTERS, p + ".sh"), "version"]
        vers[p] = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": mem, "versions": vers,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def med(runs, key):
    vals = [r[key] for r in runs if key in r and not r.get("rc")]
    return statistics.median(vals) if vals else None


def table(results):
    """Markdown: one table per N; rows = operations, columns = peers; 'median wall s (max RSS MB)'."""
    out = []
    for n, res in results.items():
        if n == "machine" or "ops" not in res:
            continue
        c = res.get("corpus", {})
        out.append(f"\n### N = {n} ({c.get('messages')} messages, {c.get('bytes_lf', 0) / 1e6:.1f} MB)\n")
        sync_ops = [o for o in res["ops"] if o in ("full sync", "re-sync", "incremental")]
        for ops in (sync_ops, [o for o in res["ops"] if o not in sync_ops]):
            if ops:
                out += table_rows({o: res["ops"][o] for o in ops}) + [""]
        ver = res.get("verify", {})
        if ver:
            out.append("verification (local Maildir vs server: per-folder counts, Message-IDs, flags, sizes):")
            for p, labels in ver.items():
                bad = [l for l, r in labels.items() if not r["ok"]]
                out.append(f"- {p}: " + ("all OK (" + ", ".join(labels) + ")" if not bad else "MISMATCH after " + ", ".join(bad)))
    return "\n".join(out) + "\n"


def table_rows(ops):
    out, peers = [], []
    for op in ops.values():
        peers += [p for p in op if p not in peers]
    out.append("| operation | " + " | ".join(peers) + " |")
    out.append("|---|" + "---|" * len(peers))
    for op, per in ops.items():
        cells = []
        for p in peers:
            runs = per.get(p)
            if not runs:
                cells.append(""); continue
            w, rss, scpu = med(runs, "wall"), med(runs, "rss_mb"), med(runs, "server_cpu")
            fails = sum(1 for r in runs if r.get("rc"))
            if w is None:
                cells.append(f"FAILED x{fails}"); continue
            cell = f"{w:.3f} s ({rss:.0f} MB)" if w < 10 else f"{w:.1f} s ({rss:.0f} MB)"
            if scpu is not None:
                cell += f", srv {scpu:.2f} s"
            if "output_lines" in runs[0]:
                cell += f" [{runs[0]['output_lines']}]"
            cell += f" n={len(runs)}" + (f" FAILED x{fails}" if fails else "")
            cells.append(cell)
        out.append(f"| {op} | " + " | ".join(cells) + " |")
    return out


def report(results):
    """RESULTS.md-style tables: rows = peer x N, columns = operations (median wall s / max RSS MB)."""
    def cell(runs, srv=False):
        if not runs:
            return "–"
        w, rss = med(runs, "wall"), med(runs, "rss_mb")
        if w is None:
            return "FAILED"
        txt = (f"{w:.3f}" if w < 1 else f"{w:.2f}" if w < 10 else f"{w:.1f}") + f" s / {rss:.0f} MB"
        if srv and med(runs, "server_cpu") is not None:
            txt += f" / srv {med(runs, 'server_cpu'):.2f} s"
        return txt + (f" ⚠{sum(1 for r in runs if r.get('rc'))} failed" if any(r.get("rc") for r in runs) else "")
    sizes = [n for n in results if n != "machine" and "ops" in results[n]]
    sync_ops = ["full sync", "re-sync", "incremental"]
    out = ["| peer | N | " + " | ".join(sync_ops) + " | verify after full + each incremental |", "|---|---:|" + "---|" * 4]
    peers = []
    for n in sizes:
        for op in sync_ops:
            peers += [p for p in results[n]["ops"].get(op, {}) if p not in peers]
    for p in peers:
        for n in sizes:
            ops = results[n]["ops"]
            v = results[n].get("verify", {}).get(p)
            ver = "–" if v is None else "OK" if all(x["ok"] for x in v.values()) else \
                "MISMATCH: " + ", ".join(k for k, x in v.items() if not x["ok"])
            out.append(f"| {p} | {int(n):,} | " + " | ".join(cell(ops.get(op, {}).get(p), True) for op in sync_ops)
                       + f" | {ver} |")
    idx_ops = [o for n in sizes for o in results[n]["ops"] if o not in sync_ops]
    idx_ops = list(dict.fromkeys(idx_ops))
    ipeers = list(dict.fromkeys(p for n in sizes for o in idx_ops for p in results[n]["ops"].get(o, {})))
    out += ["", "| peer | N | " + " | ".join(idx_ops) + " |", "|---|---:|" + "---|" * len(idx_ops)]
    for p in ipeers:
        for n in sizes:
            ops = results[n]["ops"]
            cells = []
            for o in idx_ops:
                runs = ops.get(o, {}).get(p)
                c = cell(runs)
                if runs and "output_lines" in runs[0]:
                    c = c.split(" / ")[0] + f" [{runs[0]['output_lines']}]"
                cells.append(c)
            out.append(f"| {p} | {int(n):,} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated corpus sizes")
    ap.add_argument("--peers", default="mbsync,offlineimap", help="sync adapters in bench/adapters/")
    ap.add_argument("--index-peers", default="notmuch,mu", help="index adapters ('' for none)")
    ap.add_argument("--index-maildir-of", default="mbsync", help="whose synced Maildir the indexers read")
    ap.add_argument("--runs", type=int, default=3, help="runs of each quick operation (median reported)")
    ap.add_argument("--full-runs", type=int, default=0, help="full syncs per peer (default 3, 1 above N=10000)")
    ap.add_argument("--index-runs", type=int, default=0, help="initial index builds (default 3, 1 above N=10000)")
    ap.add_argument("--inc-rounds", type=int, default=3, help="rounds of server changes + incremental sync")
    ap.add_argument("--no-upper-bound", dest="upper_bound", action="store_false")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/mailbench-work", help="local maildirs and peer state")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--keep", action="store_true", help="keep local maildirs after each N")
    ap.add_argument("--small", action="store_true", help="corpus of short text/plain messages (gen_corpus.py --small)")
    ap.add_argument("--report", action="store_true", help="print summary tables from OUT/results.json and exit")
    ap.add_argument("--trace", action="store_true", help="instead: trace the IMAP commands of each peer (first size only)")
    a = ap.parse_args()
    if a.report:
        return print(report(json.load(open(os.path.join(a.out, "results.json")))))
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.peers = [p for p in a.peers.split(",") if p]
    a.index_peers = [p for p in a.index_peers.split(",") if p]
    if a.index_peers and a.index_maildir_of not in a.peers:
        a.index_maildir_of = a.peers[0]
    Bench(a).run()


if __name__ == "__main__":
    main()
