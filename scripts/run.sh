#!/usr/bin/env bash
# Runs pigeon: the full-screen client on your accounts, or on a local demo mailbox when no
# account is configured. Makes the virtual environment on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${PIGEON_VENV:-.venv}"
if [ ! -x "$VENV/bin/pigeon" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -e .
fi
exec "$VENV/bin/pigeon" "$@"
