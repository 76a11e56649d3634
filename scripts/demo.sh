#!/usr/bin/env bash
# `make demo`: what netlab is for, in well under a minute once installed.
#  1. a lab with a Linux bridge and a NAT hop (topologies/nat.yaml: h1, h2 on br0 behind gw,
#     which masquerades towards an "outside" namespace on 203.0.113.0/24), a ping across it,
#     and the translation the gateway made, as conntrack shows it;
#  2. a short `bench paths`: round trips over loopback, one veth, a bridge and a NAT hop,
#     each with its ratio to loopback measured in the same run;
#  3. nothing left behind: every lab is taken down at the end, on an error and on Ctrl-C.
# NETLAB_DEMO_LAB names the labs (default demo, and demo-paths for the benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
NETLAB=${NETLAB:-.venv/bin/netlab}
LAB=${NETLAB_DEMO_LAB:-demo}
work=$(mktemp -d)

cleanup() {
  trap - EXIT INT TERM
  "$NETLAB" down "$LAB" >/dev/null 2>&1 || true
  # bench paths takes its own lab down when interrupted; this catches a kill between its steps
  if [ -e "/run/netlab/$LAB-paths.json" ] || ip netns list 2>/dev/null | grep -q "^nl\.$LAB-paths\."; then
    "$NETLAB" down "$LAB-paths" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
interrupted() {
  echo "demo: interrupted, taking the labs down" >&2
  cleanup
  exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

started=$(date +%s.%N)
sed "s/^name: nat$/name: $LAB/" topologies/nat.yaml >"$work/$LAB.yaml"
echo "== a lab: h1 and h2 on a Linux bridge behind gw, which masquerades towards 'outside'"
"$NETLAB" up "$work/$LAB.yaml"
"$NETLAB" status "$LAB"
echo "== h1 pings the outside: veth -> bridge br0 -> gw (NAT) -> veth"
"$NETLAB" exec "$LAB" h1 -- ping -c 3 -i 0.2 -W 2 203.0.113.2
echo "== gw's conntrack: h1's 198.18.0.x became gw's 203.0.113.1 on the way out"
"$NETLAB" exec "$LAB" gw -- conntrack -L -p icmp 2>/dev/null || true
"$NETLAB" down "$LAB"

bench=(bench paths --paths loopback,veth,bridge,nat --metric rr --rounds 3 --seconds 0.3 --warmup 0.1)
echo "== what each hop costs: netlab ${bench[*]}"
echo "   (64-byte round trips, 3 interleaved rounds; the full benchmark: make bench, docs/bench-paths.md)"
"$NETLAB" "${bench[@]}" --lab "$LAB-paths" --json >"$work/paths.json"
"${PYTHON:-.venv/bin/python}" - "$work/paths.json" <<'PY'
import json, sys

res = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in res["paths"] if r["engine"] == "builtin"}
base = rows["loopback"].get("rr_p50_us")
print(f"{'path':9} {'round trip p50':>15} {'hop cost':>10} {'rate / loopback (min-max)':>27}")
for name, r in rows.items():
    if r.get("error"):
        print(f"{name:9} error: {r['error']}")
        continue
    p50, ratio = r["rr_p50_us"], (r.get("ratios") or {}).get("rr_tps")
    cost = f"{p50 - base:+.1f} us" if name != "loopback" and None not in (p50, base) else "baseline"
    spread = f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})" if ratio else "-"
    print(f"{name:9} {p50:12.1f} us {cost:>10} {spread:>27}")
i = res["interference"]
if i["flagged"]:
    print(f"({i['flagged']} of {i['samples']} runs had other load on the machine: figures are noisier)")
PY

left=$(ip netns list 2>/dev/null | grep -E "^nl\.($LAB|$LAB-paths)\." || true)
if [ -n "$left" ]; then
  echo "demo: left behind: $left" >&2
  exit 1
fi
printf 'demo: done in %.0f s, nothing left behind (netlab list, ip netns show no demo lab)\n' \
  "$(echo "$(date +%s.%N) - $started" | bc)"
