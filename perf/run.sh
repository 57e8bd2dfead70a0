#!/usr/bin/env bash
# lvsd performance harness: lvsd-gen (CPU 0) against lvsd (worker on CPU 1)
# and against dpdk-testpmd (forwarding lcore on CPU 1) over net_memif,
# A/B interleaved (testpmd, lvsd, testpmd, lvsd, ...) for every scenario,
# RUNS times. JSON lines go to perf/results/<stamp>.jsonl, DUT logs next to
# it, and a summary table (min/median/max Mpps, lvsd/testpmd ratio) to
# stdout. See perf/README.md.
#
#   perf/run.sh [-n RUNS] [-d SECONDS] [-k SESSIONS] [-s SCENARIO[,SCENARIO...]] [--no-build]
#
# -k: generator sessions per DUT start in the established full-rate
# scenarios (default 1; see one() below). More than one can crash the DUT:
# DPDK 22.11's memif server unmaps a departing client's regions in its
# interrupt thread while the forwarding lcore may still be reading them
# (seen with testpmd and lvsd alike); the sessions before the crash count.
#
# Must run as root (hugepages, /run). Only processes this script starts are
# stopped, by PID (testpmd and lvsd with SIGINT, so they close their ports).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RUNS=3
DURATION=3
ONLY=""
BUILD=1
SESSIONS=1
WARM_RATE=${WARM_RATE:-500000}

while [ $# -gt 0 ]; do
  case "$1" in
    -n|--runs) RUNS="$2"; shift 2 ;;
    -d|--duration) DURATION="$2"; shift 2 ;;
    -s|--scenarios) ONLY="$2"; shift 2 ;;
    -k|--sessions) SESSIONS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# name | baseline testpmd mode | generator arguments [| lvsd config variant]
# "--rate @HALF@" in the arguments: lvsd runs first, with lvsd-gen's
# --rate-of-max 0.5 (a 1 s full-speed probe on the same memif connection,
# then the measured phase paced at half of what came back: half of *this*
# connection's maximum, which on this kind of host can differ 2-3x from
# one connection to the next), then testpmd at the rate lvsd got, so that
# the added latency is compared at one rate.
# Variant "hc": the base config plus a second DR service with 1,000 reals
# (198.19.4.1-198.19.7.232, routed via 198.19.0.254) under 200 ms TCP
# health checks (see hc_config below); compare with the scenario of the
# same name without "-hc" in the same run.
SCENARIOS=(
  "dr-est-1k|macswap|--vip 198.19.0.100 --flows 1000 --warm 1000"
  "dr-est-1k-hc|macswap|--vip 198.19.0.100 --flows 1000 --warm 1000|hc"
  "dr-paced|macswap|--vip 198.19.0.100 --flows 1000 --warm 1000 --rate 2500000"
  "dr-paced-hc|macswap|--vip 198.19.0.100 --flows 1000 --warm 1000 --rate 2500000|hc"
  "dr-est-100k|macswap|--vip 198.19.0.100 --flows 100000 --warm 100000"
  "dr-est-1m|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000"
  "dr-est-1m-rand|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000 --order random"
  "nat-est-1k|5tswap|--vip 198.19.0.101 --flows 1000 --warm 1000"
  "nat-est-100k|5tswap|--vip 198.19.0.101 --flows 100000 --warm 100000"
  "nat-est-1m|5tswap|--vip 198.19.0.101 --flows 1000000 --warm 1000000"
  "nat-est-1m-rand|5tswap|--vip 198.19.0.101 --flows 1000000 --warm 1000000 --order random"
  "dr-1m-lat|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000 --rate 800000"
  "dr-1m-half|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000 --rate @HALF@"
  "dr-1m-half-rand|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000 --order random --rate @HALF@"
  "syn-flood|macswap|--vip 198.19.0.100 --flows 0 --syn-share 1|big"
  "dr-est-1m-synflood|macswap|--vip 198.19.0.100 --flows 1000000 --warm 1000000 --warm-chunk 65536 --order random --syn-share 0.5 --legit 10000|1m"
  "udp-64|macswap|--vip 198.19.0.100 --proto udp --size 60 --flows 1000"
  "dr-1500|macswap|--vip 198.19.0.100 --size 1500 --flows 1000 --warm 1000"
)

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing: apt-get install dpdk-dev" >&2; exit 1; }

if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release --bins 2>&1 | tail -1)
fi
LVSD="$ROOT/target/release/lvsd"
GEN="$ROOT/target/release/lvsd-gen"

free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free_pages:-0}" -lt 384 ]; then
  echo 512 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  [ "${free_pages:-0}" -ge 384 ] || { echo "need 384 free 2 MB hugepages (have $free_pages)" >&2; exit 1; }
fi

SOCKDIR=/run/lvsd-perf
mkdir -p "$SOCKDIR" "$HERE/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$HERE/results/$STAMP.jsonl"
LOGDIR="$HERE/results/$STAMP"
mkdir -p "$LOGDIR"
CONF="$LOGDIR/lvsd.toml"
sed "s#@SOCK@#$SOCKDIR/lvsd.sock#" "$HERE/lvsd-perf.toml" > "$CONF"
"$LVSD" check -c "$CONF" >/dev/null

# hc_config: 1,000 reals with 200 ms TCP checks. The checks leave through
# lvsd's kernel interface (lvk-p0, in this namespace) towards the gateway
# 198.19.0.254, pinned below to the generator's MAC: the SYNs cross the
# worker's exception path to the wire and are never answered (every check
# fails by timeout, which exercises the checker as much as a success).
HC_IFACE=lvk-p0
HC_GW=198.19.0.254
hc_config() {
  cat "$CONF"
  printf '\n[[route]]\ndestination = "198.19.4.0/22"\nvia = "%s"\n' "$HC_GW"
  printf '\n[[service]]\nname = "hc-1000"\nprotocol = "tcp"\nvip = "198.19.0.102"\nport = 80\nscheduler = "wlc"\nmethod = "dr"\n'
  printf '  [service.check]\n  type = "tcp"\n  interval_ms = 200\n  timeout_ms = 200\n'
  local i
  for i in $(seq 0 999); do
    printf '  [[service.real]]\n  address = "198.19.%d.%d"\n' $(( 4 + (i + 1) / 256 )) $(( (i + 1) % 256 ))
  done
}
CONF_HC="$LOGDIR/lvsd-hc.toml"
hc_config > "$CONF_HC"
"$LVSD" check -c "$CONF_HC" >/dev/null

# Variant "1m": a 1,048,576-entry table. Scenario dr-est-1m-synflood fills
# it with 1M established connections (warmed up in chunks: the table
# pressure policy recycles the oldest half-open entries, as it would a
# warm-up's not yet acknowledged ones), then measures them in random order
# at full speed while every other frame is a SYN from a spoofed endpoint
# and 10,000 legit clients each complete a handshake (lvsd-gen --legit):
# the line gains est_lost (established frames lost), legit_ratio, and
# lvsd's no_conn drops (an established ACK finding no connection). Run it
# with -d 10 for the 10 s bar.
CONF_1M="$LOGDIR/lvsd-1m.toml"
sed 's/^capacity = .*/capacity = 1048576/' "$CONF" > "$CONF_1M"
"$LVSD" check -c "$CONF_1M" >/dev/null

# Variant "big": a 16M-entry connection table (~850 MB), so a SYN flood of
# a few seconds measures the rate of new connections, not the moment the
# table is full (each SYN_RECV entry is held 60 s, as in IPVS).
CONF_BIG="$LOGDIR/lvsd-big.toml"
sed 's/^capacity = .*/capacity = 16777216/' "$CONF" > "$CONF_BIG"
"$LVSD" check -c "$CONF_BIG" >/dev/null

DUT_PID=""
cleanup() {
  if [ -n "$DUT_PID" ] && kill -0 "$DUT_PID" 2>/dev/null; then
    kill -INT "$DUT_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$DUT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DUT_PID" 2>/dev/null || true
  fi
  DUT_PID=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# wait_for LOG PATTERN SECONDS
wait_for() {
  local i
  for i in $(seq $(( $3 * 10 ))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$DUT_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_testpmd() { # mode log
  setsid stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 0 --file-prefix lvsd-perf-tp --huge-unlink -m 256 --no-pci \
    --vdev "net_memif0,role=server,socket=$SOCKDIR/testpmd.sock,mac=02:00:00:00:00:01" -- \
    --forward-mode="$1" --port-topology=loop --nb-cores=1 --total-num-mbufs=16384 \
    --stats-period=3600 --no-mlockall </dev/null >"$2" 2>&1 &
  DUT_PID=$!
  wait_for "$2" "start packet forwarding" 30
}

start_lvsd() { # log [variant]
  local conf=$CONF
  [ "${2:-}" = hc ] && conf=$CONF_HC
  [ "${2:-}" = big ] && conf=$CONF_BIG
  [ "${2:-}" = 1m ] && conf=$CONF_1M
  setsid "$LVSD" run -c "$conf" </dev/null >"$1" 2>&1 &
  DUT_PID=$!
  wait_for "$1" "lvsd running" 30 || return 1
  if [ "${2:-}" = hc ]; then
    ip neigh replace "$HC_GW" lladdr 02:00:00:00:00:02 dev "$HC_IFACE" nud permanent
    sleep 1 # let the checker reach its steady state (every real down)
  fi
}

stop_dut() {
  local pid=$DUT_PID
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  DUT $pid did not stop on SIGINT; killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  DUT_PID=""
}

# gen SOCKET LABEL ARGS...
gen() {
  local sock=$1 label=$2; shift 2
  # shellcheck disable=SC2086
  timeout $(( DURATION + 60 )) "$GEN" --label "$label" --dst-mac 02:00:00:00:00:01 \
    --duration "$DURATION" --warm-rate "$WARM_RATE" "$@" -- \
    -l 0 --file-prefix lvsd-perf-gen --huge-unlink -m 256 --no-pci \
    --vdev "net_memif0,role=client,socket=$sock,mac=02:00:00:00:00:02" 2>>"$LOGDIR/gen.stderr" | tail -n 1
}

# one DUT KIND MODE SCEN RUN ARGS [VARIANT]
# With -k N, established full-rate scenarios (--warm, no --rate) connect the
# generator N times to the same DUT process: the first session opens the
# connections, the others reuse them (--warm 0). The memif client (the
# generator) allocates the shared regions of each connection, and on this
# kind of host where they land can make a session 2-3x slower for either
# DUT; summary.py takes each DUT's best session for the ratio and also
# prints the first sessions' ratio.
one() {
  local kind=$1 mode=$2 scen=$3 run=$4 args=$5 variant=${6:-} log line sock sessions=1 sess a
  local -a lines=()
  log="$LOGDIR/$scen.$kind.$run.log"
  if [ "$kind" = testpmd ]; then
    sock="$SOCKDIR/testpmd.sock"
    start_testpmd "$mode" "$log" || { echo "  testpmd failed to start (see $log)" >&2; stop_dut; return 0; }
  else
    sock="$SOCKDIR/lvsd.sock"
    start_lvsd "$log" "$variant" || { echo "  lvsd failed to start (see $log)" >&2; stop_dut; return 0; }
  fi
  [[ "$args" == *"--warm "* && "$args" != *"--rate"* ]] && sessions=$SESSIONS
  for sess in $(seq 1 "$sessions"); do
    a=$args
    [ "$sess" -gt 1 ] && a=$(sed -E 's/--warm [0-9]+/--warm 0/' <<<"$args")
    # shellcheck disable=SC2086
    line=$(gen "$sock" "$scen" $a || true)
    if [ -z "$line" ] || [ "${line:0:1}" != "{" ]; then
      echo "  $scen/$kind run $run session $sess: generator failed (see $LOGDIR/gen.stderr)" >&2
      continue
    fi
    lines+=("{\"session\":$sess,${line:1}")
  done
  stop_dut
  [ "${#lines[@]}" -gt 0 ] || return 0
  for line in "${lines[@]}"; do
    decorate_and_record "$kind" "$mode" "$scen" "$run" "$log" "$line"
  done
}

# decorate_and_record KIND MODE SCEN RUN LOG LINE: add the DUT's own
# counters (from its exit log) to one generator line, store and print it.
decorate_and_record() {
  local kind=$1 mode=$2 scen=$3 run=$4 log=$5 line=$6
  # lvsd's worker cost: TSC cycles of busy loop iterations per received
  # packet (the worker's own figure, whatever limits the end-to-end rate).
  local cpp
  cpp=$(grep -o 'cycles_per_packet=[0-9]*' "$log" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
  [ -n "$cpp" ] && line="{\"worker_cycles_per_packet\":$cpp,${line:1}"
  # Of the worker's busy cycles, those spent in the kernel exception path's
  # device calls (tap polls and bursts: health checks, ARP, ssh).
  local busy kern
  busy=$(grep -o ' busy_cycles=[0-9]*' "$log" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
  kern=$(grep -o ' kernel_cycles=[0-9]*' "$log" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
  [ -n "$busy" ] && [ -n "$kern" ] && [ "$busy" -gt 0 ] &&
    line="{\"worker_busy_cycles\":$busy,\"worker_kernel_cycles\":$kern,${line:1}"
  # New connections lvsd created (SYN flood: the connection rate) and its
  # drops by reason, from its exit counters.
  local created drops
  created=$(grep -o ' conns_created=[0-9]*' "$log" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
  drops=$(grep -o ' drops=[a-z_=0-9,]*' "$log" 2>/dev/null | head -n 1 | cut -d= -f2- || true)
  [ -n "$created" ] && line="{\"lvsd_conns_created\":$created,\"lvsd_drops\":\"$drops\",${line:1}"
  # --legit scenarios: lvsd's no_conn drops (established or legit ACKs
  # that found no connection) beside the generator's per-set counts.
  if [[ "$line" == *'"legit_ratio"'* ]]; then
    local nc
    nc=$(grep -oE '(^|,)no_conn=[0-9]+' <<<"$drops" | head -n 1 | cut -d= -f2 || true)
    [ "$kind" = lvsd ] && line="{\"lvsd_no_conn\":${nc:-0},${line:1}"
    printf '  %-13s %-8s run %d: established lost %s of %s, flood SYNs %s, legit handshakes %s of %s (%s)\n' "$scen" "$kind" "$run" \
      "$(sed 's/.*"est_lost":\([^,]*\).*/\1/' <<<"$line")" "$(sed 's/.*"est_tx":\([^,]*\).*/\1/' <<<"$line")" \
      "$(sed 's/.*"flood_tx":\([^,]*\).*/\1/' <<<"$line")" "$(sed 's/.*"legit_done":\([^,]*\).*/\1/' <<<"$line")" \
      "$(sed 's/.*"legit_syn_tx":\([^,]*\).*/\1/' <<<"$line")" "$(sed 's/.*"legit_ratio":\([^,}]*\).*/\1/' <<<"$line")"
  fi
  line="{\"scenario\":\"$scen\",\"dut\":\"$kind\",\"mode\":\"$mode\",\"run\":$run,\"duration\":$DURATION,${line:1}"
  echo "$line" >> "$OUT"
  printf '  %-13s %-8s run %d.%s: rx %s Mpps (tx %s, loss %s, p50 %s us, p99 %s us)\n' "$scen" "$kind" "$run" \
    "$(sed 's/.*"session":\([0-9]*\).*/\1/' <<<"$line")" \
    "$(sed 's/.*"rx_mpps":\([^,]*\).*/\1/' <<<"$line")" "$(sed 's/.*"tx_mpps":\([^,]*\).*/\1/' <<<"$line")" \
    "$(sed 's/.*"loss_ratio":\([^,]*\).*/\1/' <<<"$line")" "$(sed 's/.*"lat_p50_us":\([^,]*\).*/\1/' <<<"$line")" \
    "$(sed 's/.*"lat_p99_us":\([^,]*\).*/\1/' <<<"$line")"
}

echo "lvsd perf: $RUNS runs x ${#SCENARIOS[@]} scenarios, ${DURATION}s each; results in $OUT"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) (other load on the machine skews every figure)"
for run in $(seq 1 "$RUNS"); do
  for s in "${SCENARIOS[@]}"; do
    IFS='|' read -r scen mode args variant <<<"$s"
    if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$scen,"* ]]; then continue; fi
    lmode=dr; [[ "$scen" == nat-* ]] && lmode=nat
    if [[ "$args" == *"--rate @HALF@"* ]]; then
      one lvsd "$lmode" "$scen" "$run" "${args//--rate @HALF@/--rate-of-max 0.5}" "$variant"
      half=$(python3 -c 'import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
v=[r["rate_target"] for r in rs if r["scenario"]==sys.argv[2] and r["dut"]=="lvsd" and r["run"]==int(sys.argv[3])]
print(v[-1] if v else "")' "$OUT" "$scen" "$run" 2>/dev/null || true)
      if [ -n "$half" ]; then
        echo "  $scen: testpmd at lvsd's rate, $half pps (half of lvsd's probe in run $run)"
        one testpmd "$mode" "$scen" "$run" "${args//@HALF@/$half}"
      else
        echo "  $scen: no lvsd rate in run $run, testpmd skipped" >&2
      fi
    else
      one testpmd "$mode" "$scen" "$run" "$args"
      one lvsd "$lmode" "$scen" "$run" "$args" "$variant"
    fi
    # lvsd's own drop counters for the record
    grep -h "worker counters" "$LOGDIR/$scen.lvsd.$run.log" 2>/dev/null | sed 's/.*worker=/    lvsd worker=/' | cut -c1-220 || true
  done
done

python3 "$HERE/summary.py" "$OUT"
