"""TRex STL: established-connection mix towards the lvsd DR VIP. Run the
warm stream first (one SYN per client endpoint, `flows` packets), then the
ACK stream; `syn_share` adds SYNs from new endpoints. Latency is measured
on a low-rate flow-stats stream (pg_id 7).

    start -f perf/trex/established.py -t flows=1000000,size=64,syn_share=0.0 -m 100%
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HAVE_TREX, VIP, VPORT, client_vm, padded  # noqa: E402

if HAVE_TREX:
    from common import (IP, TCP, Ether, STLFlowLatencyStats, STLPktBuilder, STLProfile,
                        STLStream, STLTXCont)
    from trex_stl_lib.api import STLTXSingleBurst


class Established(object):
    def get_streams(self, direction=0, flows=1000, size=64, syn_share=0.0, **kwargs):
        flows, size, syn_share = int(flows), int(size), float(syn_share)

        def pkt(flags):
            return padded(Ether() / IP(src="198.18.0.0", dst=VIP, ttl=64)
                          / TCP(sport=1024, dport=VPORT, flags=flags, seq=1, ack=1), size)

        warm = STLStream(name="warm", packet=STLPktBuilder(pkt=pkt("S"), vm=client_vm(flows)),
                         mode=STLTXSingleBurst(total_pkts=flows, pps=1000000),
                         next="ack")
        ack_pct = 100.0 * (1.0 - syn_share)
        streams = [warm,
                   STLStream(name="ack", self_start=False,
                             packet=STLPktBuilder(pkt=pkt("A"), vm=client_vm(flows)),
                             mode=STLTXCont(percentage=ack_pct)),
                   STLStream(name="lat", self_start=False,
                             packet=STLPktBuilder(pkt=pkt("A")),
                             flow_stats=STLFlowLatencyStats(pg_id=7),
                             mode=STLTXCont(pps=1000))]
        if syn_share > 0:
            streams.append(STLStream(name="syn", self_start=False,
                                     packet=STLPktBuilder(pkt=pkt("S"), vm=client_vm(10000000)),
                                     mode=STLTXCont(percentage=100.0 * syn_share)))
        return streams


def register():
    return Established()
