//! Table snapshot → text, byte-for-byte like ipvsadm 1.31 (`list_all`,
//! `list_service`, `print_title`, `print_service_entry`, `print_largenum`,
//! `list_conn`, `list_timeout`, `list_daemon`, and `-S`'s FMT_RULE).
//!
//! Names are never resolved, so non-numeric output (`-L`, `-S`) equals the
//! numeric one (`-Ln`, `-Sn`).
//!
//! Sorting follows libipvs `ipvs_cmp_services`/`ipvs_cmp_dests` including
//! their `(int)(a - b)` wrap-around on 32-bit values (so 192.168.0.0/16
//! sorts before 10.0.0.0/8), applied with glibc's classic `qsort` merge sort
//! (stable, top-down halves) because a non-transitive comparator's result
//! depends on the algorithm (and Rust's `sort_by` may panic on one).

use std::fmt::Write;
use std::net::IpAddr;

use super::model::{
    sched_flag_bits, sched_flag_names, ConnInfo, DaemonInfo, FwdFlag, Protocol, RealInfo, SvcId,
    SvcInfo, SyncState, Timeouts,
};
use super::parse::ListOpts;
use crate::types::Method;

/// Protocol name as `ipvsadm -L` and `/proc/net/ip_vs_conn` print it.
pub fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
    }
}

/// `addr:port`, with the IPv6 address in brackets (`print_service_entry`).
fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// ipvsadm's name of an IP protocol number (`/proc/net/ip_vs_conn`'s
/// column: `TCP`, `UDP`, `SCTP`, `IP` for a fwmark template, else `???`).
pub fn proto_number_name(p: u8) -> &'static str {
    match (Protocol::from_number(p), p) {
        (Some(p), _) => proto_name(p),
        (None, 132) => "SCTP",
        (None, 0) => "IP",
        _ => "???",
    }
}

/// Inverse of [`proto_name`] (`None` for `IP` and anything else).
pub fn proto_from_name(s: &str) -> Option<Protocol> {
    [Protocol::Tcp, Protocol::Udp]
        .into_iter()
        .find(|p| proto_name(*p) == s)
}

/// The "Forward" column of `ipvsadm -L` (`fwd_name`).
pub fn fwd_name(f: FwdFlag) -> &'static str {
    match f {
        FwdFlag::MASQ => "Masq",
        FwdFlag::LOCAL => "Local",
        FwdFlag::TUNNEL => "Tunnel",
        FwdFlag::DROUTE => "Route",
        _ => "Bypass",
    }
}

/// ipvsadm's name of a configured forwarding method.
pub fn method_name(m: Method) -> &'static str {
    fwd_name(FwdFlag::from(m))
}

/// Inverse of [`fwd_name`]; anything unknown reads as Route (ipvsadm's default).
pub fn fwd_from_name(s: &str) -> FwdFlag {
    match s {
        "Masq" => FwdFlag::MASQ,
        "Tunnel" => FwdFlag::TUNNEL,
        "Local" => FwdFlag::LOCAL,
        _ => FwdFlag::DROUTE,
    }
}

/// The switch `ipvsadm -S` saves (`fwd_switch`; Local is saved as `-g`).
pub fn fwd_switch(f: FwdFlag) -> &'static str {
    match f {
        FwdFlag::MASQ => "-m",
        FwdFlag::TUNNEL => "-i",
        _ => "-g",
    }
}

/// Which of ipvsadm's mutually exclusive listing layouts is in effect
/// (same precedence as `print_title`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Rule,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    Plain,
}

fn layout(o: &ListOpts) -> Layout {
    if o.stats {
        Layout::Stats
    } else if o.rate {
        Layout::Rate
    } else if o.thresholds {
        Layout::Thresholds
    } else if o.persistent_conn {
        Layout::PersistentConn
    } else {
        Layout::Plain
    }
}

/// `ipvsadm -L [options]` for the whole table: version header, column
/// titles, then every service (sorted unless `--nosort`).
/// `conn_table_size` is the connection hash size shown as `size=`.
pub fn list(svcs: &[SvcInfo], opts: &ListOpts, conn_table_size: u32) -> String {
    let mut out = format!("IP Virtual Server version 1.2.1 (size={conn_table_size})\n");
    let lay = layout(opts);
    out.push_str(&title(lay));
    for s in ordered(svcs, opts.nosort) {
        service_entry(&mut out, s, lay, opts.exact, opts.nosort);
    }
    out
}

/// `ipvsadm -L -t|-u|-f service [options]`: titles and that one service
/// (ipvsadm prints no version header in this case).
pub fn list_service(svc: &SvcInfo, opts: &ListOpts) -> String {
    let lay = layout(opts);
    let mut out = title(lay);
    service_entry(&mut out, svc, lay, opts.exact, opts.nosort);
    out
}

/// `ipvsadm -S` / `-Sn`: one `-A` line per service followed by its `-a`
/// lines, sorted. Thresholds (`-x`/`-y`) are not saved, as in ipvsadm.
pub fn save(svcs: &[SvcInfo]) -> String {
    let mut out = String::new();
    for s in ordered(svcs, false) {
        service_entry(&mut out, s, Layout::Rule, false, false);
    }
    out
}

/// `ipvsadm -Lnc`: connection entries in the given order (the kernel's
/// hash order; ipvsadm does not sort them).
pub fn connections(conns: &[ConnInfo]) -> String {
    let mut out = String::from("IPVS connection entries\n");
    let (st, src, vip) = ("state", "source", "virtual");
    let _ = writeln!(out, "pro expire {st:<11} {src:<18} {vip:<18} destination");
    for c in conns {
        let proto = c.proto.map_or("IP", proto_name);
        let expire = format!("{:02}:{:02}", c.expires_secs / 60, c.expires_secs % 60);
        let src = format!("{}:{}", c.caddr, c.cport);
        let vip = format!("{}:{}", c.vaddr, c.vport);
        let dst = format!("{}:{}", c.raddr, c.rport);
        let _ = writeln!(
            out,
            "{proto:<3} {expire:<6} {:<11} {src:<18} {vip:<18} {dst}",
            c.state
        );
    }
    out
}

/// `ipvsadm -L --timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    let (tcp, tcpfin, udp) = t.secs();
    format!("Timeout (tcp tcpfin udp): {tcp} {tcpfin} {udp}\n")
}

/// `ipvsadm -L --daemon`: one line per running daemon; `maxlen`, `group`,
/// `port`, `ttl` are omitted when zero/unset, as in ipvsadm 1.31.
pub fn daemon(daemons: &[DaemonInfo]) -> String {
    let mut out = String::new();
    for d in daemons {
        let role = match d.state {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        };
        let _ = write!(
            out,
            "{role} sync daemon (mcast={}, syncid={}",
            d.mcast_ifn, d.syncid
        );
        if d.sync_maxlen != 0 {
            let _ = write!(out, ", maxlen={}", d.sync_maxlen);
        }
        if let Some(g) = d.mcast_group {
            let _ = write!(out, ", group={g}");
        }
        if d.mcast_port != 0 {
            let _ = write!(out, ", port={}", d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            let _ = write!(out, ", ttl={}", d.mcast_ttl);
        }
        out.push_str(")\n");
    }
    out
}

/// ipvsadm's `print_largenum`: always at least 9 characters with a
/// leading space; K/M/G/T suffixes unless `exact`.
pub fn largenum(i: u64, exact: bool) -> String {
    if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        return format!("{i:>w$}");
    }
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1_000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

/// `print_title`.
fn title(lay: Layout) -> String {
    const P: &str = "Prot LocalAddress:Port";
    const R: &str = "  -> RemoteAddress:Port";
    match lay {
        Layout::Stats => format!(
            "{P:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{R}\n",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        Layout::Rate => format!(
            "{P:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{R}\n",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        ),
        Layout::Thresholds => format!(
            "{P:<33} {:<10} {:<10} {:<10} {:<10}\n{R}\n",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        Layout::PersistentConn => format!(
            "{P:<33} {:<9} {:<11} {:<10} {:<10}\n{R}\n",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
        Layout::Plain => {
            format!("{P} Scheduler Flags\n{R}           Forward Weight ActiveConn InActConn\n")
        }
        Layout::Rule => String::new(),
    }
}

fn service_entry(out: &mut String, s: &SvcInfo, lay: Layout, exact: bool, nosort: bool) {
    let rule = lay == Layout::Rule;
    let svc_name = match s.id {
        SvcId::Fwmark(m) if rule => format!("-f {m}"),
        SvcId::Fwmark(m) => format!("FWM  {m}"),
        SvcId::Addr(k) if rule => {
            let sw = match k.protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
            };
            format!("{sw} {}", host_port(k.vip, k.port))
        }
        SvcId::Addr(k) => {
            let mut n = format!("{}  {}", proto_name(k.protocol), host_port(k.vip, k.port));
            n.truncate(33);
            n
        }
    };
    let bits = sched_flag_bits(&s.flags);
    let flags = sched_flag_names(&s.scheduler, bits).join(",");
    let mask = (s.netmask != std::net::Ipv4Addr::BROADCAST).then_some(s.netmask);
    match lay {
        Layout::Rule => {
            let _ = write!(out, "-A {svc_name} -s {}", s.scheduler);
            if let Some(t) = s.persistent {
                let _ = write!(out, " -p {t}");
                if let Some(m) = mask {
                    let _ = write!(out, " -M {m}");
                }
            }
            if let Some(pe) = &s.pe {
                let _ = write!(out, " --pe {pe}");
            }
            if s.ops {
                out.push_str(" -o");
            }
            if bits != 0 {
                let _ = write!(out, " -b {flags}");
            }
        }
        Layout::Stats => {
            let _ = write!(out, "{svc_name:<33}");
            let st = &s.stats;
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                out.push_str(&largenum(v, exact));
            }
        }
        Layout::Rate => {
            let _ = write!(out, "{svc_name:<33}");
            let r = &s.rates;
            for v in [r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
                out.push_str(&largenum(v, exact));
            }
        }
        _ => {
            let _ = write!(out, "{svc_name} {}", s.scheduler);
            if bits != 0 {
                let _ = write!(out, " ({flags})");
            }
            if let Some(t) = s.persistent {
                let _ = write!(out, " persistent {t}");
                if let Some(m) = mask {
                    let _ = write!(out, " mask {m}");
                }
                if let Some(pe) = &s.pe {
                    let _ = write!(out, " pe {pe}");
                }
            }
            if s.ops {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');

    let mut dests: Vec<&RealInfo> = s.reals.iter().collect();
    if !nosort {
        merge_sort(&mut dests, &|a, b| cmp_dests(a, b));
    }
    for d in dests {
        dest_entry(out, &svc_name, d, lay, exact);
    }
}

fn dest_entry(out: &mut String, svc_name: &str, e: &RealInfo, lay: Layout, exact: bool) {
    let mut dname = format!("{}:{}", e.addr, e.port);
    if lay != Layout::Rule {
        dname.truncate(28);
    }
    let _ = match lay {
        Layout::Rule => {
            let tun = if e.fwd == FwdFlag::TUNNEL {
                " --tun-type ipip"
            } else {
                ""
            };
            writeln!(
                out,
                "-a {svc_name} -r {dname} {} -w {}{tun}",
                fwd_switch(e.fwd),
                e.weight as i32
            )
        }
        Layout::Stats => {
            let _ = write!(out, "  -> {dname:<28}");
            let st = &e.stats;
            for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                out.push_str(&largenum(v, exact));
            }
            writeln!(out)
        }
        Layout::Rate => {
            let r = &e.rates;
            let _ = write!(
                out,
                "  -> {dname:<28} {:>8} {:>8} {:>8}",
                r.cps, r.inpps, r.outpps
            );
            out.push_str(&largenum(r.inbps, exact));
            out.push_str(&largenum(r.outbps, exact));
            writeln!(out)
        }
        Layout::Thresholds => writeln!(
            out,
            "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
            e.u_threshold, e.l_threshold, e.active, e.inactive
        ),
        Layout::PersistentConn => writeln!(
            out,
            "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
            e.weight, e.persistent, e.active, e.inactive
        ),
        Layout::Plain => writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
            fwd_name(e.fwd),
            e.weight as i32,
            e.active,
            e.inactive
        ),
    };
}

fn ordered(svcs: &[SvcInfo], nosort: bool) -> Vec<&SvcInfo> {
    let mut v: Vec<&SvcInfo> = svcs.iter().collect();
    if !nosort {
        merge_sort(&mut v, &|a, b| cmp_services(a, b));
    }
    v
}

/// libipvs `ipvs_cmp_services`: fwmark, af, protocol (fwmark services
/// carry TCP, as ipvsadm sets it), address, port; 32-bit differences wrap
/// through `int`, and IPv6 addresses compare as `memcmp` does.
pub fn cmp_services(a: &SvcInfo, b: &SvcInfo) -> i32 {
    let key = |s: &SvcInfo| match s.id {
        SvcId::Fwmark(m) => (m, 2i32, 6i32, IpAddr::from([0u8; 4]), 0i32),
        SvcId::Addr(k) => (
            0,
            if k.vip.is_ipv4() { 2 } else { 10 },
            i32::from(k.protocol.number()),
            k.vip,
            i32::from(k.port),
        ),
    };
    let (fa, afa, pa, aa, qa) = key(a);
    let (fb, afb, pb, ab, qb) = key(b);
    let r = fa.wrapping_sub(fb) as i32;
    if r != 0 {
        return r;
    }
    let r = afa - afb;
    if r != 0 {
        return r;
    }
    let r = pa - pb;
    if r != 0 {
        return r;
    }
    let r = match (aa, ab) {
        (IpAddr::V4(x), IpAddr::V4(y)) => u32::from(x).wrapping_sub(u32::from(y)) as i32,
        (x, y) => x.cmp(&y) as i32,
    };
    if r != 0 {
        return r;
    }
    qa - qb
}

/// libipvs `ipvs_cmp_dests`: address (wrapping `int` difference), port.
pub fn cmp_dests(a: &RealInfo, b: &RealInfo) -> i32 {
    let r = u32::from(a.addr).wrapping_sub(u32::from(b.addr)) as i32;
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc `msort_with_tmp`: split n/2 | n - n/2, sort halves, merge taking
/// the left element when `cmp <= 0`.
fn merge_sort<T: Copy>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let (a, b) = v.split_at_mut(n / 2);
    merge_sort(a, cmp);
    merge_sort(b, cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if cmp(&a[i], &b[j]) <= 0 {
            merged.push(a[i]);
            i += 1;
        } else {
            merged.push(b[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    v.copy_from_slice(&merged);
}
