//! Configuration layer of lvsd: reads the TOML file users write, validates
//! it and produces a typed [`Model`].
//!
//! ```text
//! text ──toml_edit──▶ span::Spans (document + key path → line)
//!        ──read──▶ raw::RawConfig ──validate──▶ model::Model
//!                  (ctx::Ctx collects every error::Error on the way)
//! ```
//!
//! Layers (each file imports only the ones above it, no cycle):
//!
//! * `error`, `span`, `net`, `raw`, `check_def`, `model`: plain data, the
//!   error type, line lookup and value parsers;
//! * `ctx`: the error collector every validator writes to;
//! * `read`: the parsed document → `RawConfig`, field by field — a value of
//!   the wrong type and an unknown key are errors like any other;
//! * one validator per section: `globals` (`[dpdk]`, `[arp]`, `[log]`,
//!   `[timeouts]`, `[conn]`), `ports` (`[[port]]`, `[[neighbor]]`,
//!   `[[route]]`), `checks` (`[service.check]`, `[service.sorry]`), `reals`,
//!   `services`, `ha`, `mgmt` (`[control]`, `[metrics]`);
//! * `validate`: runs them; [`validate_model`] applies the rules a model
//!   edited at runtime can break to the model itself;
//! * `emit`: model → TOML text (`lvsadm save-config`).
//!
//! [`load`] / [`load_file`] are the entry points. Only a TOML syntax error
//! stops reading (one error, with its line); every other mistake — wrong
//! type, unknown key, missing required key, range, address syntax, cross
//! reference, uniqueness — is reported in one pass, in file order.
//!
//! Display of [`Errors`] prints one line per error:
//! `error: port[1].address (line 12): invalid IPv4 prefix '198.18.0.1/33': prefix length must be 0..=32`.

pub mod check_def;
mod checks;
pub mod children;
mod ctx;
pub mod emit;
pub mod error;
mod globals;
pub mod ha;
mod limits;
pub mod mbufs;
mod mgmt;
pub mod model;
pub mod net;
mod ports;
pub mod raw;
mod read;
mod reals;
mod services;
pub mod span;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{Error, Errors};
pub use globals::MAX_TIMEOUT_S;
pub use mgmt::DEFAULT_SOCKET;
pub use model::{
    Arp, Conn, Control, Device, Dpdk, Log, LogFormat, Method, Metrics, Model, Neighbor,
    Persistence, Port, Protocol, Real, Route, Scheduler, Service, ServiceFlags, Timeouts,
};
pub use net::{Ipv4Net, Mac};
pub use validate::{real_check, validate_model};

/// Parses and validates a configuration text.
pub fn load(text: &str) -> Result<Model, Errors> {
    let spans = match span::Spans::parse(text) {
        Ok(s) => s,
        Err(e) => return Err(Errors(vec![syntax_error(&e, text)])),
    };
    let mut cx = ctx::Ctx::new(&spans);
    let raw = match spans.root() {
        Some(root) => read::config(&mut cx, root),
        None => raw::RawConfig::default(),
    };
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

/// A TOML syntax error, with its line: the one error that stops reading.
fn syntax_error(e: &toml_edit::TomlError, text: &str) -> Error {
    let line = e
        .span()
        .map(|r| span::Spans::lines_only(text).line_of_offset(r.start));
    let msg = e.message().trim().replace('\n', " ");
    Error {
        path: String::new(),
        line,
        message: match line {
            Some(_) => format!("TOML syntax error: {msg}"),
            None => msg,
        },
    }
}
