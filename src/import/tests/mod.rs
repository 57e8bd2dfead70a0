//! Tests of the importers, one file per source format (`keepalived.rs`,
//! `ldirectord.rs`, `piranha.rs`) and one for the rules every import is
//! settled to (`settle.rs`). Each test imports a source text, loads the
//! result with `config::load` (it must pass) and looks at the model and at
//! the warnings, which must name the source line.
use super::{import_text, Format, Warning};
use crate::config::{load, Model, Real, Service};
use std::net::IpAddr;

mod keepalived;
mod ldirectord;
mod piranha;
mod robust;
mod settle;

/// Imports `text` as `format` (named `src.conf`), checks the output loads,
/// returns the model and the warnings.
pub fn run(format: Format, text: &str) -> (Model, Vec<Warning>) {
    run_in(format, text, None)
}

/// [`run`] with keepalived includes resolved in `dir`.
pub fn run_in(format: Format, text: &str, dir: Option<&std::path::Path>) -> (Model, Vec<Warning>) {
    let out = import_text(format, "src.conf", text, dir).unwrap_or_else(|e| panic!("{e}"));
    let m = load(&out.toml).unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
    for w in &out.warnings {
        let file = if w.loc.file == "src.conf" {
            text.to_string()
        } else {
            std::fs::read_to_string(&w.loc.file).unwrap_or_else(|e| panic!("{w}: {e}"))
        };
        let line = file.lines().nth(w.loc.line - 1).unwrap_or_default();
        assert_eq!(line.trim(), w.source, "warning names its line: {w}");
    }
    (m, out.warnings)
}

/// The service `vip:port`.
pub fn svc<'a>(m: &'a Model, vip: &str, port: u16) -> &'a Service {
    let vip: IpAddr = vip.parse().expect("vip");
    m.services
        .iter()
        .find(|s| s.vip == vip && s.port == port)
        .unwrap_or_else(|| panic!("no service {vip}:{port} in {:#?}", m.services))
}

/// The real `addr` of `s`.
pub fn real<'a>(s: &'a Service, addr: &str) -> &'a Real {
    let a: IpAddr = addr.parse().expect("addr");
    s.reals
        .iter()
        .find(|r| r.address == a)
        .unwrap_or_else(|| panic!("no real {a} in {}", s.name))
}

/// Whether a warning at `line` contains `text`.
pub fn warned(ws: &[Warning], line: usize, text: &str) -> bool {
    ws.iter()
        .any(|w| w.loc.line == line && w.message.contains(text))
}

/// Asserts [`warned`], printing every warning otherwise.
#[track_caller]
pub fn assert_warned(ws: &[Warning], line: usize, text: &str) {
    let all: Vec<String> = ws.iter().map(|w| w.to_string()).collect();
    assert!(
        warned(ws, line, text),
        "no warning at line {line} containing {text:?} in:\n{}",
        all.join("\n")
    );
}

/// The 1-based line of the first line of `text` containing `needle`.
#[track_caller]
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
}
