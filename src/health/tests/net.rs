//! Socket tests of the engine against in-test servers on 127.0.0.1 only.
//!
//! Invariants: every server thread stops when its guard drops; every loop
//! is bounded in time; no address other than 127.0.0.1 is ever used.

use crate::health::check::{CheckKind, CheckParams, StatusRange, Target};
use crate::health::engine::HealthEngine;
use crate::health::proto::md5_hex;
use crate::health::state::Event;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Stops and joins a server thread on drop.
pub(crate) struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// TCP server; `handle` serves one accepted connection.
pub(crate) fn tcp_server<F>(handle: F) -> Server
where
    F: Fn(std::net::TcpStream) + Send + 'static,
{
    // A backlog that holds a thousand targets' connects: on a loaded machine the
    // accepting thread may not run for a while, and std's backlog of 128 would
    // then drop SYNs and turn a slow test peer into check timeouts.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&std::net::SocketAddr::from((LO, 0)).into())
        .unwrap();
    sock.listen(4096).unwrap();
    let l: TcpListener = sock.into();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(60);
        while !st.load(Ordering::SeqCst) && Instant::now() < end {
            match l.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                    handle(s);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    Server {
        port,
        stop,
        handle: Some(h),
    }
}

/// UDP server; `reply` maps a datagram to an optional answer.
fn udp_server<F>(reply: F) -> Server
where
    F: Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static,
{
    let s = UdpSocket::bind((LO, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let port = s.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let end = Instant::now() + Duration::from_secs(60);
        while !st.load(Ordering::SeqCst) && Instant::now() < end {
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                if let Some(r) = reply(&buf[..n]) {
                    let _ = s.send_to(&r, from);
                }
            }
        }
    });
    Server {
        port,
        stop,
        handle: Some(h),
    }
}

/// A port with no listener (bound then released).
pub(crate) fn closed_port() -> u16 {
    TcpListener::bind((LO, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn params(interval_ms: u64, rise: u32, fall: u32) -> CheckParams {
    CheckParams {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(300),
        rise,
        fall,
        ..Default::default()
    }
}

pub(crate) fn target(id: u32, port: u16, kind: CheckKind, p: CheckParams) -> Target {
    Target {
        id,
        addr: LO,
        port,
        kind,
        params: p,
    }
}

pub(crate) fn run_for(eng: &mut HealthEngine, d: Duration) -> Vec<Event> {
    let end = Instant::now() + d;
    let mut evs = Vec::new();
    while Instant::now() < end {
        evs.extend(eng.run_once(Duration::from_millis(10)));
    }
    evs
}

pub(crate) fn up(eng: &HealthEngine, id: u32) -> bool {
    eng.target_status(id).map(|s| s.up).unwrap_or(false)
}

pub(crate) fn detail(eng: &HealthEngine, id: u32) -> String {
    eng.target_status(id)
        .and_then(|s| s.last_result)
        .map(|r| r.detail)
        .unwrap_or_default()
}

fn accept_and_drop() -> Server {
    tcp_server(drop)
}

#[test]
fn tcp_up_and_detection_time() {
    let srv = accept_and_drop();
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        alpha: true,
        ..params(200, 1, 2)
    };
    eng.add_target(target(1, srv.port, CheckKind::Tcp, p.clone()))
        .unwrap();
    eng.add_target(target(2, closed_port(), CheckKind::Tcp, p))
        .unwrap();
    let evs = run_for(&mut eng, Duration::from_millis(300));
    assert!(evs.contains(&Event::Up(1)), "{evs:?}");
    assert!(up(&eng, 1));
    assert!(!up(&eng, 2));
    assert_eq!(detail(&eng, 2), "connect refused");
    run_for(&mut eng, Duration::from_millis(250));
    drop(srv);
    let t0 = Instant::now();
    let mut detected = None;
    while t0.elapsed() < Duration::from_secs(3) {
        let evs = eng.run_once(Duration::from_millis(10));
        if evs.iter().any(|e| matches!(e, Event::Down(1, _))) {
            detected = Some(t0.elapsed());
            break;
        }
    }
    let d = detected.expect("down not detected");
    println!(
        "tcp down detection (interval 200ms, fall 2): {} ms",
        d.as_millis()
    );
    assert!(
        d >= Duration::from_millis(200) && d < Duration::from_millis(700),
        "{d:?}"
    );
    assert_eq!(detail(&eng, 1), "connect refused");
}

/// HTTP server whose status and body are switchable.
fn http_server(status: Arc<AtomicU16>, body: &'static str) -> Server {
    tcp_server(move |mut s| {
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let code = status.load(Ordering::SeqCst);
        let resp = format!(
            "HTTP/1.0 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(resp.as_bytes());
    })
}

fn http_kind(status: Vec<StatusRange>, re: Option<&str>, digest: Option<String>) -> CheckKind {
    CheckKind::Http {
        method: "GET".into(),
        path: "/health".into(),
        host: None,
        status,
        body_regex: re.map(str::to_string),
        digest,
        tls: false,
    }
}

#[test]
fn http_status_body_digest() {
    const BODY: &str = "hello lvsd\n";
    let code = Arc::new(AtomicU16::new(200));
    let srv = http_server(code.clone(), BODY);
    let mut eng = HealthEngine::new().unwrap();
    let p = params(50, 1, 1);
    let t = |id, kind| target(id, srv.port, kind, p.clone());
    eng.add_target(t(1, CheckKind::http_get("/"))).unwrap();
    eng.add_target(t(2, CheckKind::Tcp)).unwrap();
    eng.add_target(t(3, http_kind(vec![], Some("l+vsd"), None)))
        .unwrap();
    eng.add_target(t(4, http_kind(vec![], Some("^nomatch"), None)))
        .unwrap();
    eng.add_target(t(
        5,
        http_kind(vec![], None, Some(md5_hex(BODY.as_bytes()))),
    ))
    .unwrap();
    eng.add_target(t(6, http_kind(vec![], None, Some(md5_hex(b"other")))))
        .unwrap();
    let r5xx = vec![StatusRange::new(500, 599)];
    eng.add_target(t(7, http_kind(r5xx, None, None))).unwrap();
    let evs = run_for(&mut eng, Duration::from_millis(300));
    let st: Vec<bool> = (1..=7).map(|i| up(&eng, i)).collect();
    assert_eq!(
        st,
        vec![true, true, true, false, true, false, false],
        "{evs:?}"
    );
    assert!(detail(&eng, 4).contains("regex"), "{}", detail(&eng, 4));
    assert!(detail(&eng, 6).contains("digest"), "{}", detail(&eng, 6));
    assert_eq!(detail(&eng, 7), "HTTP 200");
    code.store(500, Ordering::SeqCst);
    let evs = run_for(&mut eng, Duration::from_millis(300));
    assert!(evs.contains(&Event::Down(1, "HTTP 500".into())), "{evs:?}");
    assert!(!up(&eng, 1), "http checker must see the 500");
    assert!(up(&eng, 2), "tcp checker must not care");
    assert!(up(&eng, 7), "500 is in the 5xx range");
    code.store(200, Ordering::SeqCst);
    let evs = run_for(&mut eng, Duration::from_millis(300));
    assert!(evs.contains(&Event::Up(1)), "{evs:?}");
    assert!(evs.contains(&Event::Down(7, "HTTP 200".into())), "{evs:?}");
}

#[test]
fn send_expect() {
    let srv = tcp_server(|mut s| {
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let reply: &[u8] = if got == b"PING\t1\r\n" {
            b"+PONG\r\n"
        } else {
            b"-ERR\r\n"
        };
        let _ = s.write_all(reply);
    });
    let mut eng = HealthEngine::new().unwrap();
    let se = |send: &str, expect: &str| CheckKind::SendExpect {
        send: send.into(),
        expect: expect.into(),
    };
    let p = params(50, 1, 1);
    eng.add_target(target(
        1,
        srv.port,
        se(r"PING\t1\r\n", r"^\+PONG\r\n"),
        p.clone(),
    ))
    .unwrap();
    eng.add_target(target(2, srv.port, se(r"PING\t1\r\n", "^HTTP"), p.clone()))
        .unwrap();
    eng.add_target(target(3, srv.port, se("PING\\t1\n", r"^\+PONG"), p.clone()))
        .unwrap();
    eng.add_target(target(4, srv.port, se("", ""), p)).unwrap();
    // Past target 3's 300 ms read deadline (timers fire up to 1 ms late),
    // with room for a loaded machine.
    run_for(&mut eng, Duration::from_millis(500));
    assert!(up(&eng, 1), "{}", detail(&eng, 1));
    assert!(!up(&eng, 2));
    assert_eq!(detail(&eng, 2), "expect not matched");
    // Missing \r: server never answers; read deadline hits.
    assert!(!up(&eng, 3));
    assert!(
        detail(&eng, 3).starts_with("timeout after 300ms"),
        "{}",
        detail(&eng, 3)
    );
    assert!(up(&eng, 4), "empty send = connect only");
}

#[test]
fn udp_echo_and_unreachable() {
    let srv = udp_server(|d| Some(d.to_vec()));
    let silent = udp_server(|_| None);
    let closed = {
        let s = UdpSocket::bind((LO, 0)).unwrap();
        s.local_addr().unwrap().port()
    };
    let mut eng = HealthEngine::new().unwrap();
    let p = params(50, 1, 1);
    let udp = |payload: &[u8], expect: Option<&[u8]>| CheckKind::Udp {
        payload: payload.to_vec(),
        expect: expect.map(<[u8]>::to_vec),
    };
    eng.add_target(target(1, srv.port, udp(b"ping", Some(b"pi")), p.clone()))
        .unwrap();
    eng.add_target(target(2, srv.port, udp(b"ping", Some(b"pong")), p.clone()))
        .unwrap();
    eng.add_target(target(3, closed, udp(b"ping", None), p.clone()))
        .unwrap();
    eng.add_target(target(4, silent.port, udp(b"ping", None), p.clone()))
        .unwrap();
    eng.add_target(target(5, silent.port, udp(b"ping", Some(b"x")), p))
        .unwrap();
    run_for(&mut eng, Duration::from_millis(500));
    assert!(up(&eng, 1), "{}", detail(&eng, 1));
    assert!(!up(&eng, 2));
    assert!(!up(&eng, 3));
    assert_eq!(detail(&eng, 3), "port unreachable");
    assert!(up(&eng, 4), "no reply and no ICMP error = up");
    assert!(!up(&eng, 5));
    assert_eq!(detail(&eng, 5), "timeout after 300ms");
}

/// Minimal DNS responder: echoes the question, answers A 127.0.0.1 with
/// the given rcode.
fn dns_server(rcode: u8) -> Server {
    udp_server(move |q| {
        if q.len() < 17 {
            return None;
        }
        let mut r = q.to_vec();
        r[2] = 0x81; // QR + RD
        r[3] = 0x80 | (rcode & 0x0f); // RA + rcode
        if rcode == 0 {
            r[7] = 1; // ANCOUNT
            r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        }
        Some(r)
    })
}

#[test]
fn dns_check() {
    let good = dns_server(0);
    let nx = dns_server(3);
    let mut eng = HealthEngine::new().unwrap();
    let p = params(50, 1, 1);
    let dns = |t: &str, n: &str| CheckKind::Dns {
        qtype: t.into(),
        name: n.into(),
    };
    eng.add_target(target(1, good.port, dns("A", "www.example.com"), p.clone()))
        .unwrap();
    eng.add_target(target(2, good.port, dns("soa", "."), p.clone()))
        .unwrap();
    eng.add_target(target(3, nx.port, dns("A", "nx.example"), p))
        .unwrap();
    run_for(&mut eng, Duration::from_millis(300));
    assert!(up(&eng, 1), "{}", detail(&eng, 1));
    assert_eq!(detail(&eng, 1), "DNS NOERROR, 1 answers");
    assert!(up(&eng, 2), "{}", detail(&eng, 2));
    assert!(!up(&eng, 3));
    assert_eq!(detail(&eng, 3), "DNS rcode 3");
}

#[test]
fn update_keeps_state_and_remove_cancels() {
    let srv = accept_and_drop();
    let mut eng = HealthEngine::new().unwrap();
    let t = target(
        1,
        srv.port,
        CheckKind::Tcp,
        CheckParams {
            alpha: true,
            ..params(50, 1, 1)
        },
    );
    eng.add_target(t.clone()).unwrap();
    run_for(&mut eng, Duration::from_millis(150));
    let before = eng.target_status(1).unwrap();
    assert!(before.up && before.successes_in_row >= 1);
    // Same check, new timing: state kept, no event.
    let mut t2 = t.clone();
    t2.params.interval = Duration::from_millis(40);
    t2.params.rise = 3;
    eng.update_target(t2).unwrap();
    assert!(up(&eng, 1));
    assert!(eng.target_status(1).unwrap().successes_in_row >= before.successes_in_row);
    // Changed check (alpha ⇒ starts down): reported as Down.
    let mut t3 = t.clone();
    t3.kind = CheckKind::http_get("/");
    eng.update_target(t3).unwrap();
    let evs = eng.run_once(Duration::ZERO);
    assert_eq!(evs, vec![Event::Down(1, "check redefined".into())]);
    assert!(eng.remove_target(1));
    assert!(!eng.remove_target(1));
    assert!(eng.status().is_empty());
    assert!(run_for(&mut eng, Duration::from_millis(60)).is_empty());
    // Invalid definitions are rejected, not panicked on.
    let bad = target(
        2,
        1,
        CheckKind::SendExpect {
            send: "".into(),
            expect: "[".into(),
        },
        params(50, 1, 1),
    );
    assert!(eng.add_target(bad).is_err());
    // CheckKind::None: always up even with alpha.
    let none = target(
        3,
        1,
        CheckKind::None,
        CheckParams {
            alpha: true,
            ..params(50, 1, 1)
        },
    );
    eng.add_target(none).unwrap();
    assert!(up(&eng, 3));
}

#[test]
fn thousand_targets_one_thread() {
    let srv = accept_and_drop();
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        ..Default::default()
    };
    for id in 0..1000 {
        eng.add_target(target(id, srv.port, CheckKind::Tcp, p.clone()))
            .unwrap();
    }
    let t0 = Instant::now();
    let evs = run_for(&mut eng, Duration::from_secs(2));
    let secs = t0.elapsed().as_secs_f64();
    let st = eng.stats();
    let mean_late = st.total_start_lateness.as_secs_f64() * 1e3 / st.checks_started.max(1) as f64;
    println!(
        "1000 targets: {} checks completed in {secs:.2}s = {:.0} checks/s (ideal 5000); \
         start lateness mean {mean_late:.2} ms, max {} ms; timeouts {}",
        st.checks_completed,
        st.checks_completed as f64 / secs,
        st.max_start_lateness.as_millis(),
        st.timeouts,
    );
    assert!(
        evs.is_empty(),
        "no state change expected: {:?}",
        &evs[..evs.len().min(5)]
    );
    assert!(eng.status().iter().all(|s| s.up));
    // Checks ran and none failed: the rate and the lateness are reported above, not
    // asserted (a loaded machine would fail a bound; the rate is a benchmark's job).
    assert!(st.checks_completed >= 1000, "{st:?}");
}

#[test]
fn bind_addr_bind_port_and_connect_port() {
    let peers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let p2 = peers.clone();
    let srv = tcp_server(move |mut s| {
        if let (Ok(a), Ok(mut v)) = (s.peer_addr(), p2.lock()) {
            v.push(a);
        }
        let _ = s.write_all(b"OK\r\n");
    });
    let src_port = closed_port();
    let mut eng = HealthEngine::new().unwrap();
    let p = CheckParams {
        alpha: true,
        bind_addr: Some(LO),
        bind_port: Some(src_port),
        connect_port: Some(srv.port),
        ..params(50, 2, 1)
    };
    // The real's own port is closed; the check goes to connect_port.
    let kind = CheckKind::SendExpect {
        send: String::new(),
        expect: "^OK".into(),
    };
    eng.add_target(target(1, closed_port(), kind, p)).unwrap();
    let evs = run_for(&mut eng, Duration::from_millis(300));
    assert_eq!(evs, vec![Event::Up(1)], "{:?}", eng.status());
    drop(srv);
    let v = peers.lock().unwrap();
    assert!(v.len() >= 2, "{v:?} {src_port}");
    assert!(
        v.iter().all(|a| a.port() == src_port && a.ip() == LO),
        "{v:?}"
    );
}
