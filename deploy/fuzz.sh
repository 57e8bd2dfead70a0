#!/usr/bin/env bash
# Bounded fuzzing: every cargo-fuzz target under fuzz/ runs for
# FUZZ_SECONDS (default 20) from its committed seeds (fuzz/seeds/<target>)
# plus the local corpus (fuzz/corpus/<target>, not committed). A crash,
# a timeout, or a target that does not build makes this script fail; the
# reproducer is left in fuzz/artifacts/<target>/.
#   FUZZ_TARGETS="engine config" FUZZ_SECONDS=60 ./deploy/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-20}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: needs the nightly toolchain and cargo-fuzz (./deploy/setup.sh installs both)" >&2
  exit 1
fi
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
echo "== cargo fuzz build ($(echo $targets | wc -w) targets)"
cargo +nightly fuzz build
for t in $targets; do
  mkdir -p "corpus/$t" "seeds/$t"
  log=$(mktemp)
  echo "== fuzz $t (${secs} s)"
  if ! cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: target $t FAILED (reproducer in fuzz/artifacts/$t/)" >&2
    rm -f "$log"
    exit 1
  fi
  # The last status line (coverage, features, corpus, executions/s).
  grep -E '^#[0-9]+' "$log" | tail -n 1 || true
  grep -E 'stat::number_of_executed_units' "$log" || true
  rm -f "$log"
done
echo "fuzz: all targets ran ${secs} s without a crash"
