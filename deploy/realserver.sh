#!/bin/sh
# Prepare (or undo) a real server for lvsd's direct-routing or tunnel mode.
#   realserver.sh dr  VIP [VIP...]      VIP on lo, no ARP for it
#   realserver.sh tun VIP [VIP...]      also: ipip tunnel device tunl0 up, rp_filter off
#   realserver.sh undo VIP [VIP...]
# DR: the real server must be on the director's L2 segment. TUN: it needs
# the kernel's ipip module (where the kernel lacks it, a userspace
# decapsulator is needed, like tests/tools/ipip_decap.py).
set -eu
mode="${1:-}"; shift || true
[ -n "$mode" ] && [ $# -ge 1 ] || { echo "usage: $0 dr|tun|undo VIP [VIP...]" >&2; exit 2; }
sysctl_set() { sysctl -qw "$1" >/dev/null; }
case "$mode" in
  dr|tun)
    sysctl_set net.ipv4.conf.all.arp_ignore=1
    sysctl_set net.ipv4.conf.all.arp_announce=2
    for dev in /proc/sys/net/ipv4/conf/*; do
      d=$(basename "$dev"); [ "$d" = all ] || [ "$d" = default ] && continue
      sysctl_set "net.ipv4.conf.$d.arp_ignore=1"; sysctl_set "net.ipv4.conf.$d.arp_announce=2"
    done
    for vip in "$@"; do
      ip addr show dev lo | grep -q " $vip/32" || ip addr add "$vip/32" dev lo
    done
    if [ "$mode" = tun ]; then
      if modprobe ipip 2>/dev/null || [ -d /sys/class/net/tunl0 ]; then
        ip link set tunl0 up
        sysctl_set net.ipv4.conf.tunl0.rp_filter=0
      else
        echo "realserver.sh: no ipip module in this kernel: run a userspace IPIP decapsulator" >&2
      fi
      sysctl_set net.ipv4.conf.all.rp_filter=0
      sysctl_set net.ipv4.conf.lo.rp_filter=0
    fi
    ;;
  undo)
    for vip in "$@"; do ip addr del "$vip/32" dev lo 2>/dev/null || true; done
    sysctl_set net.ipv4.conf.all.arp_ignore=0
    sysctl_set net.ipv4.conf.all.arp_announce=0
    ;;
  *) echo "usage: $0 dr|tun|undo VIP [VIP...]" >&2; exit 2 ;;
esac
echo "realserver.sh: $mode done for $*"
