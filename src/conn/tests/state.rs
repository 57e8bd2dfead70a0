//! State machine tests: the tables against the reference text, hand-checked
//! transitions, NAT and DR sequences, timeouts, UDP refresh, secure_tcp.

use crate::conn::state::{is_plain_ack, tcp_table_next};
use crate::conn::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use crate::conn::*;
use std::net::Ipv4Addr;

const S: u64 = 1000; // ms per second

/// IPVS's TCP state table (`tcp_states` in `ip_vs_proto_tcp.c`), written
/// out as rows of next states.
const REFERENCE: &str = "
INPUT       syn: SR ES ES SR SR SR SR SR SR SR SR
            fin: CL CW SS TW TW TW CL CW LA LI TW
            ack: ES ES SS ES FW TW CL CW CL LI ES
            rst: CL CL CL SR CL CL CL CL LA LI SR
OUTPUT      syn: SS ES SS SR SS SS SS SS SS LI SR
            fin: TW FW SS TW FW TW CL TW LA LI TW
            ack: ES ES SS ES FW TW CL CW LA ES ES
            rst: CL CL SS CL CL TW CL CL CL CL CL
INPUT_ONLY  syn: SR ES ES SR SR SR SR SR SR SR SR
            fin: CL FW SS TW FW TW CL CW LA LI TW
            ack: ES ES SS ES FW TW CL CW CL LI ES
            rst: CL CL CL SR CL CL CL CL LA LI CL
";

fn abbrev(s: &str) -> TcpState {
    let i = [
        "NO", "ES", "SS", "SR", "FW", "TW", "CL", "CW", "LA", "LI", "SA",
    ]
    .iter()
    .position(|&a| a == s)
    .unwrap();
    TcpState::ALL[i]
}

fn parse_reference() -> TcpTable {
    let mut t = [[[TcpState::None; TCP_STATE_COUNT]; 4]; 3];
    let mut dir = 0;
    for line in REFERENCE.lines().filter(|l| !l.trim().is_empty()) {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "INPUT" => (dir, words) = (0, words[1..].to_vec()),
            "OUTPUT" => (dir, words) = (1, words[1..].to_vec()),
            "INPUT_ONLY" => (dir, words) = (2, words[1..].to_vec()),
            _ => {}
        }
        let ev = ["syn:", "fin:", "ack:", "rst:"]
            .iter()
            .position(|&e| e == words[0])
            .unwrap();
        assert_eq!(words.len(), 12);
        for (st, w) in words[1..].iter().enumerate() {
            t[dir][ev][st] = abbrev(w);
        }
    }
    t
}

#[test]
fn tables_match_reference() {
    assert_eq!(parse_reference(), TCP_STATES);
    // secure_tcp = normal table with exactly the differences listed in §4.
    let mut dos = TCP_STATES;
    use TcpState::*;
    let (i, o, io) = (0, 1, 2);
    let (syn, fin, ack, rst) = (0, 1, 2, 3);
    dos[i][syn][SynAck as usize] = SynAck;
    dos[i][fin][SynAck as usize] = SynAck;
    dos[i][ack][SynRecv as usize] = SynRecv;
    dos[i][ack][SynAck as usize] = SynAck;
    dos[i][rst][SynAck as usize] = Close;
    dos[o][syn][SynRecv as usize] = SynAck;
    dos[o][syn][SynAck as usize] = SynAck;
    for s in [
        None, FinWait, TimeWait, Close, CloseWait, LastAck, Listen, SynAck,
    ] {
        dos[io][syn][s as usize] = SynAck;
    }
    assert_eq!(dos, TCP_STATES_DOS);
}

#[test]
fn event_priority_and_names() {
    assert_eq!(tcp_event(RST | SYN | FIN | ACK), Some(TcpEvent::Rst));
    assert_eq!(tcp_event(SYN | FIN | ACK), Some(TcpEvent::Syn));
    assert_eq!(tcp_event(FIN | ACK), Some(TcpEvent::Fin));
    assert_eq!(tcp_event(ACK | PSH), Some(TcpEvent::Ack));
    assert_eq!(tcp_event(PSH), None);
    assert_eq!(tcp_event(0), None);
    let names: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names.join(" "),
        "NONE ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN SYNACK"
    );
    assert_eq!(state_name(0, IPPROTO_UDP, 0), "UDP");
    assert_eq!(state_name(F_TEMPLATE, IPPROTO_TCP, 0), "TPL.NONE");
    assert_eq!(state_name(F_TEMPLATE, IPPROTO_TCP, 1), "TPL.ASSURED");
    assert_eq!(state_name(0, IPPROTO_TCP, 11), "ERR!");
    assert_eq!(state_name(0, IPPROTO_IP, 0), "NONE");
}

#[test]
fn hand_checked_transitions() {
    use Dir::*;
    use TcpState::*;
    let cases = [
        (Input, SYN, None, SynRecv),
        (Input, ACK, SynRecv, Established),
        (Input, FIN | ACK, Established, CloseWait),
        (InputOnly, FIN | ACK, Established, FinWait),
        (Output, FIN | ACK, Established, FinWait),
        (Output, SYN | ACK, SynRecv, SynRecv),
        (Output, SYN, None, SynSent),
        (Output, ACK, Listen, Established),
        (Input, RST, SynAck, SynRecv),
        (InputOnly, RST, SynAck, Close),
        (Output, RST, TimeWait, TimeWait),
        (Input, ACK, LastAck, Close),
        (Output, ACK, LastAck, LastAck),
        (Input, SYN, TimeWait, SynRecv),
        (Input, PSH, Established, Close), // no event ⇒ CLOSE
    ];
    for (d, f, from, to) in cases {
        assert_eq!(tcp_next(false, d, f, from), to, "{d:?} {f:#x} {from:?}");
    }
    assert!(Established.is_active() && SynSent.is_active() && SynRecv.is_active());
    assert!(SynAck.is_active() && !FinWait.is_active() && !None.is_active());
}

fn table() -> ConnTable {
    ConnTable::with_seed(64, Timeouts::default(), 7).unwrap()
}

fn new_conn(proto: u8, fwd: FwdFlag, cport: u16) -> NewConn {
    NewConn {
        key: ConnKey::new(
            proto,
            Ipv4Addr::new(198, 51, 100, 7),
            cport,
            Ipv4Addr::new(192, 0, 2, 10),
            80,
        ),
        svc: 1,
        real: 2,
        fwd,
        raddr: Ipv4Addr::new(10, 0, 0, 11),
        rport: 8080,
        flags: 0,
    }
}

/// Feed a sequence; check state name, activity and the re-armed timer.
fn run(t: &mut ConnTable, id: ConnId, steps: &[(Dir, u8, TcpState)], mut now: u64) {
    for &(d, f, want) in steps {
        now += 100;
        let ch = t.transition(id, d, f, now).unwrap();
        assert_eq!(
            ch.new,
            want as u8,
            "{d:?} {f:#x}: got {}",
            state_name(0, 6, ch.new)
        );
        assert_eq!(ch.is_active, want.is_active());
        let c = t.get(id).unwrap();
        assert_eq!(c.state_name(), want.name());
        assert_eq!(c.remaining_ms(now), t.tcp_timeout(want) as u64 * S);
    }
}

#[test]
fn nat_handshake_and_teardowns() {
    use Dir::*;
    use TcpState::*;
    let mut t = table();
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 1000), 0, |_| {})
        .unwrap();
    let c = *t.get(id).unwrap();
    assert_eq!((c.state_name(), c.is_active()), ("NONE", false));
    assert_eq!(c.flags() & (F_NOOUTPUT | F_INACTIVE), F_INACTIVE);
    assert_eq!(c.remaining_ms(0), 3 * S);
    // First transition right after insert: inactive → active.
    let ch = t.transition(id, Input, SYN, 0).unwrap();
    assert!(!ch.was_active && ch.is_active && ch.activity_changed());
    run(
        &mut t,
        id,
        &[
            (Output, SYN | ACK, SynRecv),
            (Input, ACK, Established),
            (Input, ACK | PSH, Established),
            (Output, ACK, Established),
            (Input, FIN | ACK, CloseWait), // client closes
            (Output, ACK, CloseWait),
            (Output, FIN | ACK, TimeWait),
            (Input, ACK, TimeWait),
        ],
        0,
    );
    assert!(!t.get(id).unwrap().is_active());
    // Server closes first.
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 1001), 0, |_| {})
        .unwrap();
    run(
        &mut t,
        id,
        &[
            (Input, SYN, SynRecv),
            (Output, SYN | ACK, SynRecv),
            (Input, ACK, Established),
            (Output, FIN | ACK, FinWait),
            (Input, ACK, FinWait),
            (Input, FIN | ACK, TimeWait),
            (Output, ACK, TimeWait),
        ],
        0,
    );
    // Reset.
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 1002), 0, |_| {})
        .unwrap();
    run(
        &mut t,
        id,
        &[
            (Input, SYN, SynRecv),
            (Output, RST | ACK, Close),
            (Input, SYN, SynRecv),
        ],
        0,
    );
}

#[test]
fn dr_input_only_sequences() {
    use Dir::*;
    use TcpState::*;
    let mut t = table();
    for fwd in [FwdFlag::DROUTE, FwdFlag::TUNNEL] {
        let id = t
            .insert(&new_conn(IPPROTO_TCP, fwd, 2000 + fwd.bits()), 0, |_| {})
            .unwrap();
        assert_ne!(t.get(id).unwrap().flags() & F_NOOUTPUT, 0);
        run(
            &mut t,
            id,
            &[
                (Input, SYN, SynRecv),
                (Input, ACK, Established),
                (Input, ACK | PSH, Established),
                (Input, FIN | ACK, FinWait), // INPUT_ONLY: ES -fin-> FW (INPUT would give CW)
                (Input, ACK, FinWait),
                (Input, RST, Close),
            ],
            0,
        );
        assert_ne!(t.get(id).unwrap().flags() & F_NOOUTPUT, 0);
    }
    // A reply seen on a NOOUTPUT conn clears the flag and uses OUTPUT.
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::TUNNEL, 3000), 0, |_| {})
        .unwrap();
    run(
        &mut t,
        id,
        &[(Input, SYN, SynRecv), (Output, SYN | ACK, SynRecv)],
        0,
    );
    assert_eq!(t.get(id).unwrap().flags() & F_NOOUTPUT, 0);
    run(
        &mut t,
        id,
        &[(Input, ACK, Established), (Input, FIN, CloseWait)],
        0,
    );
}

/// Every (direction, event, state) cell through the table API.
#[test]
fn exhaustive_cells_with_timeouts_and_activity() {
    let mut t = table();
    let nat = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 1), 0, |_| {})
        .unwrap();
    let dr = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::DROUTE, 2), 0, |_| {})
        .unwrap();
    let evs = [(0, SYN), (1, FIN), (2, ACK), (3, RST)];
    for (dir, id) in [(Dir::Input, nat), (Dir::Output, nat), (Dir::Input, dr)] {
        let tdir = if id == dr { 2 } else { dir as usize };
        for (ev, flag) in evs {
            for st in TcpState::ALL {
                for inactive in [false, true] {
                    let c = t.slab.get_mut(id.0).unwrap();
                    c.state = st as u8;
                    c.flags = (c.flags & !F_INACTIVE) | if inactive { F_INACTIVE } else { 0 };
                    let now = 5_000 * S;
                    let ch = t.transition(id, dir, flag, now).unwrap();
                    let want = TCP_STATES[tdir][ev][st as usize];
                    assert_eq!(ch.new, want as u8);
                    assert_eq!(ch.old, st as u8);
                    assert_eq!(ch.was_active, !inactive);
                    let act = if want != st {
                        want.is_active()
                    } else {
                        !inactive
                    };
                    assert_eq!(ch.is_active, act);
                    let c = t.get(id).unwrap();
                    assert_eq!(
                        c.remaining_ms(now),
                        TCP_DEFAULT_TIMEOUTS[want as usize] as u64 * S
                    );
                }
            }
        }
    }
}

#[test]
fn timeouts_and_set_timeouts() {
    let mut t = table();
    assert_eq!(t.timeouts(), Timeouts::from_secs(900, 120, 300));
    let want = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];
    for s in TcpState::ALL {
        assert_eq!(t.tcp_timeout(s), want[s as usize]);
    }
    t.set_timeouts(Timeouts::from_secs(3600, 0, 10));
    assert_eq!(t.timeouts(), Timeouts::from_secs(3600, 120, 10));
    t.set_timeouts(Timeouts::from_secs(u32::MAX, 30, 0));
    assert_eq!(t.timeouts(), Timeouts::from_secs(MAX_TIMEOUT_S, 30, 10));
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 9), 0, |_| {})
        .unwrap();
    t.transition(id, Dir::Input, SYN, 0);
    t.transition(id, Dir::Input, ACK, 0);
    assert_eq!(t.get(id).unwrap().remaining_ms(0), MAX_TIMEOUT_S as u64 * S);
    t.transition(id, Dir::Output, FIN, 0);
    assert_eq!(t.get(id).unwrap().remaining_ms(0), 30 * S);
    // CLOSE is fixed.
    t.transition(id, Dir::Output, RST, 0);
    assert_eq!(t.get(id).unwrap().remaining_ms(0), 10 * S);
}

#[test]
fn udp_single_state_refresh_both_directions() {
    let mut t = table();
    let id = t
        .insert(&new_conn(IPPROTO_UDP, FwdFlag::MASQ, 53), 0, |_| {})
        .unwrap();
    let key = t.get(id).unwrap().key();
    let rkey = t.get(id).unwrap().reply_key();
    assert_eq!(t.get(id).unwrap().remaining_ms(0), 3 * S);
    let ch = t.transition(id, Dir::Input, SYN | FIN, 0).unwrap();
    assert_eq!(
        ch,
        StateChange {
            old: 0,
            new: 0,
            was_active: false,
            is_active: false
        }
    );
    assert_eq!(t.get(id).unwrap().state_name(), "UDP");
    assert_eq!(t.get(id).unwrap().remaining_ms(0), 300 * S);
    t.transition(id, Dir::Output, 0, 200 * S).unwrap();
    assert_eq!(t.lookup(&key, 499 * S + 990), Some(id));
    assert_eq!(t.lookup_reply(&rkey, 499 * S), Some(id));
    assert_eq!(t.lookup(&key, 500 * S), None);
    assert_eq!(t.lookup_reply(&rkey, 500 * S), None);
    t.set_timeouts(Timeouts::from_secs(0, 0, 20));
    t.transition(id, Dir::Input, 0, 499 * S).unwrap();
    assert_eq!(t.get(id).unwrap().remaining_ms(499 * S), 20 * S);
}

#[test]
fn one_packet_udp_expires_at_once_tcp_ignores_flag() {
    let mut t = table();
    let mut n = new_conn(IPPROTO_UDP, FwdFlag::DROUTE, 5);
    n.flags = F_ONE_PACKET;
    let id = t.insert(&n, 0, |_| {}).unwrap();
    assert_ne!(t.get(id).unwrap().flags() & F_ONE_PACKET, 0);
    assert_eq!(t.lookup(&n.key, 0), Some(id));
    t.transition(id, Dir::Input, 0, 0);
    assert_eq!(t.lookup(&n.key, 0), None);
    let mut removed = 0;
    assert!(t.expire_now(id, 0, |_| removed += 1));
    assert_eq!(removed, 1);
    let mut n = new_conn(IPPROTO_TCP, FwdFlag::DROUTE, 5);
    n.flags = F_ONE_PACKET | F_SYNC;
    let id = t.insert(&n, 0, |_| {}).unwrap();
    assert_eq!(t.get(id).unwrap().flags() & (F_ONE_PACKET | F_SYNC), F_SYNC);
}

#[test]
fn secure_tcp_delays_established() {
    use Dir::*;
    use TcpState::*;
    let mut t = table();
    t.set_secure_tcp(true);
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::MASQ, 7), 0, |_| {})
        .unwrap();
    run(
        &mut t,
        id,
        &[
            (Input, SYN, SynRecv),
            (Output, SYN | ACK, SynAck),
            (Input, ACK, SynAck),
            (Output, ACK, Established),
        ],
        0,
    );
    let id = t
        .insert(&new_conn(IPPROTO_TCP, FwdFlag::DROUTE, 8), 0, |_| {})
        .unwrap();
    run(
        &mut t,
        id,
        &[(Input, SYN, SynAck), (Input, ACK, Established)],
        0,
    );
}

#[test]
fn established_or_reply_assures_template() {
    let mut t = table();
    let n = new_conn(IPPROTO_TCP, FwdFlag::MASQ, 11);
    let tk = template_key(
        6,
        n.key.caddr,
        Ipv4Addr::new(255, 255, 255, 0),
        n.key.vaddr,
        80,
        80,
        0,
    );
    let tpl = t
        .insert_template(&NewConn { key: tk, ..n }, 360, 0, |_| {})
        .unwrap();
    let id = t.insert(&n, 0, |_| {}).unwrap();
    assert!(t.link_template(id, tpl));
    assert_eq!(t.get(tpl).unwrap().state_name(), "TPL.NONE");
    assert_eq!(t.transition(tpl, Dir::Input, SYN, 0), None);
    t.transition(id, Dir::Input, SYN, 0);
    assert_eq!(t.get(tpl).unwrap().state(), 0);
    t.transition(id, Dir::Input, ACK, 0);
    assert_eq!(t.get(tpl).unwrap().state_name(), "TPL.ASSURED");
    // UDP: a reply assures.
    let u = new_conn(IPPROTO_UDP, FwdFlag::MASQ, 12);
    let utk = template_key(17, u.key.caddr, Ipv4Addr::BROADCAST, u.key.vaddr, 80, 80, 0);
    let utpl = t
        .insert_template(&NewConn { key: utk, ..u }, 360, 0, |_| {})
        .unwrap();
    let uid = t.insert(&u, 0, |_| {}).unwrap();
    t.link_template(uid, utpl);
    t.transition(uid, Dir::Input, 0, 0);
    assert_eq!(t.get(utpl).unwrap().state(), 0);
    t.transition(uid, Dir::Output, 0, 0);
    assert_eq!(t.get(utpl).unwrap().state(), CTPL_S_ASSURED);
}

/// `tcp_next`'s shortcut: every segment `is_plain_ack` accepts keeps
/// ESTABLISHED, in each direction and in both tables, and the flags it
/// refuses include every one that would not.
#[test]
fn plain_ack_keeps_established_everywhere() {
    let mut plain = 0;
    for flags in 0..=255u8 {
        for dir in [Dir::Input, Dir::Output, Dir::InputOnly] {
            for secure in [false, true] {
                let next = tcp_table_next(secure, dir, flags, TcpState::Established);
                if is_plain_ack(flags) {
                    assert_eq!(next, TcpState::Established, "{flags:#x} {dir:?} {secure}");
                }
            }
        }
        plain += usize::from(is_plain_ack(flags));
    }
    assert_eq!(plain, 16, "ACK with any of PSH/URG/ECE/CWR");
    assert!(!is_plain_ack(PSH) && !is_plain_ack(ACK | FIN) && !is_plain_ack(ACK | RST));
    assert!(!is_plain_ack(ACK | SYN) && is_plain_ack(ACK | PSH));
}
