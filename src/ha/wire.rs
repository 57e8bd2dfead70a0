//! Framing and authentication of the HA control link.
//!
//! Frame layout (all integers big-endian):
//!
//! ```text
//! len      u32        length of the body that follows (76 ..= 1 MiB)
//! body:
//!   version  u8       1
//!   type     u8       message type (crate::ha::msg::types, or TYPE_PING)
//!   flags    u16      reserved, must be 0
//!   snd_nonce [u8;16] the sender's session nonce
//!   rcv_nonce [u8;16] the receiver's session nonce (zero in Hello)
//!   seq      u64      0 in Hello, then 1, 2, ... per direction
//!   payload  ...      crate::ha::msg encoding
//!   tag      [u8;32]  HMAC-SHA256(key, len ‖ body-before-tag)
//! ```
//!
//! The tag covers the length prefix too, so every byte of a frame is
//! authenticated.
//!
//! Session rules ([`Session`]), one `Session` per TCP connection:
//! * Each side picks a fresh random 16-byte nonce per connection and sends
//!   `Hello` first (seq 0, receiver nonce zero, payload nonce = sender nonce).
//! * The first frame received must be a `Hello` with a valid tag; its sender
//!   nonce becomes the peer nonce. A Hello echoing our own nonce (reflection)
//!   is refused.
//! * Every later frame must carry `(snd = peer nonce, rcv = our nonce)` —
//!   which binds it to this session and this direction — and a `seq`
//!   strictly greater than the last accepted one (gaps are allowed).
//! * The tag is checked before anything else is interpreted, with a
//!   constant-time comparison.
//!
//! Invariants:
//! * [`Session::open`] and [`frame_len`] never panic on any input.
//! * A frame is accepted only if its tag verifies under the session key, its
//!   nonces match this session, and its seq is fresh; state (`rx_seq`, peer
//!   nonce) changes only when a frame is accepted.
//! * A frame never exceeds `4 + MAX_BODY` bytes on the wire in either
//!   direction.
//! * Refusals are classified: bad tag ⇒ [`AuthKind::BadMac`]; wrong nonces,
//!   old seq, or a second Hello ⇒ [`AuthKind::Replayed`]; anything else
//!   (length, version, flags, undecodable payload) ⇒ [`AuthKind::Malformed`].
//!   After any refusal the caller must drop the connection.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ha::msg::{types, Msg};

/// Protocol version carried in every frame.
pub const VERSION: u8 = 1;
/// Size of the length prefix.
pub const LEN_PREFIX: usize = 4;
/// Size of a session nonce.
pub const NONCE_LEN: usize = 16;
/// Body bytes before the payload.
pub const HEADER_LEN: usize = 1 + 1 + 2 + NONCE_LEN * 2 + 8;
/// HMAC-SHA256 tag size.
pub const TAG_LEN: usize = 32;
/// Smallest valid body (empty payload).
pub const MIN_BODY: usize = HEADER_LEN + TAG_LEN;
/// Largest valid body (1 MiB).
pub const MAX_BODY: usize = 1 << 20;
/// Largest payload that fits in a frame.
pub const MAX_PAYLOAD: usize = MAX_BODY - MIN_BODY;
/// The largest Hello frame on the wire (a 64-byte node name): a frame
/// announcing more before the peer's Hello is refused at once.
pub const MAX_HELLO_FRAME: usize =
    LEN_PREFIX + MIN_BODY + 1 + crate::ha::msg::MAX_NODE_LEN + 1 + NONCE_LEN;
/// A ping (the confirm) on the wire: the only frame allowed between the
/// peer's Hello and its authentication.
pub const PING_FRAME: usize = LEN_PREFIX + MIN_BODY;
/// Most bytes read from a connection before the peer has proven the key
/// (its Hello and its confirm must fit).
pub const PRE_AUTH_READ: usize = 256;
const _: () = assert!(MAX_HELLO_FRAME + PING_FRAME <= PRE_AUTH_READ);
/// Link-internal keepalive/confirmation frame (empty payload); never
/// surfaced as a [`Msg`].
pub const TYPE_PING: u8 = 0x7f;

/// A session nonce.
pub type Nonce = [u8; NONCE_LEN];
/// The all-zero nonce (receiver nonce of a Hello).
pub const ZERO_NONCE: Nonce = [0; NONCE_LEN];

/// Class of a refused frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthKind {
    /// The tag did not verify (wrong key or corruption).
    BadMac,
    /// Authentic but not fresh: wrong session nonces or non-increasing seq.
    Replayed,
    /// Bad length, version, flags, or payload.
    Malformed,
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthKind::BadMac => "bad mac",
            AuthKind::Replayed => "replayed",
            AuthKind::Malformed => "malformed",
        })
    }
}

/// Counters of refused frames.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuthStats {
    /// Frames whose tag did not verify.
    pub bad_mac: u64,
    /// Authentic frames from another session or with an old seq.
    pub replayed: u64,
    /// Frames that failed to parse.
    pub malformed: u64,
}

impl AuthStats {
    /// Counts one refusal.
    pub fn record(&mut self, kind: AuthKind) {
        let c = match kind {
            AuthKind::BadMac => &mut self.bad_mac,
            AuthKind::Replayed => &mut self.replayed,
            AuthKind::Malformed => &mut self.malformed,
        };
        *c = c.saturating_add(1);
    }

    /// Sum of all counters.
    pub fn total(&self) -> u64 {
        self.bad_mac
            .saturating_add(self.replayed)
            .saturating_add(self.malformed)
    }
}

/// Why a frame could not be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The peer's Hello has not been received yet.
    NoSession,
    /// `Hello` is sent only by [`Session::seal_hello`].
    HelloNotAllowed,
    /// The message fails [`Msg::validate`] (e.g. over 1 MiB).
    Invalid,
    /// The sequence space is exhausted (after 2^64 - 1 frames).
    SeqExhausted,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealError::NoSession => "handshake not complete",
            SealError::HelloNotAllowed => "hello is sent by the session itself",
            SealError::Invalid => "message invalid or too large",
            SealError::SeqExhausted => "sequence space exhausted",
        })
    }
}

impl std::error::Error for SealError {}

/// A keyed HMAC-SHA256 instance (the key schedule is computed once).
#[derive(Clone)]
pub struct AuthKey(Hmac<Sha256>);

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

impl AuthKey {
    /// Builds a key; `None` for an empty key.
    pub fn new(key: &[u8]) -> Option<AuthKey> {
        if key.is_empty() {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(key).ok().map(AuthKey)
    }

    fn tag(&self, data: &[u8]) -> [u8; TAG_LEN] {
        let mut m = self.0.clone();
        m.update(data);
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&m.finalize().into_bytes());
        out
    }

    fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut m = self.0.clone();
        m.update(data);
        m.verify_slice(tag).is_ok()
    }
}

/// A parsed, authenticated frame header plus payload slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameView<'a> {
    /// Message type code.
    pub ty: u8,
    /// Sender nonce.
    pub snd: Nonce,
    /// Receiver nonce.
    pub rcv: Nonce,
    /// Sequence number.
    pub seq: u64,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// Inspects a stream buffer: `Ok(Some(n))` when a whole frame of `n` bytes
/// (prefix included) is at the start of `buf`, `Ok(None)` when more bytes are
/// needed, `Err(Malformed)` when the length prefix is out of range.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, AuthKind> {
    frame_len_within(buf, LEN_PREFIX + MAX_BODY)
}

/// [`frame_len`] with a tighter bound: a frame announcing more than `max`
/// bytes (prefix included) is `Err(Malformed)`.
pub fn frame_len_within(buf: &[u8], max: usize) -> Result<Option<usize>, AuthKind> {
    let Some(prefix) = buf.get(..LEN_PREFIX) else {
        return Ok(None);
    };
    let mut p = [0u8; LEN_PREFIX];
    p.copy_from_slice(prefix);
    let body = u32::from_be_bytes(p) as usize;
    if !(MIN_BODY..=MAX_BODY).contains(&body) || LEN_PREFIX + body > max {
        return Err(AuthKind::Malformed);
    }
    let total = LEN_PREFIX + body;
    Ok((buf.len() >= total).then_some(total))
}

/// Builds one frame: prefix, header, payload, tag.
pub fn seal_frame(
    key: &AuthKey,
    ty: u8,
    snd: &Nonce,
    rcv: &Nonce,
    seq: u64,
    payload: impl FnOnce(&mut Vec<u8>),
) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::with_capacity(LEN_PREFIX + MIN_BODY + 64);
    out.extend_from_slice(&[0; LEN_PREFIX]);
    out.push(VERSION);
    out.push(ty);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(snd);
    out.extend_from_slice(rcv);
    out.extend_from_slice(&seq.to_be_bytes());
    payload(&mut out);
    let body = out.len() - LEN_PREFIX + TAG_LEN;
    if body > MAX_BODY {
        return Err(SealError::Invalid);
    }
    let len = u32::try_from(body).map_err(|_| SealError::Invalid)?;
    out[..LEN_PREFIX].copy_from_slice(&len.to_be_bytes());
    let tag = key.tag(&out);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Checks length and tag of one complete frame (`buf` = exactly one frame,
/// prefix included) and parses its header. Does not check session state.
pub fn open_frame<'a>(key: &AuthKey, buf: &'a [u8]) -> Result<FrameView<'a>, AuthKind> {
    match frame_len(buf)? {
        Some(n) if n == buf.len() => {}
        _ => return Err(AuthKind::Malformed),
    }
    let (signed, tag) = buf.split_at(buf.len() - TAG_LEN);
    if !key.verify(signed, tag) {
        return Err(AuthKind::BadMac);
    }
    let body = &signed[LEN_PREFIX..];
    let (hdr, payload) = body.split_at(HEADER_LEN);
    let version = hdr[0];
    let ty = hdr[1];
    let flags = u16::from_be_bytes([hdr[2], hdr[3]]);
    if version != VERSION || flags != 0 {
        return Err(AuthKind::Malformed);
    }
    let mut snd = ZERO_NONCE;
    snd.copy_from_slice(&hdr[4..4 + NONCE_LEN]);
    let mut rcv = ZERO_NONCE;
    rcv.copy_from_slice(&hdr[4 + NONCE_LEN..4 + 2 * NONCE_LEN]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&hdr[4 + 2 * NONCE_LEN..HEADER_LEN]);
    Ok(FrameView {
        ty,
        snd,
        rcv,
        seq: u64::from_be_bytes(seq),
        payload,
    })
}

/// Per-connection authentication state (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct Session {
    key: AuthKey,
    local: Nonce,
    peer: Option<Nonce>,
    tx_seq: u64,
    rx_seq: u64,
}

impl Session {
    /// A session with our fresh `local` nonce (must be random and non-zero).
    pub fn new(key: AuthKey, local: Nonce) -> Session {
        Session {
            key,
            local,
            peer: None,
            tx_seq: 0,
            rx_seq: 0,
        }
    }

    /// Draws a random nonce from the OS; `None` if the OS refuses.
    pub fn fresh_nonce() -> Option<Nonce> {
        let mut n = ZERO_NONCE;
        getrandom::fill(&mut n).ok()?;
        (n != ZERO_NONCE).then_some(n)
    }

    /// Our nonce.
    pub fn local_nonce(&self) -> Nonce {
        self.local
    }

    /// The peer's nonce, once its Hello was accepted.
    pub fn peer_nonce(&self) -> Option<Nonce> {
        self.peer
    }

    /// True once a post-Hello frame from the peer was accepted: the peer
    /// holds the key and has seen our nonce, so it is live, not a replay.
    pub fn confirmed(&self) -> bool {
        self.rx_seq > 0
    }

    /// Our Hello frame (seq 0, receiver nonce zero).
    pub fn seal_hello(&self, node: &str, priority: u8) -> Result<Vec<u8>, SealError> {
        let msg = Msg::Hello {
            node: node.to_owned(),
            priority,
            nonce: self.local,
        };
        msg.validate().map_err(|_| SealError::Invalid)?;
        seal_frame(&self.key, types::HELLO, &self.local, &ZERO_NONCE, 0, |o| {
            msg.encode_payload(o)
        })
    }

    /// A post-handshake message frame with the next seq.
    pub fn seal(&mut self, msg: &Msg) -> Result<Vec<u8>, SealError> {
        if matches!(msg, Msg::Hello { .. }) {
            return Err(SealError::HelloNotAllowed);
        }
        msg.validate().map_err(|_| SealError::Invalid)?;
        self.seal_typed(msg.type_code(), |o| msg.encode_payload(o))
    }

    /// A link-internal ping frame (empty payload) with the next seq. The
    /// first one sent confirms the session to the peer.
    pub fn seal_ping(&mut self) -> Result<Vec<u8>, SealError> {
        self.seal_typed(TYPE_PING, |_| {})
    }

    fn seal_typed(
        &mut self,
        ty: u8,
        body: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Vec<u8>, SealError> {
        let peer = self.peer.ok_or(SealError::NoSession)?;
        let seq = self.tx_seq.checked_add(1).ok_or(SealError::SeqExhausted)?;
        let frame = seal_frame(&self.key, ty, &self.local, &peer, seq, body)?;
        self.tx_seq = seq;
        Ok(frame)
    }

    /// Authenticates and decodes one complete frame. `Ok(None)` is a ping.
    /// On `Err` the session state is unchanged and the connection must be
    /// dropped.
    pub fn open(&mut self, buf: &[u8]) -> Result<Option<Msg>, AuthKind> {
        let f = open_frame(&self.key, buf)?;
        match self.peer {
            None => {
                if f.ty != types::HELLO {
                    // Authentic but belongs to some other session.
                    return Err(AuthKind::Replayed);
                }
                if f.rcv != ZERO_NONCE || f.seq != 0 || f.snd == ZERO_NONCE {
                    return Err(AuthKind::Malformed);
                }
                if f.snd == self.local {
                    // Our own Hello reflected back at us.
                    return Err(AuthKind::Replayed);
                }
                let msg = Msg::decode(f.ty, f.payload).map_err(|_| AuthKind::Malformed)?;
                match &msg {
                    Msg::Hello { nonce, .. } if *nonce == f.snd => {}
                    _ => return Err(AuthKind::Malformed),
                }
                self.peer = Some(f.snd);
                Ok(Some(msg))
            }
            Some(peer) => {
                if f.ty == types::HELLO || f.snd != peer || f.rcv != self.local {
                    return Err(AuthKind::Replayed);
                }
                if f.seq <= self.rx_seq {
                    return Err(AuthKind::Replayed);
                }
                let out = if f.ty == TYPE_PING {
                    if !f.payload.is_empty() {
                        return Err(AuthKind::Malformed);
                    }
                    None
                } else {
                    Some(Msg::decode(f.ty, f.payload).map_err(|_| AuthKind::Malformed)?)
                };
                self.rx_seq = f.seq;
                Ok(out)
            }
        }
    }
}
