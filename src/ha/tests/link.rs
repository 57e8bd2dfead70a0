//! PeerLink tests on 127.0.0.1: connect, heartbeats, 10,000 sync records,
//! wrong key refused, drop and reconnect. Every loop is bounded in time.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::ha::link::{Event, LinkConfig, PeerLink, SendError};
use crate::ha::msg::{chunk_records, Msg, SyncRecord};
use crate::ha::role::Role;
use crate::ha::wire::{AuthKey, AuthKind, Session};

const KEY: &[u8] = b"lvsd ha test key 0123456789abcdef";
const LIMIT: Duration = Duration::from_secs(5);

fn bind0() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn link(l: TcpListener, peer: SocketAddr, key: &[u8], node: &str, prio: u8) -> PeerLink {
    PeerLink::from_listener(l, peer, key.to_vec(), node, prio, LinkConfig::default()).unwrap()
}

/// Polls every link (1 ms apart) until `done` or `limit`; returns whether
/// `done` became true.
fn run_until(
    links: &mut [&mut PeerLink],
    evs: &mut [Vec<Event>],
    limit: Duration,
    mut done: impl FnMut(&[&mut PeerLink], &[Vec<Event>]) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        for (l, e) in links.iter_mut().zip(evs.iter_mut()) {
            e.extend(l.poll(Instant::now()));
        }
        if done(links, evs) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

fn connected_pair() -> (PeerLink, PeerLink, SocketAddr, SocketAddr) {
    let (la, aa) = bind0();
    let (lb, ab) = bind0();
    let mut a = link(la, ab, KEY, "a", 200);
    let mut b = link(lb, aa, KEY, "b", 100);
    let mut evs = vec![Vec::new(), Vec::new()];
    let ok = run_until(&mut [&mut a, &mut b], &mut evs, LIMIT, |l, _| {
        l[0].is_connected() && l[1].is_connected() && same_session(l[0], l[1])
    });
    assert!(ok, "no session: {evs:?}");
    (a, b, aa, ab)
}

fn same_session(a: &PeerLink, b: &PeerLink) -> bool {
    match (a.session_addrs(), b.session_addrs()) {
        (Some((al, ar)), Some((bl, br))) => al == br && ar == bl,
        _ => false,
    }
}

fn heartbeat(node: &str, prio: u8, seq: u64) -> Msg {
    Msg::Heartbeat {
        node: node.into(),
        priority: prio,
        state: Role::Active,
        advert_seq: seq,
    }
}

fn messages(evs: &[Event]) -> Vec<&Msg> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn rec(i: u32) -> SyncRecord {
    SyncRecord {
        op: 1,
        proto: 6,
        flags: 0x20,
        state: 1,
        caddr: Ipv4Addr::from(0x0a00_0000 | i),
        cport: (i % 60000) as u16 + 1024,
        vaddr: Ipv4Addr::new(198, 18, 0, 1),
        vport: 443,
        raddr: Ipv4Addr::new(10, 0, 0, (i % 200) as u8 + 1),
        rport: 443,
        timeout_ms: 900_000,
        fwd: 3,
        template: false,
    }
}

#[test]
fn pair_connects_and_exchanges_heartbeats_and_10k_records() {
    let (mut a, mut b, _, _) = connected_pair();
    assert_eq!(a.peer(), Some(("b", 100)));
    assert_eq!(b.peer(), Some(("a", 200)));

    for i in 1..=5 {
        a.send(heartbeat("a", 200, i)).unwrap();
        b.send(heartbeat("b", 100, i)).unwrap();
    }
    let mut evs = vec![Vec::new(), Vec::new()];
    let ok = run_until(&mut [&mut a, &mut b], &mut evs, LIMIT, |_, e| {
        messages(&e[0]).len() >= 5 && messages(&e[1]).len() >= 5
    });
    assert!(ok, "heartbeats not delivered: {evs:?}");
    assert_eq!(messages(&evs[1])[4], &heartbeat("a", 200, 5));
    assert_eq!(messages(&evs[0])[0], &heartbeat("b", 100, 1));

    // Bulk transfer of 10,000 records, 100 per message, in order.
    let records: Vec<SyncRecord> = (0..10_000).map(rec).collect();
    let mut out = vec![Msg::BulkStart { generation: 1 }];
    out.extend(chunk_records(&records, 100));
    out.push(Msg::BulkEnd {
        generation: 1,
        count: records.len() as u64,
    });
    let mut got: Vec<SyncRecord> = Vec::new();
    let mut done = false;
    let mut next = 0;
    let end = Instant::now() + LIMIT;
    while !done && Instant::now() < end {
        while next < out.len() {
            match a.send(out[next].clone()) {
                Ok(()) => next += 1,
                Err(SendError::Full) => break,
                Err(e) => panic!("send failed: {e}"),
            }
        }
        a.poll(Instant::now());
        for ev in b.poll(Instant::now()) {
            match ev {
                Event::Message(Msg::SyncRecords(r)) => got.extend(r),
                Event::Message(Msg::BulkEnd { count, .. }) => {
                    assert_eq!(count, 10_000);
                    done = true;
                }
                Event::Message(_) => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    assert!(done, "bulk transfer incomplete: {} records", got.len());
    assert_eq!(got, records);
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.sent, 5 + out.len() as u64);
    assert_eq!(sb.received, 5 + out.len() as u64);
    assert_eq!(sa.auth.total() + sb.auth.total(), 0);
    // Simultaneous dials may make one side switch sessions once at startup.
    assert!(sa.connects >= 1 && sb.connects >= 1);
}

#[test]
fn send_queue_is_bounded() {
    let (la, aa) = bind0();
    let (lb, ab) = bind0();
    let cfg = LinkConfig {
        max_queue_bytes: 64 * 1024,
        ..LinkConfig::default()
    };
    let mut a = PeerLink::from_listener(la, ab, KEY.to_vec(), "a", 1, cfg).unwrap();
    let mut b = link(lb, aa, KEY, "b", 1);
    assert_eq!(a.send(Msg::BulkRequest), Err(SendError::NotConnected));
    let mut evs = vec![Vec::new(), Vec::new()];
    assert!(run_until(&mut [&mut a, &mut b], &mut evs, LIMIT, |l, _| {
        l[0].is_connected() && l[1].is_connected() && same_session(l[0], l[1])
    }));
    // b is not polled: its socket buffer fills, then a's queue does.
    let big = chunk_records(&(0..1000).map(rec).collect::<Vec<_>>(), 1000).remove(0);
    let mut full = 0;
    for _ in 0..1000 {
        if a.send(big.clone()) == Err(SendError::Full) {
            full += 1;
            break;
        }
    }
    assert_eq!(full, 1, "queue never filled");
    assert_eq!(a.stats().dropped, 1);
    assert!(a.stats().queued_bytes <= 64 * 1024 + 1024 * 1024);
    let hello = Msg::Hello {
        node: "a".into(),
        priority: 1,
        nonce: [1; 16],
    };
    assert_eq!(a.send(hello), Err(SendError::Invalid));
}

#[test]
fn wrong_key_is_refused_and_nothing_delivered() {
    let (mut a, mut b, aa, _) = connected_pair();
    let (lc, _) = bind0();
    let mut c = link(lc, aa, b"the wrong key", "c", 250);

    // A raw intruder also sends a Hello and messages under the wrong key.
    let evil = AuthKey::new(b"the wrong key").unwrap();
    let mut s = Session::new(evil.clone(), [3; 16]);
    let mut raw = TcpStream::connect(aa).unwrap();
    raw.write_all(&s.seal_hello("b", 255).unwrap()).unwrap();
    let peer = Session::new(evil, [4; 16]).seal_hello("x", 1).unwrap();
    s.open(&peer).unwrap();
    raw.write_all(&s.seal_ping().unwrap()).unwrap();
    raw.write_all(&s.seal(&heartbeat("b", 255, 1)).unwrap())
        .unwrap();

    let mut evs = vec![Vec::new(), Vec::new(), Vec::new()];
    let ok = run_until(&mut [&mut a, &mut b, &mut c], &mut evs, LIMIT, |l, _| {
        l[0].stats().auth.bad_mac >= 3
    });
    assert!(ok, "wrong key not refused: {:?} {evs:?}", a.stats());
    assert!(evs[0].contains(&Event::AuthFailure(AuthKind::BadMac)));
    assert!(!c.is_connected());
    assert_eq!(c.send(heartbeat("c", 250, 1)), Err(SendError::NotConnected));
    assert!(c.stats().auth.bad_mac >= 1, "c refuses a's hello too");
    // Nothing from c or the intruder reached a, and the real session survived.
    assert!(messages(&evs[0]).is_empty(), "{evs:?}");
    assert!(!evs[0].contains(&Event::Disconnected));
    assert!(a.is_connected() && b.is_connected() && same_session(&a, &b));
    assert_eq!(a.peer(), Some(("b", 100)));
    assert_eq!(a.stats().received, 0);
}

#[test]
fn garbage_and_self_connection_are_refused() {
    let (la, aa) = bind0();
    // Peer address = our own listener: we meet our own name.
    let mut a = link(la, aa, KEY, "a", 1);
    let mut raw = TcpStream::connect(aa).unwrap();
    raw.write_all(&[0xff; 64]).unwrap();
    let mut evs = vec![Vec::new()];
    let ok = run_until(&mut [&mut a], &mut evs, LIMIT, |l, _| {
        l[0].stats().auth.malformed >= 2
    });
    assert!(ok, "{:?} {evs:?}", a.stats());
    assert!(!a.is_connected());
    assert!(messages(&evs[0]).is_empty());
}

#[test]
fn drop_yields_disconnected_then_reconnects() {
    let (mut a, b, _, ab) = connected_pair();
    drop(b);
    let mut evs = vec![Vec::new()];
    let ok = run_until(&mut [&mut a], &mut evs, LIMIT, |_, e| {
        e[0].contains(&Event::Disconnected)
    });
    assert!(ok, "no Disconnected: {evs:?}");
    assert!(!a.is_connected());
    assert_eq!(a.send(Msg::BulkRequest), Err(SendError::NotConnected));

    // Peer is down for a while: a keeps dialling (and failing) with backoff.
    let mut evs = vec![Vec::new()];
    run_until(
        &mut [&mut a],
        &mut evs,
        Duration::from_millis(400),
        |_, _| false,
    );
    assert!(a.stats().dial_failures >= 1);

    // The peer comes back on the same address.
    let lb = TcpListener::bind(ab).unwrap();
    let aa = a.local_addr().unwrap();
    let mut b = link(lb, aa, KEY, "b", 100);
    let mut evs = vec![Vec::new(), Vec::new()];
    let ok = run_until(&mut [&mut a, &mut b], &mut evs, LIMIT, |l, _| {
        l[0].is_connected() && l[1].is_connected() && same_session(l[0], l[1])
    });
    assert!(ok, "no reconnect: {evs:?}");
    assert!(evs[0].contains(&Event::Connected));
    b.send(heartbeat("b", 100, 9)).unwrap();
    let mut evs = vec![Vec::new(), Vec::new()];
    assert!(run_until(&mut [&mut a, &mut b], &mut evs, LIMIT, |_, e| {
        !messages(&e[0]).is_empty()
    }));
    assert_eq!(messages(&evs[0])[0], &heartbeat("b", 100, 9));
}

/// A log sink for one test thread (see `tracing::subscriber::with_default`).
#[derive(Clone, Default)]
struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A connection to `to` from the loopback address `from`.
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.bind(&SocketAddr::from((from, 0)).into())?;
    s.connect(&to.into())?;
    Ok(s.into())
}

#[test]
fn hostile_pre_auth_clients_do_not_delay_the_session() {
    let sink = LogSink::default();
    let w = sink.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(sub, || hostile_pre_auth(&sink));
}

fn hostile_pre_auth(sink: &LogSink) {
    let (la, aa) = bind0();
    let (lb, ab) = bind0();
    // A's own dial goes nowhere (same IP, closed port): the session can only
    // form through A's listener, past the hostile clients.
    let (dead, nowhere) = bind0();
    drop(dead);
    let mut a = link(la, nowhere, KEY, "a", 200);
    // Each trickler sends a plausible Hello, one byte per 100 ms: a length
    // prefix of 120, then filler.
    let mut tricklers: Vec<(TcpStream, usize)> = (0..8)
        .map(|_| (TcpStream::connect(aa).unwrap(), 0))
        .collect();
    let hello_ish = |k: usize| if k < 4 { [0, 0, 0, 120][k] } else { 0x55 };
    // A length prefix announcing 1 MiB, then the megabyte, before any Hello.
    let mut big = TcpStream::connect(aa).unwrap();
    let writer = std::thread::spawn(move || {
        let mut f = (crate::ha::wire::MAX_BODY as u32).to_be_bytes().to_vec();
        f.resize(4 + crate::ha::wire::MAX_BODY, 0x55);
        let _ = big.write_all(&f);
    });
    // Strangers (another loopback address): refused at once, logged once.
    let strangers: Vec<_> = (0..20)
        .filter_map(|_| connect_from(Ipv4Addr::new(127, 0, 0, 2), aa).ok())
        .collect();
    let mut last_trickle = Instant::now();
    let mut trickle = |t: &mut Vec<(TcpStream, usize)>| {
        if last_trickle.elapsed() >= Duration::from_millis(100) {
            last_trickle = Instant::now();
            // A closed trickler comes straight back: the slots stay full.
            for (s, k) in t.iter_mut() {
                if s.write(&[hello_ish(*k)]).is_ok() {
                    *k += 1;
                } else if let Ok(n) = TcpStream::connect(aa) {
                    *s = n;
                    *k = 0;
                }
            }
        }
    };
    // Longer than the handshake timeout: the first tricklers have timed out
    // and come back, so the slots hold fresh ones when B dials.
    let warm = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < warm {
        a.poll(Instant::now());
        trickle(&mut tricklers);
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut b = link(lb, aa, KEY, "b", 100);
    let t0 = Instant::now();
    while !(a.is_connected() && b.is_connected()) && t0.elapsed() < LIMIT {
        a.poll(Instant::now());
        b.poll(Instant::now());
        trickle(&mut tricklers);
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = t0.elapsed();
    assert!(
        a.is_connected() && b.is_connected(),
        "no session: {:?}",
        a.stats()
    );
    // The bar is 1 s; a loopback handshake takes milliseconds, so half of
    // it leaves room for a loaded machine yet fails if B has to wait for a
    // trickler's handshake timeout.
    assert!(
        took <= Duration::from_millis(500),
        "session after {took:?}: {:?}",
        a.stats()
    );
    let _ = ab;
    let st = a.stats();
    assert!(st.pre_auth_read_max <= 256, "{st:?}");
    assert_eq!(st.refused_addr, strangers.len() as u64, "{st:?}");
    assert!(st.auth.malformed >= 1, "the 1 MiB frame is refused: {st:?}");
    drop(strangers);
    drop(tricklers);
    let _ = writer.join();
    let log = String::from_utf8_lossy(&sink.0.lock().unwrap()).to_string();
    let lines = log.lines().filter(|l| l.contains("ha link:")).count();
    assert!(lines <= 6, "{lines} log lines:\n{log}");
}
