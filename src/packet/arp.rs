//! ARP for Ethernet/IPv4 only (RFC 826).
//!
//! Invariants: `Packet::new_checked` guarantees `len >= 28` and htype 1,
//! ptype 0x0800, hlen 6, plen 4 (anything else is [`Error::Unsupported`]).
//! All accessors/setters touch only bytes `0..28`, so none can panic afterwards.
//! The buffer given is the Ethernet payload; trailing padding is ignored.

use super::ethernet::MacAddr;
use super::{be16, put16, Error, Result};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// ARP operation codes.
pub struct Operation;
impl Operation {
    pub const REQUEST: u16 = 1;
    pub const REPLY: u16 = 2;
}

/// Typed view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }
    /// Wrap after checking length and the Ethernet/IPv4 hardware/protocol types.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        if be16(b, field::HTYPE.start) != 1
            || be16(b, field::PTYPE.start) != 0x0800
            || b[field::HLEN] != 6
            || b[field::PLEN] != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(Packet { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Hardware type (1 = Ethernet).
    pub fn htype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::HTYPE.start)
    }
    /// Protocol type (0x0800).
    pub fn ptype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PTYPE.start)
    }
    /// Hardware address length (6).
    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }
    /// Protocol address length (4).
    pub fn plen(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }
    /// Operation (see [`Operation`]).
    pub fn oper(&self) -> u16 {
        be16(self.buffer.as_ref(), field::OPER.start)
    }
    /// Sender hardware address.
    pub fn sha(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::SHA])
    }
    /// Sender protocol address.
    pub fn spa(&self) -> Ipv4Addr {
        ip(&self.buffer.as_ref()[field::SPA])
    }
    /// Target hardware address.
    pub fn tha(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::THA])
    }
    /// Target protocol address.
    pub fn tpa(&self) -> Ipv4Addr {
        ip(&self.buffer.as_ref()[field::TPA])
    }
    /// Gratuitous ARP: sender and target protocol addresses equal.
    pub fn is_gratuitous(&self) -> bool {
        self.spa() == self.tpa()
    }
    /// Bytes after the 28-byte ARP body (Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(PACKET_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set htype/ptype/hlen/plen to Ethernet/IPv4.
    pub fn set_ethernet_ipv4(&mut self) {
        let b = self.buffer.as_mut();
        put16(b, field::HTYPE.start, 1);
        put16(b, field::PTYPE.start, 0x0800);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
    }
    /// Set operation.
    pub fn set_oper(&mut self, op: u16) {
        put16(self.buffer.as_mut(), field::OPER.start, op);
    }
    /// Set sender hardware address.
    pub fn set_sha(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&m.0);
    }
    /// Set sender protocol address.
    pub fn set_spa(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&a.octets());
    }
    /// Set target hardware address.
    pub fn set_tha(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&m.0);
    }
    /// Set target protocol address.
    pub fn set_tpa(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&a.octets());
    }
    /// Mutable bytes after the ARP body.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(PACKET_LEN..)
            .unwrap_or(&mut [])
    }
}

fn mac(b: &[u8]) -> MacAddr {
    MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Write a complete ARP packet into `buf[..28]`; returns 28.
pub fn emit(
    buf: &mut [u8],
    oper: u16,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
) -> Result<usize> {
    let b = buf.get_mut(..PACKET_LEN).ok_or(Error::Truncated)?;
    let mut p = Packet::new_unchecked(b);
    p.set_ethernet_ipv4();
    p.set_oper(oper);
    p.set_sha(sha);
    p.set_spa(spa);
    p.set_tha(tha);
    p.set_tpa(tpa);
    Ok(PACKET_LEN)
}

/// Write a "who-has `tpa`, tell `spa`" request (tha zero); returns 28.
pub fn emit_request(buf: &mut [u8], sha: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Result<usize> {
    emit(buf, Operation::REQUEST, sha, spa, MacAddr::ZERO, tpa)
}

/// Write a reply "`spa` is-at `sha`" addressed to (`tha`, `tpa`); returns 28.
pub fn emit_reply(
    buf: &mut [u8],
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
) -> Result<usize> {
    emit(buf, Operation::REPLY, sha, spa, tha, tpa)
}

/// Write a gratuitous ARP request announcing `ip` at `mac`; returns 28.
pub fn emit_gratuitous(buf: &mut [u8], mac: MacAddr, ip: Ipv4Addr) -> Result<usize> {
    emit(buf, Operation::REQUEST, mac, ip, MacAddr::ZERO, ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// who-has 10.0.0.2 tell 10.0.0.1, from 02:00:00:00:01:0b, plus 18 bytes of
    /// Ethernet padding as seen on the wire (60-byte minimum frame).
    const REQUEST: [u8; 46] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype ptype hlen plen oper
        0x02, 0x00, 0x00, 0x00, 0x01, 0x0b, 10, 0, 0, 1, // sha spa
        0, 0, 0, 0, 0, 0, 10, 0, 0, 2, // tha tpa
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0x01, 0x0b]);

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(
            (p.htype(), p.ptype(), p.hlen(), p.plen()),
            (1, 0x0800, 6, 4)
        );
        assert_eq!(p.oper(), Operation::REQUEST);
        assert_eq!(p.sha(), MAC);
        assert_eq!(p.spa(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.tha(), MacAddr::ZERO);
        assert_eq!(p.tpa(), Ipv4Addr::new(10, 0, 0, 2));
        assert!(!p.is_gratuitous());
        assert_eq!(p.payload().len(), 18);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 46];
        assert_eq!(
            emit_request(
                &mut buf,
                MAC,
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2)
            ),
            Ok(28)
        );
        assert_eq!(buf, REQUEST);

        let mut r = [0u8; 28];
        let peer = MacAddr([2, 0, 0, 0, 0, 2]);
        emit_reply(
            &mut r,
            peer,
            Ipv4Addr::new(10, 0, 0, 2),
            MAC,
            Ipv4Addr::new(10, 0, 0, 1),
        )
        .unwrap();
        let p = Packet::new_checked(&r[..]).unwrap();
        assert_eq!(p.oper(), Operation::REPLY);
        assert_eq!(p.sha(), peer);
        assert_eq!(p.tha(), MAC);
        assert_eq!(p.tpa(), Ipv4Addr::new(10, 0, 0, 1));

        let mut g = [0u8; 28];
        emit_gratuitous(&mut g, MAC, Ipv4Addr::new(10, 0, 0, 9)).unwrap();
        assert!(Packet::new_checked(&g[..]).unwrap().is_gratuitous());
        assert_eq!(
            emit_request(&mut [0u8; 27], MAC, [0; 4].into(), [0; 4].into()),
            Err(Error::Truncated)
        );

        let mut s = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut s[..]);
        p.set_ethernet_ipv4();
        p.set_oper(1);
        p.set_sha(MAC);
        p.set_spa(Ipv4Addr::new(10, 0, 0, 1));
        p.set_tpa(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(s, REQUEST[..28]);
    }

    #[test]
    fn malformed() {
        for n in 0..28 {
            assert_eq!(
                Packet::new_checked(&REQUEST[..n]).err(),
                Some(Error::Truncated)
            );
        }
        for (i, v) in [(1usize, 6u8), (2, 0x86), (4, 16), (5, 16)] {
            let mut b = REQUEST;
            b[i] = v;
            assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Unsupported));
        }
    }
}
