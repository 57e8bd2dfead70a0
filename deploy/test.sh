#!/usr/bin/env bash
# The README's test command: set up, then every check and test lvsd has,
# then every fuzz target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
echo "== cargo test (unit, case tables, end to end in network namespaces)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --quiet -- --test-threads=2 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo "== the Debian package on a fresh bookworm root (deploy/package-test.sh)"
set +e
./deploy/package-test.sh 2>&1 | tee "$log"
prc=${PIPESTATUS[0]}
set -e
pkg=$(grep -E '^package: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
passed=$((passed + $(echo "$pkg" | awk '{print $2+0}')))
failed=$((failed + $(echo "$pkg" | awk '{print $4+0}')))
[ "$prc" -eq 0 ] || [ -n "$pkg" ] || failed=$((failed + 1))
[ "$rc" -ne 0 ] || rc=$prc
echo "lvsd: ${passed} passed, ${failed} failed"
echo "== fuzzing (every target, bounded: deploy/fuzz.sh)"
fuzz_rc=0
./deploy/fuzz.sh || fuzz_rc=$?
[ "$rc" -ne 0 ] && exit "$rc"
exit "$fuzz_rc"
