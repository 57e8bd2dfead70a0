#!/usr/bin/env bash
# The README's test command: set up, then every check and test lvsd has.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
echo "== cargo test (unit, case tables, end to end in network namespaces)"
cargo test --quiet -- --test-threads=2
