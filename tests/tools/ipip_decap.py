#!/usr/bin/env python3
"""Userspace IPIP decapsulation for a TUN-mode real server (this kernel has
no ipip module): reads protocol-4 packets from a raw socket, strips the
outer IPv4 header and writes the inner packet to a tun device
(IFF_TUN|IFF_NO_PI), from where the kernel delivers it locally (the VIP is
on lo) and answers the client directly. `ipip_decap.py TUNNAME`.
Prints "ready" once the tun device is up. Stops on SIGTERM."""
import fcntl, os, socket, struct, subprocess, sys

name = sys.argv[1]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
subprocess.run(["ip", "link", "set", name, "up"], check=True)
subprocess.run(["sysctl", "-qw", f"net.ipv4.conf.{name}.rp_filter=0"], check=True)
subprocess.run(["sysctl", "-qw", f"net.ipv4.conf.{name}.accept_local=1"], check=False)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
print("ready", flush=True)
while True:
    pkt = raw.recv(65535)
    ihl = (pkt[0] & 0x0F) * 4
    inner = pkt[ihl:]
    if len(inner) >= 20 and inner[0] >> 4 == 4:
        os.write(tun, inner)
