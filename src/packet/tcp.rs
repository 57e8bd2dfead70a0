//! TCP segment view (RFC 9293). The buffer is the whole L4 segment (the IP
//! payload, already limited to the IP length fields).
//!
//! Invariants established by `Packet::new_checked`: `len >= 20`,
//! `data offset >= 5`, `header_len <= len`. Fixed-offset accessors touch only
//! `0..20`; `options()`/`payload()` use `get()` on the current data offset and
//! clamp after `set_header_len`. Checksums cover the whole buffer, so the
//! buffer must be exactly the segment.

use super::checksum;
use super::{be16, be32, put16, put32, Error, Result};
use std::net::{Ipv4Addr, Ipv6Addr};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const DOFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// Minimum TCP header length.
pub const MIN_HEADER_LEN: usize = 20;

/// TCP flag bits (byte 13).
pub struct Flags;
impl Flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// Typed view of a TCP segment.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }
    /// Wrap after validating the data offset against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = Packet::new_unchecked(b).header_len();
        if hl < MIN_HEADER_LEN {
            return Err(Error::BadHeaderLen);
        }
        if hl > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT.start)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT.start)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEQ.start)
    }
    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ACK.start)
    }
    /// Data offset in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        self.buffer.as_ref()[field::DOFF] >> 4
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.data_offset() as usize * 4
    }
    /// Flag byte (see [`Flags`]).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }
    fn flag(&self, f: u8) -> bool {
        self.flags() & f != 0
    }
    pub fn fin(&self) -> bool {
        self.flag(Flags::FIN)
    }
    pub fn syn(&self) -> bool {
        self.flag(Flags::SYN)
    }
    pub fn rst(&self) -> bool {
        self.flag(Flags::RST)
    }
    pub fn psh(&self) -> bool {
        self.flag(Flags::PSH)
    }
    pub fn ack_flag(&self) -> bool {
        self.flag(Flags::ACK)
    }
    pub fn urg(&self) -> bool {
        self.flag(Flags::URG)
    }
    pub fn ece(&self) -> bool {
        self.flag(Flags::ECE)
    }
    pub fn cwr(&self) -> bool {
        self.flag(Flags::CWR)
    }
    /// Receive window.
    pub fn window(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WINDOW.start)
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }
    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT.start)
    }
    /// Option bytes (`20..header_len`).
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(MIN_HEADER_LEN..self.header_len())
            .unwrap_or(&[])
    }
    /// Segment data after the header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
    fn verify_with(&self, ph: u16) -> bool {
        checksum::combine(&[ph, checksum::data(self.buffer.as_ref())]) == 0xffff
    }
    /// Verify the checksum with the IPv4 pseudo header.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        match u16::try_from(self.buffer.as_ref().len()) {
            Ok(l) => self.verify_with(checksum::ipv4_pseudo_header(src, dst, 6, l)),
            Err(_) => false,
        }
    }
    /// Verify the checksum with the IPv6 pseudo header.
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let l = self.buffer.as_ref().len() as u32;
        self.verify_with(checksum::ipv6_pseudo_header(src, dst, 6, l))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::SRC_PORT.start, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::DST_PORT.start, v);
    }
    pub fn set_seq(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::SEQ.start, v);
    }
    pub fn set_ack(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::ACK.start, v);
    }
    /// Set header length in bytes (rounded down to words, max 60); the
    /// reserved/NS bits are cleared. `options`/`payload` clamp.
    pub fn set_header_len(&mut self, bytes: usize) {
        self.buffer.as_mut()[field::DOFF] = (((bytes / 4).min(15)) as u8) << 4;
    }
    /// Set the whole flag byte.
    pub fn set_flags(&mut self, f: u8) {
        self.buffer.as_mut()[field::FLAGS] = f;
    }
    pub fn set_window(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::WINDOW.start, v);
    }
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }
    pub fn set_urgent(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::URGENT.start, v);
    }
    /// Mutable options.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(MIN_HEADER_LEN..hl)
            .unwrap_or(&mut [])
    }
    /// Mutable segment data.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer.as_mut().get_mut(hl..).unwrap_or(&mut [])
    }
    fn fill_with(&mut self, ph: u16) {
        self.set_checksum(0);
        let c = !checksum::combine(&[ph, checksum::data(self.buffer.as_ref())]);
        self.set_checksum(c);
    }
    /// Compute and store the checksum (IPv4 pseudo header). Segments longer
    /// than 65535 bytes cannot be carried in IPv4: checksum left untouched.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        if let Ok(l) = u16::try_from(self.buffer.as_ref().len()) {
            self.fill_with(checksum::ipv4_pseudo_header(src, dst, 6, l));
        }
    }
    /// Compute and store the checksum (IPv6 pseudo header).
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        let l = self.buffer.as_ref().len() as u32;
        self.fill_with(checksum::ipv6_pseudo_header(src, dst, 6, l));
    }
    /// Set the source port, updating the checksum incrementally.
    pub fn rewrite_src_port(&mut self, v: u16) {
        let c = checksum::update_u16(self.checksum(), self.src_port(), v);
        self.set_src_port(v);
        self.set_checksum(c);
    }
    /// Set the destination port, updating the checksum incrementally.
    pub fn rewrite_dst_port(&mut self, v: u16) {
        let c = checksum::update_u16(self.checksum(), self.dst_port(), v);
        self.set_dst_port(v);
        self.set_checksum(c);
    }
    /// Account for a pseudo-header address change (`old` -> `new`, 4 or 16
    /// bytes) in the checksum, e.g. after `ipv4::Packet::rewrite_dst`.
    pub fn update_checksum_addr(&mut self, old: &[u8], new: &[u8]) {
        let c = checksum::update_bytes(self.checksum(), old, new);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
    const B: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 100);

    #[test]
    fn deconstruct_syn() {
        let seg = &TCP_SYN_V4[20..];
        let p = Packet::new_checked(seg).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (40000, 80));
        assert_eq!((p.seq(), p.ack()), (0x12345678, 0));
        assert_eq!((p.data_offset(), p.header_len()), (10, 40));
        assert_eq!(p.flags(), Flags::SYN);
        assert!(p.syn() && !p.ack_flag() && !p.fin() && !p.rst());
        assert!(!p.psh() && !p.urg() && !p.ece() && !p.cwr());
        assert_eq!((p.window(), p.checksum(), p.urgent()), (64240, 0xc412, 0));
        assert_eq!(&p.options()[..4], &[2, 4, 5, 0xb4]);
        assert!(p.payload().is_empty());
        assert!(p.verify_checksum_v4(A, B));
        assert!(!p.verify_checksum_v4(B, A.to_bits().wrapping_add(1).into()));

        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let p6 = Packet::new_checked(&TCP_SYN_V6[40..]).unwrap();
        assert_eq!(
            (p6.src_port(), p6.dst_port(), p6.header_len()),
            (40000, 443, 20)
        );
        assert!(p6.verify_checksum_v6(&s6, &d6));
        assert!(!p6.verify_checksum_v6(&d6, &d6));
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_src_port(40000);
        p.set_dst_port(80);
        p.set_seq(0x12345678);
        p.set_ack(0);
        p.set_header_len(40);
        p.set_flags(Flags::SYN);
        p.set_window(64240);
        p.set_urgent(0);
        p.options_mut().copy_from_slice(&TCP_SYN_V4[40..]);
        p.fill_checksum_v4(A, B);
        assert_eq!(&b[..], &TCP_SYN_V4[20..]);

        let mut b6 = [0u8; 20];
        b6.copy_from_slice(&TCP_SYN_V6[40..]);
        let mut p6 = Packet::new_checked(&mut b6[..]).unwrap();
        p6.set_checksum(0);
        p6.fill_checksum_v6(
            &"2001:db8::1".parse().unwrap(),
            &"2001:db8::2".parse().unwrap(),
        );
        assert_eq!(&b6[..], &TCP_SYN_V6[40..]);
    }

    #[test]
    fn incremental_nat() {
        let mut b = [0u8; 44];
        b[..40].copy_from_slice(&TCP_SYN_V4[20..]);
        b[40..].copy_from_slice(b"data");
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum_v4(A, B);
        assert_eq!(p.payload(), b"data");
        p.payload_mut()[0] = b'D';
        p.fill_checksum_v4(A, B);
        let c = Ipv4Addr::new(10, 0, 0, 7);
        p.rewrite_dst_port(8080);
        p.rewrite_src_port(1);
        p.update_checksum_addr(&B.octets(), &c.octets());
        assert!(p.verify_checksum_v4(A, c));
        assert_eq!((p.src_port(), p.dst_port()), (1, 8080));
        p.set_header_len(60);
        assert!(p.options().is_empty() && p.payload().is_empty());
        assert!(p.options_mut().is_empty() && p.payload_mut().is_empty());
    }

    #[test]
    fn malformed() {
        let seg = &TCP_SYN_V4[20..];
        for n in 0..seg.len() {
            assert!(Packet::new_checked(&seg[..n]).is_err(), "len {n}");
        }
        let mut b = [0u8; 40];
        b.copy_from_slice(seg);
        b[12] = 0x40;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadHeaderLen));
        b[12] = 0xb0;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Truncated));
    }
}
