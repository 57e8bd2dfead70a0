//! Packet rewrites for the IPVS forwarding methods (NAT, DR, TUN) and the
//! ICMP messages the director originates or relays (reference
//! `ipvs-semantics.md` §2).
//!
//! # Input contract
//!
//! Every function takes a [`Frame`] whose bytes are a 14-byte untagged
//! Ethernet header followed by IPv4. The caller has validated the IPv4 header
//! (version 4, IHL 5, `total_len` within the frame, header checksum); the
//! functions re-check what they rely on anyway and return an [`XlateError`]
//! instead of panicking for **any** input. Bytes after `14 + total_len`
//! (Ethernet padding) are ignored, except where documented (TUN trims them).
//!
//! # Invariants
//!
//! * **All or nothing**: on `Err` the frame is unchanged (every check runs
//!   before the first write).
//! * Ethernet addresses are never written (the caller resolves neighbours);
//!   only [`tun`] moves the Ethernet header to make room for the outer header.
//! * Checksums: IPv4 header and TCP/UDP checksums are updated incrementally
//!   (RFC 1624 eqn. 3 via `packet::checksum::update_*`), which equals a full
//!   recomputation. UDP checksum 0 ("none") stays 0 and a computed 0 is sent
//!   as 0xFFFF (RFC 768). ICMP checksums and quoted headers are recomputed in
//!   full, as IPVS does.
//! * TTL: every forwarding function decrements the TTL (IPVS does, in
//!   `__ip_vs_get_out_rt`); a TTL of 0 or 1 gives [`XlateError::TtlExceeded`]
//!   and the caller answers with [`icmp::time_exceeded`] (never for an ICMP
//!   error itself: the builder refuses with `IcmpSuppressed`).
//! * Safe Rust only, no allocation except through [`FrameAlloc`]
//!   ([`icmp`] builders), no panics (all slicing is checked).
//!
//! # Modules
//!
//! * [`nat`]: [`dnat`] (client → real) and [`snat`] (real → client).
//! * [`dr`]: [`forward`] (TTL only; the caller writes the real server's MAC).
//! * [`tun`]: IPIP [`encapsulate`]/[`decapsulate`], [`tunnel_mtu`],
//!   [`needs_frag`].
//! * [`icmp`]: error builders ([`frag_needed`], [`time_exceeded`],
//!   [`port_unreachable`], [`icmp_error`]), NAT of related ICMP errors
//!   ([`nat_icmp_in`], [`nat_icmp_out`]) and [`quoted_tuple`] for the
//!   connection lookup.
//!
//! [`Frame`]: crate::frame::Frame
//! [`FrameAlloc`]: crate::frame::FrameAlloc

pub mod dr;
pub mod icmp;
pub mod nat;
pub mod tun;

#[cfg(test)]
mod build;
#[cfg(test)]
mod golden;

pub use dr::forward;
pub use icmp::{
    frag_needed, icmp_error, nat_icmp_in, nat_icmp_out, port_unreachable, quoted_tuple,
    time_exceeded, QuotedTuple,
};
pub use nat::{dnat, snat};
pub use tun::{decapsulate, encapsulate, needs_frag, tunnel_mtu};

use crate::packet::{ethernet, ipv4};
use core::fmt;

/// Why a rewrite was refused. Cheap to copy and to count (metric label via
/// [`XlateError::as_str`]). The frame is unchanged whenever one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XlateError {
    /// frame or L4/ICMP header shorter than the headers require
    Truncated,
    /// not untagged Ethernet + option-less IPv4 with a consistent total length
    NotIpv4,
    /// the packet is a fragment, so the L4 header needed is not (all) there
    Fragment,
    /// L4 protocol not handled by this function (e.g. ICMP given to dnat)
    UnsupportedProtocol,
    /// TTL is 0 or 1: drop and send ICMP time exceeded
    TtlExceeded,
    /// no headroom in front of the frame for the tunnel header
    NoHeadroom,
    /// the packet would exceed 65535 bytes once encapsulated
    TooBig,
    /// route MTU too small for a tunnel (effective MTU below 68)
    MtuTooSmall,
    /// ICMP message is not a connection-related error (types 3, 4, 11)
    NotIcmpError,
    /// ICMP checksum of the message is wrong
    BadChecksum,
    /// RFC 1122 forbids an ICMP error about this packet
    IcmpSuppressed,
    /// frame pool exhausted or the new frame cannot hold the message
    AllocFailed,
    /// decapsulation: outer CE over a not-ECT inner packet (RFC 6040 drop)
    EcnDrop,
}

impl XlateError {
    /// All variants, for pre-registering metric labels.
    pub const ALL: [XlateError; 13] = [
        XlateError::Truncated,
        XlateError::NotIpv4,
        XlateError::Fragment,
        XlateError::UnsupportedProtocol,
        XlateError::TtlExceeded,
        XlateError::NoHeadroom,
        XlateError::TooBig,
        XlateError::MtuTooSmall,
        XlateError::NotIcmpError,
        XlateError::BadChecksum,
        XlateError::IcmpSuppressed,
        XlateError::AllocFailed,
        XlateError::EcnDrop,
    ];

    /// Short snake_case name, suitable as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            XlateError::Truncated => "truncated",
            XlateError::NotIpv4 => "not_ipv4",
            XlateError::Fragment => "fragment",
            XlateError::UnsupportedProtocol => "unsupported_protocol",
            XlateError::TtlExceeded => "ttl_exceeded",
            XlateError::NoHeadroom => "no_headroom",
            XlateError::TooBig => "too_big",
            XlateError::MtuTooSmall => "mtu_too_small",
            XlateError::NotIcmpError => "not_icmp_error",
            XlateError::BadChecksum => "bad_checksum",
            XlateError::IcmpSuppressed => "icmp_suppressed",
            XlateError::AllocFailed => "alloc_failed",
            XlateError::EcnDrop => "ecn_drop",
        }
    }
}

impl fmt::Display for XlateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for XlateError {}

impl From<crate::packet::Error> for XlateError {
    /// Map a view-construction error: length problems are `Truncated`,
    /// everything else means "not the IPv4 we expected".
    fn from(e: crate::packet::Error) -> Self {
        match e {
            crate::packet::Error::Truncated => XlateError::Truncated,
            _ => XlateError::NotIpv4,
        }
    }
}

/// Result alias for this module.
pub type Result<T> = core::result::Result<T, XlateError>;

/// Untagged Ethernet header length.
pub const ETH_LEN: usize = ethernet::HEADER_LEN;
/// Option-less IPv4 header length.
pub const IP_LEN: usize = ipv4::MIN_HEADER_LEN;
/// Offset of the L4 header in a frame (Ethernet + option-less IPv4).
pub const L4_OFF: usize = ETH_LEN + IP_LEN;

/// Check the input contract and return the IPv4 `total_len` (so the IP
/// packet is `data[ETH_LEN..ETH_LEN + total_len]`, and `total_len >= 20`).
#[inline]
pub(crate) fn ipv4_total_len(data: &[u8]) -> Result<usize> {
    let eth = ethernet::Frame::new_checked(data)?;
    if eth.ethertype() != ethernet::EtherType::IPV4 {
        return Err(XlateError::NotIpv4);
    }
    let ip = ipv4::Packet::new_checked(data.get(ETH_LEN..).unwrap_or(&[]))?;
    if ip.header_len() != IP_LEN {
        return Err(XlateError::NotIpv4);
    }
    Ok(ip.total_len() as usize)
}

/// Split a frame that passed [`ipv4_total_len`] into the (mutable) IPv4
/// header view and the L4 bytes `L4_OFF..ETH_LEN + total_len`.
pub(crate) fn split_l4(
    data: &mut [u8],
    total_len: usize,
) -> Result<(ipv4::Packet<&mut [u8]>, &mut [u8])> {
    let ip_pkt = data
        .get_mut(ETH_LEN..ETH_LEN + total_len)
        .ok_or(XlateError::Truncated)?;
    if ip_pkt.len() < IP_LEN {
        return Err(XlateError::Truncated);
    }
    let (hdr, l4) = ip_pkt.split_at_mut(IP_LEN);
    Ok((ipv4::Packet::new_unchecked(hdr), l4))
}

#[cfg(test)]
mod tests;
