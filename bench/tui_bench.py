"""Benchmark (not a test): the full-screen client on a 100,000-message folder.

Measures, in-process with prompt_toolkit's pipe input and a dummy 80x40 output:
  * start -> first full screen (App.create, client built, folder listed, first page drawn),
    with a cold summary cache and again with the cache the first run left on disk;
  * key -> next screen for ``n`` (next line), ``C-v`` (a page of rows never read before),
    ``M->`` (the far end) and ``RET`` (open a message);
with ``--index``, the same on an index search of every message (``s * RET``); and, in a real
terminal (tmux), the wall time from typing ``pigeon`` to the list on screen.

    python bench/tui_bench.py [--messages 100000] [--dir /tmp/pigeon-bench] [--index]

Targets (issue 6): first screen under 0.5 s, key to screen under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

SENDERS = ["Alice Liddell <alice@example.org>", "Bob Marley <bob@example.net>", "Carol Danvers <carol@example.com>", "Dmitri Volkov <dv@example.ru>"]


def make_maildir(root: Path, n: int) -> Path:
    inbox = root / "Mail" / "INBOX"
    marker = root / f"done-{n}"
    if marker.exists():
        return root / "Mail"
    shutil.rmtree(root / "Mail", ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    for name in ("Archive", "Trash", "Sent", "Drafts"):
        for sub in ("cur", "new", "tmp"):
            (root / "Mail" / name / sub).mkdir(parents=True, exist_ok=True)
    t0 = 1_600_000_000
    for i in range(n):
        ts = t0 + i * 37
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))
        parent = f"In-Reply-To: <m{i - 1}@bench.example>\nReferences: <m{i - 1}@bench.example>\n" if i % 5 else ""
        body = (
            f"From: {SENDERS[i % len(SENDERS)]}\nTo: Me <me@example.org>\nSubject: {'Re: ' if i % 5 else ''}Bench message {i // 5}\n"
            f"Date: {date}\nMessage-ID: <m{i}@bench.example>\n{parent}MIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n\nBody of message {i}.\n" + "Some text to make it a realistic size.\n" * 20
        )
        flags = "S" if i % 3 else ""
        (inbox / "cur" / f"{ts}.M{i}P1.bench:2,{flags}").write_text(body)
    marker.touch()
    return root / "Mail"


async def measure(config_dir: Path, state_dir: Path, query: str | None = None) -> dict[str, object]:
    from pigeon.core.app import App
    from pigeon.plugins.tui.model import MessageBuffer, MessageListBuffer
    from pigeon.plugins.tui.ui import TUI
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    renders: list[float] = []
    t_start = time.perf_counter()
    app = App.create(config_dir, report_to_stderr=False)
    with create_pipe_input() as inp:
        tui = TUI(app, input=inp, output=DummyOutput(), watch=False)
        original = tui.application.renderer.render

        drawn: list[tuple[float, bool]] = []  # (time, whether the awaited state was on screen)
        awaited: list[Any] = [None]

        def render(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            result = original(*a, **kw)
            now = time.perf_counter()
            renders.append(now)
            check = awaited[0]
            drawn.append((now, bool(check and check())))
            return result

        tui.application.renderer.render = render  # type: ignore[method-assign]
        task = asyncio.get_running_loop().create_task(tui.run_async())

        def full() -> bool:
            buf = tui.current
            return isinstance(buf, MessageListBuffer) and buf.listing.loaded and buf.status == "" and renders and renders[-1] > 0

        while not (full() and renders and renders[-1] >= _loaded_at(tui)):
            await asyncio.sleep(0.001)
        first_screen = renders[-1] - t_start
        if query is not None:  # a search of the index instead of the folder
            await asyncio.sleep(0.2)
            t0 = time.perf_counter()
            n = len(renders)
            inp.send_text("s" + query + "\r")
            while not ("match" in tui.echo and len(renders) > n and renders[-1] > t0 and tui.pending == 0):
                await asyncio.sleep(0.0005)
            first_screen = renders[-1] - t0
        rows = len(tui.current.listing)

        async def key(text: str, done) -> float:  # noqa: ANN001
            """From sending the key to the first screen drawn with its effect (background work
            it starts, such as reading the next page ahead, is not counted)."""
            while tui.pending:  # let earlier background work finish first
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            n = len(drawn)
            awaited[0] = done
            t0 = time.perf_counter()
            inp.send_text(text)
            while True:
                await asyncio.sleep(0.0005)
                hit = next((t for t, ok in drawn[n:] if ok and t > t0), None)
                if hit is not None:
                    awaited[0] = None
                    return (hit - t0) * 1000

        lst = tui.current
        nexts = []
        for _ in range(20):
            want = lst.cursor + 1
            nexts.append(await key("n", lambda w=want: lst.cursor == w))
        pages = []
        for _ in range(10):
            want = lst.cursor + (lst.height - 2)
            pages.append(await key("\x16", lambda w=want: lst.cursor >= w))
        end = await key("\x1b>", lambda: lst.cursor == len(lst.listing) - 1)
        opened = await key("\r", lambda: isinstance(tui.current, MessageBuffer) and tui.current.lines[:1] != ["rendering…"])
        tui.exit(0)
        await task
    return {
        "rows": rows,
        "first_screen_s": first_screen,
        "next_ms": nexts,
        "page_ms": pages,
        "end_ms": end,
        "open_ms": opened,
    }


def _loaded_at(tui) -> float:  # noqa: ANN001
    return getattr(tui, "_bench_loaded", 0.0)


def tmux_first_screen(config_dir: Path, state_dir: Path) -> float:
    socket = f"pigeon-bench-{uuid.uuid4().hex[:6]}"
    env = f"PIGEON_CONFIG_DIR={config_dir} PIGEON_STATE_DIR={state_dir}"
    t0 = time.perf_counter()
    subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", f"{env} {sys.executable} -m pigeon.core.cli"], check=True)
    try:
        while True:
            out = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if "INBOX [bench]" in out and "Bench message" in out:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("no screen after 30 s:\n" + out)
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "pigeon-bench"))
    parser.add_argument("--index", action="store_true", help="also build the index (once) and time a search of every message")
    args = parser.parse_args()
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    mail = make_maildir(root, args.messages)
    print(f"maildir ready: {mail} ({args.messages} messages, {time.perf_counter() - t:.1f} s)")
    config = root / "config"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text(f'[accounts.bench]\naddress = "me@example.org"\nmaildir = "{mail}"\n')
    state = root / "state"
    shutil.rmtree(state, ignore_errors=True)
    os.environ["PIGEON_STATE_DIR"] = str(state)

    import pigeon.plugins.tui.ui as ui_mod

    original_rescan = ui_mod.TUI.rescan

    def rescan(self, buf, then=None):  # noqa: ANN001, ANN202
        def mark() -> None:
            self._bench_loaded = time.perf_counter()
            if then:
                then()

        return original_rescan(self, buf, mark)

    ui_mod.TUI.rescan = rescan  # type: ignore[method-assign]
    for label in ("cold cache", "warm cache"):
        r = asyncio.run(measure(config, state))
        print(f"\n[{label}] {r['rows']} messages in INBOX")
        print(f"  start -> first full screen: {r['first_screen_s'] * 1000:.0f} ms")
        for name in ("next_ms", "page_ms"):
            vals = r[name]
            print(f"  {name[:-3]:<5} key -> screen: median {statistics.median(vals):.1f} ms, max {max(vals):.1f} ms ({len(vals)} presses)")
        print(f"  M->   key -> screen: {r['end_ms']:.1f} ms")
        print(f"  RET   key -> message shown: {r['open_ms']:.1f} ms")
    index_state = root / "state-idx"
    if args.index:
        env = dict(os.environ, PIGEON_CONFIG_DIR=str(config), PIGEON_STATE_DIR=str(index_state))
        if not (index_state / "index.sqlite").exists() and not any(index_state.glob("index*")):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pigeon.core.cli", "index"], env=env, check=True)
            print(f"\nindex built in {time.perf_counter() - t:.1f} s")
        os.environ["PIGEON_STATE_DIR"] = str(index_state)
        r = asyncio.run(measure(config, index_state, query="*"))
        print(f"\n[index search '*'] {r['rows']} hits")
        print(f"  s * RET -> first page of hits on screen: {r['first_screen_s'] * 1000:.0f} ms")
        for name in ("next_ms", "page_ms"):
            vals = r[name]
            print(f"  {name[:-3]:<5} key -> screen: median {statistics.median(vals):.1f} ms, max {max(vals):.1f} ms ({len(vals)} presses)")
        print(f"  M->   key -> screen: {r['end_ms']:.1f} ms")
        print(f"  RET   key -> message shown: {r['open_ms']:.1f} ms")
        os.environ["PIGEON_STATE_DIR"] = str(state)
    if shutil.which("tmux"):
        print(f"\n[tmux] `pigeon` typed -> list on screen (process start, imports included): {tmux_first_screen(config, state) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
