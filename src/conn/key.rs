//! Lookup keys of the connection table and the keyed hash that feeds the index.
//!
//! Invariants:
//! * [`ConnKey`] is the client-side tuple `<proto, caddr, cport, vaddr, vport>`
//!   (what `ip_vs_conn_in_get` matches); a persistence template uses the same
//!   type with `cport == 0` (see `template.rs`), but templates and normal
//!   connections live in different key spaces ([`Kind`]), exactly as IPVS's
//!   `ip_vs_ct_in_get` only matches `IP_VS_CONN_F_TEMPLATE` entries.
//! * [`ReplyKey`] is the NAT reply tuple `<proto, raddr, rport, caddr, cport>`
//!   (what `ip_vs_conn_out_get` matches on real→client packets).
//! * IPv6 choice: these public types are IPv4-only on purpose. IPv6 will get a
//!   separate `ConnKey6`/`ReplyKey6` and a separate table type with a larger
//!   record, so that the IPv4 DR record stays within its 64-byte budget; an
//!   enum key would force every record to the IPv6 size.
//! * The hash is keyed by a per-table [`Seed`] (random by default, fixed in
//!   tests) so remote clients cannot aim at one index bucket pair.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::Ipv4Addr;

/// `IPPROTO_IP`: protocol of persistent-fwmark templates.
pub const IPPROTO_IP: u8 = 0;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_SCTP` (no SCTP state machine yet: handled like UDP, see `state.rs`).
pub const IPPROTO_SCTP: u8 = 132;

/// Client-side key: what a client→VIP packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnKey {
    pub proto: u8,
    pub caddr: Ipv4Addr,
    pub cport: u16,
    pub vaddr: Ipv4Addr,
    pub vport: u16,
}

impl ConnKey {
    pub const fn new(proto: u8, caddr: Ipv4Addr, cport: u16, vaddr: Ipv4Addr, vport: u16) -> Self {
        ConnKey {
            proto,
            caddr,
            cport,
            vaddr,
            vport,
        }
    }
}

/// NAT reply key: what a real→client packet carries (source = real server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplyKey {
    pub proto: u8,
    pub raddr: Ipv4Addr,
    pub rport: u16,
    pub caddr: Ipv4Addr,
    pub cport: u16,
}

impl ReplyKey {
    pub const fn new(proto: u8, raddr: Ipv4Addr, rport: u16, caddr: Ipv4Addr, cport: u16) -> Self {
        ReplyKey {
            proto,
            raddr,
            rport,
            caddr,
            cport,
        }
    }
}

/// Which key space an index entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Client = 0,
    Reply = 1,
    Template = 2,
}

/// Per-table hash key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seed([u64; 3]);

#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Seed {
    /// Deterministic seed (tests, reproducible benchmarks).
    pub(crate) fn from_u64(mut s: u64) -> Seed {
        Seed([splitmix(&mut s), splitmix(&mut s), splitmix(&mut s)])
    }

    /// Seed from the OS randomness std already uses for `HashMap`.
    pub(crate) fn random() -> Seed {
        let rs = RandomState::new();
        Seed::from_u64(rs.hash_one(0x6c76_7364u64))
    }

    /// Keyed 64-bit hash of one 5-tuple in one key space.
    #[inline]
    pub(crate) fn hash(&self, kind: Kind, proto: u8, a1: u32, p1: u16, a2: u32, p2: u16) -> u64 {
        let x = ((a1 as u64) << 32) | a2 as u64;
        let y = ((p1 as u64) << 48) | ((p2 as u64) << 32) | ((proto as u64) << 8) | kind as u64;
        let h = mum(x ^ self.0[0], y ^ self.0[1]);
        mum(h ^ self.0[2], 0x9E37_79B9_7F4A_7C15)
    }

    #[inline]
    pub(crate) fn conn_key(&self, kind: Kind, k: &ConnKey) -> u64 {
        self.hash(
            kind,
            k.proto,
            k.caddr.to_bits(),
            k.cport,
            k.vaddr.to_bits(),
            k.vport,
        )
    }

    #[inline]
    pub(crate) fn reply_key(&self, k: &ReplyKey) -> u64 {
        self.hash(
            Kind::Reply,
            k.proto,
            k.raddr.to_bits(),
            k.rport,
            k.caddr.to_bits(),
            k.cport,
        )
    }
}
