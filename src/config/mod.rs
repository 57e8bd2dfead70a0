//! Configuration layer of lvsd: reads the TOML file users write, validates
//! it and produces a typed [`Model`].
//!
//! ```text
//! text ──toml/serde──▶ raw::RawConfig ──validate──▶ model::Model
//!   └──toml_edit──▶ span::Spans (key path → line) ──▶ error::Errors
//! ```
//!
//! * [`load`] / [`load_file`] are the entry points.
//! * Unknown keys, wrong value types and TOML syntax errors are reported by
//!   serde/toml (one error, with its line and, when known, key path).
//! * Everything else — missing required keys, ranges, address syntax,
//!   cross references, uniqueness — is checked by `validate.rs` and
//!   `service.rs`, which report **every** mistake in one pass.
//!
//! Display of [`Errors`] prints one line per error:
//! `error: port[1].address (line 12): invalid IPv4 prefix '198.18.0.1/33': prefix length must be 0..=32`.

pub mod check_def;
mod checks;
mod ctx;
pub mod emit;
pub mod error;
mod globals;
pub mod ha;
mod mgmt;
pub mod model;
pub mod net;
mod ports;
pub mod raw;
mod services;
pub mod span;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{Error, Errors};
pub use model::{
    Arp, Conn, Control, Device, Dpdk, Log, LogFormat, Method, Metrics, Model, Neighbor,
    Persistence, Port, Protocol, Real, Route, Scheduler, Service, ServiceFlags, Timeouts,
};
pub use net::{Ipv4Net, Mac};

/// Parses and validates a configuration text.
pub fn load(text: &str) -> Result<Model, Errors> {
    let spans = span::Spans::new(text);
    let raw: raw::RawConfig = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(Errors(vec![serde_error(&e, &spans)])),
    };
    let mut cx = ctx::Ctx::new(&spans);
    let model = validate::validate(&mut cx, raw);
    cx.finish(model)
}

/// Reads `path` and calls [`load`].
pub fn load_file(path: impl AsRef<Path>) -> Result<Model, Errors> {
    let path = path.as_ref();
    match std::fs::read_to_string(path) {
        Ok(text) => load(&text),
        Err(e) => Err(Errors::single(
            "",
            None,
            format!("cannot read configuration file '{}': {e}", path.display()),
        )),
    }
}

/// Converts a toml/serde error into an [`Error`] with line and key path.
fn serde_error(e: &toml::de::Error, spans: &span::Spans) -> Error {
    let offset = e.span().map(|r| r.start);
    let line = offset.map(|o| spans.line_of_offset(o));
    let path = offset.and_then(|o| spans.path_at(o)).unwrap_or_default();
    let msg = friendly(e.message());
    let message = if path.is_empty() && offset.is_some() && !msg.contains("unknown field") {
        format!("TOML syntax error: {msg}")
    } else {
        msg
    };
    Error {
        path,
        line,
        message,
    }
}

/// Rewrites serde's Rust-flavoured wording into file-level terms.
fn friendly(msg: &str) -> String {
    let mut m = msg
        .trim()
        .replace('\n', " ")
        .replace("unknown field", "unknown key");
    for (from, to) in [
        ("expected i64", "expected an integer"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected an array"),
    ] {
        m = m.replace(from, to);
    }
    if let Some(i) = m.find("expected struct Raw") {
        m.truncate(i);
        m.push_str("expected a table");
    }
    m
}
