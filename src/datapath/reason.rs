//! Why a packet was dropped: one counter per reason, per worker.
use crate::packet;

macro_rules! reasons {
    ($($variant:ident => $label:literal, $doc:literal;)*) => {
        /// A drop reason. `as_str` is the metric label.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }
        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();
            /// Snake-case label for logs and metrics.
            pub const fn as_str(self) -> &'static str {
                match self { $(DropReason::$variant => $label,)* }
            }
            /// Counter index.
            pub const fn index(self) -> usize {
                self as usize
            }
        }
    };
}

reasons! {
    Runt => "runt", "shorter than an Ethernet header";
    Vlan => "vlan", "802.1Q-tagged frame (no VLAN is configured)";
    NotOurMac => "not_our_mac", "unicast to another MAC address";
    Multicast => "multicast", "multicast frame nobody here listens to";
    Loop => "loop", "frame sent from our own MAC (looped back)";
    UnknownEthertype => "unknown_ethertype", "neither ARP, IPv4 nor IPv6";
    ArpMalformed => "arp_malformed", "truncated or non-Ethernet/IPv4 ARP";
    ArpNotForUs => "arp_not_for_us", "ARP for an address we do not own";
    IpTruncated => "ip_truncated", "IPv4 header or total length beyond the frame";
    IpBadVersion => "ip_bad_version", "IP version field wrong for the ethertype";
    IpBadHeaderLen => "ip_bad_header_len", "IPv4 IHL below 5 or beyond the frame";
    IpBadTotalLen => "ip_bad_total_len", "IPv4 total length inconsistent";
    IpBadChecksum => "ip_bad_checksum", "IPv4 header checksum wrong";
    IpOptions => "ip_options", "IPv4 options are not forwarded";
    IpFragment => "ip_fragment", "IPv4 fragment (no reassembly)";
    IpMartian => "ip_martian", "source address is ours, broadcast or zero";
    Ipv6 => "ipv6", "IPv6 is not served yet";
    NotLocal => "not_local", "IP packet to an address lvsd neither owns nor balances";
    NoService => "no_service", "to a local address but no service matches";
    L4Malformed => "l4_malformed", "truncated or inconsistent TCP/UDP/ICMP header";
    L4BadChecksum => "l4_bad_checksum", "ICMP checksum wrong";
    IcmpUnhandled => "icmp_unhandled", "ICMP type lvsd does not answer";
    NoRoute => "no_route", "no route to the destination";
    NoConn => "no_conn", "TCP segment other than SYN with no connection";
    NoReal => "no_real", "no real server available (ICMP port unreachable sent)";
    RealRemoved => "real_removed", "connection of a removed real (expire_nodest_conn off)";
    ConnTableFull => "conn_table_full", "connection table full: new connection refused";
    NatNoConn => "nat_no_conn", "packet from a real server with no connection";
    TtlExceeded => "ttl_exceeded", "TTL expired in transit (ICMP time exceeded sent)";
    FragNeeded => "frag_needed", "packet too big for the outgoing port's MTU (or the tunnel's): ICMP frag needed sent to a client whose packet had DF; lvsd does not fragment";
    XlateFailed => "xlate_failed", "rewrite impossible (no headroom, truncated header)";
    IcmpNoConn => "icmp_no_conn", "ICMP error about no known connection";
    RedirectFull => "redirect_full", "ring to the owning worker full";
    Backup => "backup", "this director is the backup: it does not forward";
    NeighborQueueFull => "neighbor_queue_full", "too many packets waiting for ARP";
    NeighborUnresolved => "neighbor_unresolved", "ARP never answered in time";
    IcmpRateLimited => "icmp_rate_limited", "ICMP error or echo reply not sent: over `limits.icmp_rate`";
    KernelRateLimited => "kernel_rate_limited", "not passed to the kernel interface: over `limits.kernel_rate`";
    NoMbuf => "no_mbuf", "mempool exhausted";
    TxFull => "tx_full", "TX queue full";
}

impl DropReason {
    /// The drop reason for a malformed IPv4 header.
    pub fn from_ipv4(e: packet::Error) -> DropReason {
        match e {
            packet::Error::BadVersion => DropReason::IpBadVersion,
            packet::Error::BadHeaderLen => DropReason::IpBadHeaderLen,
            packet::Error::BadTotalLen => DropReason::IpBadTotalLen,
            packet::Error::BadChecksum => DropReason::IpBadChecksum,
            _ => DropReason::IpTruncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_unique_and_indexed() {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(seen.insert(r.as_str()));
        }
    }
}
