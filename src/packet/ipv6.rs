//! IPv6 fixed header view (RFC 8200).
//!
//! Invariants established by `Packet::new_checked`: `len >= 40`, version 6,
//! `40 + payload_len <= len`. Fixed-offset accessors touch only `0..40`;
//! `payload()` is `40..40 + payload_len` computed with `get()` so it clamps
//! after `set_payload_len` rather than panicking. Ethernet padding is excluded.
//!
//! Extension headers are **not** walked: `next_header()` is the raw value of
//! the fixed header and `payload()` starts right after it. Callers (see
//! `flow::extract`) treat non-upper-layer next headers as unsupported.
//! Jumbograms (payload_len 0 + Hop-by-Hop jumbo option) are not supported.

use super::checksum;
use super::{be16, be32, put16, put32, Error, Result};
use std::net::Ipv6Addr;

mod field {
    use core::ops::Range;
    pub const VER_TC_FL: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Typed view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    Ipv6Addr::from(a)
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }
    /// Wrap after validating version and payload length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let p = Packet::new_unchecked(b);
        if p.version() != 6 {
            return Err(Error::BadVersion);
        }
        if HEADER_LEN + p.payload_len() as usize > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    fn word0(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VER_TC_FL.start)
    }
    /// Version (6).
    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }
    /// Traffic class (DSCP << 2 | ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }
    /// DSCP part of the traffic class.
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }
    /// ECN part of the traffic class.
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 3
    }
    /// 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }
    /// Payload length (bytes after the fixed header, incl. extension headers).
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PAYLOAD_LEN.start)
    }
    /// Next header of the fixed header (extension headers not walked).
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }
    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC])
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST])
    }
    /// `40..40 + payload_len` (padding excluded; empty if inconsistent).
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + self.payload_len() as usize;
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_word0(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::VER_TC_FL.start, v);
    }
    /// Set version nibble.
    pub fn set_version(&mut self, v: u8) {
        let w = self.word0();
        self.set_word0((w & 0x0fff_ffff) | ((v as u32 & 0xf) << 28));
    }
    /// Set traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = self.word0();
        self.set_word0((w & 0xf00f_ffff) | ((tc as u32) << 20));
    }
    /// Set flow label (low 20 bits used).
    pub fn set_flow_label(&mut self, fl: u32) {
        let w = self.word0();
        self.set_word0((w & 0xfff0_0000) | (fl & 0x000f_ffff));
    }
    /// Set payload length; `payload()` clamps if it exceeds the buffer.
    pub fn set_payload_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::PAYLOAD_LEN.start, v);
    }
    /// Set next header.
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = v;
    }
    /// Set hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    /// Set source address.
    pub fn set_src(&mut self, a: &Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    /// Set destination address.
    pub fn set_dst(&mut self, a: &Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.octets());
    }
    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + self.payload_len() as usize;
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..end)
            .unwrap_or(&mut [])
    }
}

/// Write a fresh 40-byte fixed header into `buf[..40]`; returns 40.
pub fn emit_header(
    buf: &mut [u8],
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    next_header: u8,
    payload_len: u16,
    hop_limit: u8,
) -> Result<usize> {
    let b = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
    let mut p = Packet::new_unchecked(b);
    p.set_word0(6 << 28);
    p.set_payload_len(payload_len);
    p.set_next_header(next_header);
    p.set_hop_limit(hop_limit);
    p.set_src(src);
    p.set_dst(dst);
    Ok(HEADER_LEN)
}

/// Folded pseudo-header sum for an upper-layer packet of `len` bytes carried
/// in this IPv6 header (convenience over [`checksum::ipv6_pseudo_header`]).
pub fn pseudo_header<T: AsRef<[u8]>>(p: &Packet<T>, next_header: u8, len: u32) -> u16 {
    checksum::ipv6_pseudo_header(&p.src(), &p.dst(), next_header, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&TCP_SYN_V6[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!((p.traffic_class(), p.flow_label()), (0, 0x12345));
        assert_eq!(
            (p.payload_len(), p.next_header(), p.hop_limit()),
            (20, 6, 64)
        );
        assert_eq!(p.src(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &TCP_SYN_V6[40..]);
        let u = Packet::new_checked(&UDP_V6[..]).unwrap();
        assert_eq!((u.traffic_class(), u.dscp(), u.ecn()), (0xb8, 46, 0));
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 60];
        let s: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d: Ipv6Addr = "2001:db8::2".parse().unwrap();
        emit_header(&mut b, &s, &d, 6, 20, 64).unwrap();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_flow_label(0x12345);
        p.payload_mut().copy_from_slice(&TCP_SYN_V6[40..]);
        assert_eq!(b, TCP_SYN_V6);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_traffic_class(0xb8);
        p.set_version(6);
        assert_eq!(
            (p.traffic_class(), p.flow_label(), p.version()),
            (0xb8, 0x12345, 6)
        );
        p.set_payload_len(0xffff);
        assert!(p.payload().is_empty() && p.payload_mut().is_empty());
        assert_eq!(
            emit_header(&mut [0u8; 39], &s, &d, 6, 0, 1),
            Err(Error::Truncated)
        );
        let p = Packet::new_checked(&UDP_V6[..]).unwrap();
        let ph = pseudo_header(&p, 17, p.payload_len() as u32);
        assert_eq!(
            checksum::combine(&[ph, checksum::data(p.payload())]),
            0xffff
        );
    }

    #[test]
    fn malformed() {
        for n in 0..TCP_SYN_V6.len() {
            assert!(Packet::new_checked(&TCP_SYN_V6[..n]).is_err(), "len {n}");
        }
        let mut b = TCP_SYN_V6;
        b[0] = 0x45;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadVersion));
        let mut b = TCP_SYN_V6;
        b[5] = 21;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Truncated));
        let mut padded = [0u8; 70];
        padded[..60].copy_from_slice(&TCP_SYN_V6);
        assert_eq!(
            Packet::new_checked(&padded[..]).unwrap().payload().len(),
            20
        );
    }
}
