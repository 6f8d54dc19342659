#!/usr/bin/env bash
# Runs pigeon's whole test suite on a fresh Debian machine (as root) or a developer's one:
# installs the Debian packages the tests need when missing, makes a virtual environment,
# installs pigeon with its test extras, checks style, and runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(dovecot-imapd dovecot-pop3d dovecot-sieve dovecot-managesieved dovecot-lmtpd gnupg tmux notmuch maildir-utils isync bogofilter openssl
      e2fsprogs mount util-linux)  # the last three: the full-disk and failing-disk tests (tmpfs, loop devices, ext4)
missing=()
for pkg in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV="${PIGEON_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install -q -e '.[test]'

"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
