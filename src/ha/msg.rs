//! HA control messages and their payload encoding.
//!
//! Every message is a `(type code, payload)` pair; [`crate::ha::wire`] puts the
//! type code in the frame header and authenticates the whole frame. Payloads
//! are hand-written big-endian binary.
//!
//! Invariants:
//! * [`Msg::decode`] never panics, on any byte string: every read is bounds
//!   checked, lengths are validated before allocation, and trailing bytes are
//!   an error (a payload decodes to exactly one message or to nothing).
//! * `Msg::decode(m.type_code(), &payload_of(m)) == Ok(m)` for every `m` that
//!   passes [`Msg::validate`] (round trip).
//! * [`Msg::encode_payload`] never panics; it may only produce a decodable
//!   payload for a message that passes [`Msg::validate`] (the sealer checks).
//!
//! Payload layouts (all integers big-endian):
//!
//! | type | message       | payload                                                         |
//! |------|---------------|-----------------------------------------------------------------|
//! | 1    | `Hello`       | `node_len u8, node [u8; node_len], priority u8, nonce [u8; 16]`  |
//! | 2    | `Heartbeat`   | `node_len u8, node, priority u8, state u8, advert_seq u64`       |
//! | 3    | `SyncRecords` | `count u32, count × SyncRecord (30 bytes each)`                  |
//! | 4    | `BulkStart`   | `generation u64`                                                 |
//! | 5    | `BulkEnd`     | `generation u64, count u64`                                      |
//! | 6    | `BulkRequest` | empty                                                            |
//! | 7    | `Resign`      | empty                                                            |
//!
//! `node` is UTF-8, 1..=[`MAX_NODE_LEN`] bytes. `state` is [`Role::code`].
//!
//! `SyncRecord`, 30 bytes (IPv4 only; field meanings follow IPVS sync v1,
//! see `ipvs-semantics.md` §5.1):
//!
//! | offset | size | field        | notes                                            |
//! |--------|------|--------------|--------------------------------------------------|
//! | 0      | 1    | `op`         | 1 = create/update, 2 = remove; others refused    |
//! | 1      | 1    | `proto`      | IP protocol number (6 TCP, 17 UDP, 132 SCTP)     |
//! | 2      | 2    | `flags`      | IPVS conn flags (backup mask), opaque here       |
//! | 4      | 1    | `state`      | protocol state number, opaque here               |
//! | 5      | 1    | `fwd`        | 0 MASQ, 1 LOCALNODE, 2 TUNNEL, 3 DROUTE, 4 BYPASS |
//! | 6      | 1    | `template`   | 0 or 1; others refused                           |
//! | 7      | 1    | reserved     | must be 0                                        |
//! | 8      | 4    | `caddr`      | client address                                   |
//! | 12     | 2    | `cport`      |                                                  |
//! | 14     | 4    | `vaddr`      | virtual address                                  |
//! | 18     | 2    | `vport`      |                                                  |
//! | 20     | 4    | `raddr`      | real server address                              |
//! | 24     | 2    | `rport`      |                                                  |
//! | 26     | 4    | `timeout_ms` | remaining timeout in milliseconds                |

use std::fmt;
use std::net::Ipv4Addr;

use crate::ha::role::Role;
use crate::ha::wire::{Nonce, MAX_PAYLOAD, NONCE_LEN};
use crate::types::ConnRecord;

/// Longest node name accepted on the wire, in bytes.
pub const MAX_NODE_LEN: usize = 64;

/// Type codes carried in the frame header.
pub mod types {
    /// `Msg::Hello`.
    pub const HELLO: u8 = 1;
    /// `Msg::Heartbeat`.
    pub const HEARTBEAT: u8 = 2;
    /// `Msg::SyncRecords`.
    pub const SYNC_RECORDS: u8 = 3;
    /// `Msg::BulkStart`.
    pub const BULK_START: u8 = 4;
    /// `Msg::BulkEnd`.
    pub const BULK_END: u8 = 5;
    /// `Msg::BulkRequest`.
    pub const BULK_REQUEST: u8 = 6;
    /// `Msg::Resign`.
    pub const RESIGN: u8 = 7;
}

/// Most records one `SyncRecords` message can carry within the 1 MiB limit.
pub const MAX_RECORDS_PER_MSG: usize = (MAX_PAYLOAD - 4) / SyncRecord::LEN;

/// `SyncRecord::op`: create or update the connection entry.
pub const OP_UPDATE: u8 = 1;
/// `SyncRecord::op`: remove the connection entry.
pub const OP_REMOVE: u8 = 2;

/// One control-link message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// First frame of every session, in each direction; `nonce` is the
    /// sender's fresh session nonce (it must equal the frame's sender nonce).
    Hello {
        /// Sender's node name.
        node: String,
        /// Sender's configured priority.
        priority: u8,
        /// Sender's session nonce.
        nonce: Nonce,
    },
    /// Periodic liveness and role announcement.
    Heartbeat {
        /// Sender's node name.
        node: String,
        /// Sender's configured priority.
        priority: u8,
        /// Sender's current role.
        state: Role,
        /// Sequence number of the sender's last data-network advert.
        advert_seq: u64,
    },
    /// Incremental connection-state updates (active → backup).
    SyncRecords(Vec<SyncRecord>),
    /// Start of a full-table transfer.
    BulkStart {
        /// Identifies this transfer.
        generation: u64,
    },
    /// End of a full-table transfer.
    BulkEnd {
        /// Same as the matching `BulkStart`.
        generation: u64,
        /// Number of records sent between start and end.
        count: u64,
    },
    /// Ask the peer for a full-table transfer.
    BulkRequest,
    /// The sender gives up the active role (it is stopping, or faulty): the
    /// backup takes over at once, without waiting for `dead_interval`
    /// (keepalived sends a priority-0 advert for the same purpose).
    Resign,
}

/// One synchronised IPv4 connection as the wire carries it (see the module
/// table for the layout): a [`ConnRecord`] plus the fields the 30-byte
/// format defines and validates but lvsd does not keep (the IPVS flag word
/// beyond bit 0 = active, the fwd byte), and the op. Built with
/// [`SyncRecord::from_conn`] and read with [`SyncRecord::conn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncRecord {
    /// [`OP_UPDATE`] or [`OP_REMOVE`].
    pub op: u8,
    /// IP protocol number.
    pub proto: u8,
    /// IPVS connection flags.
    pub flags: u16,
    /// Protocol state.
    pub state: u8,
    /// Client address.
    pub caddr: Ipv4Addr,
    /// Client port.
    pub cport: u16,
    /// Virtual address.
    pub vaddr: Ipv4Addr,
    /// Virtual port.
    pub vport: u16,
    /// Real server address.
    pub raddr: Ipv4Addr,
    /// Real server port.
    pub rport: u16,
    /// Remaining timeout, milliseconds.
    pub timeout_ms: u32,
    /// Forwarding method, 0..=4.
    pub fwd: u8,
    /// Persistence template entry.
    pub template: bool,
}

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Unknown message type code.
    UnknownType(u8),
    /// The payload ended early.
    Truncated,
    /// Bytes left over after the message.
    Trailing,
    /// A field had a value outside its domain.
    BadValue(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownType(t) => write!(f, "unknown message type {t}"),
            DecodeError::Truncated => f.write_str("payload truncated"),
            DecodeError::Trailing => f.write_str("trailing bytes after payload"),
            DecodeError::BadValue(what) => write!(f, "bad value for {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl SyncRecord {
    /// The wire record of `conn` (`remove`: [`OP_REMOVE`]). The flag word
    /// carries only the active bit; fwd is sent as 0 (the backup binds the
    /// connection to its own real with the same address); the remaining
    /// time saturates at `u32::MAX` ms.
    pub fn from_conn(conn: &ConnRecord, remove: bool) -> SyncRecord {
        SyncRecord {
            op: if remove { OP_REMOVE } else { OP_UPDATE },
            proto: conn.proto,
            flags: u16::from(conn.active),
            state: conn.state,
            caddr: conn.caddr,
            cport: conn.cport,
            vaddr: conn.vaddr,
            vport: conn.vport,
            raddr: conn.raddr,
            rport: conn.rport,
            timeout_ms: u32::try_from(conn.expires_ms).unwrap_or(u32::MAX),
            fwd: 0,
            template: conn.template,
        }
    }

    /// The connection this record describes.
    pub fn conn(&self) -> ConnRecord {
        ConnRecord {
            proto: self.proto,
            state: self.state,
            template: self.template,
            active: self.flags & 1 != 0,
            caddr: self.caddr,
            cport: self.cport,
            vaddr: self.vaddr,
            vport: self.vport,
            raddr: self.raddr,
            rport: self.rport,
            expires_ms: u64::from(self.timeout_ms),
        }
    }

    /// Encoded size in bytes.
    pub const LEN: usize = 30;

    /// Appends the 30-byte encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.op);
        out.push(self.proto);
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.push(self.state);
        out.push(self.fwd);
        out.push(u8::from(self.template));
        out.push(0);
        out.extend_from_slice(&self.caddr.octets());
        out.extend_from_slice(&self.cport.to_be_bytes());
        out.extend_from_slice(&self.vaddr.octets());
        out.extend_from_slice(&self.vport.to_be_bytes());
        out.extend_from_slice(&self.raddr.octets());
        out.extend_from_slice(&self.rport.to_be_bytes());
        out.extend_from_slice(&self.timeout_ms.to_be_bytes());
    }

    /// Decodes exactly one record from `buf` (which must be 30 bytes).
    pub fn decode(buf: &[u8]) -> Result<SyncRecord, DecodeError> {
        let mut r = Reader::new(buf);
        let rec = SyncRecord::read(&mut r)?;
        r.finish()?;
        Ok(rec)
    }

    fn read(r: &mut Reader<'_>) -> Result<SyncRecord, DecodeError> {
        let op = r.u8()?;
        let proto = r.u8()?;
        let flags = r.u16()?;
        let state = r.u8()?;
        let fwd = r.u8()?;
        let template = r.u8()?;
        let reserved = r.u8()?;
        let caddr = r.ipv4()?;
        let cport = r.u16()?;
        let vaddr = r.ipv4()?;
        let vport = r.u16()?;
        let raddr = r.ipv4()?;
        let rport = r.u16()?;
        let timeout_ms = r.u32()?;
        if op != OP_UPDATE && op != OP_REMOVE {
            return Err(DecodeError::BadValue("sync op"));
        }
        if fwd > 4 {
            return Err(DecodeError::BadValue("sync fwd"));
        }
        let template = match template {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::BadValue("sync template")),
        };
        if reserved != 0 {
            return Err(DecodeError::BadValue("sync reserved"));
        }
        Ok(SyncRecord {
            op,
            proto,
            flags,
            state,
            caddr,
            cport,
            vaddr,
            vport,
            raddr,
            rport,
            timeout_ms,
            fwd,
            template,
        })
    }

    fn validate(&self) -> Result<(), DecodeError> {
        if self.op != OP_UPDATE && self.op != OP_REMOVE {
            return Err(DecodeError::BadValue("sync op"));
        }
        if self.fwd > 4 {
            return Err(DecodeError::BadValue("sync fwd"));
        }
        Ok(())
    }
}

impl Msg {
    /// The frame-header type code (see [`types`]).
    pub fn type_code(&self) -> u8 {
        match self {
            Msg::Hello { .. } => types::HELLO,
            Msg::Heartbeat { .. } => types::HEARTBEAT,
            Msg::SyncRecords(_) => types::SYNC_RECORDS,
            Msg::BulkStart { .. } => types::BULK_START,
            Msg::BulkEnd { .. } => types::BULK_END,
            Msg::BulkRequest => types::BULK_REQUEST,
            Msg::Resign => types::RESIGN,
        }
    }

    /// Exact payload length [`Msg::encode_payload`] produces.
    pub fn payload_len(&self) -> usize {
        match self {
            Msg::Hello { node, .. } => 1 + node.len() + 1 + NONCE_LEN,
            Msg::Heartbeat { node, .. } => 1 + node.len() + 1 + 1 + 8,
            Msg::SyncRecords(recs) => 4 + recs.len().saturating_mul(SyncRecord::LEN),
            Msg::BulkStart { .. } => 8,
            Msg::BulkEnd { .. } => 16,
            Msg::BulkRequest | Msg::Resign => 0,
        }
    }

    /// Checks that the message can be encoded and decoded back unchanged:
    /// node names 1..=64 bytes, record fields in domain, payload within
    /// [`MAX_PAYLOAD`].
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Msg::Hello { node, .. } | Msg::Heartbeat { node, .. } => check_node(node)?,
            Msg::SyncRecords(recs) => {
                if recs.len() > MAX_RECORDS_PER_MSG {
                    return Err(DecodeError::BadValue("too many records"));
                }
                recs.iter().try_for_each(SyncRecord::validate)?;
            }
            Msg::BulkStart { .. } | Msg::BulkEnd { .. } | Msg::BulkRequest | Msg::Resign => {}
        }
        if self.payload_len() > MAX_PAYLOAD {
            return Err(DecodeError::BadValue("payload too large"));
        }
        Ok(())
    }

    /// Appends the payload encoding to `out`. Never panics; names longer
    /// than 255 bytes are truncated (such a message fails [`Msg::validate`]).
    pub fn encode_payload(&self, out: &mut Vec<u8>) {
        match self {
            Msg::Hello {
                node,
                priority,
                nonce,
            } => {
                put_node(out, node);
                out.push(*priority);
                out.extend_from_slice(nonce);
            }
            Msg::Heartbeat {
                node,
                priority,
                state,
                advert_seq,
            } => {
                put_node(out, node);
                out.push(*priority);
                out.push(state.code());
                out.extend_from_slice(&advert_seq.to_be_bytes());
            }
            Msg::SyncRecords(recs) => {
                let n = u32::try_from(recs.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&n.to_be_bytes());
                for rec in recs.iter().take(n as usize) {
                    rec.encode_into(out);
                }
            }
            Msg::BulkStart { generation } => out.extend_from_slice(&generation.to_be_bytes()),
            Msg::BulkEnd { generation, count } => {
                out.extend_from_slice(&generation.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
            }
            Msg::BulkRequest | Msg::Resign => {}
        }
    }

    /// Decodes a payload of message type `ty`. Never panics.
    pub fn decode(ty: u8, payload: &[u8]) -> Result<Msg, DecodeError> {
        let mut r = Reader::new(payload);
        let msg = match ty {
            types::HELLO => {
                let node = r.node()?;
                let priority = r.u8()?;
                let nonce = r.array::<NONCE_LEN>()?;
                Msg::Hello {
                    node,
                    priority,
                    nonce,
                }
            }
            types::HEARTBEAT => {
                let node = r.node()?;
                let priority = r.u8()?;
                let state = Role::from_code(r.u8()?).ok_or(DecodeError::BadValue("role"))?;
                let advert_seq = r.u64()?;
                Msg::Heartbeat {
                    node,
                    priority,
                    state,
                    advert_seq,
                }
            }
            types::SYNC_RECORDS => {
                let n = r.u32()? as usize;
                // Check the length before allocating: `n` is untrusted.
                if r.remaining() != n.saturating_mul(SyncRecord::LEN) {
                    return Err(if r.remaining() < n.saturating_mul(SyncRecord::LEN) {
                        DecodeError::Truncated
                    } else {
                        DecodeError::Trailing
                    });
                }
                let mut recs = Vec::with_capacity(n);
                for _ in 0..n {
                    recs.push(SyncRecord::read(&mut r)?);
                }
                Msg::SyncRecords(recs)
            }
            types::BULK_START => Msg::BulkStart {
                generation: r.u64()?,
            },
            types::BULK_END => Msg::BulkEnd {
                generation: r.u64()?,
                count: r.u64()?,
            },
            types::BULK_REQUEST => Msg::BulkRequest,
            types::RESIGN => Msg::Resign,
            other => return Err(DecodeError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Splits `records` into `SyncRecords` messages of at most `max_per_msg`
/// records each (clamped to `1..=MAX_RECORDS_PER_MSG`).
pub fn chunk_records(records: &[SyncRecord], max_per_msg: usize) -> Vec<Msg> {
    let per = max_per_msg.clamp(1, MAX_RECORDS_PER_MSG);
    records
        .chunks(per)
        .map(|c| Msg::SyncRecords(c.to_vec()))
        .collect()
}

fn check_node(node: &str) -> Result<(), DecodeError> {
    if node.is_empty() || node.len() > MAX_NODE_LEN {
        return Err(DecodeError::BadValue("node name length"));
    }
    Ok(())
}

fn put_node(out: &mut Vec<u8>, node: &str) {
    let bytes = node.as_bytes();
    let n = bytes.len().min(usize::from(u8::MAX));
    out.push(n as u8);
    out.extend_from_slice(&bytes[..n]);
}

/// Bounds-checked big-endian reader; every accessor returns `Truncated`
/// instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn ipv4(&mut self) -> Result<Ipv4Addr, DecodeError> {
        Ok(Ipv4Addr::from(self.array::<4>()?))
    }

    fn node(&mut self) -> Result<String, DecodeError> {
        let n = usize::from(self.u8()?);
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::BadValue("node utf-8"))?;
        check_node(s)?;
        Ok(s.to_owned())
    }

    fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing)
        }
    }
}
