//! `PeerLink`: the authenticated TCP control link to the peer director.
//!
//! Runs on the management thread: [`PeerLink::poll`] and [`PeerLink::send`]
//! never block. The listener and all connections are non-blocking. std has
//! no non-blocking `connect`, so each outgoing attempt runs
//! `TcpStream::connect_timeout` on a short-lived helper thread and hands the
//! stream back over a channel (at most one attempt in flight).
//!
//! Connection life cycle: every connection, incoming or outgoing, sends its
//! Hello at once, then a ping (the *confirm*) as soon as the peer's Hello has
//! been accepted. A connection becomes *authenticated* when the peer's
//! confirm arrives — proof that the peer holds the key and saw our fresh
//! nonce, so a replayed Hello never counts. Unauthenticated connections are
//! dropped after `handshake_timeout`.
//!
//! Exactly one session: when a connection authenticates and another session
//! is already established, the connection *dialled by the node with the
//! lower node name* wins; otherwise the existing session is kept and the new
//! connection closed. Both sides apply the same rule to the same pair of
//! connections, so they converge on the same one. If the winner replaces an
//! established session the caller sees `Disconnected` then `Connected`
//! (frames still queued on the old connection are lost; resync on
//! `Connected`). While a session is established no new dial is made.
//!
//! Liveness: a ping is sent when nothing else was sent for
//! `keepalive_interval`; a connection that received nothing for
//! `idle_timeout` is dropped, so a dead peer (no FIN) cannot pin the session.
//!
//! Invariants:
//! * Nothing received on a connection is delivered before that connection
//!   is authenticated and chosen as the session; any refused frame (bad tag,
//!   replay, malformed) is counted in [`LinkStats::auth`], reported once as
//!   [`Event::AuthFailure`], and the connection is closed.
//! * The send queue of the session never exceeds `max_queue_bytes` (plus
//!   one ping); `send` reports `Full` and counts `dropped` instead.
//! * Incoming connections are accepted only from the peer's IP address
//!   (others are closed at once and counted in `refused_addr`).
//! * At most `max_pending` unauthenticated incoming connections are kept;
//!   each reads at most `wire::PRE_AUTH_READ` bytes before authenticating
//!   and lives at most `handshake_timeout`.
//! * Refusals are logged at most once per reason per 10 s, with the count
//!   of those suppressed ([`RateLog`]).
//! * Reconnect backoff doubles from `backoff_min` to `backoff_max` and
//!   resets when a session is established.

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::ha::conn::{Conn, Dir};
use crate::ha::msg::Msg;
use crate::ha::ratelog::RateLog;
use crate::ha::wire::{self, AuthKey, AuthKind, AuthStats, SealError, Session};

/// Link tuning; `LinkConfig::default()` is sensible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// First reconnect delay (100 ms).
    pub backoff_min: Duration,
    /// Largest reconnect delay (1 s).
    pub backoff_max: Duration,
    /// Timeout of one outgoing connect attempt (1 s).
    pub connect_timeout: Duration,
    /// Hello + confirm must complete within this (1 s).
    pub handshake_timeout: Duration,
    /// Send a ping when idle this long (250 ms).
    pub keepalive_interval: Duration,
    /// Drop a connection that received nothing for this long (3 s).
    pub idle_timeout: Duration,
    /// Bound of the session's send queue in bytes (8 MiB).
    pub max_queue_bytes: usize,
    /// Most unauthenticated incoming connections kept at once (4); a new
    /// one from the peer's address evicts the oldest.
    pub max_pending: usize,
    /// Most bytes read from one connection per poll (4 MiB).
    pub max_read_per_poll: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(1),
            keepalive_interval: Duration::from_millis(250),
            idle_timeout: Duration::from_secs(3),
            max_queue_bytes: 8 << 20,
            max_pending: 4,
            max_read_per_poll: 4 << 20,
        }
    }
}

/// What `poll` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session was established (see [`PeerLink::peer`]).
    Connected,
    /// The session was lost.
    Disconnected,
    /// A message from the peer, in order.
    Message(Msg),
    /// A frame was refused and its connection closed.
    AuthFailure(AuthKind),
}

/// Why `send` refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No established session.
    NotConnected,
    /// The send queue is full (counted in `dropped`).
    Full,
    /// `Hello`, or a message that fails validation (e.g. over 1 MiB).
    Invalid,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::NotConnected => "not connected",
            SendError::Full => "send queue full",
            SendError::Invalid => "invalid message",
        })
    }
}

impl std::error::Error for SendError {}

/// Link counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Refused frames by kind.
    pub auth: AuthStats,
    /// Messages refused by `send` because the queue was full.
    pub dropped: u64,
    /// Messages queued by `send`.
    pub sent: u64,
    /// Messages delivered by `poll`.
    pub received: u64,
    /// Sessions established.
    pub connects: u64,
    /// Sessions lost.
    pub disconnects: u64,
    /// Connections dropped for not completing the handshake in time.
    pub handshake_timeouts: u64,
    /// Incoming connections refused: not from the peer's address.
    pub refused_addr: u64,
    /// Unauthenticated incoming connections closed to make room for a
    /// newer one (all pre-auth slots were taken).
    pub evicted: u64,
    /// Most bytes read from one connection before it authenticated.
    pub pre_auth_read_max: usize,
    /// Outgoing connect attempts that failed.
    pub dial_failures: u64,
    /// Bytes waiting in the session's send queue.
    pub queued_bytes: usize,
}

enum Dial {
    Idle { next: Instant },
    InFlight(Receiver<io::Result<TcpStream>>),
}

/// The control link (see the module docs).
pub struct PeerLink {
    cfg: LinkConfig,
    listener: TcpListener,
    peer_addr: SocketAddr,
    key: AuthKey,
    node: String,
    priority: u8,
    conns: Vec<Conn>,
    dial: Dial,
    backoff: Duration,
    stats: LinkStats,
    /// Refusals are logged at most once per reason per 10 s.
    refusals: RateLog,
}

impl PeerLink {
    /// Binds `listen` and starts dialling `peer`. `key` must be non-empty
    /// (use ≥ 32 random bytes); `node` is 1..=64 bytes and differs from the
    /// peer's.
    pub fn new(
        listen: SocketAddr,
        peer: SocketAddr,
        key: Vec<u8>,
        node: impl Into<String>,
        priority: u8,
    ) -> io::Result<PeerLink> {
        PeerLink::with_config(listen, peer, key, node, priority, LinkConfig::default())
    }

    /// Like [`PeerLink::new`] with explicit tuning.
    pub fn with_config(
        listen: SocketAddr,
        peer: SocketAddr,
        key: Vec<u8>,
        node: impl Into<String>,
        priority: u8,
        cfg: LinkConfig,
    ) -> io::Result<PeerLink> {
        let listener = TcpListener::bind(listen)?;
        PeerLink::from_listener(listener, peer, key, node, priority, cfg)
    }

    /// Uses an already bound listener (e.g. bound to port 0 in tests).
    pub fn from_listener(
        listener: TcpListener,
        peer: SocketAddr,
        key: Vec<u8>,
        node: impl Into<String>,
        priority: u8,
        cfg: LinkConfig,
    ) -> io::Result<PeerLink> {
        let invalid = |m: &str| io::Error::new(ErrorKind::InvalidInput, m.to_owned());
        let key = AuthKey::new(&key).ok_or_else(|| invalid("ha key must not be empty"))?;
        let node = node.into();
        if node.is_empty() || node.len() > crate::ha::msg::MAX_NODE_LEN {
            return Err(invalid("ha node name must be 1..=64 bytes"));
        }
        listener.set_nonblocking(true)?;
        let backoff = cfg.backoff_min;
        Ok(PeerLink {
            cfg,
            listener,
            peer_addr: peer,
            key,
            node,
            priority,
            conns: Vec::new(),
            dial: Dial::Idle {
                next: Instant::now(),
            },
            backoff,
            stats: LinkStats::default(),
            refusals: RateLog::default(),
        })
    }

    /// The bound listen address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// True while a session is established.
    pub fn is_connected(&self) -> bool {
        self.conns.iter().any(|c| c.established && !c.dead)
    }

    /// The peer's node name and priority from its Hello, while connected.
    pub fn peer(&self) -> Option<(&str, u8)> {
        let c = self.conns.iter().find(|c| c.established && !c.dead)?;
        c.peer.as_ref().map(|(n, p)| (n.as_str(), *p))
    }

    /// `(local, remote)` socket addresses of the session's TCP connection.
    pub fn session_addrs(&self) -> Option<(SocketAddr, SocketAddr)> {
        let c = self.conns.iter().find(|c| c.established && !c.dead)?;
        Some((c.stream.local_addr().ok()?, c.stream.peer_addr().ok()?))
    }

    /// Counters.
    pub fn stats(&self) -> LinkStats {
        let mut s = self.stats;
        s.queued_bytes = self
            .conns
            .iter()
            .find(|c| c.established)
            .map_or(0, |c| c.wbuf.len() - c.wpos);
        s
    }

    /// Queues `msg` on the session and tries to write it at once.
    pub fn send(&mut self, msg: Msg) -> Result<(), SendError> {
        if matches!(msg, Msg::Hello { .. }) || msg.validate().is_err() {
            return Err(SendError::Invalid);
        }
        let cap = self.cfg.max_queue_bytes;
        let Some(c) = self.conns.iter_mut().find(|c| c.established && !c.dead) else {
            return Err(SendError::NotConnected);
        };
        let frame_len = wire::LEN_PREFIX + wire::MIN_BODY + msg.payload_len();
        if (c.wbuf.len() - c.wpos).saturating_add(frame_len) > cap {
            self.stats.dropped += 1;
            return Err(SendError::Full);
        }
        match c.session.seal(&msg) {
            Ok(frame) => {
                c.queue(&frame);
                c.flush();
                self.stats.sent += 1;
                Ok(())
            }
            Err(SealError::SeqExhausted) => {
                c.dead = true;
                Err(SendError::NotConnected)
            }
            Err(_) => Err(SendError::Invalid),
        }
    }

    /// Does all pending I/O; call every few milliseconds. Never blocks.
    pub fn poll(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        self.accept(now);
        self.dial(now);
        for i in 0..self.conns.len() {
            let s = self.conns[i].service(now, &self.cfg, &self.node);
            if let Some(kind) = s.failure {
                self.stats.auth.record(kind);
                events.push(Event::AuthFailure(kind));
                if let Some(n) = self.refusals.allow("frame", now) {
                    tracing::warn!(kind = %kind, dir = ?self.conns[i].dir, suppressed = n, "ha link: frame refused, dropping connection");
                }
            }
            if s.handshake_timeout {
                self.stats.handshake_timeouts += 1;
                if let Some(n) = self.refusals.allow("handshake", now) {
                    tracing::warn!(dir = ?self.conns[i].dir, suppressed = n, "ha link: handshake timeout");
                }
            }
            if !self.conns[i].authenticated {
                let r = self.conns[i].read_total;
                self.stats.pre_auth_read_max = self.stats.pre_auth_read_max.max(r);
            }
            if s.became_authenticated && !self.conns[i].dead {
                self.choose(i, now, &mut events);
            }
            // Frames accepted before a refused one are still delivered.
            if self.conns[i].established {
                self.stats.received += s.msgs.len() as u64;
                events.extend(s.msgs.into_iter().map(Event::Message));
            }
        }
        self.reap(now, &mut events);
        events
    }

    /// Tie-break for a freshly authenticated connection `i`.
    fn choose(&mut self, i: usize, now: Instant, events: &mut Vec<Event>) {
        let cur = self.conns.iter().position(|c| c.established && !c.dead);
        let take = match cur {
            None => true,
            Some(e) => {
                let better = self.preferred(i) && !self.preferred(e);
                if better {
                    self.conns[e].dead = true;
                    self.conns[e].established = false;
                    self.stats.disconnects += 1;
                    events.push(Event::Disconnected);
                }
                better
            }
        };
        if take {
            let c = &mut self.conns[i];
            c.established = true;
            c.last_rx = now;
            self.backoff = self.cfg.backoff_min;
            self.stats.connects += 1;
            events.push(Event::Connected);
            tracing::info!(peer = ?c.peer, dir = ?c.dir, "ha link: session established");
        } else {
            self.conns[i].dead = true;
        }
    }

    /// True if connection `i` was dialled by the lower node name.
    fn preferred(&self, i: usize) -> bool {
        let c = &self.conns[i];
        let Some((peer, _)) = &c.peer else {
            return false;
        };
        match c.dir {
            Dir::Outgoing => self.node.as_str() < peer.as_str(),
            Dir::Incoming => peer.as_str() < self.node.as_str(),
        }
    }

    fn accept(&mut self, now: Instant) {
        for _ in 0..64 {
            match self.listener.accept() {
                Ok((stream, from)) => self.admit(stream, from, now),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "ha link: accept failed");
                    break;
                }
            }
        }
    }

    /// An accepted connection: only from the peer's address, into a
    /// pre-auth slot (the oldest unauthenticated one is evicted when all
    /// are taken: the real peer authenticates within a round trip, a
    /// trickler never does).
    fn admit(&mut self, stream: TcpStream, from: SocketAddr, now: Instant) {
        if from.ip() != self.peer_addr.ip() {
            self.stats.refused_addr += 1;
            if let Some(n) = self.refusals.allow("address", now) {
                tracing::warn!(%from, suppressed = n, "ha link: connection not from the peer's address, refused");
            }
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let pending = |c: &Conn| c.dir == Dir::Incoming && !c.authenticated && !c.dead;
        if self.conns.iter().filter(|c| pending(c)).count() >= self.cfg.max_pending.max(1) {
            if let Some(old) = self
                .conns
                .iter_mut()
                .filter(|c| pending(c))
                .min_by_key(|c| c.opened)
            {
                old.dead = true;
                self.stats.evicted += 1;
            }
            if let Some(n) = self.refusals.allow("slots", now) {
                tracing::warn!(%from, suppressed = n, "ha link: all pre-auth slots taken, evicting the oldest");
            }
        }
        self.add_conn(stream, Dir::Incoming, now);
    }

    fn dial(&mut self, now: Instant) {
        match &self.dial {
            Dial::InFlight(rx) => match rx.try_recv() {
                Ok(Ok(stream)) => {
                    self.dial = Dial::Idle { next: now };
                    self.add_conn(stream, Dir::Outgoing, now);
                }
                Ok(Err(_)) | Err(TryRecvError::Disconnected) => self.dial_failed(now),
                Err(TryRecvError::Empty) => {}
            },
            Dial::Idle { next } => {
                let busy = self
                    .conns
                    .iter()
                    .any(|c| !c.dead && (c.established || c.dir == Dir::Outgoing));
                if busy || now < *next {
                    return;
                }
                let (tx, rx) = mpsc::channel();
                let (peer, timeout) = (self.peer_addr, self.cfg.connect_timeout);
                let spawned = std::thread::Builder::new()
                    .name("ha-dial".into())
                    .spawn(move || {
                        let _ = tx.send(TcpStream::connect_timeout(&peer, timeout));
                    });
                match spawned {
                    Ok(_) => self.dial = Dial::InFlight(rx),
                    Err(_) => self.dial_failed(now),
                }
            }
        }
    }

    fn dial_failed(&mut self, now: Instant) {
        self.stats.dial_failures += 1;
        self.dial = Dial::Idle {
            next: later(now, self.backoff),
        };
        self.backoff = self.backoff.saturating_mul(2).min(self.cfg.backoff_max);
    }

    fn add_conn(&mut self, stream: TcpStream, dir: Dir, now: Instant) {
        let setup = stream
            .set_nonblocking(true)
            .and_then(|()| stream.set_nodelay(true));
        let Some(nonce) = Session::fresh_nonce() else {
            tracing::error!("ha link: no randomness for session nonce");
            return;
        };
        if setup.is_err() {
            return;
        }
        let session = Session::new(self.key.clone(), nonce);
        let Ok(hello) = session.seal_hello(&self.node, self.priority) else {
            return;
        };
        let mut c = Conn::new(stream, dir, session, now);
        c.queue(&hello);
        c.flush();
        self.conns.push(c);
    }

    /// Removes dead connections, reporting a lost session and scheduling the
    /// next dial.
    fn reap(&mut self, now: Instant, events: &mut Vec<Event>) {
        let mut lost_session = false;
        let mut lost_outgoing = false;
        self.conns.retain_mut(|c| {
            if !c.dead {
                return true;
            }
            let _ = c.stream.shutdown(Shutdown::Both);
            if c.established {
                lost_session = true;
            } else if c.dir == Dir::Outgoing {
                lost_outgoing = true;
            }
            false
        });
        if lost_session {
            self.stats.disconnects += 1;
            events.push(Event::Disconnected);
            tracing::warn!("ha link: session lost");
            if let Dial::Idle { next } = &mut self.dial {
                *next = later(now, self.cfg.backoff_min);
            }
        } else if lost_outgoing {
            if let Dial::Idle { .. } = self.dial {
                self.dial_failed(now);
            }
        }
    }
}

/// `now + d`, saturating instead of panicking on absurd durations.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}
