#!/usr/bin/env bash
# Install what lvsd's build, demo and tests need on Debian bookworm (as root),
# and reserve 2 MB hugepages when the kernel gives them. Idempotent.
set -euo pipefail

PKGS=(dpdk dpdk-dev libdpdk-dev libclang-dev pkg-config
      iproute2 ethtool iputils-ping curl openssl tcpdump tshark python3-scapy prometheus nftables
      dpkg-dev debootstrap)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo (a Rust toolchain) is required on PATH" >&2
  exit 1
fi

# The Debian package (packaging/build-deb.sh, tested by deploy/package-test.sh).
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "setup: installing cargo-deb"
  cargo install --locked --quiet cargo-deb
fi

# Fuzzing (deploy/fuzz.sh): a nightly toolchain and cargo-fuzz.
if command -v rustup >/dev/null 2>&1 && ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "setup: installing the nightly toolchain (for cargo-fuzz)"
  rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz"
  cargo install --locked --quiet cargo-fuzz
fi

# Hugepages: 512 x 2 MB when possible; lvsd and the tests fall back to
# --no-huge when none are reserved.
if [ -w /proc/sys/vm/nr_hugepages ]; then
  have=$(cat /proc/sys/vm/nr_hugepages)
  [ "$have" -ge 512 ] || echo 512 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
echo "setup: ok (hugepages reserved: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0))"
