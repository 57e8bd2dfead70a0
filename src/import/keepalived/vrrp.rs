//! keepalived's VRRP part → `[ha]`. lvsd has one role per director, so all
//! instances move together as one `vrrp_sync_group` would: the first
//! `vrrp_instance` gives the pair's settings, a later one that differs is
//! warned about. `virtual_ipaddress` entries that are service VIPs need
//! nothing (lvsd serves VIPs while active); the others become `floating`
//! addresses of the port named by `dev` (or the instance's interface).
//! `advert_int` → `interval_ms`; keepalived's master-down time
//! (3 × advert_int + skew, skew = (256 − priority) / 256 × advert_int) →
//! `dead_interval_ms`.
use super::super::draft::{At, Ha};
use super::super::lex::Node;
use super::super::value::{int, safe_name, seconds_ms};
use super::Ctx;
use std::net::{IpAddr, Ipv4Addr};

/// Default peer-link port of an imported pair.
const LINK_PORT: u16 = 5511;

/// Notify commands of a sync group, which take precedence.
#[derive(Default)]
struct Notify {
    active: Option<String>,
    backup: Option<String>,
    fault: Option<String>,
}

/// Every `vrrp_sync_group` and `vrrp_instance` of the tree.
pub fn import(tree: &[Node], cx: &mut Ctx) {
    let mut group_notify = Notify::default();
    let mut comments = Vec::new();
    for g in tree.iter().filter(|n| n.key() == "vrrp_sync_group") {
        sync_group(g, cx, &mut group_notify, &mut comments);
    }
    let mut first: Option<Ha> = None;
    for n in tree.iter().filter(|n| n.key() == "vrrp_instance") {
        let h = instance(n, cx);
        match &first {
            None => first = Some(h),
            Some(f) => compare(f, &h, n, cx),
        }
    }
    let track = super::track::import(tree, cx, first.is_some());
    if let Some(mut h) = first {
        h.track = track;
        h.notify_active = group_notify.active.or(h.notify_active);
        h.notify_backup = group_notify.backup.or(h.notify_backup);
        h.notify_fault = group_notify.fault.or(h.notify_fault);
        h.comments.extend(comments);
        cx.d.ha = Some(h);
    }
}

/// One `vrrp_sync_group`: its members need nothing (one role moves every
/// address); its notify commands are carried.
fn sync_group(g: &Node, cx: &mut Ctx, notify: &mut Notify, comments: &mut Vec<String>) {
    for k in g.kids() {
        match k.key() {
            "group" => {
                let names: Vec<&str> = k.kids().iter().map(|m| m.key()).collect();
                comments.push(format!(
                    "vrrp_sync_group {} ({}): lvsd moves every address with one role",
                    g.arg(0).unwrap_or(""),
                    names.join(", ")
                ));
            }
            "notify_master" => notify.active = command(k, cx),
            "notify_backup" => notify.backup = command(k, cx),
            "notify_fault" => notify.fault = command(k, cx),
            "track_script" => cx.track_refs.extend(k.kids().iter().cloned()),
            other => not_carried(k, other, cx),
        }
    }
}

/// A notify command (`"cmd args" [user [group]]`).
fn command(k: &Node, cx: &mut Ctx) -> Option<String> {
    if k.words.len() > 2 {
        cx.notes.warn(
            k,
            "user/group: not carried: lvsd runs every command as one user ([children] run_as)",
        );
    }
    cx.notes.warn(
        k,
        format!(
            "{} carried; lvsd appends `active|backup|fault <node> <reason>` to the command",
            k.key()
        ),
    );
    k.arg(0).map(str::to_string)
}

/// Warns about a VRRP keyword lvsd has no counterpart for.
fn not_carried(k: &Node, key: &str, cx: &mut Ctx) {
    let why = match key {
        "track_interface" => "lvsd tracks the link of every data port itself (FAULT when one is down); per-interface weights are not carried",
        "track_file" => "lvsd has no track files (yet)",
        "authentication" => "lvsd authenticates adverts and the peer link with [ha] key_file (16 bytes or more)",
        "notify" | "notify_stop" => "lvsd runs notify_active/backup/fault with `active|backup|fault <node> <reason>`; split this script into those",
        "virtual_routes" | "virtual_rules" => "give lvsd's [[route]] entries instead",
        _ => "no lvsd equivalent",
    };
    cx.notes.warn(k, format!("{key}: not carried: {why}"));
}

/// One `vrrp_instance` → the `[ha]` it stands for.
fn instance(n: &Node, cx: &mut Ctx) -> Ha {
    let name = n.arg(0).unwrap_or("VI");
    let mut h = Ha {
        at: At::of(n),
        node: safe_name(cx.router_id.as_deref().unwrap_or(name)),
        priority: 100,
        preempt: true,
        preempt_delay_ms: 0,
        listen: None,
        peer: None,
        link_port: LINK_PORT,
        interval_ms: 1000,
        dead_interval_ms: None,
        vrid: None,
        garp_repeat: cx.garp_repeat,
        garp_delay_ms: cx.garp_delay_ms,
        notify_active: None,
        notify_backup: None,
        notify_fault: None,
        comments: Vec::new(),
        track: Vec::new(),
    };
    let iface = n
        .kids()
        .iter()
        .find(|k| k.key() == "interface")
        .and_then(|k| k.arg(0))
        .unwrap_or("")
        .to_string();
    if !iface.is_empty() {
        cx.d.iface(&iface);
    }
    for k in n.kids() {
        instance_key(k, &iface, &mut h, cx);
    }
    let skew = (256 - h.priority) * h.interval_ms / 256;
    h.dead_interval_ms = Some(3 * h.interval_ms + skew);
    h
}

/// One vrrp_instance keyword.
fn instance_key(k: &Node, iface: &str, h: &mut Ha, cx: &mut Ctx) {
    let a = k.arg(0);
    let addr = |s: Option<&str>| s.and_then(|s| s.parse::<IpAddr>().ok());
    match k.key() {
        "interface" => {}
        "state" if a == Some("BACKUP") => {}
        "state" => cx.notes.warn(k, "state: not carried: lvsd starts every director as backup and elects the active one by priority"),
        "priority" => {
            let p = a.and_then(int).unwrap_or(100);
            if !(1..=254).contains(&p) {
                cx.notes.warn(k, format!("priority {p} not carried: lvsd's priorities are 1..=254 (the nearest is used)"));
            }
            h.priority = p.clamp(1, 254);
        }
        "advert_int" => h.interval_ms = a.and_then(seconds_ms).unwrap_or(1000),
        "virtual_router_id" => h.vrid = a.and_then(int).filter(|v| (1..=255).contains(v)),
        "nopreempt" => h.preempt = false,
        "preempt" => h.preempt = true,
        "preempt_delay" => h.preempt_delay_ms = a.and_then(seconds_ms).unwrap_or(0).min(1_000_000),
        "garp_master_delay" => h.garp_delay_ms = a.and_then(seconds_ms).map(|v| v.min(600_000)),
        "garp_master_repeat" => h.garp_repeat = a.and_then(int).map(|v| v.clamp(1, 100)),
        "unicast_src_ip" | "mcast_src_ip" => h.listen = addr(a),
        "unicast_peer" => {
            let peers: Vec<&Node> = k.kids().iter().collect();
            h.peer = peers.first().and_then(|p| addr(Some(p.key())));
            for p in peers.iter().skip(1) {
                cx.notes.warn(*p, "unicast_peer: not carried: lvsd pairs two directors; the first peer is used");
            }
        }
        "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
            for e in k.kids() {
                vip_entry(e, iface, cx);
            }
        }
        "notify_master" => h.notify_active = command(k, cx),
        "notify_backup" => h.notify_backup = command(k, cx),
        "notify_fault" => h.notify_fault = command(k, cx),
        "track_script" => cx.track_refs.extend(k.kids().iter().cloned()),
        other => not_carried(k, other, cx),
    }
}

/// One `virtual_ipaddress` line: `IP[/len] [dev IF] [attributes]`.
fn vip_entry(e: &Node, iface: &str, cx: &mut Ctx) {
    let ip = e.key().split('/').next().unwrap_or("");
    let words: Vec<&str> = e.words.iter().skip(1).map(|w| w.text.as_str()).collect();
    let dev = words
        .windows(2)
        .find(|w| w[0] == "dev")
        .map_or(iface.to_string(), |w| w[1].to_string());
    let others: Vec<&str> = words
        .chunks(2)
        .filter(|c| c[0] != "dev")
        .map(|c| c[0])
        .collect();
    if !others.is_empty() {
        cx.notes.warn(
            e,
            format!(
                "address attributes {} not carried: lvsd holds the address itself",
                others.join(", ")
            ),
        );
    }
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) if cx.d.is_vip(a) => {
            let hint = format!(
                "{} (a service VIP) is served by the active director on {dev}",
                e.key()
            );
            let f = cx.d.iface(if dev.is_empty() { "ext" } else { &dev });
            f.hints.push(hint);
        }
        Ok(IpAddr::V4(a)) => floating(a, e.key(), &dev, cx),
        Ok(IpAddr::V6(_)) => cx
            .notes
            .warn(e, "not carried (yet): lvsd has no IPv6 addresses"),
        Err(_) => cx.notes.warn(e, "not carried: expected an IPv4 address"),
    }
}

/// A VRRP address that is not a VIP: a floating address of its port.
fn floating(a: Ipv4Addr, written: &str, dev: &str, cx: &mut Ctx) {
    let f = cx.d.iface(if dev.is_empty() { "ext" } else { dev });
    if !f.floating.contains(&a) {
        f.floating.push(a);
        f.hints
            .push(format!("{written}: floating, held by the active director"));
    }
}

/// Warns when a later instance's pair settings differ from the first's.
fn compare(first: &Ha, h: &Ha, n: &Node, cx: &mut Ctx) {
    let mut diff = Vec::new();
    let fields: [(&str, bool); 7] = [
        ("priority", first.priority != h.priority),
        ("advert_int", first.interval_ms != h.interval_ms),
        ("virtual_router_id", first.vrid != h.vrid),
        ("nopreempt", first.preempt != h.preempt),
        (
            "preempt_delay",
            first.preempt_delay_ms != h.preempt_delay_ms,
        ),
        ("unicast_peer", first.peer != h.peer),
        (
            "notify_*",
            (
                &first.notify_active,
                &first.notify_backup,
                &first.notify_fault,
            ) != (&h.notify_active, &h.notify_backup, &h.notify_fault),
        ),
    ];
    for (name, differs) in fields {
        if differs {
            diff.push(name);
        }
    }
    if !diff.is_empty() {
        cx.notes.warn(n, format!("{} not carried: lvsd has one role per director; the first vrrp_instance's values are used", diff.join(", ")));
    }
}
