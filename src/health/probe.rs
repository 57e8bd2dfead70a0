//! One in-flight check: a non-blocking TCP/UDP socket (with TLS for
//! `https`) driven by readiness events, or a child process polled with
//! `try_wait`.
//!
//! Invariants:
//! * Sockets are non-blocking and close-on-exec; every I/O loop runs until
//!   `WouldBlock` (mio is edge-triggered) or a verdict, so no readiness edge
//!   is lost.
//! * A probe never blocks and never panics; any OS error becomes a
//!   `Verdict::Fail` with a short detail ("connect refused", ...).
//! * TCP probes close with `SO_LINGER 0` (RST) so thousands of checks per
//!   second do not pile up TIME_WAIT sockets on the director (as HAProxy
//!   does for health checks).
//! * Buffers are bounded by [`MAX_RESPONSE`].

use crate::health::proto::{
    dns_query, judge_dns, judge_exit, judge_expect, judge_http, judge_udp, HttpPlan, Plan, Verdict,
    MAX_RESPONSE,
};
use crate::health::tls::TlsSession;
use mio::net::{TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::sync::Arc;

/// Where and from where to probe.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub dst: SocketAddrV4,
    pub bind: Option<SocketAddrV4>,
}

impl Endpoint {
    pub fn new(dst: SocketAddrV4, bind_addr: Option<Ipv4Addr>, bind_port: Option<u16>) -> Self {
        let bind = match (bind_addr, bind_port) {
            (None, None) => None,
            (a, p) => Some(SocketAddrV4::new(
                a.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.unwrap_or(0),
            )),
        };
        Endpoint { dst, bind }
    }
}

/// Short detail for an OS error.
pub fn describe(prefix: &str, e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => format!("{prefix} refused"),
        ErrorKind::ConnectionReset => format!("{prefix} reset"),
        ErrorKind::TimedOut => format!("{prefix} timed out"),
        _ => match e.raw_os_error() {
            Some(libc::EHOSTUNREACH) => format!("{prefix}: host unreachable"),
            Some(libc::ENETUNREACH) => format!("{prefix}: network unreachable"),
            _ => format!("{prefix} error: {e}"),
        },
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Phase {
    Connecting,
    Writing,
    Reading,
}

/// TCP probe: connect, optionally write a request and judge the reply.
pub struct StreamProbe {
    stream: TcpStream,
    phase: Phase,
    plan: Arc<Plan>,
    out: Vec<u8>,
    written: usize,
    inbuf: Vec<u8>,
    /// HTTPS: the TLS session, created once the TCP connect completed.
    tls: Option<Box<TlsSession>>,
}

/// UDP probe (plain UDP or DNS).
pub struct DgramProbe {
    sock: UdpSocket,
    plan: Arc<Plan>,
    out: Vec<u8>,
    sent: bool,
    dns_id: u16,
}

/// An in-flight check.
pub enum Probe {
    Stream(StreamProbe),
    Dgram(DgramProbe),
    Exec(Child),
}

/// Why a probe could not start.
#[derive(Debug)]
pub enum StartError {
    /// Local resource shortage on the director (out of fds, buffers,
    /// memory, ephemeral ports, processes): not the real's fault, so the
    /// engine retries soon without touching the real's state.
    Local(String),
    /// The start itself is the check's verdict (e.g. immediate refusal).
    Verdict(Verdict),
}

fn is_local(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::EAGAIN)
    )
}

/// Classifies a start-up error.
fn start_err(what: &str, e: io::Error) -> StartError {
    if is_local(&e) {
        StartError::Local(format!("{what}: {e}"))
    } else {
        StartError::Verdict(Verdict::Fail(describe(what, &e)))
    }
}

/// Result of starting or advancing a probe.
pub enum Step {
    Pending,
    Done(Verdict),
}

/// A non-blocking TCP socket connecting to `ep` (as few system calls as
/// possible: thousands of checks per second run through here). Closed with
/// a reset (linger 0: no TIME_WAIT per check); no Nagle when the check
/// sends a request (`sends`).
fn tcp_socket(ep: &Endpoint, sends: bool) -> Result<Socket, StartError> {
    let s = Socket::new(
        Domain::IPV4,
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(|e| start_err("socket", e))?;
    let setup = || -> io::Result<()> {
        s.set_linger(Some(std::time::Duration::ZERO))?;
        if sends {
            s.set_tcp_nodelay(true)?;
        }
        Ok(())
    };
    setup().map_err(|e| start_err("socket", e))?;
    if let Some(b) = ep.bind {
        if b.port() != 0 {
            s.set_reuse_address(true)
                .map_err(|e| start_err("socket", e))?;
        }
        s.bind(&SockAddr::from(b))
            .map_err(|e| start_err("bind", e))?;
    }
    match s.connect(&SockAddr::from(ep.dst)) {
        Ok(()) => Ok(s),
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == ErrorKind::WouldBlock =>
        {
            Ok(s)
        }
        // Out of ephemeral ports.
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) && ep.bind.is_none() => {
            Err(StartError::Local(format!("connect: {e}")))
        }
        Err(e) => Err(start_err("connect", e)),
    }
}

impl StreamProbe {
    /// Starts a connect; registers for read+write readiness under `token`.
    pub fn start(
        ep: &Endpoint,
        plan: Arc<Plan>,
        registry: &Registry,
        token: Token,
    ) -> Result<StreamProbe, StartError> {
        let out = match &*plan {
            Plan::Http(h) => h.request.clone(),
            Plan::SendExpect { send, .. } => send.clone(),
            _ => Vec::new(),
        };
        let sock = tcp_socket(ep, !out.is_empty())?;
        let mut stream = TcpStream::from_std(std::net::TcpStream::from(sock));
        registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| start_err("register", e))?;
        Ok(StreamProbe {
            stream,
            phase: Phase::Connecting,
            plan,
            out,
            written: 0,
            inbuf: Vec::new(),
            tls: None,
        })
    }

    /// Advances after a readiness event (or spuriously; that is harmless).
    pub fn advance(&mut self) -> Step {
        if self.phase == Phase::Connecting {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return Step::Done(Verdict::Fail(describe("connect", &e))),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotConnected => return Step::Pending,
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => return Step::Pending,
                Err(e) => return Step::Done(Verdict::Fail(describe("connect", &e))),
            }
            if matches!(*self.plan, Plan::Tcp) {
                return Step::Done(Verdict::Ok("connected".into()));
            }
            self.phase = Phase::Writing;
            if let Plan::Http(HttpPlan {
                tls: Some(name), ..
            }) = &*self.plan
            {
                match TlsSession::new(name.clone(), &self.out) {
                    Ok(t) => self.tls = Some(Box::new(t)),
                    Err(e) => return Step::Done(Verdict::Fail(e)),
                }
            }
        }
        if let Some(tls) = &mut self.tls {
            let r = tls.pump(&mut self.stream, &mut self.inbuf, MAX_RESPONSE);
            if !tls.handshaking() {
                self.phase = Phase::Reading;
            }
            return match r {
                Ok(eof) => match self.judge(eof) {
                    Some(v) => Step::Done(v),
                    None => Step::Pending,
                },
                Err(e) => Step::Done(self.after_error(e)),
            };
        }
        if self.phase == Phase::Writing {
            while self.written < self.out.len() {
                match self
                    .stream
                    .write(self.out.get(self.written..).unwrap_or_default())
                {
                    Ok(0) => return Step::Done(Verdict::Fail("write: connection closed".into())),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Step::Done(Verdict::Fail(describe("write", &e))),
                }
            }
            if let Plan::SendExpect { expect: None, .. } = &*self.plan {
                return Step::Done(Verdict::Ok("sent".into()));
            }
            self.phase = Phase::Reading;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Step::Done(
                        self.judge(true)
                            .unwrap_or_else(|| Verdict::Fail("eof".into())),
                    )
                }
                Ok(n) => {
                    self.inbuf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    if let Some(v) = self.judge(false) {
                        return Step::Done(v);
                    }
                    if self.inbuf.len() > MAX_RESPONSE {
                        return Step::Done(Verdict::Fail("response too large".into()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Step::Done(self.after_error(describe("read", &e))),
            }
        }
    }

    /// Verdict when reading failed with `fail` (a reset, a TLS alert): a
    /// complete, successful answer before it still counts.
    fn after_error(&self, fail: String) -> Verdict {
        self.judge(true)
            .filter(|v| !matches!(v, Verdict::Fail(_)))
            .unwrap_or(Verdict::Fail(fail))
    }

    fn judge(&self, eof: bool) -> Option<Verdict> {
        match &*self.plan {
            Plan::Http(h) => judge_http(h, &self.inbuf, eof),
            Plan::SendExpect { expect, .. } => judge_expect(expect.as_ref(), &self.inbuf, eof),
            _ => Some(Verdict::Ok("connected".into())),
        }
    }

    /// Verdict when the deadline passes: depends on how far we got.
    pub fn on_timeout(&self, after: &str) -> Verdict {
        let what = match self.phase {
            Phase::Connecting => "",
            Phase::Writing if self.tls.is_some() => " (TLS handshake)",
            Phase::Writing => " (sending)",
            Phase::Reading => " (waiting for reply)",
        };
        Verdict::Fail(format!("timeout after {after}{what}"))
    }
}

impl DgramProbe {
    pub fn start(
        ep: &Endpoint,
        plan: Arc<Plan>,
        registry: &Registry,
        token: Token,
        rand: u64,
    ) -> Result<DgramProbe, StartError> {
        let fail = start_err;
        let bind = ep
            .bind
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let std_sock = std::net::UdpSocket::bind(bind).map_err(|e| fail("bind", e))?;
        std_sock
            .connect(SocketAddr::V4(ep.dst))
            .map_err(|e| fail("connect", e))?;
        std_sock
            .set_nonblocking(true)
            .map_err(|e| fail("socket", e))?;
        let mut sock = UdpSocket::from_std(std_sock);
        registry
            .register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| fail("register", e))?;
        let dns_id = (rand & 0xffff) as u16;
        let out = match &*plan {
            Plan::Udp { payload, .. } => payload.clone(),
            Plan::Dns { qtype, name } => dns_query(dns_id, name, *qtype)
                .ok_or_else(|| StartError::Verdict(Verdict::Fail("bad DNS name".into())))?,
            _ => return Err(StartError::Verdict(Verdict::Fail("not a UDP check".into()))),
        };
        Ok(DgramProbe {
            sock,
            plan,
            out,
            sent: false,
            dns_id,
        })
    }

    pub fn advance(&mut self) -> Step {
        if !self.sent {
            match self.sock.send(&self.out) {
                Ok(_) => self.sent = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    return Step::Done(Verdict::Fail("port unreachable".into()))
                }
                Err(e) => return Step::Done(Verdict::Fail(describe("send", &e))),
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let reply = buf.get(..n).unwrap_or_default();
                    match &*self.plan {
                        Plan::Udp { expect, .. } => {
                            return Step::Done(judge_udp(expect.as_deref(), reply))
                        }
                        Plan::Dns { .. } => {
                            if let Some(v) = judge_dns(self.dns_id, reply) {
                                return Step::Done(v);
                            }
                        }
                        _ => return Step::Done(Verdict::Fail("not a UDP check".into())),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    return Step::Done(Verdict::Fail("port unreachable".into()))
                }
                Err(e) => return Step::Done(Verdict::Fail(describe("recv", &e))),
            }
        }
    }

    /// Plain UDP without an expected reply succeeds when no ICMP error came
    /// back in time (keepalived UDP_CHECK); everything else fails.
    pub fn on_timeout(&self, after: &str) -> Verdict {
        match &*self.plan {
            Plan::Udp { expect: None, .. } if self.sent => Verdict::Ok("no ICMP error".into()),
            _ => Verdict::Fail(format!("timeout after {after}")),
        }
    }
}

/// Spawns an exec check: no shell, stdin/stdout/stderr to /dev/null, the
/// rules of [`child`](super::child) (cleared environment, own process
/// group), env `LVSD_REAL_ADDR`, `LVSD_REAL_PORT`, `LVSD_REAL`.
pub fn spawn_exec(plan: &Plan, dst: SocketAddrV4) -> Result<Child, StartError> {
    let Plan::Exec { command, args, .. } = plan else {
        return Err(StartError::Verdict(Verdict::Fail(
            "not an exec check".into(),
        )));
    };
    super::child::isolate(&mut Command::new(command))
        .args(args)
        .env("LVSD_REAL_ADDR", dst.ip().to_string())
        .env("LVSD_REAL_PORT", dst.port().to_string())
        .env("LVSD_REAL", dst.to_string())
        .spawn()
        .map_err(|e| {
            if is_local(&e) {
                StartError::Local(format!("spawn: {e}"))
            } else {
                StartError::Verdict(Verdict::Fail(format!("spawn failed: {e}")))
            }
        })
}

/// Polls a child; `Done` once it exited.
pub fn poll_exec(child: &mut Child, dynamic: bool) -> Step {
    match child.try_wait() {
        Ok(Some(st)) => Step::Done(judge_exit(st.code(), st.signal(), dynamic)),
        Ok(None) => Step::Pending,
        Err(e) => Step::Done(Verdict::Fail(format!("wait failed: {e}"))),
    }
}
