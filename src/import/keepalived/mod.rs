//! keepalived.conf → [`Draft`]: `include` files, `global_defs`, the LVS
//! part (`virtual_server_group`, `virtual_server`, `real_server`, every
//! checker) and the VRRP part (`vrrp_instance`, `vrrp_sync_group` → `[ha]`).
//! Keywords follow keepalived.conf(5); defaults are keepalived's, written
//! out explicitly (NAT forwarding, 60 s `delay_loop`, removal on failure
//! unless `inhibit_on_failure`).
mod check;
mod lvs;
mod track;
mod vrrp;

use super::draft::Draft;
use super::lex::{blocks, lex, Line, Node, KEEPALIVED};
use super::notes::Notes;
use super::value::{int, seconds_ms};
use crate::config::MAX_TIMEOUT_S;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Deepest `include` nesting followed (keepalived has no limit; a loop
/// would never end).
const MAX_INCLUDE_DEPTH: usize = 8;

/// What the passes share.
pub(super) struct Ctx<'a> {
    pub d: Draft,
    pub notes: &'a mut Notes,
    /// `virtual_server_group` blocks by name.
    pub groups: HashMap<String, Node>,
    pub router_id: Option<String>,
    pub garp_repeat: Option<i64>,
    pub garp_delay_ms: Option<i64>,
    /// The global_defs lines that only matter with a vrrp_instance.
    pub vrrp_globals: Vec<Node>,
    /// The entries of every `track_script` block (instances, sync groups).
    pub track_refs: Vec<Node>,
}

/// Imports keepalived configuration `text` named `name`.
pub fn import(name: &str, text: &str, dir: Option<&Path>, notes: &mut Notes) -> Draft {
    let mut lines = Vec::new();
    expand(name, text, dir, 0, &mut lines, notes);
    let tree = blocks(lines, notes);
    let mut cx = Ctx {
        d: Draft::default(),
        notes,
        groups: HashMap::new(),
        router_id: None,
        garp_repeat: None,
        garp_delay_ms: None,
        vrrp_globals: Vec::new(),
        track_refs: Vec::new(),
    };
    for n in &tree {
        match n.key() {
            "global_defs" => global_defs(n, &mut cx),
            "virtual_server_group" => match n.arg(0) {
                Some(g) => {
                    cx.groups.insert(g.to_string(), n.clone());
                }
                None => cx
                    .notes
                    .warn(n, "not carried: virtual_server_group without a name"),
            },
            _ => {}
        }
    }
    for n in tree.iter().filter(|n| n.key() == "virtual_server") {
        lvs::virtual_server(n, &mut cx);
    }
    let used: Vec<&str> = tree
        .iter()
        .filter(|n| n.key() == "virtual_server" && n.arg(0) == Some("group"))
        .filter_map(|n| n.arg(1))
        .collect();
    for g in tree.iter().filter(|n| n.key() == "virtual_server_group") {
        if g.arg(0).is_some_and(|name| !used.contains(&name)) {
            cx.notes.warn(
                g,
                "not carried: no virtual_server uses this virtual_server_group",
            );
        }
    }
    vrrp::import(&tree, &mut cx);
    if cx.d.ha.is_none() {
        for k in std::mem::take(&mut cx.vrrp_globals) {
            cx.notes.warn(
                &k,
                format!(
                    "{}: not carried: there is no vrrp_instance, so lvsd runs standalone",
                    k.key()
                ),
            );
        }
    }
    for n in &tree {
        top_level_other(n, &mut cx);
    }
    cx.d
}

/// Warns about the top-level blocks no pass carries.
fn top_level_other(n: &Node, cx: &mut Ctx) {
    let msg = match n.key() {
        "global_defs" | "virtual_server_group" | "virtual_server" | "vrrp_instance"
        | "vrrp_sync_group" | "vrrp_script" => return,
        "static_routes" => "not carried: give lvsd's [[route]] entries (gateways must be in a [[port]] subnet)",
        "static_ipaddress" | "static_rules" => "not carried: addresses and rules of the Linux host are not lvsd's (its ports carry their own address)",
        "SSL" => "not carried: lvsd's https check does not verify the real's certificate and presents none",
        "vrrp_track_file" | "track_file" => "not carried (yet): lvsd has no track files (FILE_CHECK)",
        _ => "not carried: no lvsd equivalent",
    };
    cx.notes.warn(n, format!("{}: {msg}", n.key()));
}

/// `global_defs { ... }`: router_id, gratuitous ARP, IPVS timeouts.
fn global_defs(n: &Node, cx: &mut Ctx) {
    for k in n.kids() {
        if matches!(
            k.key(),
            "router_id" | "vrrp_garp_master_delay" | "vrrp_garp_master_repeat"
        ) {
            cx.vrrp_globals.push(k.clone());
        }
        match k.key() {
            "router_id" => cx.router_id = k.arg(0).map(str::to_string),
            "vrrp_garp_master_delay" => cx.garp_delay_ms = k.arg(0).and_then(seconds_ms),
            "vrrp_garp_master_repeat" => cx.garp_repeat = k.arg(0).and_then(int),
            "lvs_timeouts" => lvs_timeouts(k, cx),
            "lvs_sync_daemon" => cx.notes.warn(k, "lvs_sync_daemon: not carried: lvsd syncs connections over the authenticated [ha] peer link"),
            "lvs_flush" => cx.notes.warn(k, "lvs_flush: not carried: lvsd always starts with an empty table"),
            "script_user" => cx.notes.warn(k, "script_user: not carried: set [children] run_as (lvsd resolves the user when it loads the file)"),
            other => cx.notes.warn(k, format!("global_defs {other}: not carried: no lvsd equivalent")),
        }
    }
}

/// `lvs_timeouts tcp N tcpfin N udp N` → `[timeouts]`.
fn lvs_timeouts(k: &Node, cx: &mut Ctx) {
    let w: Vec<&str> = k.words.iter().skip(1).map(|w| w.text.as_str()).collect();
    for pair in w.chunks(2) {
        let v = pair.get(1).and_then(|v| int(v));
        match (pair[0], v) {
            ("tcp", Some(v)) => cx.d.timeouts.tcp = Some(v.clamp(1, MAX_TIMEOUT_S)),
            ("tcpfin", Some(v)) => cx.d.timeouts.tcp_fin = Some(v.clamp(1, MAX_TIMEOUT_S)),
            ("udp", Some(v)) => cx.d.timeouts.udp = Some(v.clamp(1, MAX_TIMEOUT_S)),
            (other, _) => cx.notes.warn(
                k,
                format!(
                    "lvs_timeouts {other}: not carried: expected tcp, tcpfin or udp with seconds"
                ),
            ),
        }
    }
}

/// Lexes `text` into `out`, replacing each `include` with the lines of the
/// files it names (relative to the including file's directory) and
/// skipping keepalived's conditional and parameter lines with a warning.
fn expand(
    name: &str,
    text: &str,
    dir: Option<&Path>,
    depth: usize,
    out: &mut Vec<Line>,
    notes: &mut Notes,
) {
    for line in lex(text, name, &KEEPALIVED) {
        let first = line.words[0].text.as_str();
        if !line.words[0].quoted
            && (first.starts_with(['@', '$'])
                || first.starts_with("~SEQ")
                || first.starts_with("~LST"))
        {
            notes.warn(&line, "not carried: conditional lines, parameters and sequences are not expanded; write the expanded configuration");
            continue;
        }
        if first != "include" {
            out.push(line);
            continue;
        }
        let Some(pattern) = line.words.get(1).map(|w| w.text.clone()) else {
            notes.warn(&line, "include without a file name");
            continue;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            notes.warn(
                &line,
                format!(
                    "include not followed: more than {MAX_INCLUDE_DEPTH} levels deep (a loop?)"
                ),
            );
            continue;
        }
        let files = include_files(&pattern, dir);
        if files.is_empty() {
            notes.warn(
                &line,
                format!("include {pattern}: no such file; nothing included"),
            );
        }
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(t) => expand(
                    &f.display().to_string(),
                    &t,
                    f.parent(),
                    depth + 1,
                    out,
                    notes,
                ),
                Err(e) => notes.warn(&line, format!("include {}: cannot read: {e}", f.display())),
            }
        }
    }
}

/// The files an `include` pattern names: `*` and `?` in the last path
/// component, sorted as glob(3) sorts them.
fn include_files(pattern: &str, dir: Option<&Path>) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let p = match (p.is_absolute(), dir) {
        (false, Some(d)) => d.join(p),
        _ => p.to_path_buf(),
    };
    let Some(file) = p.file_name().map(|f| f.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    if !file.contains(['*', '?']) {
        return if p.is_file() { vec![p] } else { Vec::new() };
    }
    let parent = p
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(&file, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Shell-style match of `*` and `?` (a leading `.` is matched only
/// explicitly, as glob(3) does).
fn wildcard(pat: &str, name: &str) -> bool {
    if name.starts_with('.') && !pat.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
