//! Ethernet II frames, MAC addresses and 802.1Q VLAN tag parsing.
//!
//! Invariants: `Frame::new_checked` guarantees `len >= 14`; every accessor and
//! setter then only touches bytes `0..14` or slices `14..`, so none can panic.
//! The frame view does not interpret VLAN tags: use [`parse_l2`] for that,
//! which handles exactly one 802.1Q tag and rejects stacked tags (QinQ) with
//! [`Error::Unsupported`].

use super::{be16, put16, Error, Result};
use core::fmt;
use core::str::FromStr;

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Build from a slice of at least 6 bytes (first 6 used); `None` if shorter.
    pub fn from_slice(b: &[u8]) -> Option<MacAddr> {
        let a: [u8; 6] = b.get(..6)?.try_into().ok()?;
        Some(MacAddr(a))
    }
    /// Raw octets.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }
    /// All ones.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// Group bit set (includes broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
    /// Neither multicast nor broadcast.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = Error;
    /// Accepts `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (hex, 1-2 digits each).
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split([':', '-']) {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return Err(Error::BadField);
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| Error::BadField)?;
            n += 1;
        }
        if n != 6 {
            return Err(Error::BadField);
        }
        Ok(MacAddr(out))
    }
}

/// EtherType constants.
pub struct EtherType;
impl EtherType {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const IPV6: u16 = 0x86DD;
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag (outer QinQ tag).
    pub const QINQ: u16 = 0x88A8;
}

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
    pub const VLAN_TCI: Range<usize> = 14..16;
    pub const VLAN_INNER_TYPE: Range<usize> = 16..18;
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// Length of an Ethernet header with one 802.1Q tag.
pub const VLAN_HEADER_LEN: usize = 18;

/// Typed view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap without checks (accessors may panic on short buffers).
    pub const fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }
    /// Wrap after checking `len >= 14`.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Frame { buffer })
    }
    /// Give back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Destination MAC.
    pub fn dst(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }
    /// Source MAC.
    pub fn src(&self) -> MacAddr {
        let b = self.buffer.as_ref();
        MacAddr([b[6], b[7], b[8], b[9], b[10], b[11]])
    }
    /// EtherType (the outer one; 0x8100 for tagged frames).
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE.start)
    }
    /// Always 14 (VLAN tags are part of the payload for this view).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }
    /// Bytes after the 14-byte header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Set destination MAC.
    pub fn set_dst(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&m.0);
    }
    /// Set source MAC.
    pub fn set_src(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&m.0);
    }
    /// Set EtherType.
    pub fn set_ethertype(&mut self, t: u16) {
        put16(self.buffer.as_mut(), field::ETHERTYPE.start, t);
    }
    /// Mutable bytes after the 14-byte header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..)
            .unwrap_or(&mut [])
    }
}

/// Result of [`parse_l2`]: what follows the L2 header and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2 {
    /// EtherType of the L3 payload (inner type for tagged frames).
    pub ethertype: u16,
    /// 802.1Q VLAN ID (12 bits) if the frame carried one tag.
    pub vlan: Option<u16>,
    /// Offset of the L3 header: 14, or 18 with a tag.
    pub header_len: usize,
}

/// Parse the L2 header of a received frame: handles one 802.1Q tag.
/// Stacked tags (0x8100 or 0x88A8 inside a tag, or an outer 0x88A8) yield
/// [`Error::Unsupported`]; short buffers yield [`Error::Truncated`].
pub fn parse_l2(frame: &[u8]) -> Result<L2> {
    if frame.len() < HEADER_LEN {
        return Err(Error::Truncated);
    }
    let outer = be16(frame, field::ETHERTYPE.start);
    match outer {
        EtherType::VLAN => {
            if frame.len() < VLAN_HEADER_LEN {
                return Err(Error::Truncated);
            }
            let tci = be16(frame, field::VLAN_TCI.start);
            let inner = be16(frame, field::VLAN_INNER_TYPE.start);
            if inner == EtherType::VLAN || inner == EtherType::QINQ {
                return Err(Error::Unsupported);
            }
            Ok(L2 {
                ethertype: inner,
                vlan: Some(tci & 0x0fff),
                header_len: VLAN_HEADER_LEN,
            })
        }
        EtherType::QINQ => Err(Error::Unsupported),
        t => Ok(L2 {
            ethertype: t,
            vlan: None,
            header_len: HEADER_LEN,
        }),
    }
}

/// Write an untagged Ethernet header into `buf[..14]`; returns 14.
pub fn emit_header(buf: &mut [u8], dst: MacAddr, src: MacAddr, ethertype: u16) -> Result<usize> {
    let b = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
    b[field::DST].copy_from_slice(&dst.0);
    b[field::SRC].copy_from_slice(&src.0);
    put16(b, field::ETHERTYPE.start, ethertype);
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x02, 0x00, 0x00, 0x00, 0x01, 0x0b, // src
        0x08, 0x06, // ARP
        0xde, 0xad, 0xbe, 0xef,
    ];

    #[test]
    fn mac_display_parse() {
        let m = MacAddr([0x02, 0, 0, 0, 0x01, 0x0b]);
        assert_eq!(m.to_string(), "02:00:00:00:01:0b");
        assert_eq!("02:00:00:00:01:0b".parse::<MacAddr>(), Ok(m));
        assert_eq!("02-00-00-00-01-0B".parse::<MacAddr>(), Ok(m));
        for bad in [
            "",
            "02:00:00:00:01",
            "02:00:00:00:01:0b:00",
            "zz:00:00:00:01:0b",
            "002:00:00:00:01:0b",
            "02::00:00:01:0b",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!(MacAddr::BROADCAST.is_broadcast() && MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert!(m.is_unicast() && !m.is_broadcast());
        assert_eq!(MacAddr::from_slice(&FRAME[6..]), Some(m));
        assert_eq!(MacAddr::from_slice(&FRAME[..5]), None);
    }

    #[test]
    fn deconstruct() {
        let f = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst(), MacAddr::BROADCAST);
        assert_eq!(f.src().to_string(), "02:00:00:00:01:0b");
        assert_eq!(f.ethertype(), EtherType::ARP);
        assert_eq!(f.header_len(), 14);
        assert_eq!(f.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            parse_l2(&FRAME),
            Ok(L2 {
                ethertype: EtherType::ARP,
                vlan: None,
                header_len: 14
            })
        );
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 18];
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        f.set_dst(MacAddr::BROADCAST);
        f.set_src("02:00:00:00:01:0b".parse().unwrap());
        f.set_ethertype(EtherType::ARP);
        f.payload_mut().copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(f.into_inner(), &FRAME[..]);
        let mut b2 = [0u8; 14];
        emit_header(
            &mut b2,
            MacAddr::BROADCAST,
            MacAddr([2, 0, 0, 0, 1, 11]),
            0x0806,
        )
        .unwrap();
        assert_eq!(b2, FRAME[..14]);
        assert_eq!(
            emit_header(&mut [0u8; 13], MacAddr::ZERO, MacAddr::ZERO, 0),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn vlan() {
        let mut b = [0u8; 22];
        b[12..14].copy_from_slice(&[0x81, 0x00]);
        b[14..16].copy_from_slice(&[0xa0, 0x64]); // PCP 5, VID 100
        b[16..18].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(
            parse_l2(&b),
            Ok(L2 {
                ethertype: EtherType::IPV4,
                vlan: Some(100),
                header_len: 18
            })
        );
        for n in 0..18 {
            assert_eq!(parse_l2(&b[..n]), Err(Error::Truncated), "len {n}");
        }
        b[16..18].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(parse_l2(&b), Err(Error::Unsupported));
        b[12..14].copy_from_slice(&[0x88, 0xa8]);
        assert_eq!(parse_l2(&b), Err(Error::Unsupported));
    }

    #[test]
    fn truncated() {
        for n in 0..14 {
            assert_eq!(
                Frame::new_checked(&FRAME[..n]).err(),
                Some(Error::Truncated)
            );
        }
        let f = Frame::new_checked(&FRAME[..14]).unwrap();
        assert!(f.payload().is_empty());
    }
}
