//! Check targets, results and definition errors. The definitions themselves
//! ([`CheckKind`], [`CheckParams`], [`StatusRange`]) live in the configuration
//! layer (`config::check_def`) and are re-exported here.
//!
//! Invariants:
//! * Nothing here panics: malformed definitions (bad regex, bad digest, bad
//!   DNS name/type, empty exec command) are reported by
//!   [`crate::health::proto::compile`] as a [`HealthError`] when the target is
//!   added, never at probe time.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub use crate::config::check_def::{
    decode_escapes, CheckKind, CheckParams, StatusRange, MAX_PERIOD, MIN_PERIOD,
};

/// A real server to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Stable real-server id chosen by the caller.
    pub id: u32,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub kind: CheckKind,
    pub params: CheckParams,
}

impl Target {
    /// Port actually probed.
    pub fn check_port(&self) -> u16 {
        self.params.connect_port.unwrap_or(self.port)
    }
}

/// Outcome of one completed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    /// e.g. "HTTP 500", "connect refused", "timeout after 500ms", "exit 1".
    pub detail: String,
    pub duration: Duration,
    pub at: Instant,
}

/// Invalid check definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthError {
    BadRegex(String),
    BadDigest(String),
    BadDnsType(String),
    BadDnsName(String),
    BadExec(String),
    BadHttp(String),
}

impl fmt::Display for HealthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthError::BadRegex(e) => write!(f, "bad regex: {e}"),
            HealthError::BadDigest(e) => write!(f, "bad md5 digest: {e}"),
            HealthError::BadDnsType(e) => write!(f, "bad DNS type: {e}"),
            HealthError::BadDnsName(e) => write!(f, "bad DNS name: {e}"),
            HealthError::BadExec(e) => write!(f, "bad exec check: {e}"),
            HealthError::BadHttp(e) => write!(f, "bad HTTP check: {e}"),
        }
    }
}

impl std::error::Error for HealthError {}
