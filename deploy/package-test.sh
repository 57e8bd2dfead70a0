#!/usr/bin/env bash
# The package test: builds the Debian package (packaging/build-deb.sh),
# installs it with apt on a fresh Debian bookworm root (debootstrap minbase,
# cached by deploy/bookworm-root.sh, unpacked anew each run into a temporary
# directory) so that apt fetches its DPDK dependencies from the mirror, and
# runs the installed programs there in a chroot. Needs root: skipped
# without it, a failure under CI=true. Last line: "package: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "package: 0 passed, 1 failed (root is needed to build a chroot)"
    exit 1
  fi
  echo "package: skipped (root is needed to build a chroot)"
  exit 0
fi

deb=$(./packaging/build-deb.sh)
tarball=$(./deploy/bookworm-root.sh)
root=$(mktemp -d /var/tmp/lvsd-package-test.XXXXXX)
cleanup() {
  mountpoint -q "$root/proc" && umount "$root/proc"
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

echo "== package: apt-get install ./$(basename "$deb") on a fresh bookworm root"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$deb")" >"$root/tmp/apt.log" 2>&1 || { tail -30 "$root/tmp/apt.log"; exit 1; }

passed=0
failed=0
check() {
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    echo "package: $name ... ok"
    passed=$((passed + 1))
  else
    echo "package: $name ... FAILED"
    printf '%s\n' "$out" | tail -20 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}
conffiles() { in_root dpkg-query -W -f='${Conffiles}\n' lvsd | grep -q '^ /etc/lvsd/lvsd.toml '; }
lvsd_check() {
  local said
  said=$(in_root lvsd check -c /etc/lvsd/lvsd.toml 2>&1) || true
  [ "$said" = ok ] || { echo "$said"; return 1; }
}
lvsadm_help() { in_root lvsadm --help | grep -q '^  lvsadm -L|l \[virtual-service\]'; }
dpdk_from_debian() {
  for p in librte-eal23 librte-ethdev23 librte-mempool-ring23 librte-net-tap23; do
    in_root dpkg-query -W -f='${Status}' "$p" | grep -q 'install ok installed' || { echo "$p not installed"; return 1; }
  done
}
# A page (gzip'd roff) that says every argument after the first (a path).
man_page() {
  local page text
  page=$1
  shift
  text=$(in_root zcat "$page") || return 1
  for want in "$@"; do
    grep -qF -- "$want" <<<"$text" || { echo "$page lacks '$want'"; return 1; }
  done
}
present() { for f in "$@"; do [ -s "$root$f" ] || { echo "missing $f"; return 1; }; done; }

check "lvsd check on the packaged /etc/lvsd/lvsd.toml" lvsd_check
check "lvsadm --help" lvsadm_help
check "/etc/lvsd/lvsd.toml is a conffile" conffiles
check "DPDK 22.11 runtime installed from Debian" dpdk_from_debian
check "lvsd(8)" man_page /usr/share/man/man8/lvsd.8.gz '.TH lvsd 8' 'lvsd check' 'FILES'
check "lvsadm(8)" man_page /usr/share/man/man8/lvsadm.8.gz '.TH LVSADM 8' 'save\-config' '.SH ENVIRONMENT'
check "lvsd.toml(5)" man_page /usr/share/man/man5/lvsd.toml.5.gz '.TH LVSD.TOML 5' 'lcores' 'dead_interval_ms'
check "systemd unit and hugepage helper" present /usr/lib/systemd/system/lvsd.service /usr/lib/lvsd/lvsd-hugepages
check "shell completions" present /usr/share/bash-completion/completions/lvsd \
  /usr/share/bash-completion/completions/lvsadm /usr/share/zsh/vendor-completions/_lvsd \
  /usr/share/zsh/vendor-completions/_lvsadm /usr/share/fish/vendor_completions.d/lvsd.fish \
  /usr/share/fish/vendor_completions.d/lvsadm.fish
completion_loads() { in_root bash -c ". /usr/share/bash-completion/completions/$1 && complete -p $1"; }
check "lvsd's bash completion loads" completion_loads lvsd
check "lvsadm's bash completion loads" completion_loads lvsadm
echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
