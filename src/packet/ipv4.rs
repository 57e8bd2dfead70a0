//! IPv4 header view (RFC 791).
//!
//! Invariants established by `Packet::new_checked`: `len >= 20`, version 4,
//! `ihl >= 5`, `header_len <= len`, `header_len <= total_len <= len`.
//! Fixed-offset accessors touch only bytes `0..20`. Variable-length views
//! (`options`, `payload`, checksum helpers) are computed with `get()` from the
//! *current* length fields and clamp to an empty slice if a setter has made
//! them inconsistent, so nothing can panic even after `set_ihl`/`set_total_len`.
//! `payload()` ends at `total_len`, excluding Ethernet padding.

use super::checksum;
use super::{be16, put16, Error, Result};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// Minimum (option-less) IPv4 header length.
pub const MIN_HEADER_LEN: usize = 20;

/// IP protocol numbers (shared with IPv6 next-header values).
pub struct Protocol;
impl Protocol {
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
}

const DF: u16 = 0x4000;
const MF: u16 = 0x2000;
const OFF_MASK: u16 = 0x1fff;

/// Typed view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap after validating version and all length fields (see module docs).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let p = Packet::new_unchecked(b);
        if p.version() != 4 {
            return Err(Error::BadVersion);
        }
        if p.ihl() < 5 {
            return Err(Error::BadHeaderLen);
        }
        let hl = p.header_len();
        if hl > b.len() {
            return Err(Error::Truncated);
        }
        let tl = p.total_len() as usize;
        if tl < hl {
            return Err(Error::BadTotalLen);
        }
        if tl > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Version (4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }
    /// Header length in 32-bit words.
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }
    /// Header length in bytes (`ihl * 4`).
    pub fn header_len(&self) -> usize {
        self.ihl() as usize * 4
    }
    /// Whole TOS byte.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }
    /// DSCP (upper 6 bits of TOS).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }
    /// ECN (lower 2 bits of TOS).
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }
    /// Total length field (header + payload).
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TOTAL_LEN.start)
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT.start)
    }
    fn flg_off(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLG_OFF.start)
    }
    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flg_off() & DF != 0
    }
    /// More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flg_off() & MF != 0
    }
    /// Fragment offset in **bytes** (field value * 8).
    pub fn frag_offset(&self) -> u16 {
        (self.flg_off() & OFF_MASK) << 3
    }
    /// True for any fragment (MF set or non-zero offset); only the first
    /// fragment (offset 0) carries the L4 header.
    pub fn is_fragment(&self) -> bool {
        self.flg_off() & (MF | OFF_MASK) != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    /// Protocol (see [`Protocol`]).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    /// Whole header (`..header_len`), empty if inconsistent.
    pub fn header(&self) -> &[u8] {
        self.buffer.as_ref().get(..self.header_len()).unwrap_or(&[])
    }
    /// Options bytes (`20..header_len`).
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(MIN_HEADER_LEN..self.header_len())
            .unwrap_or(&[])
    }
    /// Payload `header_len..total_len` (Ethernet padding excluded).
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.header_len()..self.total_len() as usize)
            .unwrap_or(&[])
    }
    /// True if the header checksum is correct (false if header inconsistent).
    pub fn verify_checksum(&self) -> bool {
        let h = self.header();
        !h.is_empty() && checksum::data(h) == 0xffff
    }
    /// Payload length per the header fields (`total_len - header_len`, saturating).
    pub fn payload_len(&self) -> u16 {
        self.total_len().saturating_sub(self.header_len() as u16)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set version nibble.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }
    /// Set IHL (words). Changes what `options`/`payload` cover; they clamp.
    pub fn set_ihl(&mut self, ihl: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | (ihl & 0x0f);
    }
    /// Set whole TOS byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }
    /// Set DSCP, keeping ECN.
    pub fn set_dscp(&mut self, dscp: u8) {
        let t = (self.tos() & 0x03) | (dscp << 2);
        self.set_tos(t);
    }
    /// Set ECN, keeping DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let t = (self.tos() & 0xfc) | (ecn & 0x03);
        self.set_tos(t);
    }
    /// Set total length. `payload` clamps if it exceeds the buffer.
    pub fn set_total_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::TOTAL_LEN.start, v);
    }
    /// Set identification.
    pub fn set_ident(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::IDENT.start, v);
    }
    fn set_flg_off(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::FLG_OFF.start, v);
    }
    /// Set/clear DF.
    pub fn set_dont_frag(&mut self, on: bool) {
        let v = self.flg_off();
        self.set_flg_off(if on { v | DF } else { v & !DF });
    }
    /// Set/clear MF.
    pub fn set_more_frags(&mut self, on: bool) {
        let v = self.flg_off();
        self.set_flg_off(if on { v | MF } else { v & !MF });
    }
    /// Set fragment offset in bytes (must be a multiple of 8; low bits dropped).
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = self.flg_off();
        self.set_flg_off((v & !OFF_MASK) | (bytes >> 3));
    }
    /// Set TTL.
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    /// Set protocol.
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v;
    }
    /// Set checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }
    /// Set source address.
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    /// Set destination address.
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.octets());
    }
    /// Recompute the header checksum (no-op if header inconsistent).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        if let Some(h) = self.buffer.as_ref().get(..hl) {
            let c = checksum::checksum(h);
            self.set_checksum(c);
        }
    }
    /// Rewrite the source address, updating the header checksum
    /// incrementally (RFC 1624). Returns the old address. L4 checksums that
    /// cover the pseudo header must be updated by the caller.
    pub fn rewrite_src(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        let old = self.src();
        let c = checksum::update_u32(self.checksum(), old.into(), a.into());
        self.set_src(a);
        self.set_checksum(c);
        old
    }
    /// Rewrite the destination address with incremental checksum update.
    pub fn rewrite_dst(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        let old = self.dst();
        let c = checksum::update_u32(self.checksum(), old.into(), a.into());
        self.set_dst(a);
        self.set_checksum(c);
        old
    }
    /// Decrement TTL with incremental checksum update. Returns the new TTL,
    /// or `None` (packet untouched) if it was already 0 or 1.
    pub fn decrement_ttl(&mut self) -> Option<u8> {
        let ttl = self.ttl();
        if ttl <= 1 {
            return None;
        }
        let b = self.buffer.as_ref();
        let old = be16(b, field::TTL);
        let new = old - 0x0100;
        let c = checksum::update_u16(self.checksum(), old, new);
        self.set_ttl(ttl - 1);
        self.set_checksum(c);
        Some(ttl - 1)
    }
    /// Mutable options bytes.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(MIN_HEADER_LEN..hl)
            .unwrap_or(&mut [])
    }
    /// Mutable payload (`header_len..total_len`).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, tl) = (self.header_len(), self.total_len() as usize);
        self.buffer.as_mut().get_mut(hl..tl).unwrap_or(&mut [])
    }
}

/// Parameters for [`emit_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    /// Bytes following the 20-byte header.
    pub payload_len: u16,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
}

/// Write a fresh option-less 20-byte header (checksum filled) into
/// `buf[..20]`; returns 20. Fails with `Truncated` if `buf` is shorter and
/// `BadTotalLen` if `20 + payload_len` overflows u16.
pub fn emit_header(buf: &mut [u8], h: &Header) -> Result<usize> {
    let total = h
        .payload_len
        .checked_add(MIN_HEADER_LEN as u16)
        .ok_or(Error::BadTotalLen)?;
    let b = buf.get_mut(..MIN_HEADER_LEN).ok_or(Error::Truncated)?;
    b[field::VER_IHL] = 0x45;
    b[field::TOS] = h.tos;
    put16(b, field::TOTAL_LEN.start, total);
    put16(b, field::IDENT.start, h.ident);
    put16(b, field::FLG_OFF.start, if h.dont_frag { DF } else { 0 });
    b[field::TTL] = h.ttl;
    b[field::PROTOCOL] = h.protocol;
    put16(b, field::CHECKSUM.start, 0);
    b[field::SRC].copy_from_slice(&h.src.octets());
    b[field::DST].copy_from_slice(&h.dst.octets());
    let c = checksum::checksum(b);
    put16(b, field::CHECKSUM.start, c);
    Ok(MIN_HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    #[test]
    fn deconstruct_tcp_syn() {
        let p = Packet::new_checked(&TCP_SYN_V4[..]).unwrap();
        assert_eq!((p.version(), p.ihl(), p.header_len()), (4, 5, 20));
        assert_eq!(
            (p.dscp(), p.ecn(), p.total_len(), p.ident()),
            (0, 0, 60, 0x1c46)
        );
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(
            (p.frag_offset(), p.ttl(), p.protocol()),
            (0, 64, Protocol::TCP)
        );
        assert_eq!(p.checksum(), 0x9ab7);
        assert!(p.verify_checksum());
        assert_eq!(p.src(), Ipv4Addr::new(192, 168, 1, 10));
        assert_eq!(p.dst(), Ipv4Addr::new(192, 168, 1, 100));
        assert!(p.options().is_empty());
        assert_eq!(p.payload(), &TCP_SYN_V4[20..]);
        assert_eq!(p.payload_len(), 40);
    }

    #[test]
    fn padding_excluded_and_options() {
        let p = Packet::new_checked(&UDP_V4_PADDED[..]).unwrap();
        assert_eq!(p.payload().len(), 12);
        assert_eq!(&p.payload()[8..], b"abcd");
        let o = Packet::new_checked(&UDP_V4_OPTIONS[..]).unwrap();
        assert_eq!(o.header_len(), 24);
        assert_eq!(o.options(), &[1, 1, 1, 0]);
        assert!(o.verify_checksum());
        assert_eq!(o.payload().len(), 8);
        let i = Packet::new_checked(&ICMP_PORT_UNREACH_V4[..]).unwrap();
        assert_eq!((i.tos(), i.dscp(), i.ecn()), (0xc0, 48, 0));
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 60];
        buf[20..].copy_from_slice(&TCP_SYN_V4[20..]);
        let h = Header {
            src: Ipv4Addr::new(192, 168, 1, 10),
            dst: Ipv4Addr::new(192, 168, 1, 100),
            protocol: Protocol::TCP,
            payload_len: 40,
            ttl: 64,
            tos: 0,
            ident: 0x1c46,
            dont_frag: true,
        };
        assert_eq!(emit_header(&mut buf, &h), Ok(20));
        assert_eq!(buf, TCP_SYN_V4);
        assert_eq!(emit_header(&mut [0u8; 19], &h), Err(Error::Truncated));
        let big = Header {
            payload_len: 65516,
            ..h
        };
        assert_eq!(emit_header(&mut [0u8; 20], &big), Err(Error::BadTotalLen));

        let mut b2 = [0u8; 60];
        let mut p = Packet::new_unchecked(&mut b2[..]);
        p.set_version(4);
        p.set_ihl(5);
        p.set_dscp(0);
        p.set_ecn(0);
        p.set_total_len(60);
        p.set_ident(0x1c46);
        p.set_dont_frag(true);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.set_ttl(64);
        p.set_protocol(6);
        p.set_src(h.src);
        p.set_dst(h.dst);
        p.payload_mut().copy_from_slice(&TCP_SYN_V4[20..]);
        p.fill_checksum();
        assert_eq!(b2, TCP_SYN_V4);
    }

    #[test]
    fn setters_and_incremental() {
        let mut b = TCP_SYN_V4;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        assert!(p.is_fragment() && p.more_frags() && p.dont_frag());
        assert_eq!(p.frag_offset(), 1480);
        p.set_dont_frag(false);
        assert!(!p.dont_frag());
        p.set_dscp(46);
        p.set_ecn(3);
        assert_eq!((p.dscp(), p.ecn(), p.tos()), (46, 3, 0xbb));
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(
            p.rewrite_dst(Ipv4Addr::new(10, 1, 2, 3)),
            Ipv4Addr::new(192, 168, 1, 100)
        );
        assert!(p.verify_checksum());
        p.rewrite_src(Ipv4Addr::new(255, 255, 255, 255));
        assert!(p.verify_checksum());
        assert_eq!(p.decrement_ttl(), Some(63));
        assert!(p.verify_checksum());
        p.set_ttl(1);
        p.fill_checksum();
        assert_eq!(p.decrement_ttl(), None);
        // Inconsistent lengths after setters clamp instead of panicking.
        p.set_ihl(15);
        p.set_total_len(0xffff);
        assert_eq!(p.options().len(), 40);
        assert!(p.payload().is_empty() && p.payload_mut().is_empty());
        p.set_ihl(0);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.options().is_empty() && p.options_mut().is_empty());
    }

    #[test]
    fn malformed() {
        for n in 0..TCP_SYN_V4.len() {
            assert!(Packet::new_checked(&TCP_SYN_V4[..n]).is_err(), "len {n}");
        }
        let mut b = TCP_SYN_V4;
        b[0] = 0x44;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadHeaderLen));
        b[0] = 0x4f; // 60-byte header fits the 60-byte buffer but total_len 60 ok
        assert!(Packet::new_checked(&b[..]).is_ok());
        b[3] = 59;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadTotalLen));
        let mut b = TCP_SYN_V4;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::BadVersion));
        let mut b = TCP_SYN_V4;
        b[3] = 61;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Truncated));
        let mut b = [0u8; 24];
        b[..20].copy_from_slice(&TCP_SYN_V4[..20]);
        b[0] = 0x47;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Truncated));
        let mut b = TCP_SYN_V4;
        b[11] ^= 1;
        assert!(!Packet::new_checked(&b[..]).unwrap().verify_checksum());
    }
}
