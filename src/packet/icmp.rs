//! ICMPv4 message view (RFC 792) and the quoted packet of ICMP errors.
//!
//! Invariants: `Packet::new_checked` guarantees `len >= 8`; accessors touch
//! `0..8`, `payload()` is `8..`. The checksum covers the whole buffer, which
//! must be exactly the ICMP message (the IPv4 payload).
//!
//! [`QuotedIpv4::new_checked`] is deliberately lenient: errors quote only the
//! start of the offending datagram, so its `total_len` may exceed what is
//! quoted. It requires version 4, `ihl >= 5` and `header_len + 8 <= len`
//! (the header plus the first 8 L4 bytes = ports), and nothing else; every
//! accessor touches only `0..header_len + 8`, so none can panic.

use super::checksum;
use super::{be16, be32, put16, put32, Error, Result};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REST: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQ: Range<usize> = 6..8;
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// ICMP header length.
pub const HEADER_LEN: usize = 8;

/// ICMPv4 message types.
pub struct Type;
impl Type {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;
}

/// Destination-unreachable code "fragmentation needed and DF set".
pub const CODE_FRAG_NEEDED: u8 = 4;
/// Destination-unreachable code "port unreachable".
pub const CODE_PORT_UNREACH: u8 = 3;

/// Typed view of an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }
    /// Wrap after checking `len >= 8`.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Message type (see [`Type`]).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }
    /// Bytes 4..8 as a u32 ("rest of header").
    pub fn rest_of_header(&self) -> u32 {
        be32(self.buffer.as_ref(), field::REST.start)
    }
    /// Echo identifier (types 0/8).
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }
    /// Echo sequence number (types 0/8).
    pub fn echo_seq(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQ.start)
    }
    /// Next-hop MTU (type 3 code 4, RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }
    /// Echo request or reply.
    pub fn is_echo(&self) -> bool {
        matches!(self.msg_type(), Type::ECHO_REQUEST | Type::ECHO_REPLY)
    }
    /// Errors IPVS relates to connections and forwards: 3, 4, 11.
    pub fn is_error(&self) -> bool {
        matches!(
            self.msg_type(),
            Type::DEST_UNREACH | Type::SOURCE_QUENCH | Type::TIME_EXCEEDED
        )
    }
    /// All RFC 792 error types (3, 4, 5, 11, 12), quoting the offending datagram.
    pub fn is_rfc_error(&self) -> bool {
        self.is_error() || matches!(self.msg_type(), Type::REDIRECT | Type::PARAM_PROBLEM)
    }
    /// Bytes after the 8-byte header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
    /// Checksum over the whole message is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
    /// The quoted IPv4 header + 8 bytes of an error message (lenient check).
    /// `Unsupported` if this is not an error type (see [`Self::is_rfc_error`]).
    pub fn quoted_ipv4(&self) -> Result<QuotedIpv4<&[u8]>> {
        if !self.is_rfc_error() {
            return Err(Error::Unsupported);
        }
        QuotedIpv4::new_checked(self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    pub fn set_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }
    pub fn set_rest_of_header(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::REST.start, v);
    }
    pub fn set_echo_ident(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_IDENT.start, v);
    }
    pub fn set_echo_seq(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_SEQ.start, v);
    }
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::NEXT_HOP_MTU.start, v);
    }
    /// Mutable bytes after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..)
            .unwrap_or(&mut [])
    }
    /// Recompute the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }
    /// Mutable view of the quoted packet (for NAT of ICMP errors); call
    /// [`Self::fill_checksum`] afterwards.
    pub fn quoted_ipv4_mut(&mut self) -> Result<QuotedIpv4<&mut [u8]>> {
        if !self.is_rfc_error() {
            return Err(Error::Unsupported);
        }
        QuotedIpv4::new_checked(self.payload_mut())
    }
}

/// Lenient view of the IPv4 header + first 8 L4 bytes quoted in an ICMP error.
#[derive(Debug, Clone)]
pub struct QuotedIpv4<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> QuotedIpv4<T> {
    /// Lenient check (see module docs): header + 8 bytes must be present.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < 20 {
            return Err(Error::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        let hl = (b[0] & 0x0f) as usize * 4;
        if hl < 20 {
            return Err(Error::BadHeaderLen);
        }
        if hl + 8 > b.len() {
            return Err(Error::Truncated);
        }
        Ok(QuotedIpv4 { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Quoted header length in bytes.
    pub fn header_len(&self) -> usize {
        (self.buffer.as_ref()[0] & 0x0f) as usize * 4
    }
    /// Quoted total length (may exceed what is quoted).
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    /// Quoted fragment offset is non-zero or MF set.
    pub fn is_fragment(&self) -> bool {
        be16(self.buffer.as_ref(), 6) & 0x3fff != 0
    }
    /// Quoted fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), 6) & 0x1fff) << 3
    }
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[9]
    }
    pub fn src(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    /// The whole quoted header.
    pub fn header(&self) -> &[u8] {
        self.buffer.as_ref().get(..self.header_len()).unwrap_or(&[])
    }
    /// First 8 bytes of the quoted L4 header (ports for TCP/UDP, type/code/
    /// checksum/id/seq for ICMP).
    pub fn l4_header(&self) -> &[u8] {
        let hl = self.header_len();
        self.buffer.as_ref().get(hl..hl + 8).unwrap_or(&[])
    }
    fn l4_u16(&self, off: usize) -> u16 {
        match self.l4_header().get(off..off + 2) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }
    /// Quoted L4 source port (TCP/UDP).
    pub fn src_port(&self) -> u16 {
        self.l4_u16(0)
    }
    /// Quoted L4 destination port (TCP/UDP).
    pub fn dst_port(&self) -> u16 {
        self.l4_u16(2)
    }
    /// Quoted ICMP echo identifier (inner protocol ICMP).
    pub fn icmp_echo_ident(&self) -> u16 {
        self.l4_u16(4)
    }
    /// Quoted header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> QuotedIpv4<T> {
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[12..16].copy_from_slice(&a.octets());
    }
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[16..20].copy_from_slice(&a.octets());
    }
    fn set_l4_u16(&mut self, off: usize, v: u16) {
        let at = self.header_len() + off;
        if let Some(s) = self.buffer.as_mut().get_mut(at..at + 2) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }
    pub fn set_src_port(&mut self, v: u16) {
        self.set_l4_u16(0, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        self.set_l4_u16(2, v);
    }
    /// Recompute the quoted IPv4 header checksum.
    pub fn fill_checksum(&mut self) {
        put16(self.buffer.as_mut(), 10, 0);
        let c = checksum::checksum(self.header());
        put16(self.buffer.as_mut(), 10, c);
    }
}

/// Write an 8-byte ICMP header (checksum 0: call `fill_checksum` once the
/// payload is in place); returns 8.
pub fn emit_header(buf: &mut [u8], msg_type: u8, code: u8, rest: u32) -> Result<usize> {
    let b = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
    let mut p = Packet::new_unchecked(b);
    p.set_msg_type(msg_type);
    p.set_code(code);
    p.set_checksum(0);
    p.set_rest_of_header(rest);
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    #[test]
    fn deconstruct_echo() {
        let p = Packet::new_checked(&ICMP_ECHO_V4[20..]).unwrap();
        assert_eq!((p.msg_type(), p.code(), p.checksum()), (8, 0, 0x5435));
        assert_eq!((p.echo_ident(), p.echo_seq()), (0x1234, 1));
        assert_eq!(p.rest_of_header(), 0x1234_0001);
        assert!(p.is_echo() && !p.is_error() && !p.is_rfc_error());
        assert_eq!(p.payload(), b"abcdefgh");
        assert!(p.verify_checksum());
        assert_eq!(p.quoted_ipv4().err(), Some(Error::Unsupported));
    }

    #[test]
    fn deconstruct_port_unreachable() {
        let p = Packet::new_checked(&ICMP_PORT_UNREACH_V4[20..]).unwrap();
        assert_eq!(
            (p.msg_type(), p.code()),
            (Type::DEST_UNREACH, CODE_PORT_UNREACH)
        );
        assert!(p.is_error() && p.verify_checksum());
        let q = p.quoted_ipv4().unwrap();
        // The quoted datagram claims 32 bytes but only 28 are quoted.
        assert_eq!((q.total_len(), q.header_len(), q.protocol()), (32, 20, 17));
        assert_eq!(q.src(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(q.dst(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!((q.src_port(), q.dst_port()), (12345, 53));
        assert_eq!(q.l4_header(), &UDP_V4_PADDED[20..28]);
        assert!(q.verify_checksum() && !q.is_fragment());
        assert_eq!(q.header(), &UDP_V4_PADDED[..20]);
        assert_eq!(q.icmp_echo_ident(), 12);
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 16];
        emit_header(&mut b, Type::ECHO_REQUEST, 0, 0).unwrap();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_echo_ident(0x1234);
        p.set_echo_seq(1);
        p.payload_mut().copy_from_slice(b"abcdefgh");
        p.fill_checksum();
        assert_eq!(&b[..], &ICMP_ECHO_V4[20..]);

        let mut e = [0u8; 36];
        emit_header(&mut e, Type::DEST_UNREACH, CODE_FRAG_NEEDED, 0).unwrap();
        e[8..].copy_from_slice(&UDP_V4_PADDED[..28]);
        let mut p = Packet::new_checked(&mut e[..]).unwrap();
        p.set_next_hop_mtu(1480);
        p.set_code(CODE_FRAG_NEEDED);
        p.set_msg_type(Type::DEST_UNREACH);
        // NAT the quoted packet as IPVS does for related errors.
        let mut q = p.quoted_ipv4_mut().unwrap();
        q.set_dst(Ipv4Addr::new(192, 168, 9, 9));
        q.set_src(Ipv4Addr::new(10, 0, 0, 1));
        q.set_dst_port(5353);
        q.set_src_port(1);
        q.fill_checksum();
        assert!(q.verify_checksum());
        p.fill_checksum();
        let p = Packet::new_checked(&e[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.next_hop_mtu(), 1480);
        let q = p.quoted_ipv4().unwrap();
        assert_eq!(
            (q.dst(), q.dst_port(), q.src_port()),
            (Ipv4Addr::new(192, 168, 9, 9), 5353, 1)
        );
        assert_eq!(emit_header(&mut [0u8; 7], 0, 0, 0), Err(Error::Truncated));
        let mut n = [0u8; 8];
        let mut p = Packet::new_checked(&mut n[..]).unwrap();
        p.set_rest_of_header(7);
        assert_eq!(p.quoted_ipv4_mut().err(), Some(Error::Unsupported));
    }

    #[test]
    fn malformed() {
        for n in 0..8 {
            assert!(Packet::new_checked(&ICMP_ECHO_V4[20..20 + n]).is_err());
        }
        let msg = &ICMP_PORT_UNREACH_V4[20..];
        for n in 8..msg.len() {
            let p = Packet::new_checked(&msg[..n]).unwrap();
            assert_eq!(p.quoted_ipv4().is_ok(), n >= 36, "len {n}");
        }
        let mut b = [0u8; 36];
        b.copy_from_slice(msg);
        b[8] = 0x65;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.quoted_ipv4().err(), Some(Error::BadVersion));
        b[8] = 0x44;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.quoted_ipv4().err(), Some(Error::BadHeaderLen));
        b[8] = 0x46; // 24-byte header + 8 > 28 quoted
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.quoted_ipv4().err(), Some(Error::Truncated));
        assert!(!p.verify_checksum());
    }
}
