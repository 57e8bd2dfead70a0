//! ICMPv6 message view (RFC 4443) with echo and Neighbor Discovery NS/NA
//! target (RFC 4861).
//!
//! Invariants: `Packet::new_checked` guarantees `len >= 8` (type, code,
//! checksum, 4 bytes of message body that every ICMPv6 message carries).
//! Fixed accessors touch `0..8`. The NS/NA target (bytes 8..24) is only
//! returned/written through `get()`, as `Option`/`Result`, so short NS/NA
//! messages cannot cause a panic. The checksum covers the IPv6 pseudo header
//! and the whole buffer, which must be exactly the ICMPv6 message.

use super::checksum;
use super::{be16, be32, put16, put32, Error, Result};
use std::net::Ipv6Addr;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const BODY: Range<usize> = 4..8;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQ: Range<usize> = 6..8;
    pub const ND_FLAGS: usize = 4;
    pub const TARGET: Range<usize> = 8..24;
    pub const PAYLOAD: usize = 8;
}

/// Minimum ICMPv6 message length.
pub const HEADER_LEN: usize = 8;

/// ICMPv6 message types.
pub struct Type;
impl Type {
    pub const DEST_UNREACH: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
}

/// Neighbor Advertisement flag bits (byte 4).
pub struct NaFlags;
impl NaFlags {
    pub const ROUTER: u8 = 0x80;
    pub const SOLICITED: u8 = 0x40;
    pub const OVERRIDE: u8 = 0x20;
}

/// Typed view of an ICMPv6 message.
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
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }
    /// Bytes 4..8 as u32 (MTU for Packet Too Big, pointer for Param Problem).
    pub fn body_word(&self) -> u32 {
        be32(self.buffer.as_ref(), field::BODY.start)
    }
    /// MTU of a Packet Too Big message.
    pub fn mtu(&self) -> u32 {
        self.body_word()
    }
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }
    pub fn echo_seq(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQ.start)
    }
    /// NA flags byte (see [`NaFlags`]).
    pub fn nd_flags(&self) -> u8 {
        self.buffer.as_ref()[field::ND_FLAGS]
    }
    /// Echo request or reply.
    pub fn is_echo(&self) -> bool {
        matches!(self.msg_type(), Type::ECHO_REQUEST | Type::ECHO_REPLY)
    }
    /// Error messages are types 0..=127.
    pub fn is_error(&self) -> bool {
        self.msg_type() < 128
    }
    /// Target address of NS/NA; `None` for other types or if shorter than 24.
    pub fn target_addr(&self) -> Option<Ipv6Addr> {
        if !matches!(
            self.msg_type(),
            Type::NEIGHBOR_SOLICIT | Type::NEIGHBOR_ADVERT
        ) {
            return None;
        }
        let s: [u8; 16] = self.buffer.as_ref().get(field::TARGET)?.try_into().ok()?;
        Some(Ipv6Addr::from(s))
    }
    /// Bytes after the 8-byte header (for NS/NA: target + options).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
    /// NS/NA options (after the target address); empty otherwise.
    pub fn nd_options(&self) -> &[u8] {
        if self.target_addr().is_none() {
            return &[];
        }
        self.buffer.as_ref().get(field::TARGET.end..).unwrap_or(&[])
    }
    fn sum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let b = self.buffer.as_ref();
        let ph = checksum::ipv6_pseudo_header(src, dst, 58, b.len() as u32);
        checksum::combine(&[ph, checksum::data(b)])
    }
    /// Verify the checksum (pseudo header + message).
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.sum(src, dst) == 0xffff
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
    pub fn set_body_word(&mut self, v: u32) {
        put32(self.buffer.as_mut(), field::BODY.start, v);
    }
    pub fn set_echo_ident(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_IDENT.start, v);
    }
    pub fn set_echo_seq(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::ECHO_SEQ.start, v);
    }
    /// Set NA flags byte (the rest of bytes 4..8 is left as is).
    pub fn set_nd_flags(&mut self, v: u8) {
        self.buffer.as_mut()[field::ND_FLAGS] = v;
    }
    /// Write the NS/NA target; `Truncated` if the buffer is shorter than 24.
    pub fn set_target_addr(&mut self, a: &Ipv6Addr) -> Result<()> {
        let s = self
            .buffer
            .as_mut()
            .get_mut(field::TARGET)
            .ok_or(Error::Truncated)?;
        s.copy_from_slice(&a.octets());
        Ok(())
    }
    /// Mutable bytes after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..)
            .unwrap_or(&mut [])
    }
    /// Compute and store the checksum.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let c = !self.sum(src, dst);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testdata::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn deconstruct_echo() {
        let p = Packet::new_checked(&ICMPV6_ECHO[40..]).unwrap();
        assert_eq!((p.msg_type(), p.code()), (Type::ECHO_REQUEST, 0));
        assert_eq!((p.echo_ident(), p.echo_seq()), (0x1234, 1));
        assert!(p.is_echo() && !p.is_error());
        assert_eq!(p.payload(), b"ping");
        assert_eq!(p.target_addr(), None);
        assert!(p.nd_options().is_empty());
        assert!(p.verify_checksum(&a("fe80::1"), &a("fe80::2")));
        assert!(!p.verify_checksum(&a("fe80::2"), &a("fe80::2")));
    }

    #[test]
    fn deconstruct_ns() {
        let p = Packet::new_checked(&ICMPV6_NS[40..]).unwrap();
        assert_eq!(p.msg_type(), Type::NEIGHBOR_SOLICIT);
        assert_eq!(p.target_addr(), Some(a("fe80::2")));
        assert_eq!(p.nd_options(), &[1, 1, 2, 0, 0, 0, 0, 0x0b]);
        assert!(p.verify_checksum(&a("fe80::1"), &a("ff02::1:ff00:2")));
        assert_eq!(p.nd_flags(), 0);
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 12];
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(Type::ECHO_REQUEST);
        p.set_code(0);
        p.set_echo_ident(0x1234);
        p.set_echo_seq(1);
        p.payload_mut().copy_from_slice(b"ping");
        p.fill_checksum(&a("fe80::1"), &a("fe80::2"));
        assert_eq!(&b[..], &ICMPV6_ECHO[40..]);

        let mut b = [0u8; 32];
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(Type::NEIGHBOR_SOLICIT);
        p.set_body_word(0);
        p.set_target_addr(&a("fe80::2")).unwrap();
        p.payload_mut()[16..].copy_from_slice(&[1, 1, 2, 0, 0, 0, 0, 0x0b]);
        p.fill_checksum(&a("fe80::1"), &a("ff02::1:ff00:2"));
        assert_eq!(&b[..], &ICMPV6_NS[40..]);

        let mut na = [0u8; 24];
        let mut p = Packet::new_checked(&mut na[..]).unwrap();
        p.set_msg_type(Type::NEIGHBOR_ADVERT);
        p.set_nd_flags(NaFlags::SOLICITED | NaFlags::OVERRIDE);
        p.set_target_addr(&a("fe80::2")).unwrap();
        assert_eq!((p.nd_flags(), p.target_addr()), (0x60, Some(a("fe80::2"))));

        let mut ptb = [0u8; 8];
        let mut p = Packet::new_checked(&mut ptb[..]).unwrap();
        p.set_msg_type(Type::PACKET_TOO_BIG);
        p.set_body_word(1280);
        assert!(p.is_error() && p.mtu() == 1280);
    }

    #[test]
    fn malformed() {
        for n in 0..8 {
            assert_eq!(
                Packet::new_checked(&ICMPV6_NS[40..40 + n]).err(),
                Some(Error::Truncated)
            );
        }
        // Short NS: view is valid, target is not available.
        for n in 8..24 {
            let mut b = [0u8; 24];
            b[..n].copy_from_slice(&ICMPV6_NS[40..40 + n]);
            let p = Packet::new_checked(&b[..n]).unwrap();
            assert_eq!(p.target_addr(), None);
            assert!(p.nd_options().is_empty());
            let mut p = Packet::new_checked(&mut b[..n]).unwrap();
            assert_eq!(p.set_target_addr(&a("::1")), Err(Error::Truncated));
        }
    }
}
