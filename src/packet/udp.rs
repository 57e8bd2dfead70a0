//! UDP datagram view (RFC 768). The buffer is the L4 payload of the IP packet.
//!
//! Invariants established by `Packet::new_checked`: `buffer len >= 8`,
//! `8 <= length field <= buffer len`. Fixed accessors touch `0..8`; the
//! datagram/payload slices use `get()` on the current length field and clamp
//! after `set_len`. Checksums cover `..length` (bytes beyond are ignored).
//!
//! Checksum rules: over IPv4 a zero checksum means "not computed" and
//! verifies as OK; a computed zero is transmitted as 0xFFFF (v4 and v6).
//! Over IPv6 a zero checksum is invalid (RFC 8200 §8.1) and fails
//! verification. Incremental rewrites leave a zero (absent) checksum alone.

use super::checksum;
use super::{be16, put16, Error, Result};
use std::net::{Ipv4Addr, Ipv6Addr};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// UDP header length.
pub const HEADER_LEN: usize = 8;

/// Typed view of a UDP datagram.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }
    /// Wrap after validating the length field against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let l = be16(b, field::LENGTH.start) as usize;
        if l < HEADER_LEN {
            return Err(Error::BadTotalLen);
        }
        if l > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT.start)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT.start)
    }
    /// Length field (header + data).
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }
    /// True if the length field is 0 (never for a checked packet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }
    /// Header + data, `..length`.
    pub fn datagram(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(..self.len() as usize)
            .unwrap_or(&[])
    }
    /// Data, `8..length`.
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(HEADER_LEN..self.len() as usize)
            .unwrap_or(&[])
    }
    fn sum_ok(&self, ph: u16) -> bool {
        let d = self.datagram();
        !d.is_empty() && checksum::combine(&[ph, checksum::data(d)]) == 0xffff
    }
    /// Verify over IPv4; a zero checksum ("none") is accepted.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || self.sum_ok(checksum::ipv4_pseudo_header(src, dst, 17, self.len()))
    }
    /// Verify over IPv6; a zero checksum is invalid.
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.checksum() != 0
            && self.sum_ok(checksum::ipv6_pseudo_header(
                src,
                dst,
                17,
                self.len() as u32,
            ))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::SRC_PORT.start, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::DST_PORT.start, v);
    }
    /// Set the length field; `payload`/`datagram` clamp if inconsistent.
    pub fn set_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::LENGTH.start, v);
    }
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }
    /// Mutable data, `8..length`.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let l = self.len() as usize;
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..l)
            .unwrap_or(&mut [])
    }
    fn fill_with(&mut self, ph: u16) {
        self.set_checksum(0);
        let c = !checksum::combine(&[ph, checksum::data(self.datagram())]);
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
    /// Compute and store the checksum over IPv4 (0 sent as 0xFFFF).
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let l = self.len();
        self.fill_with(checksum::ipv4_pseudo_header(src, dst, 17, l));
    }
    /// Compute and store the checksum over IPv6 (0 sent as 0xFFFF).
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        let l = self.len() as u32;
        self.fill_with(checksum::ipv6_pseudo_header(src, dst, 17, l));
    }
    fn update(&mut self, c: u16) {
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
    /// Set the source port; checksum updated incrementally unless absent (0).
    pub fn rewrite_src_port(&mut self, v: u16) {
        let old = self.checksum();
        if old != 0 {
            self.update(checksum::update_u16(old, self.src_port(), v));
        }
        self.set_src_port(v);
    }
    /// Set the destination port; checksum updated incrementally unless absent.
    pub fn rewrite_dst_port(&mut self, v: u16) {
        let old = self.checksum();
        if old != 0 {
            self.update(checksum::update_u16(old, self.dst_port(), v));
        }
        self.set_dst_port(v);
    }
    /// Account for a pseudo-header address change unless the checksum is absent.
    pub fn update_checksum_addr(&mut self, old: &[u8], new: &[u8]) {
        let c = self.checksum();
        if c != 0 {
            self.update(checksum::update_bytes(c, old, new));
        }
    }
}

/// Write an 8-byte UDP header for `payload_len` data bytes (checksum 0).
pub fn emit_header(buf: &mut [u8], sport: u16, dport: u16, payload_len: u16) -> Result<usize> {
    let len = payload_len
        .checked_add(HEADER_LEN as u16)
        .ok_or(Error::BadTotalLen)?;
    let b = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
    let mut p = Packet::new_unchecked(b);
    p.set_src_port(sport);
    p.set_dst_port(dport);
    p.set_len(len);
    p.set_checksum(0);
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const D: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn deconstruct() {
        // Buffer includes Ethernet padding beyond the UDP length.
        let p = Packet::new_checked(&UDP_V4_PADDED[20..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (12345, 53, 12));
        assert_eq!(p.checksum(), 0xf69e);
        assert_eq!(p.payload(), b"abcd");
        assert!(!p.is_empty());
        assert!(p.verify_checksum_v4(S, D));
        assert!(!p.verify_checksum_v4(D, D));
        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let p6 = Packet::new_checked(&UDP_V6[40..]).unwrap();
        assert_eq!(p6.payload(), b"wxyz");
        assert!(p6.verify_checksum_v6(&s6, &d6));
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 12];
        emit_header(&mut b, 12345, 53, 4).unwrap();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.payload_mut().copy_from_slice(b"abcd");
        p.fill_checksum_v4(S, D);
        assert_eq!(&b[..], &UDP_V4_PADDED[20..32]);
        assert_eq!(emit_header(&mut [0u8; 7], 1, 2, 0), Err(Error::Truncated));
        assert_eq!(
            emit_header(&mut [0u8; 8], 1, 2, 65530),
            Err(Error::BadTotalLen)
        );
    }

    #[test]
    fn zero_checksum_rules() {
        let mut b = [0u8; 12];
        b.copy_from_slice(&UDP_V4_PADDED[20..32]);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_checksum(0);
        assert!(p.verify_checksum_v4(S, D));
        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert!(!p.verify_checksum_v6(&s6, &s6));
        p.rewrite_dst_port(5353);
        assert_eq!(p.checksum(), 0);
        // Find a payload whose checksum computes to 0 and check it is sent as 0xFFFF.
        let mut found = false;
        for x in 0..=0xffffu16 {
            p.payload_mut()[..2].copy_from_slice(&x.to_be_bytes());
            p.fill_checksum_v4(S, D);
            assert_ne!(p.checksum(), 0);
            if p.checksum() == 0xffff {
                found = true;
                assert!(p.verify_checksum_v4(S, D));
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn incremental_nat() {
        let mut b = [0u8; 12];
        b.copy_from_slice(&UDP_V4_PADDED[20..32]);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let n = Ipv4Addr::new(172, 16, 5, 4);
        p.rewrite_src_port(1024);
        p.rewrite_dst_port(5300);
        p.update_checksum_addr(&D.octets(), &n.octets());
        assert!(p.verify_checksum_v4(S, n));
        p.set_len(200);
        assert!(p.payload().is_empty() && p.datagram().is_empty() && p.payload_mut().is_empty());
        assert!(!p.verify_checksum_v4(S, n) || p.checksum() == 0);
    }

    #[test]
    fn malformed() {
        let d = &UDP_V4_PADDED[20..32];
        for n in 0..d.len() {
            assert!(Packet::new_checked(&d[..n]).is_err(), "len {n}");
        }
        let mut b = [0u8; 12];
        b.copy_from_slice(d);
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadTotalLen));
        b[5] = 13;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Truncated));
    }
}
