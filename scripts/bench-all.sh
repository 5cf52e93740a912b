#!/usr/bin/env bash
# Runs every `kassa bench` scenario once on this machine, each beside the ceiling it measures in
# the same run, and prints their reports (BENCHMARKS.md records the figures). Loopback only;
# bounded: about 10 minutes. Usage: scripts/bench-all.sh [SECONDS]   (default 10 s per phase)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
cargo build --release --quiet
bin=./target/release/kassa
data=$(mktemp -d)
port=18080
url=http://127.0.0.1:$port
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
run() { echo; echo "== kassa bench $*"; "$bin" bench "$@" -d "$secs"; }

# One fresh server per scenario: a scenario's backlog (e.g. ATOL documents still being
# fiscalized after atol-sell) must not load the next one.
against_server() {
  rm -rf "$data/db"
  "$bin" serve --demo --data-dir "$data/db" --listen 127.0.0.1:$port --log-level warn >/dev/null &
  server=$!
  for _ in $(seq 1 100); do "$bin" healthcheck --url "$url" && break; sleep 0.1; done
  run "$@" --url "$url"
  kill "$server"; wait "$server" 2>/dev/null || true
  server=
}
# Three alternating rounds of ceiling and scenario, so a drift of the host's speed between
# phases does not decide the ratio (atol-sell measures its ceiling once, before its backlog).
against_server healthz -c 64 --rounds 3
against_server atol-sell -c 64
against_server loyalty-calculate -c 64 --rounds 3
against_server loyalty-confirm -c 64 --rounds 3
against_server events -c 8

# In-process scenarios (their own temporary stores).
run fiscal --registers 1 -c 64
run fiscal --registers 16 -c 64
run fiscal --registers 16 -c 64 --profile kz
run atol-e2e --registers 16 -c 256
