//! The bulk-sync handshake, pure: when to ask the peer for its table, how to
//! answer the peer's request, and what the handshake does to the role.
//!
//! A director whose control link connects while it is not active sends
//! `BulkRequest`; the peer answers `BulkStart`, its records, `BulkEnd`.
//! Rules (ARCHITECTURE.md, active/backup):
//! * The handshake never changes the role. It only holds *preemption*
//!   ([`RoleMachine::hold_preempt`]) until the peer's `BulkEnd` (or the
//!   hold's deadline, the link dropping), so a returning director does not
//!   take the VIPs back before it knows their connections. Takeover from a
//!   dead or resigning active is never held.
//! * Every request is answered: the active dumps its table, a director that
//!   is not active answers at once with an empty transfer (it serves no
//!   connection the peer needs). Two directors that connect while both are
//!   starting both ask, and both get their answer: neither waits on the
//!   other (a wait on both sides was a deadlock).

use std::time::{Duration, Instant};

use crate::ha::role::{Role, RoleMachine};

/// How to answer the peer's `BulkRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// We are active: `BulkStart { generation }`, every connection, then
    /// `BulkEnd { generation, count }`.
    Dump {
        /// Identifies this transfer.
        generation: u64,
    },
    /// Not active: `BulkStart { generation }` and `BulkEnd { generation,
    /// count: 0 }` at once.
    Empty {
        /// Identifies this transfer.
        generation: u64,
    },
}

/// Our side of the handshake.
#[derive(Debug, Clone, Default)]
pub struct BulkSync {
    awaiting: bool,
    generation: u64,
}

impl BulkSync {
    /// Our control link connected. Returns true when a `BulkRequest` must
    /// be sent (we are not active and have not asked on this link yet: one
    /// transfer answers both); preemption is then held until the
    /// peer's `BulkEnd`, or `now + hold` at the latest.
    pub fn connected(&mut self, role: &mut RoleMachine, now: Instant, hold: Duration) -> bool {
        if role.role() == Role::Active || self.awaiting {
            return false;
        }
        self.awaiting = true;
        role.hold_preempt(Some(now + hold));
        true
    }

    /// The link dropped: no transfer is coming. The preemption hold stays
    /// until its deadline (a new connection asks again).
    pub fn disconnected(&mut self) {
        self.awaiting = false;
    }

    /// The peer asked for our table.
    pub fn request(&mut self, role: &RoleMachine) -> Answer {
        self.generation += 1;
        let generation = self.generation;
        if role.role() == Role::Active {
            Answer::Dump { generation }
        } else {
            Answer::Empty { generation }
        }
    }

    /// The peer's `BulkEnd` arrived: its table is here, preemption allowed.
    pub fn end(&mut self, role: &mut RoleMachine) {
        if std::mem::take(&mut self.awaiting) {
            role.hold_preempt(None);
        }
    }

    /// A request of ours is unanswered.
    pub fn awaiting(&self) -> bool {
        self.awaiting
    }
}
