//! IPVS TCP/UDP state machines and timeouts (ip_vs_proto_tcp.c / udp.c).
//!
//! Invariants:
//! * [`TCP_STATES`] / [`TCP_STATES_DOS`] are the kernel's `tcp_states` /
//!   `tcp_states_dos` tables, same row order (`[direction][event][state]`)
//!   and column order (`sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA`).
//! * Event of a segment: RST > SYN > FIN > ACK (`tcp_state_idx`); a segment
//!   with none of these flags has no event and, exactly as `set_tcp_state`
//!   does (`new_state = IP_VS_TCP_S_CLOSE` before the `goto`), moves the
//!   connection to CLOSE (the kernel's behaviour, which lvsd follows, rather
//!   than "no transition").
//! * TCP active states are ES, SS, SR, SA (`tcp_state_active_table`);
//!   UDP (and every non-TCP protocol here) is always inactive.
//! * Timeouts are whole seconds; ESTABLISHED, FIN_WAIT and UDP come from
//!   [`Timeouts`] (ipvsadm `--set tcp tcpfin udp`), the others are fixed.
//! * SCTP has no state machine yet: non-TCP protocols use the single UDP
//!   state and the UDP timeout.

use super::key::{IPPROTO_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use super::slab::{CTPL_S_ASSURED, F_TEMPLATE};
pub use crate::types::Timeouts;

/// Packet direction as seen by the state machine (`IP_VS_DIR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client → real (through the director).
    Input = 0,
    /// Real → client (NAT replies only).
    Output = 1,
    /// Input on a connection whose replies bypass us (NOOUTPUT: DR/TUN).
    /// Callers normally pass `Input`; the table switches automatically.
    InputOnly = 2,
}

/// TCP header flag bits as in the 13th byte of the header.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// TCP event index (`tcp_state_idx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpEvent {
    Syn = 0,
    Fin = 1,
    Ack = 2,
    Rst = 3,
}

/// The event of a segment, by IPVS priority RST > SYN > FIN > ACK.
pub fn tcp_event(flags: u8) -> Option<TcpEvent> {
    if flags & tcp_flags::RST != 0 {
        Some(TcpEvent::Rst)
    } else if flags & tcp_flags::SYN != 0 {
        Some(TcpEvent::Syn)
    } else if flags & tcp_flags::FIN != 0 {
        Some(TcpEvent::Fin)
    } else if flags & tcp_flags::ACK != 0 {
        Some(TcpEvent::Ack)
    } else {
        None
    }
}

/// ACK set, SYN/FIN/RST clear (`tcp_event` would say `Ack`, in one
/// compare): the event of almost every segment of an established
/// connection.
#[inline(always)]
pub fn is_plain_ack(flags: u8) -> bool {
    flags & (tcp_flags::ACK | tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST) == tcp_flags::ACK
}

/// `IP_VS_TCP_S_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait = 4,
    TimeWait = 5,
    Close = 6,
    CloseWait = 7,
    LastAck = 8,
    Listen = 9,
    SynAck = 10,
}

/// Number of TCP states (`IP_VS_TCP_S_LAST`).
pub const TCP_STATE_COUNT: usize = 11;

/// `tcp_state_name_table`.
pub const TCP_STATE_NAMES: [&str; TCP_STATE_COUNT] = [
    "NONE",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "SYNACK",
];

impl TcpState {
    pub const ALL: [TcpState; TCP_STATE_COUNT] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::SynAck,
    ];

    pub fn from_u8(v: u8) -> Option<TcpState> {
        Self::ALL.get(v as usize).copied()
    }

    pub fn name(self) -> &'static str {
        TCP_STATE_NAMES[self as usize]
    }

    /// `tcp_state_active`.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TcpState::Established | TcpState::SynSent | TcpState::SynRecv | TcpState::SynAck
        )
    }
}

use TcpState as S;
// No transition leads back to NONE, so the tables never name it.
const ES: S = S::Established;
const SS: S = S::SynSent;
const SR: S = S::SynRecv;
const FW: S = S::FinWait;
const TW: S = S::TimeWait;
const CL: S = S::Close;
const CW: S = S::CloseWait;
const LA: S = S::LastAck;
const LI: S = S::Listen;
const SA: S = S::SynAck;

/// `[direction][event][current state] -> next state`.
pub type TcpTable = [[[TcpState; TCP_STATE_COUNT]; 4]; 3];

/// `tcp_states` (normal mode), verbatim.
#[rustfmt::skip]
pub const TCP_STATES: TcpTable = [
    // INPUT
    //      NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
    [/*syn*/[SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
     /*fin*/[CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
     /*ack*/[ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /*rst*/[CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR]],
    // OUTPUT
    [/*syn*/[SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
     /*fin*/[TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
     /*ack*/[ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
     /*rst*/[CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL]],
    // INPUT_ONLY
    [/*syn*/[SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
     /*fin*/[CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
     /*ack*/[ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /*rst*/[CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
];

/// `tcp_states_dos` (`secure_tcp`), verbatim.
#[rustfmt::skip]
pub const TCP_STATES_DOS: TcpTable = [
    // INPUT
    //      NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
    [/*syn*/[SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SA],
     /*fin*/[CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, SA],
     /*ack*/[ES, ES, SS, SR, FW, TW, CL, CW, CL, LI, SA],
     /*rst*/[CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
    // OUTPUT
    [/*syn*/[SS, ES, SS, SA, SS, SS, SS, SS, SS, LI, SA],
     /*fin*/[TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
     /*ack*/[ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
     /*rst*/[CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL]],
    // INPUT_ONLY
    [/*syn*/[SA, ES, ES, SR, SA, SA, SA, SA, SA, SA, SA],
     /*fin*/[CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
     /*ack*/[ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /*rst*/[CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
];

/// Next TCP state: the table lookup of `set_tcp_state` (no event ⇒ CLOSE).
/// `dir` must already be `InputOnly` for NOOUTPUT connections.
#[inline]
pub fn tcp_next(secure: bool, dir: Dir, flags: u8, cur: TcpState) -> TcpState {
    // An ACK without SYN/FIN/RST keeps ESTABLISHED in every direction and
    // in both tables (`tests_state`): the common case, without the walk.
    if cur == TcpState::Established && is_plain_ack(flags) {
        return cur;
    }
    tcp_table_next(secure, dir, flags, cur)
}

/// [`tcp_next`] by the table alone.
pub(crate) fn tcp_table_next(secure: bool, dir: Dir, flags: u8, cur: TcpState) -> TcpState {
    let table = if secure { &TCP_STATES_DOS } else { &TCP_STATES };
    match tcp_event(flags) {
        Some(ev) => table[dir as usize][ev as usize][cur as usize],
        None => TcpState::Close,
    }
}

/// Largest timeout accepted anywhere (ipvsadm `MAX_TIMEOUT`, 31 days).
pub const MAX_TIMEOUT_S: u32 = 2_678_400;
/// Timeout of a brand-new connection until its first transition.
pub const NEW_CONN_TIMEOUT_S: u32 = 3;
/// Re-arm period of an entry that expired while still controlling others.
pub const CONTROL_RETRY_S: u32 = 60;

/// `tcp_timeouts` (seconds) with the defaults for ES and FW.
pub const TCP_DEFAULT_TIMEOUTS: [u32; TCP_STATE_COUNT] =
    [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];

/// Per-state timeout table in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeoutTable {
    pub tcp: [u32; TCP_STATE_COUNT],
    pub udp: u32,
}

impl TimeoutTable {
    pub(crate) fn new(t: Timeouts) -> TimeoutTable {
        let mut tt = TimeoutTable {
            tcp: TCP_DEFAULT_TIMEOUTS,
            udp: Timeouts::default().secs().2,
        };
        tt.set(t);
        tt
    }

    /// `ip_vs_set_timeout`: a zero field leaves that timeout unchanged;
    /// values above [`MAX_TIMEOUT_S`] are clamped.
    pub(crate) fn set(&mut self, t: Timeouts) {
        let (tcp, tcp_fin, udp) = t.secs();
        if tcp != 0 {
            self.tcp[TcpState::Established as usize] = tcp.min(MAX_TIMEOUT_S);
        }
        if tcp_fin != 0 {
            self.tcp[TcpState::FinWait as usize] = tcp_fin.min(MAX_TIMEOUT_S);
        }
        if udp != 0 {
            self.udp = udp.min(MAX_TIMEOUT_S);
        }
    }

    pub(crate) fn get(&self) -> Timeouts {
        Timeouts::from_secs(
            self.tcp[TcpState::Established as usize],
            self.tcp[TcpState::FinWait as usize],
            self.udp,
        )
    }

    /// Timeout of a (non-template) connection in `state`.
    pub(crate) fn for_state(&self, proto: u8, state: u8) -> u32 {
        if proto == IPPROTO_TCP {
            self.tcp
                .get(state as usize)
                .copied()
                .unwrap_or(NEW_CONN_TIMEOUT_S)
        } else {
            self.udp
        }
    }
}

/// `ip_vs_state_name` of a listed or synced record.
pub fn record_state_name(r: &crate::types::ConnRecord) -> &'static str {
    let flags = if r.template { F_TEMPLATE } else { 0 };
    state_name(flags, r.proto, r.state)
}

/// `ip_vs_state_name`.
pub fn state_name(flags: u16, proto: u8, state: u8) -> &'static str {
    if flags & F_TEMPLATE != 0 {
        return match state {
            0 => "TPL.NONE",
            CTPL_S_ASSURED => "TPL.ASSURED",
            _ => "ERR!",
        };
    }
    match proto {
        IPPROTO_TCP => TcpState::from_u8(state).map_or("ERR!", TcpState::name),
        IPPROTO_UDP if state == 0 => "UDP",
        IPPROTO_UDP => "ERR!",
        IPPROTO_SCTP if state == 0 => "NONE",
        IPPROTO_IP => "NONE",
        _ => "ERR!",
    }
}
