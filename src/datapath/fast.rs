//! The established fast path (a speed trick; ARCHITECTURE.md "prefetch across a
//! burst" and "one pass for the common case").
//!
//! Most packets a director sees belong to a connection that exists, is
//! established and stays so: an ACK or data segment from a client to a VIP,
//! or (NAT) one from a real server back to its client. For those the
//! general pipeline (`Engine::process` → `ipv4_in` → `Lb::to_vip` /
//! `Lb::from_real` → `forward` → `output`) decides nothing new, but it
//! validates in several layers, copies the connection record, runs the
//! state machine, accounts activity and resolves the next hop through the
//! neighbour table. [`Engine::fast`] does the same work in one pass over
//! fixed offsets: check, one connection lookup, re-arm, rewrite, MAC from
//! the neighbour front cache.
//!
//! Contract: `fast` either handles the frame completely, with exactly the
//! effects the general pipeline would have (same bytes out, same counters,
//! same connection state), or gives the frame back having changed nothing,
//! and the general pipeline runs. It accepts only frames that need no
//! decision: untagged IPv4 to our MAC, 20-byte header with a good checksum,
//! not a fragment, TTL > 1, TCP or UDP with sane lengths, TCP without
//! SYN/FIN/RST; a live connection whose state and flags the packet leaves
//! unchanged (`ConnTable::rearm_steady`), a real that still exists, NAT or
//! DR, a next hop whose MAC is cached and fresh, and a packet that fits the
//! outgoing port's MTU. Everything else
//! (new connections, state changes, TUN, ICMP, ARP, HA backup, misses in
//! the neighbour cache, anything malformed) takes the general path, which
//! counts and explains drops. The equivalence is tested in `tests_fast`
//! by running random traffic through two engines, one with the fast path
//! switched off, and comparing everything.
use super::engine::{is_martian, Engine};
use super::{Local, Snapshot};
use crate::conn::{ConnKey, Dir, FwdFlag, Hashed, ReplyKey, IPPROTO_TCP, IPPROTO_UDP};
use crate::frame::Frame;
use crate::packet::ethernet::MacAddr;
use crate::packet::{checksum, tcp};
use crate::types::{PortId, WorkerId};
use std::net::Ipv4Addr;

/// Ethernet header length (untagged).
const ETH: usize = 14;
/// Offset of the L4 header (Ethernet + a 20-byte IPv4 header).
const L4: usize = ETH + 20;

/// The fields of a frame the fast path accepts.
#[derive(Clone, Copy)]
struct Fast {
    /// The packet's 5-tuple as `<proto, source, source port, destination,
    /// destination port>`: the client key of a packet to a VIP as it is
    /// (no copy into another key per lookup), and the fields of a NAT
    /// reply key in the same order for a packet from a real.
    t: ConnKey,
    flags: u8,
}

/// `src`/`dst` name the addresses by direction: for a packet from a real
/// the tuple's `caddr`/`vaddr` are the real and the client.
impl Fast {
    #[inline(always)]
    fn src(&self) -> Ipv4Addr {
        self.t.caddr
    }
    #[inline(always)]
    fn dst(&self) -> Ipv4Addr {
        self.t.vaddr
    }
    /// The tuple read as a NAT reply key (`<proto, raddr, rport, caddr,
    /// cport>`: source = the real).
    #[inline(always)]
    fn reply_key(&self) -> ReplyKey {
        let t = &self.t;
        ReplyKey::new(t.proto, t.caddr, t.cport, t.vaddr, t.vport)
    }
}

/// What the burst's prefetch pass ([`Engine::prefetch`]) learned about a
/// frame: whether the fast path will take it and, if so, its parsed
/// headers, which way it goes and where its connection lookup looks, so
/// that [`Engine::fast`] does not parse and hash it again. Valid for the
/// frame it came from, with the same snapshot, until that frame is
/// processed; `NONE` means "work it out". On an engine that is one of
/// several workers ([`Engine::set_owner`]) it also says which other worker
/// owns the frame's flow ([`redirect`](Hint::redirect)), decided from the
/// same parse.
#[derive(Clone, Copy)]
pub struct Hint(Seen);

#[derive(Clone, Copy)]
enum Seen {
    /// Not looked at.
    Nothing,
    /// `parse` refused it (a SYN, say): the general path's.
    Slow,
    Fast(Pre),
    /// Another worker owns its flow: the frame moves there, unprocessed.
    Elsewhere(WorkerId),
}

#[derive(Clone, Copy)]
struct Pre {
    p: Fast,
    to_vip: bool,
    hh: Hashed,
}

impl Hint {
    pub const NONE: Hint = Hint(Seen::Nothing);
    /// The frame goes to the general path.
    pub(super) const SLOW: Hint = Hint(Seen::Slow);

    /// The other worker that owns this frame's flow (the frame moves there
    /// unprocessed), or `None` when this worker handles it.
    #[inline(always)]
    pub fn redirect(&self) -> Option<WorkerId> {
        match self.0 {
            Seen::Elsewhere(w) => Some(w),
            _ => None,
        }
    }

    /// This hint, with the frame's owner if that is another worker.
    #[inline(always)]
    pub(super) fn redirected(self, to: Option<WorkerId>) -> Hint {
        match to {
            Some(w) => Hint(Seen::Elsewhere(w)),
            None => self,
        }
    }

    /// The 5-tuple of a frame the fast path takes, from the headers it
    /// already parsed (`<proto, source, source port, destination,
    /// destination port>`), and whether it goes to a VIP (the client is
    /// then the source; from a real, the destination).
    #[inline(always)]
    pub(super) fn fast_tuple(&self) -> Option<(ConnKey, bool)> {
        match &self.0 {
            Seen::Fast(Pre { p, to_vip, .. }) => Some((p.t, *to_vip)),
            _ => None,
        }
    }
}

/// The IPv4 total length of a frame [`parse`] accepted.
#[inline(always)]
fn ip_len(d: &[u8]) -> usize {
    d.get(ETH + 2..ETH + 4)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Check the fixed-offset headers; `None` for anything the general path
/// must look at.
#[inline(always)]
fn parse(d: &[u8], my_mac: &MacAddr) -> Option<Fast> {
    let h: &[u8; L4 + 4] = d.get(..L4 + 4)?.try_into().ok()?;
    if h[0..6] != my_mac.0 || h[6..12] == my_mac.0 || h[12..15] != [0x08, 0x00, 0x45] {
        return None;
    }
    let tl = usize::from(u16::from_be_bytes([h[16], h[17]]));
    let frag = u16::from_be_bytes([h[20], h[21]]) & 0x3fff;
    let (ttl, proto) = (h[22], h[23]);
    if ETH + tl > d.len() || frag != 0 || ttl <= 1 {
        return None;
    }
    let flags = match proto {
        IPPROTO_TCP => {
            let t: &[u8; 20] = d.get(L4..L4 + 20)?.try_into().ok()?;
            let hl = usize::from(t[12] >> 4) * 4;
            let flags = t[13];
            if hl < 20
                || 20 + hl > tl
                || flags & (tcp::Flags::SYN | tcp::Flags::FIN | tcp::Flags::RST) != 0
            {
                return None;
            }
            flags
        }
        IPPROTO_UDP => {
            let u: &[u8; 8] = d.get(L4..L4 + 8)?.try_into().ok()?;
            let ul = usize::from(u16::from_be_bytes([u[4], u[5]]));
            if ul < 8 || 20 + ul > tl {
                return None;
            }
            0
        }
        _ => return None,
    };
    // Header checksum last (SYNs and the like leave before it): the
    // ones-complement sum of the header is 0xffff.
    let mut s: u64 = 0;
    for w in h[ETH..L4].chunks_exact(4) {
        s += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    if s != 0xffff {
        return None;
    }
    let a = |o: usize| Ipv4Addr::new(h[o], h[o + 1], h[o + 2], h[o + 3]);
    Some(Fast {
        t: ConnKey::new(
            proto,
            a(26),
            u16::from_be_bytes([h[34], h[35]]),
            a(30),
            u16::from_be_bytes([h[36], h[37]]),
        ),
        flags,
    })
}

/// TTL − 1 with the header checksum updated as
/// `ipv4::Packet::decrement_ttl` does (the frame passed [`parse`]).
#[inline(always)]
fn decrement_ttl(h: &mut [u8; L4]) {
    let old = u16::from_be_bytes([h[22], h[23]]);
    let c = checksum::update_u16(u16::from_be_bytes([h[24], h[25]]), old, old - 0x0100);
    h[22] -= 1;
    h[24..26].copy_from_slice(&c.to_be_bytes());
}

/// Ones-complement sum of the two 16-bit halves of a 32-bit word.
#[inline]
fn halves(x: u32) -> u64 {
    u64::from(x >> 16) + u64::from(x & 0xffff)
}

/// UDP checksum after an address and a port change, step-wise as `xlate`
/// does: 0 (no checksum) stays 0, a result of 0 is written 0xffff.
#[inline]
fn udp_update(c: u16, old: &[u8; 4], new: &[u8; 4], old_port: u16, port: u16) -> u16 {
    if c == 0 {
        return 0;
    }
    let nz = |c: u16| if c == 0 { 0xffff } else { c };
    nz(checksum::update_u16(
        nz(checksum::update_addr4(c, old, new)),
        old_port,
        port,
    ))
}

/// NAT rewrite of one side (source for replies, destination towards the
/// real): TTL − 1, IPv4 address, L4 pseudo-header address, L4 port, with
/// the bytes `xlate::dnat`/`snat` produce. They update each checksum one
/// field at a time (RFC 1624 eqn. 3); here every field of a checksum goes
/// into one sum and one fold, which gives the same 16 bits: `fold(a + b)`
/// and `fold(fold(a) + b)` are congruent mod 0xffff and both are 0 only
/// when a = b = 0 (`tests_fast` compares the two paths byte for byte).
/// UDP keeps the step-wise update, because a UDP checksum that comes out 0
/// is written 0xffff after each step. A UDP checksum of 0 (none) stays 0.
#[inline]
fn nat_rewrite(d: &mut [u8], proto: u8, dst_side: bool, addr: Ipv4Addr, port: u16) {
    let Some(h) = d
        .get_mut(..L4)
        .and_then(|h| <&mut [u8; L4]>::try_from(h).ok())
    else {
        return;
    };
    let a = if dst_side { 30 } else { 26 };
    let old: [u8; 4] = [h[a], h[a + 1], h[a + 2], h[a + 3]];
    let (o32, n32) = (u32::from_be_bytes(old), u32::from(addr));
    let new = addr.octets();
    let ttlw = u16::from_be_bytes([h[22], h[23]]);
    let c = u16::from_be_bytes([h[24], h[25]]);
    let c = !checksum::fold(
        u64::from(!c) + u64::from(!ttlw) + u64::from(ttlw - 0x0100) + halves(!o32) + halves(n32),
    );
    h[22] -= 1;
    h[a..a + 4].copy_from_slice(&new);
    h[24..26].copy_from_slice(&c.to_be_bytes());
    let ck = if proto == IPPROTO_TCP { 16 } else { 6 };
    let p = if dst_side { 2 } else { 0 };
    let Some(l4) = d.get_mut(L4..L4 + ck + 2) else {
        return;
    };
    let old_port = u16::from_be_bytes([l4[p], l4[p + 1]]);
    let mut c = u16::from_be_bytes([l4[ck], l4[ck + 1]]);
    if proto == IPPROTO_TCP {
        let fold16 = |x: u32| checksum::fold(halves(x));
        c = !checksum::fold(
            u64::from(!c)
                + u64::from(!fold16(o32))
                + u64::from(fold16(n32))
                + u64::from(!old_port)
                + u64::from(port),
        );
    } else {
        c = udp_update(c, &old, &new, old_port, port);
    }
    l4[ck..ck + 2].copy_from_slice(&c.to_be_bytes());
    l4[p..p + 2].copy_from_slice(&port.to_be_bytes());
}

impl<F: Frame> Engine<F> {
    /// What the fast path needs to know of a frame before it looks at the
    /// connection: its headers, its direction and its lookup position;
    /// `None` when `parse` refuses it or it is addressed to us (the general
    /// path's).
    #[inline(always)]
    fn pre(&self, data: &[u8], port: PortId, snap: &Snapshot) -> Option<Pre> {
        let p = parse(data, &snap.port(port)?.mac)?;
        let conns = &self.lb.conns;
        let (to_vip, hh) = match snap.local(p.dst()) {
            Some(Local::Vip) => (true, conns.position(&p.t)),
            None => (false, conns.position_reply(&p.reply_key())),
            Some(Local::Own(_)) => return None,
        };
        Some(Pre { p, to_vip, hh })
    }

    /// The prefetch pass's part: the frame's [`pre`](Self::pre), with its
    /// index bucket prefetched; `None` as for `pre` (the caller prefetches
    /// for the general path).
    #[inline(always)]
    pub(super) fn fast_hint(
        &self,
        data: &[u8],
        port: PortId,
        snap: &Snapshot,
        touch: impl FnMut(*const u8),
    ) -> Option<Hint> {
        let pre = self.pre(data, port, snap)?;
        self.lb.conns.prefetch_at(pre.hh, touch);
        Some(Hint(Seen::Fast(pre)))
    }

    /// Second prefetch stage: for a frame the fast path takes (its
    /// [`fast_hint`](Self::fast_hint)), read the index bucket the first
    /// stage prefetched (in cache or on its way by now) and hand the
    /// connection record it points to to `touch`. With clients in no
    /// particular order every record is a DRAM miss of its own, and this
    /// lets a burst's record misses overlap as its bucket misses do
    /// (perf/RESULTS.md, seventh pass). Nothing for other hints.
    #[inline]
    pub fn prefetch_record(&self, hint: &Hint, touch: impl FnMut(*const u8)) {
        if let Seen::Fast(pre) = &hint.0 {
            self.lb.conns.prefetch_record_at(pre.hh, touch);
        }
    }

    /// Handle `frame` on the fast path, or give it back unchanged. `hint`
    /// is the frame's [`fast_hint`](Self::fast_hint), [`Hint::SLOW`] or
    /// [`Hint::NONE`].
    #[inline(always)]
    pub(super) fn fast(
        &mut self,
        frame: F,
        port: PortId,
        hint: &Hint,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Result<(), F> {
        let worked_out;
        let Pre { p, to_vip, hh } = match &hint.0 {
            Seen::Fast(pre) => pre,
            // (An `Elsewhere` frame processed here anyway takes the
            // general path, which is valid on any worker.)
            Seen::Slow | Seen::Elsewhere(_) => return Err(frame),
            Seen::Nothing => match self.pre(frame.data(), port, snap) {
                Some(pre) => {
                    worked_out = pre;
                    &worked_out
                }
                None => return Err(frame),
            },
        };
        if (snap.ha.enabled && !snap.ha.active)
            || is_martian(p.src())
            || snap.local(p.src()).is_some()
        {
            return Err(frame);
        }
        if *to_vip {
            self.fast_to_vip(frame, p, *hh, snap, now_ms)
        } else if !snap.services.list.is_empty() {
            self.fast_from_real(frame, p, *hh, snap, now_ms)
        } else {
            Err(frame)
        }
    }

    /// Client → VIP on an established connection (`Lb::to_vip`).
    #[inline(always)]
    fn fast_to_vip(
        &mut self,
        mut frame: F,
        p: &Fast,
        hh: Hashed,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Result<(), F> {
        let Some(id) = self.lb.conns.lookup_at(&p.t, hh, now_ms) else {
            return Err(frame);
        };
        let Some(c) = self.lb.conns.get(id) else {
            return Err(frame);
        };
        let (real, raddr, rport, fwd) = (c.real(), c.raddr(), c.rport(), c.fwd());
        // The general path needs *a* service for the packet and a live real
        // for the connection; the real's own service proves both.
        let Some((s, _)) = snap.services.real(real) else {
            return Err(frame);
        };
        let Some(svc) = snap.services.list.get(s) else {
            return Err(frame);
        };
        let k = &p.t; // the client key: caddr/vaddr are what they say
        if svc.proto != k.proto || svc.vip != k.vaddr || (svc.port != k.vport && svc.port != 0) {
            return Err(frame);
        }
        if !matches!(fwd, FwdFlag::MASQ | FwdFlag::DROUTE) {
            return Err(frame);
        }
        let Some((oport, nh)) = snap.route_to_real(real, raddr) else {
            return Err(frame);
        };
        let (Some(mac), Some(out)) = (self.neigh.peek(oport, nh, now_ms), snap.port(oport)) else {
            return Err(frame);
        };
        if ip_len(frame.data()) > usize::from(out.mtu) {
            return Err(frame); // too big for the port: the general path decides
        }
        if !self.lb.conns.rearm_steady(id, Dir::Input, p.flags, now_ms) {
            return Err(frame);
        }
        // From here on the packet is ours: `parse` checked every length.
        if let Some(rc) = self.counters.real(real) {
            rc.in_pkts.inc();
            rc.in_bytes.add(frame.len().saturating_sub(ETH) as u64);
        }
        let d = frame.data_mut();
        match fwd {
            FwdFlag::MASQ => nat_rewrite(d, p.t.proto, true, raddr, rport),
            _ => {
                if let Some(h) = d
                    .get_mut(..L4)
                    .and_then(|h| <&mut [u8; L4]>::try_from(h).ok())
                {
                    decrement_ttl(h);
                }
            }
        }
        self.send(frame, oport, mac, out.mac);
        Ok(())
    }

    /// Real server → client on an established NAT connection
    /// (`Lb::from_real`).
    #[inline]
    fn fast_from_real(
        &mut self,
        mut frame: F,
        p: &Fast,
        hh: Hashed,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Result<(), F> {
        let key = p.reply_key();
        let Some(id) = self.lb.conns.lookup_reply_at(&key, hh, now_ms) else {
            return Err(frame);
        };
        let Some(c) = self.lb.conns.get(id) else {
            return Err(frame);
        };
        let (real, k) = (c.real(), c.key());
        let Some((oport, nh)) = snap.route(p.dst()) else {
            return Err(frame);
        };
        let (Some(mac), Some(out)) = (self.neigh.peek(oport, nh, now_ms), snap.port(oport)) else {
            return Err(frame);
        };
        if ip_len(frame.data()) > usize::from(out.mtu) {
            return Err(frame); // too big for the port: the general path decides
        }
        if !self.lb.conns.rearm_steady(id, Dir::Output, p.flags, now_ms) {
            return Err(frame);
        }
        if let Some(rc) = self.counters.real(real) {
            rc.out_pkts.inc();
            rc.out_bytes.add(frame.len().saturating_sub(ETH) as u64);
        }
        nat_rewrite(frame.data_mut(), p.t.proto, false, k.vaddr, k.vport);
        self.send(frame, oport, mac, out.mac);
        Ok(())
    }

    /// Write the Ethernet addresses and queue the frame (the general path's
    /// `output` with a known MAC).
    #[inline(always)]
    fn send(&mut self, mut frame: F, port: PortId, dst: MacAddr, src: MacAddr) {
        let d = frame.data_mut();
        if let Some(h) = d.get_mut(..12) {
            h[..6].copy_from_slice(&dst.0);
            h[6..].copy_from_slice(&src.0);
        }
        self.counters.fast_path.inc();
        self.push_out(port, frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The step-wise update `xlate::dnat`/`snat` apply: TTL, IPv4 address,
    /// then (L4) pseudo-header address and port, one RFC 1624 update each.
    fn stepwise(d: &mut [u8], proto: u8, dst_side: bool, addr: Ipv4Addr, port: u16) {
        let h: &mut [u8; L4] = (&mut d[..L4]).try_into().unwrap();
        decrement_ttl(h);
        let a = if dst_side { 30 } else { 26 };
        let old: [u8; 4] = h[a..a + 4].try_into().unwrap();
        let new = addr.octets();
        let c = u16::from_be_bytes([h[24], h[25]]);
        let c = checksum::update_u32(c, u32::from_be_bytes(old), u32::from_be_bytes(new));
        h[a..a + 4].copy_from_slice(&new);
        h[24..26].copy_from_slice(&c.to_be_bytes());
        let ck = if proto == IPPROTO_TCP { 16 } else { 6 };
        let p = if dst_side { 2 } else { 0 };
        let l4 = &mut d[L4..L4 + ck + 2];
        let old_port = u16::from_be_bytes([l4[p], l4[p + 1]]);
        let mut c = u16::from_be_bytes([l4[ck], l4[ck + 1]]);
        if proto == IPPROTO_TCP {
            c = checksum::update_addr4(c, &old, &new);
            c = checksum::update_u16(c, old_port, port);
        } else {
            c = udp_update(c, &old, &new, old_port, port);
        }
        l4[ck..ck + 2].copy_from_slice(&c.to_be_bytes());
        l4[p..p + 2].copy_from_slice(&port.to_be_bytes());
    }

    #[test]
    fn one_fold_nat_rewrite_equals_stepwise_update() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let edge16 = [0u16, 0xffff, 0xfffe, 1, 0x8000];
        let edge32 = [0u32, u32::MAX, 0xffff_0000, 0x0000_ffff, 0x8000_8000];
        for i in 0..300_000u32 {
            let mut f = [0u8; 64];
            for c in f.chunks_exact_mut(8) {
                c.copy_from_slice(&next().to_be_bytes());
            }
            f[22] = f[22].max(2); // parse lets only TTL > 1 through
            let proto = if i % 2 == 0 { IPPROTO_TCP } else { IPPROTO_UDP };
            let ck = if proto == IPPROTO_TCP {
                L4 + 16
            } else {
                L4 + 6
            };
            let r = next();
            if i % 5 == 0 {
                let e = edge16[(r % 5) as usize].to_be_bytes();
                f[24..26].copy_from_slice(&e);
            }
            if i % 7 == 0 {
                let e = edge16[((r >> 8) % 5) as usize].to_be_bytes();
                f[ck..ck + 2].copy_from_slice(&e);
            }
            let dst_side = r & (1 << 20) != 0;
            if i % 11 == 0 {
                let a = if dst_side { 30 } else { 26 };
                let e = edge32[((r >> 16) % 5) as usize].to_be_bytes();
                f[a..a + 4].copy_from_slice(&e);
            }
            let addr = if i % 13 == 0 {
                Ipv4Addr::from(edge32[((r >> 24) % 5) as usize])
            } else {
                Ipv4Addr::from((r >> 32) as u32)
            };
            let port = if i % 17 == 0 {
                edge16[((r >> 40) % 5) as usize]
            } else {
                (r >> 48) as u16
            };
            let (mut a, mut b) = (f, f);
            nat_rewrite(&mut a, proto, dst_side, addr, port);
            stepwise(&mut b, proto, dst_side, addr, port);
            assert_eq!(
                a, b,
                "case {i}: proto {proto} dst_side {dst_side} {addr} {port}"
            );
        }
    }
}
