//! Pure logic of the `lvsd-gen` traffic generator (no DPDK): frame
//! templates, the client-endpoint / SYN-vs-ACK mix, the payload stamp, a
//! fixed latency histogram, a TSC pacer and the JSON report line.
//!
//! Invariants:
//! - Nothing here allocates per packet: [`Template::write`] patches a
//!   prebuilt frame, [`LatHist::record`] bumps a fixed array.
//! - Frames are untagged Ethernet + option-less IPv4 + TCP (20 bytes, no
//!   options) or UDP, with a correct IPv4 header checksum. The L4 checksum
//!   is left 0 (lvsd does not verify TCP/UDP checksums; a UDP checksum of 0
//!   means "none" and stays 0 through NAT).
//! - The payload starts with a 10-byte stamp: magic `0x4c56` ("LV"), a
//!   32-bit sequence number and the low 32 bits of the TSC at build time.
//!   64-byte TCP frames (54 bytes of headers) hold exactly that.
pub mod bench;
mod flood;
mod hist;
mod mix;

pub use flood::{frame_endpoint, Class, FloodTally, Legit};
pub use hist::LatHist;
pub use mix::FlowMix;

use crate::packet::checksum;
use std::net::Ipv4Addr;

/// Payload magic ("LV").
pub const MAGIC: u16 = 0x4c56;
/// Bytes of the payload stamp.
pub const STAMP_LEN: usize = 10;
/// First client address: clients use 198.18.0.0/16 (RFC 2544 benchmarking
/// range); the device under test, VIPs and reals use 198.19.0.0/24.
pub const CLIENT_BASE: u32 = 0xc612_0000;
/// Addresses in the client range.
pub const CLIENT_ADDRS: u64 = 1 << 16;
/// Lowest client port.
pub const CLIENT_PORT_BASE: u16 = 1024;
/// Most client endpoints (addresses × ports) the generator cycles through.
pub const MAX_ENDPOINTS: u64 = 10_000_000;

/// TCP flag bits the generator sets.
pub const TCP_SYN: u8 = 0x02;
pub const TCP_ACK: u8 = 0x10;

pub use crate::types::Protocol;

/// L4 header bytes of a generated frame.
fn header_len(p: Protocol) -> usize {
    match p {
        Protocol::Tcp => 20,
        Protocol::Udp => 8,
    }
}

/// Client endpoint `i` (0-based): address cycles through 198.18.0.0/16,
/// then the port steps up.
#[inline]
pub fn endpoint(i: u64) -> (Ipv4Addr, u16) {
    let a = CLIENT_BASE + (i % CLIENT_ADDRS) as u32;
    let p = CLIENT_PORT_BASE + (i / CLIENT_ADDRS) as u16;
    (Ipv4Addr::from(a), p)
}

/// What every frame of a run shares.
#[derive(Clone, Debug)]
pub struct FrameSpec {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub dst_ip: Ipv4Addr,
    pub dst_port: u16,
    pub proto: Protocol,
    /// Frame length without FCS (DPDK data_len).
    pub size: usize,
}

/// Smallest frame for a protocol (headers + stamp, at least 60 bytes).
pub fn min_size(proto: Protocol) -> usize {
    (14 + 20 + header_len(proto) + STAMP_LEN).max(60)
}

/// A prebuilt frame; [`Template::write`] copies it and patches the
/// per-packet fields.
#[derive(Clone, Debug)]
pub struct Template {
    bytes: Vec<u8>,
    proto: Protocol,
    l4: usize,
    payload: usize,
}

impl Template {
    /// Build the template; errors on a size outside `min_size..=1514`.
    pub fn new(s: &FrameSpec) -> Result<Template, String> {
        if s.size < min_size(s.proto) || s.size > 1514 {
            return Err(format!(
                "frame size {} outside {}..=1514 for {:?}",
                s.size,
                min_size(s.proto),
                s.proto
            ));
        }
        let mut b = vec![0u8; s.size];
        b[0..6].copy_from_slice(&s.dst_mac);
        b[6..12].copy_from_slice(&s.src_mac);
        b[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip_len = (s.size - 14) as u16;
        b[14] = 0x45;
        b[16..18].copy_from_slice(&ip_len.to_be_bytes());
        b[20..22].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
        b[22] = 64;
        b[23] = s.proto.number();
        b[30..34].copy_from_slice(&s.dst_ip.octets());
        let l4 = 34;
        b[l4 + 2..l4 + 4].copy_from_slice(&s.dst_port.to_be_bytes());
        match s.proto {
            Protocol::Tcp => {
                b[l4 + 4..l4 + 8].copy_from_slice(&1u32.to_be_bytes()); // seq
                b[l4 + 12] = 5 << 4; // data offset
                b[l4 + 14..l4 + 16].copy_from_slice(&0xffffu16.to_be_bytes()); // window
            }
            Protocol::Udp => {
                let ul = (s.size - 34) as u16;
                b[l4 + 4..l4 + 6].copy_from_slice(&ul.to_be_bytes());
            }
        }
        let payload = l4 + header_len(s.proto);
        b[payload..payload + 2].copy_from_slice(&MAGIC.to_be_bytes());
        Ok(Template {
            bytes: b,
            proto: s.proto,
            l4,
            payload,
        })
    }

    /// Frame length.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never empty (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Write a frame for client endpoint `ep` into `out` (exactly
    /// [`Template::len`] bytes): TCP flags `flags` (ignored for UDP),
    /// sequence `seq`, timestamp `tsc`.
    #[inline]
    pub fn write(&self, out: &mut [u8], ep: u64, flags: u8, seq: u32, tsc: u32) {
        let n = self.bytes.len().min(out.len());
        // Only the first 64 bytes change per packet; larger frames copy the
        // (zero) rest once per packet too, as a real generator would.
        out[..n].copy_from_slice(&self.bytes[..n]);
        if n < self.bytes.len() {
            return;
        }
        let (ip, port) = endpoint(ep);
        out[26..30].copy_from_slice(&ip.octets());
        let c = checksum::checksum(&out[14..34]);
        out[24..26].copy_from_slice(&c.to_be_bytes());
        let l4 = self.l4;
        out[l4..l4 + 2].copy_from_slice(&port.to_be_bytes());
        if self.proto == Protocol::Tcp {
            out[l4 + 13] = flags;
            if flags & TCP_ACK != 0 {
                out[l4 + 8..l4 + 12].copy_from_slice(&1u32.to_be_bytes());
            }
        }
        let p = self.payload;
        out[p + 2..p + 6].copy_from_slice(&seq.to_be_bytes());
        out[p + 6..p + 10].copy_from_slice(&tsc.to_be_bytes());
    }
}

/// The stamp of a received frame, wherever its L4 header is (NAT and
/// 5-tuple swaps keep the headers' sizes): `(seq, tsc_low32)`.
#[inline]
pub fn read_stamp(d: &[u8]) -> Option<(u32, u32)> {
    if d.len() < 34 || d[12] != 0x08 || d[13] != 0x00 {
        return None;
    }
    let ihl = usize::from(d[14] & 0x0f) * 4;
    let l4 = 14 + ihl;
    let hl = match d[23] {
        6 => usize::from(*d.get(l4 + 12)? >> 4) * 4,
        17 => 8,
        _ => return None,
    };
    let p = l4 + hl;
    let s = d.get(p..p + STAMP_LEN)?;
    if u16::from_be_bytes([s[0], s[1]]) != MAGIC {
        return None;
    }
    Some((
        u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
        u32::from_be_bytes([s[6], s[7], s[8], s[9]]),
    ))
}

/// Paces transmission by TSC: how many packets may have left by `now`.
///
/// With a `depth`, the pacer is a token bucket of that many packets: a
/// sender that falls further behind the schedule (its thread was
/// descheduled, the host stalled it) forfeits the slots beyond `depth`
/// instead of sending them later at full speed. Without it, a 1 ms stall
/// of the generator at 1.5 Mpps came out as 1,500 frames back to back,
/// which no set of independent clients sends, and the device under test
/// was charged the queue.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    start: u64,
    hz: u64,
    /// Packets per second; 0 = unlimited.
    rate: u64,
    /// Most packets the sender may owe the schedule; 0 = no bound.
    depth: u64,
    /// Slots given up so far (the sender was more than `depth` behind).
    forfeited: u64,
}

impl Pacer {
    pub fn new(start: u64, hz: u64, rate: u64) -> Pacer {
        Pacer {
            start,
            hz: hz.max(1),
            rate,
            depth: 0,
            forfeited: 0,
        }
    }
    /// The same pacer with a bucket of `depth` packets (0: unbounded).
    pub fn with_depth(self, depth: u64) -> Pacer {
        Pacer { depth, ..self }
    }
    /// Packets allowed in total by TSC `now`, of which `sent` have been
    /// sent (`u64::MAX` when unlimited): the schedule's count less the
    /// forfeited slots, at most `sent + depth` when bounded.
    #[inline]
    pub fn allowed(&mut self, now: u64, sent: u64) -> u64 {
        if self.rate == 0 {
            return u64::MAX;
        }
        let dt = u128::from(now.saturating_sub(self.start));
        let due = (dt * u128::from(self.rate) / u128::from(self.hz)) as u64;
        let owed = due.saturating_sub(self.forfeited).saturating_sub(sent);
        if self.depth > 0 && owed > self.depth {
            self.forfeited += owed - self.depth;
        }
        due.saturating_sub(self.forfeited)
    }
    /// Slots forfeited so far (bounded pacers only).
    pub fn forfeited(&self) -> u64 {
        self.forfeited
    }
}

/// Counters of one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseStats {
    pub tx: u64,
    pub rx: u64,
    /// Paced phases: frames the link refused (the receiver's ring was
    /// full), dropped as a wire would, counted as lost.
    pub refused: u64,
    /// Paced phases: schedule slots the sender gave up after falling
    /// behind (see [`Pacer`]); never sent, not lost.
    pub forfeited: u64,
    /// Received frames without our stamp.
    pub rx_other: u64,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    /// TX seconds (first to last transmitted packet window).
    pub secs: f64,
}

impl PhaseStats {
    /// The two phases' counts together (the warm-up's SYN and ACK passes).
    pub fn plus(&self, o: &PhaseStats) -> PhaseStats {
        PhaseStats {
            tx: self.tx + o.tx,
            rx: self.rx + o.rx,
            refused: self.refused + o.refused,
            forfeited: self.forfeited + o.forfeited,
            rx_other: self.rx_other + o.rx_other,
            tx_bytes: self.tx_bytes + o.tx_bytes,
            rx_bytes: self.rx_bytes + o.rx_bytes,
            secs: self.secs + o.secs,
        }
    }

    pub fn tx_pps(&self) -> f64 {
        rate(self.tx, self.secs)
    }
    pub fn rx_pps(&self) -> f64 {
        rate(self.rx, self.secs)
    }
    /// Frames sent or refused that did not come back (negative values
    /// clamp to 0).
    pub fn lost(&self) -> u64 {
        (self.tx + self.refused).saturating_sub(self.rx)
    }
    pub fn loss_ratio(&self) -> f64 {
        let offered = self.tx + self.refused;
        if offered == 0 {
            0.0
        } else {
            self.lost() as f64 / offered as f64
        }
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// One JSON object from `(key, value)` pairs; values are emitted verbatim
/// when they parse as numbers, `true`/`false`, or start with `{`/`[`,
/// otherwise as escaped strings.
pub fn json_line(fields: &[(&str, String)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&json_str(k));
        s.push(':');
        let raw = v.parse::<f64>().is_ok_and(f64::is_finite)
            || v == "true"
            || v == "false"
            || v == "null"
            || v.starts_with('{')
            || v.starts_with('[');
        if raw {
            s.push_str(v);
        } else {
            s.push_str(&json_str(v));
        }
    }
    s.push('}');
    s
}

fn json_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Parse `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("bad MAC {s:?}"));
    }
    let mut m = [0u8; 6];
    for (o, p) in m.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC {s:?}"))?;
    }
    Ok(m)
}

#[cfg(test)]
mod tests;
