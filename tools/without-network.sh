#!/usr/bin/env bash
# Run a command without network: in a new network namespace (`unshare -n`, root
# only) whose loopback is brought up, so that local sockets still work (the
# tests' future/parallel workers on localhost) while nothing outside is reachable.
# Where no namespace can be made, the command runs as it is, with a note.
#   bash tools/without-network.sh <command> [args...]
set -euo pipefail
if unshare -n true 2>/dev/null && command -v ip >/dev/null 2>&1; then
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "note: no network namespace here (not root, or no ip); running with the network" >&2
exec "$@"
