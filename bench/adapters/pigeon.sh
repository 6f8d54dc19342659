#!/usr/bin/env bash
# Adapter: pigeon (PIGEON = its command, default `pigeon` on PATH), IMAPS verified against CAFILE.
# usage: pigeon.sh setup|full|sync|version HOST PORT USER PASS CAFILE MAILDIR STATEDIR
set -euo pipefail
cmd=$1; shift
PIGEON=${PIGEON:-pigeon}
[ "$cmd" = version ] && { "$PIGEON" --version 2>/dev/null | head -1 || echo pigeon; exit; }
host=$1 port=$2 user=$3 pass=$4 cafile=$5 maildir=$6 state=$7
export PIGEON_CONFIG_DIR=$state/config PIGEON_STATE_DIR=$state/pigeon-state
case $cmd in
  setup)
    mkdir -p "$maildir" "$PIGEON_CONFIG_DIR"
    # Events and filters off: the peers only sync, so pigeon only syncs too. (With them on,
    # each new message is also parsed for the plugins, ~2 ms, and filtered, ~10 ms more.)
    cat > "$PIGEON_CONFIG_DIR/config.toml" <<CONF
[sync]
events = false

[filter]
enabled = false

[accounts.bench]
address = "$user@example.org"
maildir = "$maildir"
password_command = ["printf", "%s", "$pass"]
imap = { host = "$host", port = $port, security = "tls", username = "$user", cafile = "$cafile" }
CONF
    chmod 600 "$PIGEON_CONFIG_DIR/config.toml"
    ;;
  # one command for both: the first sync of an empty Maildir is the initial sync
  full|sync) exec "$PIGEON" sync bench </dev/null ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
