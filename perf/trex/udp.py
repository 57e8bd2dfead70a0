"""TRex STL: UDP towards the lvsd DR UDP service (10.0.0.100:80) from
`flows` client endpoints.

    start -f perf/trex/udp.py -t flows=1000,size=64 -m 100%
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HAVE_TREX, VIP, VPORT, client_vm, padded  # noqa: E402

if HAVE_TREX:
    from common import UDP, IP, Ether, STLPktBuilder, STLProfile, STLStream, STLTXCont


class Udp(object):
    def get_streams(self, direction=0, flows=1000, size=64, **kwargs):
        pkt = padded(Ether() / IP(src="198.18.0.0", dst=VIP, ttl=64)
                     / UDP(sport=1024, dport=VPORT), int(size))
        return [STLStream(packet=STLPktBuilder(pkt=pkt, vm=client_vm(int(flows), "UDP")),
                          mode=STLTXCont())]


def register():
    return Udp()
