#!/usr/bin/env bash
# Server instructions per loyalty request, counted by callgrind: a figure that does not move
# with the host's speed, for comparing two builds of a small change (BENCHMARKS.md, stop 13).
#
#   scripts/instructions.sh [calculate|confirm] [requests] [kassa binary]
#
# Starts `kassa serve --demo` under valgrind, sends 200 signed requests of the bench's body to
# warm it up, zeroes the counters, sends `requests` more (default 1,000) one after another and
# prints the server's instructions (user space, all threads) per request.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-calculate}
requests=${2:-1000}
bin=${3:-target/release/kassa}
port=18090
case "$scenario" in
  calculate) const=LOYALTY_CALCULATE ;;
  confirm) const=LOYALTY_CONFIRM ;;
  *) echo "usage: $0 [calculate|confirm] [requests] [kassa binary]" >&2; exit 2 ;;
esac
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no $bin: build it with cargo build --release -p kassa" >&2; exit 1; }
template=$(sed -n "s/^const $const: &str = r#\"\(.*\)\"#;$/\1/p" crates/server/src/bench.rs)
[ -n "$template" ] || { echo "cannot find $const in crates/server/src/bench.rs" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  "$bin" serve --demo --data-dir "$work/data" --listen "127.0.0.1:$port" --log-level warn >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done

send() { # first last: one curl, one keep-alive connection, as the bench's clients
  local config="$work/requests.curl"
  : >"$config"
  for i in $(seq "$1" "$2"); do
    body=${template//\{seq\}/instr-$i}
    token=$(printf 'password%s' "$body" | md5sum | cut -c1-32)
    {
      [ "$i" = "$1" ] || echo "next"
      echo "url = \"http://127.0.0.1:$port/frontol/document\""
      echo "header = \"Authorization: FrontolAuth $token\""
      echo "header = \"Content-Type: application/json\""
      echo "data-binary = \"${body//\"/\\\"}\""
      echo "output = \"/dev/null\""
    } >>"$config"
  done
  curl -sf -K "$config"
}
echo "warming up (200 requests) ..." >&2
send 1 200
callgrind_control -z "$server" >/dev/null 2>&1
echo "counting $requests requests ..." >&2
send 201 $((200 + requests))
callgrind_control -d "$server" >/dev/null 2>&1
total=$(sed -n 's/^summary: //p' "$work/cg.out.1")
echo "$scenario: $((total / requests)) server instructions per request ($total over $requests)"
