#!/usr/bin/env bash
# `make bench`: every benchmark, figures on the terminal and JSON + reports in out/.
# BENCH=short (CI) runs each in a reduced form; the default runs the issue targets.
set -euo pipefail
cd "$(dirname "$0")/.."
NETLAB=.venv/bin/netlab
OUT=${OUT:-out}
MODE=${BENCH:-full}
mkdir -p "$OUT"

# The docker path of `bench paths` needs an engine: start one (without iptables; see the
# script) if none runs, and stop only the one started here.
engine=$(scripts/start-dockerd.sh start 2>/dev/null || echo "none")
trap 'case "$engine" in started*) scripts/start-dockerd.sh stop >/dev/null ;; esac' EXIT

if [ "$MODE" = short ]; then
  deploy_nodes=(100); paths_args=(--rounds 2 --engine builtin); conns_target=40000
else
  deploy_nodes=(500 1000,2000,5000,10000); paths_args=(--rounds 5 --engine all); conns_target=1000000
fi

for n in "${deploy_nodes[@]}"; do
  echo "== bench deploy: $n hosts"
  $NETLAB bench deploy --nodes "$n" --json | tee "$OUT/deploy-${n//,/-}.json"
done

echo "== bench paths"
$NETLAB bench paths "${paths_args[@]}" --report "$OUT/paths" --json | tee "$OUT/paths.json"

echo "== bench conns: $conns_target connections"
$NETLAB bench conns --target "$conns_target" --json | tee "$OUT/conns.json"

echo "== bench validate"
if [ "$MODE" = short ]; then validate_sizes=1000,5000; else validate_sizes=1000,5000,20000; fi
$NETLAB bench validate --sizes "$validate_sizes" --json | tee "$OUT/validate.json"

echo "bench: results in $OUT/"
