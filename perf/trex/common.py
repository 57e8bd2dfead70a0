"""Shared pieces of the lvsd TRex STL profiles (bare metal only).

Clients come from 198.18.0.0/15 (RFC 2544), the VIP is the DR service of
perf/lvsd-perf.toml (10.0.0.100:80; NAT: 10.0.0.101). Each profile takes
tunables through TRex's `-t` (e.g. `-t flows=1000000,size=64`).
"""
try:  # TRex's module exists only inside a TRex installation.
    from trex_stl_lib.api import (STLFlowLatencyStats, STLPktBuilder, STLProfile, STLScVmRaw,
                                  STLStream, STLTXCont, STLVmFlowVar, STLVmFixIpv4,
                                  STLVmWrFlowVar, STLVmFixChecksumHw)
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    HAVE_TREX = True
except ImportError:  # pragma: no cover - syntax check outside TRex
    HAVE_TREX = False

CLIENT_MIN = "198.18.0.0"
CLIENT_MAX = "198.19.255.255"
VIP = "10.0.0.100"
VPORT = 80


def client_vm(flows, l4="TCP"):
    """Field engine: cycle source address over the /15, then source port,
    so that `flows` distinct client endpoints repeat in order."""
    addrs = min(flows, 131072)
    ports = max(1, (flows + addrs - 1) // addrs)
    return STLScVmRaw([
        STLVmFlowVar(name="ip", min_value=CLIENT_MIN, max_value=_ip_add(CLIENT_MIN, addrs - 1),
                     size=4, op="inc"),
        STLVmFlowVar(name="port", min_value=1024, max_value=1024 + ports - 1, size=2, op="inc"),
        STLVmWrFlowVar(fv_name="ip", pkt_offset="IP.src"),
        STLVmWrFlowVar(fv_name="port", pkt_offset=l4 + ".sport"),
        STLVmFixIpv4(offset="IP"),
        STLVmFixChecksumHw(l3_offset="IP", l4_offset=l4, l4_type=6 if l4 == "TCP" else 17),
    ])


def _ip_add(ip, n):
    a = [int(x) for x in ip.split(".")]
    v = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) + n
    return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))


def padded(pkt, size):
    """Pad a scapy packet to `size` bytes (without FCS)."""
    pad = max(0, size - len(pkt))
    return pkt / ("\x00" * pad)
