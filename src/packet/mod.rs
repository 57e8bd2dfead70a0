//! Zero-copy typed views over packet bytes (smoltcp style).
//!
//! Every protocol lives in its own file and exposes a `Packet<T: AsRef<[u8]>>`
//! (or `Frame<T>` for Ethernet) wrapping a borrowed or owned buffer. Field
//! offsets are private `Range<usize>` constants in a `mod field`.
//!
//! # Panic contract
//!
//! * `new_checked(buf)` validates every length the view relies on. Once it has
//!   returned `Ok`, **no accessor and no setter of that view can panic**, for
//!   any content of the buffer and after any sequence of setters:
//!   fixed-offset fields lie inside the minimum length that was checked, and
//!   everything whose extent depends on a length field (`options()`,
//!   `payload()`, checksum helpers) is computed with `get()` from the *current*
//!   field value and clamps to an empty slice when a setter (`set_ihl`,
//!   `set_total_len`, `set_len`, ...) has made it inconsistent with the buffer.
//!   Re-run `new_checked` after such setters if you need the checks again.
//! * `new_unchecked(buf)` performs no validation; accessors on an unchecked view
//!   may panic if the buffer is too short. Use it only on buffers you built.
//! * Nothing in this module allocates, uses unchecked code, or unwraps data derived
//!   from the input. Bounds are enforced with `get()`/clamping where a length
//!   field could disagree with the buffer.
//!
//! Parsing entry points for a received frame: [`ethernet::parse_l2`], then
//! [`arp::Packet::new_checked`] or [`flow::extract`].

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod flow;
pub mod icmp;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

#[cfg(test)]
pub(crate) mod testdata;

use core::fmt;

/// Why a packet was rejected. Cheap to copy and to count (metric label via
/// [`Error::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// buffer shorter than the fixed header or a length field requires
    Truncated,
    /// IP version field does not match the view
    BadVersion,
    /// header length field (IHL / data offset) is out of range
    BadHeaderLen,
    /// total/payload length field is inconsistent with header or buffer
    BadTotalLen,
    /// checksum verification failed
    BadChecksum,
    /// well-formed but not supported by this implementation
    Unsupported,
    /// a field holds a value that is invalid for the protocol
    BadField,
    /// ethertype is neither IPv4 nor IPv6 where an IP packet was expected
    NotIp,
}

impl Error {
    /// All variants, for pre-registering metric labels.
    pub const ALL: [Error; 8] = [
        Error::Truncated,
        Error::BadVersion,
        Error::BadHeaderLen,
        Error::BadTotalLen,
        Error::BadChecksum,
        Error::Unsupported,
        Error::BadField,
        Error::NotIp,
    ];

    /// Short snake_case reason name, suitable as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadVersion => "bad_version",
            Error::BadHeaderLen => "bad_header_len",
            Error::BadTotalLen => "bad_total_len",
            Error::BadChecksum => "bad_checksum",
            Error::Unsupported => "unsupported",
            Error::BadField => "bad_field",
            Error::NotIp => "not_ip",
        }
    }

    /// Human readable message (same text as the variant's doc comment).
    pub const fn message(self) -> &'static str {
        match self {
            Error::Truncated => "buffer shorter than the fixed header or a length field requires",
            Error::BadVersion => "IP version field does not match the view",
            Error::BadHeaderLen => "header length field (IHL / data offset) is out of range",
            Error::BadTotalLen => {
                "total/payload length field is inconsistent with header or buffer"
            }
            Error::BadChecksum => "checksum verification failed",
            Error::Unsupported => "well-formed but not supported by this implementation",
            Error::BadField => "a field holds a value that is invalid for the protocol",
            Error::NotIp => "ethertype is neither IPv4 nor IPv6 where an IP packet was expected",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// Result alias for this module.
pub type Result<T> = core::result::Result<T, Error>;

/// Read a big-endian u16 at `off`. Callers guarantee bounds (checked views).
#[inline(always)]
pub(crate) fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// Read a big-endian u32 at `off`. Callers guarantee bounds (checked views).
#[inline(always)]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Write a big-endian u16 at `off`. Callers guarantee bounds (checked views).
#[inline(always)]
pub(crate) fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

/// Write a big-endian u32 at `off`. Callers guarantee bounds (checked views).
#[inline(always)]
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_labels_unique_and_snake() {
        for (i, a) in Error::ALL.iter().enumerate() {
            assert!(a
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!a.to_string().is_empty());
            for b in &Error::ALL[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
        assert_eq!(Error::Truncated.as_str(), "truncated");
    }

    #[test]
    fn be_helpers() {
        let mut b = [0u8; 6];
        put16(&mut b, 0, 0x1234);
        put32(&mut b, 2, 0xdeadbeef);
        assert_eq!(be16(&b, 0), 0x1234);
        assert_eq!(be32(&b, 2), 0xdeadbeef);
    }
}
