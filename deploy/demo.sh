#!/usr/bin/env bash
# The README's demo command: set up, build, run `lvsd demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
cargo build --release --quiet
exec ./target/release/lvsd demo
