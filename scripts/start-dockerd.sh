#!/usr/bin/env bash
# Start a Docker engine for netlab when none answers, and stop only the one started here.
#
#   scripts/start-dockerd.sh start   exit 0 once an engine answers; prints "started PID"
#                                    if this script started it, "running" if one already was
#   scripts/start-dockerd.sh stop    stop the dockerd this script started (no-op otherwise)
#
# Why these flags: by default dockerd adds iptables rules and a docker0 bridge to the root
# namespace and turns on forwarding there. netlab never changes the root namespace's
# firewall, sysctls or interfaces, and its docker nodes run with network_mode=none (netlab
# plumbs them itself), so the engine needs none of that. Builds use `--network=host`.
set -euo pipefail
PIDFILE=${NETLAB_DOCKERD_PIDFILE:-/run/netlab-dockerd.pid}
LOG=${NETLAB_DOCKERD_LOG:-/run/netlab-dockerd.log}
WAIT=${NETLAB_DOCKERD_WAIT:-60}

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  if answers; then echo running; return 0; fi
  command -v dockerd >/dev/null || { echo "dockerd is not installed (make install installs docker.io)" >&2; return 2; }
  [ "$(id -u)" -eq 0 ] || { echo "starting dockerd needs root" >&2; return 2; }
  local flags=(--iptables=false --ip-forward=false --ip-masq=false --bridge=none --userland-proxy=false)
  # --ip6tables exists only in some versions (experimental in 20.10): pass it where it is known
  if dockerd --help 2>&1 | grep -q -- '--ip6tables'; then flags+=(--ip6tables=false); fi
  setsid dockerd "${flags[@]}" --pidfile "$PIDFILE.daemon" >"$LOG" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  for _ in $(seq $((WAIT * 5))); do
    if answers; then echo "started $pid"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "dockerd did not answer within ${WAIT}s; last lines of $LOG:" >&2
  tail -n 20 "$LOG" >&2 || true
  stop_started
  return 1
}

stop_started() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # the engine's default sandbox namespace stays bound after it exits; nothing else uses it
    if ! pgrep -x dockerd >/dev/null && mountpoint -q /run/docker/netns/default 2>/dev/null; then
      umount /run/docker/netns/default || true
    fi
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_started ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
