#!/usr/bin/env bash
# Adapted from the team recipe (shared/services); the project carries its own copy.
# Stop services started by the start-*.sh scripts: SIGTERM to every PID given, wait up to
# TIMEOUT seconds (default 20) for all to exit, then SIGKILL the rest. Never matches by name.
# usage: stop-pids.sh [-t TIMEOUT] PID [PID...]
set -u
T=20
if [ "${1:-}" = "-t" ]; then T=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-t TIMEOUT] PID..." >&2; exit 2; }
kill "$@" 2>/dev/null
end=$(( $(date +%s) + T ))
for p in "$@"; do
  while kill -0 "$p" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$end" ]; then echo "pid $p still alive after ${T}s: SIGKILL" >&2; kill -9 "$p" 2>/dev/null; break; fi
    sleep 0.05
  done
done
exit 0
