#!/usr/bin/env bash
# Instructions per packet of the datapath (Engine::rx on VecFrames), counted
# by valgrind's callgrind: a figure that does not drift with machine noise.
# Each mode runs examples/dp_workload twice (P1 and P2 packets after the
# same set-up); (Ir(P2) - Ir(P1)) / (P2 - P1) is the per-packet cost.
#
#   perf/callgrind.sh [CONNS] [P1] [P2] [BURST]   (defaults 1000 20000 120000, one at a time)
#
# With BURST the packets go through the worker's burst pipeline (prefetch
# pass, then processing) in bursts of BURST.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONNS=${1:-1000}
P1=${2:-20000}
P2=${3:-120000}
BURST=${4:-}
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --example dp_workload 2>&1 | tail -1)
BIN="$ROOT/target/release/examples/dp_workload"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ir() { # mode packets -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$1.$2" "$BIN" "$1" "$CONNS" "$2" $BURST \
    >"$TMP/out.$1.$2" 2>"$TMP/err.$1.$2" || { cat "$TMP/err.$1.$2" >&2; exit 1; }
  grep -E '^(summary|totals):' "$TMP/cg.$1.$2" | head -1 | awk '{print $2}'
}

printf '%-8s %8s %14s %14s %10s   (burst: %s)\n' mode conns "Ir(P1)" "Ir(P2)" instr/pkt "${BURST:-none}"
for mode in dr-est nat-est dr-new; do
  a=$(ir "$mode" "$P1")
  b=$(ir "$mode" "$P2")
  per=$(( (b - a) / (P2 - P1) ))
  printf '%-8s %8s %14s %14s %10s\n' "$mode" "$CONNS" "$a" "$b" "$per"
  tail -1 "$TMP/out.$mode.$P2" | sed 's/^/         /'
done
echo "(per packet: engine rx incl. parse, lookup/schedule, rewrite, neighbour, counters; plus a 64-byte template copy)"
