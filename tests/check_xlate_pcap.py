#!/usr/bin/python3
"""Independent check of lvsd xlate output (golden pcap written by the Rust
test `xlate::golden::golden_pcap` to $LVSD_XLATE_PCAP).

Usage:  LVSD_XLATE_PCAP=/tmp/x.pcap cargo test golden && ./check_pcap.py /tmp/x.pcap

Decodes every packet with scapy and asserts field by field; checksums are
re-derived by deleting the `chksum` fields and letting scapy rebuild the
packet (IP/TCP/UDP), and with scapy's RFC 1071 `checksum()` over the raw
bytes where scapy cannot rebuild faithfully (ICMP errors quoting a truncated
packet, quoted IP headers). Exits non-zero on the first mismatch.
"""
import struct
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, raw, rdpcap
from scapy.utils import checksum

C, VIP, RS, DIR, ROUTER = "198.51.100.7", "192.0.2.10", "10.1.0.5", "10.1.0.1", "203.0.113.1"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def eq(idx, name, got, want):
    check(got == want, f"pkt {idx}: {name} = {got!r}, want {want!r}")


def ip_header_ok(ip):
    c = ip.copy()
    c.remove_payload()
    del c.chksum
    return IP(raw(c)).chksum == ip.chksum


def l4_ok(ip, layer):
    """Rebuild ip with IP and L4 checksums deleted; compare both."""
    c = ip.copy()
    del c.chksum
    del c[layer].chksum
    r = IP(raw(c))
    return r.chksum == ip.chksum and r[layer].chksum == ip[layer].chksum


def icmp_ok(ip):
    b = bytearray(raw(ip)[ip.ihl * 4: ip.len])
    want = struct.unpack("!H", b[2:4])[0]
    b[2:4] = b"\0\0"
    return checksum(bytes(b)) == want


def quoted_hdr(ip):
    """(src, dst, sport, dport, header checksum ok, raw quote) of an ICMP error."""
    q = raw(ip)[ip.ihl * 4 + 8: ip.len]
    hl = (q[0] & 0x0F) * 4
    hdr_ok = checksum(q[:hl]) == 0
    src = ".".join(map(str, q[12:16]))
    dst = ".".join(map(str, q[16:20]))
    sport, dport = struct.unpack("!HH", q[hl: hl + 4])
    return src, dst, sport, dport, hdr_ok, q


def common(i, p, src, dst, proto, ttl):
    check(Ether in p and p[Ether].type == 0x0800, f"pkt {i}: Ethernet/IPv4")
    ip = p[IP]
    eq(i, "version/ihl", (ip.version, ip.ihl), (4, 5))
    eq(i, "src", ip.src, src)
    eq(i, "dst", ip.dst, dst)
    eq(i, "proto", ip.proto, proto)
    eq(i, "ttl", ip.ttl, ttl)
    eq(i, "frame length", len(p), 14 + ip.len)
    check(ip_header_ok(ip), f"pkt {i}: IP header checksum")
    return ip


def tcp_pkt(i, p, src, sport, dst, dport, ttl):
    ip = common(i, p, src, dst, 6, ttl)
    eq(i, "ports", (ip[TCP].sport, ip[TCP].dport), (sport, dport))
    check(l4_ok(ip, TCP), f"pkt {i}: TCP checksum")
    return ip


def udp_pkt(i, p, src, sport, dst, dport, ttl, zero=False, ffff=False):
    ip = common(i, p, src, dst, 17, ttl)
    u = ip[UDP]
    eq(i, "ports", (u.sport, u.dport), (sport, dport))
    if zero:
        eq(i, "UDP checksum (absent)", u.chksum, 0)
    else:
        check(u.chksum != 0, f"pkt {i}: UDP checksum non-zero")
        check(l4_ok(ip, UDP), f"pkt {i}: UDP checksum")
    if ffff:
        eq(i, "UDP checksum (computed 0)", u.chksum, 0xFFFF)
    return ip


def icmp_pkt(i, p, src, dst, ttl, typ, code, length=None):
    ip = common(i, p, src, dst, 1, ttl)
    eq(i, "icmp type/code", (ip[ICMP].type, ip[ICMP].code), (typ, code))
    check(icmp_ok(ip), f"pkt {i}: ICMP checksum")
    if length is not None:
        eq(i, "IP total length", ip.len, length)
    return ip


def main(path):
    pkts = rdpcap(path)
    eq("-", "packet count", len(pkts), 14)
    if len(pkts) != 14:
        return 1
    # 0-3 DNAT
    tcp_pkt(0, pkts[0], C, 40000, RS, 8080, 63)
    check(bytes(pkts[0][TCP].payload) == b"GET / HTTP/1.0\r\n\r\n", "pkt 0: payload")
    udp_pkt(1, pkts[1], C, 1234, RS, 5353, 63)
    udp_pkt(2, pkts[2], C, 1234, RS, 5353, 63, zero=True)
    udp_pkt(3, pkts[3], C, 1234, RS, 5353, 63, ffff=True)
    # 4-5 SNAT
    tcp_pkt(4, pkts[4], VIP, 80, C, 40000, 63)
    udp_pkt(5, pkts[5], VIP, 53, C, 1234, 63)
    # 6 DR: only TTL and header checksum
    ip = tcp_pkt(6, pkts[6], C, 40000, VIP, 80, 63)
    check(ip.flags.DF, "pkt 6: DF kept")
    # 7 TUN
    o = common(7, pkts[7], DIR, RS, 4, 63)
    eq(7, "outer tos", o.tos, 0xBA)
    eq(7, "outer id", o.id, 0xBEEF)
    check(o.flags.DF and not o.flags.MF and o.frag == 0, "pkt 7: outer DF only")
    inner = o.payload
    check(isinstance(inner, IP), "pkt 7: inner IP")
    eq(7, "outer len", o.len, 20 + inner.len)
    eq(7, "inner", (inner.src, inner.dst, inner.ttl, inner.tos), (C, VIP, 63, 0xBA))
    check(ip_header_ok(inner), "pkt 7: inner IP checksum")
    check(l4_ok(inner, TCP), "pkt 7: inner TCP checksum")
    # 8 decapsulate(encapsulate(x)) = x with TTL - 1
    ip = tcp_pkt(8, pkts[8], C, 40000, VIP, 80, 63)
    eq(8, "tos", ip.tos, 0xBA)
    check(raw(ip)[20:] == raw(inner)[20:], "pkt 8: identical to the inner of pkt 7")
    # 9 frag needed: 576 bytes, MTU 1480, quoted C:40000 -> VIP:80
    ip = icmp_pkt(9, pkts[9], VIP, C, 64, 3, 4, length=576)
    eq(9, "next-hop MTU", ip[ICMP].nexthopmtu, 1480)
    eq(9, "tos/id/DF", (ip.tos, ip.id, bool(ip.flags.DF)), (0xC0, 0x0101, False))
    s, d, sp, dp, ok, _ = quoted_hdr(ip)
    eq(9, "quoted", (s, sp, d, dp), (C, 40000, VIP, 80))
    check(ok, "pkt 9: quoted IP checksum")
    # 10 time exceeded quoting the whole 41-byte packet
    ip = icmp_pkt(10, pkts[10], VIP, C, 64, 11, 0, length=20 + 8 + 41)
    s, d, sp, dp, ok, _ = quoted_hdr(ip)
    eq(10, "quoted", (s, sp, d, dp), (C, 40000, VIP, 80))
    check(ok, "pkt 10: quoted IP checksum")
    # 11 port unreachable quoting the whole 33-byte datagram
    ip = icmp_pkt(11, pkts[11], VIP, C, 64, 3, 3, length=20 + 8 + 33)
    s, d, sp, dp, ok, _ = quoted_hdr(ip)
    eq(11, "quoted", (s, sp, d, dp), (C, 1234, VIP, 53))
    check(ok, "pkt 11: quoted IP checksum")
    # 12 nat_icmp_in: outer ROUTER -> RS, quoted RS:8080 -> C:40000 (28 bytes)
    ip = icmp_pkt(12, pkts[12], ROUTER, RS, 63, 3, 4, length=20 + 8 + 28)
    eq(12, "next-hop MTU", ip[ICMP].nexthopmtu, 1400)
    s, d, sp, dp, ok, _ = quoted_hdr(ip)
    eq(12, "quoted", (s, sp, d, dp), (RS, 8080, C, 40000))
    check(ok, "pkt 12: quoted IP checksum")
    # 13 nat_icmp_out: outer VIP -> C, quoted C:5000 -> VIP:53 (whole datagram)
    ip = icmp_pkt(13, pkts[13], VIP, C, 63, 3, 3, length=20 + 8 + 36)
    s, d, sp, dp, ok, q = quoted_hdr(ip)
    eq(13, "quoted", (s, sp, d, dp), (C, 5000, VIP, 53))
    check(ok, "pkt 13: quoted IP checksum")
    # The quoted UDP checksum is deliberately not updated (IPVS does not):
    # it still verifies against the pre-NAT addresses/port.
    qip = IP(q)
    check(not l4_ok(qip, UDP), "pkt 13: quoted UDP checksum left as quoted")

    if failures:
        print(f"{len(failures)} mismatch(es)")
        return 1
    print(f"OK: {len(pkts)} packets verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lvsd_xlate.pcap"))
