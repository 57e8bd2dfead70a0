//! ipvsadm-compatible command-line layer of lvsd.
//!
//! * [`parse`](parse::parse) turns an ipvsadm 1.31 command line into a typed
//!   [`Command`]; [`parse_restore`] does the same for `-R` input.
//! * [`format`](mod@format) renders a table snapshot ([`model`]) byte-for-byte like
//!   ipvsadm 1.31 (`-Ln`, `--stats`, `--rate`, `--thresholds`,
//!   `--persistent-conn`, `--exact`, `-Lnc`, `--timeout`, `--daemon`, `-Sn`).
//!
//! Dispatch of `Command::List(svc, opts)` is the caller's: `opts.connections`
//! → [`format::connections`], `opts.timeout` → [`format::timeouts`],
//! `opts.daemon` → [`format::daemon`], `Some(svc)` → [`format::list_service`]
//! (no version header, like ipvsadm), otherwise [`format::list`].
//! `Command::Save { numeric }` → [`format::save`] whatever `numeric` is.
//!
//! Host and service names are never resolved: `-L` without `-n` prints the
//! same as `-Ln`, `-S` the same as `-Sn`, and names on input are rejected.

mod args;
pub mod format;
pub mod model;
mod opts;
pub mod parse;

pub use model::*;
pub use parse::{
    parse, parse_restore, Command, DaemonOpts, ErrorKind, ListOpts, ParseError, RealOpts, SvcOpts,
};

#[cfg(test)]
mod tests;
