#!/usr/bin/env bash
# Bring up the quickstart lab, ping across it, show it, tear it down (also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
NETLAB=.venv/bin/netlab
trap '$NETLAB down quickstart >/dev/null 2>&1 || true' EXIT
$NETLAB validate topologies/quickstart.yaml
$NETLAB up topologies/quickstart.yaml
$NETLAB status quickstart
echo "--- h1 pings h2 across a veth pair:"
$NETLAB exec quickstart h1 -- ping -c 3 -i 0.2 198.18.0.2
$NETLAB down quickstart
trap - EXIT
echo "demo: done, nothing left behind"
