#!/usr/bin/env bash
# Prints the path of a tarball of a fresh Debian bookworm root (debootstrap
# minbase), building it on first use and caching it outside the repository
# ($LVSD_ROOT_CACHE, default /var/cache/lvsd-test). As root. The package test
# (deploy/package-test.sh) unpacks a copy per run, so the cached root stays
# untouched.
set -euo pipefail
cache=${LVSD_ROOT_CACHE:-/var/cache/lvsd-test}
tarball=$cache/bookworm-minbase.tar
mirror=${LVSD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "bookworm-root: debootstrap --variant=minbase bookworm (a few minutes, once)" >&2
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/log" 2>&1 || {
  tail -20 "$work/log" >&2
  exit 1
}
tar -C "$work/root" -cf "$work/root.tar" .
mv "$work/root.tar" "$tarball"
echo "$tarball"
