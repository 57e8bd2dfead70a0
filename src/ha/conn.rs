//! One control-link TCP connection: buffered non-blocking I/O, frame
//! extraction and the per-connection handshake (Hello, then confirm ping).
//! Used only by [`crate::ha::link::PeerLink`].
//!
//! Invariants:
//! * `wpos <= wbuf.len()`; bytes before `wpos` have been written.
//! * `rbuf` holds at most one partial frame after `service` returns (whole
//!   frames are consumed; an out-of-range length kills the connection at
//!   once), so it stays below `max_read_per_poll + 4 + MAX_BODY` bytes.
//! * Before the peer is authenticated at most `wire::PRE_AUTH_READ` bytes
//!   are read from it, and a frame longer than the one expected next (its
//!   Hello, then its confirm ping) is refused as soon as its length prefix
//!   is seen.
//! * Messages are reported only after the peer's confirm
//!   (`authenticated`); a message before it is a protocol violation.
//! * Once `dead` is set the connection is never read or written again.
//! * No method blocks or panics.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::ha::link::LinkConfig;
use crate::ha::msg::Msg;
use crate::ha::wire::{self, AuthKind, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Outgoing,
    Incoming,
}

pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) dir: Dir,
    pub(crate) session: Session,
    pub(crate) rbuf: Vec<u8>,
    pub(crate) wbuf: Vec<u8>,
    pub(crate) wpos: usize,
    pub(crate) peer: Option<(String, u8)>,
    pub(crate) opened: Instant,
    pub(crate) last_rx: Instant,
    pub(crate) last_tx: Instant,
    pub(crate) authenticated: bool,
    /// Bytes read so far (at most `wire::PRE_AUTH_READ` until authenticated).
    pub(crate) read_total: usize,
    pub(crate) established: bool,
    pub(crate) dead: bool,
}

/// Result of servicing one connection in one poll.
#[derive(Default)]
pub(crate) struct Serviced {
    pub(crate) became_authenticated: bool,
    pub(crate) msgs: Vec<Msg>,
    pub(crate) failure: Option<AuthKind>,
    /// Dropped for not completing the handshake in time.
    pub(crate) handshake_timeout: bool,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream, dir: Dir, session: Session, now: Instant) -> Conn {
        Conn {
            stream,
            dir,
            session,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            peer: None,
            opened: now,
            last_rx: now,
            last_tx: now,
            authenticated: false,
            read_total: 0,
            established: false,
            dead: false,
        }
    }

    pub(crate) fn queue(&mut self, frame: &[u8]) {
        if self.wpos > 0 && self.wpos * 2 >= self.wbuf.len() {
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
        self.wbuf.extend_from_slice(frame);
    }

    pub(crate) fn flush(&mut self) {
        while self.wpos < self.wbuf.len() && !self.dead {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => self.dead = true,
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
        }
    }

    pub(crate) fn service(&mut self, now: Instant, cfg: &LinkConfig, node: &str) -> Serviced {
        let mut out = Serviced::default();
        if self.dead {
            return out;
        }
        // Frames that arrived before EOF/error are still processed.
        let budget = if self.authenticated {
            cfg.max_read_per_poll
        } else {
            wire::PRE_AUTH_READ.saturating_sub(self.read_total)
        };
        let gone = self.read(budget);
        let mut off = 0;
        while !self.dead {
            let n = match wire::frame_len_within(&self.rbuf[off..], self.frame_limit()) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(kind) => {
                    out.failure = Some(kind);
                    self.dead = true;
                    break;
                }
            };
            let frame = &self.rbuf[off..off + n];
            off += n;
            self.last_rx = now;
            match self.session.open(frame) {
                Ok(Some(Msg::Hello {
                    node: peer,
                    priority,
                    ..
                })) => {
                    if peer == node {
                        // Our own name: a self-connection or a misconfigured peer.
                        out.failure = Some(AuthKind::Malformed);
                        self.dead = true;
                        break;
                    }
                    self.peer = Some((peer, priority));
                    match self.session.seal_ping() {
                        Ok(p) => {
                            self.queue(&p);
                            self.last_tx = now;
                        }
                        Err(_) => self.dead = true,
                    }
                }
                Ok(None) => {
                    if !self.authenticated {
                        self.authenticated = true;
                        out.became_authenticated = true;
                    }
                }
                Ok(Some(msg)) => {
                    if self.authenticated {
                        out.msgs.push(msg);
                    } else {
                        // A message before the confirm violates the protocol.
                        out.failure = Some(AuthKind::Malformed);
                        self.dead = true;
                    }
                }
                Err(kind) => {
                    out.failure = Some(kind);
                    self.dead = true;
                }
            }
        }
        self.rbuf.drain(..off.min(self.rbuf.len()));
        if gone {
            self.dead = true;
        }
        if self.dead {
            return out;
        }
        if !self.authenticated
            && now.saturating_duration_since(self.opened) >= cfg.handshake_timeout
        {
            out.handshake_timeout = true;
            self.dead = true;
            return out;
        }
        if now.saturating_duration_since(self.last_rx) >= cfg.idle_timeout {
            tracing::warn!(dir = ?self.dir, "ha link: peer silent, dropping connection");
            self.dead = true;
            return out;
        }
        if self.authenticated
            && self.wbuf.len() == self.wpos
            && now.saturating_duration_since(self.last_tx) >= cfg.keepalive_interval
        {
            if let Ok(p) = self.session.seal_ping() {
                self.queue(&p);
                self.last_tx = now;
            }
        }
        self.flush();
        out
    }

    /// The largest frame acceptable next: a Hello before the peer's Hello,
    /// then its confirm ping, anything once authenticated.
    fn frame_limit(&self) -> usize {
        if self.authenticated {
            wire::LEN_PREFIX + wire::MAX_BODY
        } else if self.peer.is_none() {
            wire::MAX_HELLO_FRAME
        } else {
            wire::PING_FRAME
        }
    }

    /// Reads up to `budget` bytes (exactly: never more, so that a peer
    /// not yet authenticated cannot make us buffer more than
    /// `wire::PRE_AUTH_READ`); true on EOF or a socket error.
    fn read(&mut self, budget: usize) -> bool {
        let mut buf = vec![0u8; budget.min(64 * 1024)];
        let mut total = 0;
        while total < budget {
            let want = (budget - total).min(buf.len());
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => return true,
                Ok(n) => {
                    self.rbuf.extend_from_slice(&buf[..n]);
                    total += n;
                    self.read_total = self.read_total.saturating_add(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        false
    }
}
