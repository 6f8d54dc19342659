"""pigeon doctor: audit the configuration (and with --connect, the servers) for unsafe settings.

One line per finding, most severe first: ``severe``, ``warning``, ``notice``, ``info``.
Exit status 1 when anything is severe.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="store_true", help="also connect to each server")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from pigeon.core import doctor, paths
    from pigeon.core.config import CONFIG_FILE, read_raw
    from pigeon.core.errors import ConfigError
    from pigeon.core.sanitize import sanitize_line

    config_dir = paths.config_dir(getattr(args, "config_dir", None))
    problems: list[doctor.Problem] = []
    raw: dict = {}
    unreadable = False
    try:
        raw, _text = read_raw(config_dir)
    except ConfigError as exc:
        unreadable = True
        problems.append(doctor.Problem("severe", "config-error", str(config_dir / CONFIG_FILE), str(exc)))
    configured_state = raw.get("state_dir") if isinstance(raw.get("state_dir"), str) else None
    state_dir = paths.state_dir(configured_state or None)

    app = None
    if raw or not problems:
        from pigeon.core.cli import make_app

        try:
            app = make_app(args, report_to_stderr=False)
        except ConfigError as exc:
            # Still audit what the file says: a refused setting is reported as what it is.
            problems.append(doctor.Problem("severe", "config-error", str(config_dir / CONFIG_FILE), str(exc)))
    if app is not None:
        state_dir = app.state_dir
        problems += doctor.check_plugins(app.pm)
        problems += doctor.check_keys(app)
    problems += doctor.check_files(config_dir, raw, state_dir)
    if not unreadable:  # a file that does not parse has accounts we cannot see, not none
        problems += doctor.check_accounts(raw, config_dir / CONFIG_FILE)
    problems = doctor.sort_problems(problems)
    if getattr(args, "connect", False):
        if app is None:
            # the cause is reported above, once; this only says what was not done
            problems.append(doctor.Problem("info", "connect-skipped", str(config_dir / CONFIG_FILE), "servers not contacted: fix the configuration first"))
        else:
            from pigeon.core.doctor_connect import check_all
            from pigeon.core.transport import ProtocolTrace

            problems += check_all(app, ProtocolTrace(bool(app.options.debug), sys.stderr))

    if args.json:
        print(json.dumps([p.as_dict() for p in problems], indent=2))
    elif not problems:
        print("pigeon doctor: no problems found")
    else:
        for p in problems:
            print(sanitize_line(p.line()))
    severe = sum(1 for p in problems if p.severity == "severe")
    config_errors = [p for p in problems if p.code == "config-error"]
    if config_errors and args.json:
        # the one-line cause of a bad config.toml on stderr, as every command prints it; doctor
        # does not refuse a bad file but audits it, so in a terminal its listing names it, once
        print(f"pigeon: {sanitize_line(config_errors[0].message)}", file=sys.stderr)
        return 1
    if severe:
        print(f"pigeon: doctor found {severe} severe problem{'s' if severe != 1 else ''}", file=sys.stderr)
        return 1
    return 0
