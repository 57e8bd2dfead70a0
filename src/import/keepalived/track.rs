//! keepalived's `vrrp_script` blocks and the `track_script` entries that
//! use them → `[ha] track`. A tracked script of weight 0 (keepalived's
//! default) puts the instance in FAULT after `fall` failures and clears it
//! after `rise` successes, which is what an lvsd tracked command does to the
//! director; a script with another weight only moves the priority, which
//! lvsd does not do, so it is warned and not carried. keepalived runs a
//! script only when an instance tracks it; so does the import.
use super::super::draft::Track;
use super::super::lex::Node;
use super::super::value::{int, seconds_ms};
use super::Ctx;
use std::collections::HashSet;

/// The tracked commands, warning about each setting not carried; `has_ha`
/// is false when no vrrp_instance makes an `[ha]`.
pub fn import(tree: &[Node], cx: &mut Ctx, has_ha: bool) -> Vec<Track> {
    let scripts: Vec<&Node> = tree.iter().filter(|n| n.key() == "vrrp_script").collect();
    let refs = std::mem::take(&mut cx.track_refs);
    let mut used = HashSet::new();
    let mut out = Vec::new();
    for r in &refs {
        let name = r.key();
        let Some(script) = scripts.iter().find(|s| s.arg(0) == Some(name)) else {
            cx.notes.warn(
                r,
                format!("track_script {name}: not carried: no vrrp_script named '{name}'"),
            );
            continue;
        };
        if !used.insert(name.to_string()) {
            continue;
        }
        let entry_weight = r
            .words
            .windows(2)
            .find(|w| w[0].text == "weight")
            .and_then(|w| w[1].text.parse::<i64>().ok());
        if let Some(t) = script_track(script, entry_weight, r, cx) {
            out.push(t);
        }
    }
    for s in scripts {
        let name = s.arg(0).unwrap_or("");
        if !has_ha {
            cx.notes.warn(
                s,
                "vrrp_script: not carried: there is no vrrp_instance, so lvsd runs standalone",
            );
        } else if !used.contains(name) {
            cx.notes.warn(s, "vrrp_script: not carried: no vrrp_instance tracks it (keepalived does not run it either)");
        }
    }
    if has_ha {
        out
    } else {
        Vec::new()
    }
}

/// One `vrrp_script` block as a tracked command (`None`, warned, when its
/// weight is not 0 or it has no script).
fn script_track(s: &Node, entry_weight: Option<i64>, entry: &Node, cx: &mut Ctx) -> Option<Track> {
    let mut t = Track {
        command: String::new(),
        interval_ms: 1000,
        fall: 1,
        rise: 1,
    };
    let mut weight = 0;
    let mut timeout = None;
    for k in s.kids() {
        let a = k.arg(0);
        match k.key() {
            "script" => t.command = a.unwrap_or("").to_string(),
            "interval" => t.interval_ms = a.and_then(seconds_ms).unwrap_or(1000),
            "fall" => t.fall = a.and_then(int).unwrap_or(1),
            "rise" => t.rise = a.and_then(int).unwrap_or(1),
            "weight" => weight = a.and_then(|w| w.parse::<i64>().ok()).unwrap_or(0),
            "timeout" => timeout = Some((a.and_then(seconds_ms), k.clone())),
            other => cx.notes.warn(k, format!("vrrp_script {other}: not carried: lvsd runs tracked commands as its own user ([children] run_as) and starts them as passing")),
        }
    }
    let weight = entry_weight.unwrap_or(weight);
    if weight != 0 {
        cx.notes.warn(entry, format!("track_script weight {weight}: not carried: lvsd does not move the priority; a tracked command of weight 0 (FAULT on failure) is all it runs"));
        return None;
    }
    if t.command.trim().is_empty() {
        cx.notes
            .warn(s, "vrrp_script without a script: not carried");
        return None;
    }
    if let Some((ms, k)) = timeout {
        if ms != Some(t.interval_ms) {
            cx.notes.warn(
                &k,
                "timeout: not carried: lvsd stops a tracked command after interval_ms",
            );
        }
    }
    t.interval_ms = t.interval_ms.clamp(10, 3_600_000);
    t.fall = t.fall.clamp(1, 1000);
    t.rise = t.rise.clamp(1, 1000);
    Some(t)
}
