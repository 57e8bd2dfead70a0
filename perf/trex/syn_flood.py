"""TRex STL: SYN flood towards the lvsd DR VIP — every packet a SYN from
a new client endpoint (up to 10M distinct, cycling).

    start -f perf/trex/syn_flood.py -m 100% -t flows=10000000,size=64
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HAVE_TREX, VIP, VPORT, client_vm, padded  # noqa: E402

if HAVE_TREX:
    from common import IP, TCP, Ether, STLPktBuilder, STLProfile, STLStream, STLTXCont


class SynFlood(object):
    def get_streams(self, direction=0, flows=10000000, size=64, **kwargs):
        pkt = padded(Ether() / IP(src="198.18.0.0", dst=VIP, ttl=64)
                     / TCP(sport=1024, dport=VPORT, flags="S", seq=1), int(size))
        return [STLStream(packet=STLPktBuilder(pkt=pkt, vm=client_vm(int(flows))),
                          mode=STLTXCont())]


def register():
    return SynFlood()
