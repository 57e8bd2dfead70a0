//! Real-server health checking for lvsd (keepalived checkers, ldirectord,
//! Piranha nanny), run on the management thread, never on packet workers.
//!
//! Layout: [`check`] (targets and results; the check definitions live in
//! `config::check_def` and are re-exported), [`proto`] (socket-free protocol logic),
//! [`probe`] (one in-flight check), [`engine`] (single-thread `mio` event
//! loop), [`state`] (rise/fall state machine), [`policy`] (quorum,
//! hysteresis, sorry server), [`notify`] (notify/quorum commands), [`track`]
//! (the HA pair's tracked commands), [`tls`] (the https
//! check's TLS session).
//!
//! Invariants: safe Rust only (`forbid(unsafe_code)`); no threads; nothing panics on any input.

#![forbid(unsafe_code)]

pub mod check;
pub mod child;
pub mod engine;
pub mod notify;
pub mod policy;
pub mod probe;
pub mod proto;
pub mod state;
pub mod tls;
pub mod track;

pub use check::{CheckKind, CheckParams, CheckResult, HealthError, StatusRange, Target};
pub use engine::{EngineStats, HealthEngine, TargetStatus};
pub use notify::{Notifier, NotifyEvent};
pub use policy::{
    evaluate, Effective, EffectiveReal, OnFailure, QuorumState, QuorumTransition, RealHealth,
    ServicePolicy, SorryServer,
};
pub use state::Event;

#[cfg(test)]
mod tests;
