"""How the ``pigeon`` program ends (``cli.leave``): quickly, but with nothing lost on the way out."""

from __future__ import annotations

from pathlib import Path

from helpers import run_pigeon


def _config(tmp_path: Path, plugin: str) -> dict[str, str]:
    config = tmp_path / "config"
    (config / "plugins").mkdir(parents=True)
    (config / "config.toml").write_text(f'[accounts.a]\naddress = "a@example.org"\nmaildir = "{tmp_path / "Mail"}"\n')
    (config / "plugins" / "ending.py").write_text(plugin)
    return {"PIGEON_CONFIG_DIR": str(config), "PIGEON_STATE_DIR": str(tmp_path / "state")}


def test_atexit_handlers_run_and_their_output_is_flushed(tmp_path: Path) -> None:
    marker = tmp_path / "atexit-ran"
    env = _config(tmp_path, f"""
import atexit, sys
from pigeon.hooks import hookimpl

def _bye():
    open({str(marker)!r}, "w").write("yes")
    sys.stdout.write("x" * 200000)  # more than a pipe holds: only a flush gets it out

@hookimpl
def pigeon_configure(config):
    atexit.register(_bye)
""")
    proc = run_pigeon("sync", env=env)
    assert proc.returncode == 1  # the account has no server: the status is kept
    assert b"no account with an IMAP or POP3 server" in proc.stderr
    assert marker.read_text() == "yes"
    assert proc.stdout.count(b"x") == 200000


def test_a_running_plugin_thread_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "thread-done"
    env = _config(tmp_path, f"""
import threading, time
from pigeon.hooks import hookimpl

def _work():
    time.sleep(0.5)
    open({str(marker)!r}, "w").write("done")

@hookimpl
def pigeon_configure(config):
    threading.Thread(target=_work).start()  # not a daemon: the program must wait for it
""")
    proc = run_pigeon("sync", env=env)
    assert proc.returncode == 1
    assert marker.read_text() == "done"


def test_the_collector_runs_seldom_while_starting_and_as_usual_after(tmp_path: Path) -> None:
    seen = tmp_path / "thresholds"
    env = _config(tmp_path, f"""
import atexit, gc
from pigeon.hooks import hookimpl

def _record(when):
    with open({str(seen)!r}, "a") as fh:
        fh.write(f"{{when}} {{gc.get_threshold()[0]}} {{len(gc.get_objects())}}\\n")

@hookimpl
def pigeon_configure(config):
    _record("start")
    atexit.register(_record, "end")
""")
    run_pigeon("sync", env=env)
    start, end = (line.split() for line in seen.read_text().splitlines())
    assert int(start[1]) > 10_000  # the imports are not collected over and over
    assert int(end[1]) == 700  # a long-running command (watch, the client) collects as usual
    assert int(end[2]) < int(start[2])  # what the start allocated is out of the collector's way
