#!/usr/bin/env bash
# Builds the Debian package: man pages and completions generated from the
# programs (examples: package-docs), then `cargo deb` (release binaries,
# systemd unit, /etc/lvsd/lvsd.toml as a conffile; metadata in Cargo.toml).
# Prints the path of the .deb. Installs cargo-deb when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb >&2
docs=target/package-docs
rm -rf "$docs"
cargo run --quiet --example package-docs -- "$docs" >&2
gzip -9n "$docs"/man/*.[58]
cargo deb --quiet --strip --output target/debian/ >&2
ls -t target/debian/lvsd_*.deb | head -1
