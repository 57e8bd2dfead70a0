//! `[control]` and `[metrics]`: the management endpoints.
use super::ctx::Ctx;
use super::model::{Control, Metrics};
use super::raw::{RawControl, RawMetrics};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default control socket.
pub const DEFAULT_SOCKET: &str = "/run/lvsd/lvsd.sock";
/// Default metrics listener (loopback only).
pub const DEFAULT_METRICS: &str = "127.0.0.1:9520";

pub(super) fn validate(cx: &mut Ctx, c: &RawControl, m: &RawMetrics) -> (Control, Metrics) {
    let socket = match c.socket.as_deref() {
        None => PathBuf::from(DEFAULT_SOCKET),
        Some(s) if s.starts_with('/') && s.len() < 108 => PathBuf::from(s),
        Some(s) => {
            cx.err(
                "control.socket",
                format!(
                    "invalid socket path '{s}': expected an absolute path shorter than 108 bytes"
                ),
            );
            PathBuf::from(DEFAULT_SOCKET)
        }
    };
    let listen = if m.enabled == Some(false) {
        None
    } else {
        let text = m.listen.as_deref().unwrap_or(DEFAULT_METRICS);
        match text.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                cx.err(
                    "metrics.listen",
                    format!("invalid listen address '{text}': expected IP:port such as \"127.0.0.1:9520\""),
                );
                None
            }
        }
    };
    (Control { socket }, Metrics { listen })
}
