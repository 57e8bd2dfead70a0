//! Model → TOML text, the inverse of [`load`](super::load): every field is
//! written explicitly, so `load(&emit(m)) == Ok(m)`. Used to save the
//! running configuration (`lvsadm save-config`).
use super::model::*;
use super::net::format_mac;
use std::fmt::Write;

fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The `-b`/`flags` names of a service's scheduler flags.
pub fn flag_names(s: &Service) -> Vec<&'static str> {
    let mut v = Vec::new();
    let (f1, f2) = match s.scheduler {
        Scheduler::Sh => ("sh-fallback", "sh-port"),
        Scheduler::Mh => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    if s.flags.contains(ServiceFlags::SCHED1) {
        v.push(f1);
    }
    if s.flags.contains(ServiceFlags::SCHED2) {
        v.push(f2);
    }
    if s.flags.contains(ServiceFlags::SCHED3) {
        v.push("flag-3");
    }
    v
}

/// The whole model as a configuration file.
pub fn emit(m: &Model) -> String {
    let mut o = String::new();
    emit_dpdk(&mut o, &m.dpdk);
    for p in &m.ports {
        emit_port(&mut o, p);
    }
    emit_neighbors_and_routes(&mut o, m);
    emit_globals(&mut o, m);
    if let Some(h) = &m.ha {
        emit_ha(&mut o, h);
    }
    emit_management(&mut o, m);
    if let Some(r) = &m.children.run_as {
        let _ = writeln!(o, "[children]\nrun_as = {}\n", q(&r.user));
    }
    for s in &m.services {
        emit_service(&mut o, s);
    }
    o
}

/// `[dpdk]`
fn emit_dpdk(o: &mut String, d: &Dpdk) {
    let lcores: Vec<String> = d.lcores.iter().map(u32::to_string).collect();
    let args: Vec<String> = d.args.iter().map(|a| q(a)).collect();
    let _ = writeln!(o, "[dpdk]\nlcores = {}\nmemory_mb = {}\nhugepages = {}\nfile_prefix = {}\nargs = [{}]\nburst = {}\nmbufs = {}\n",
        q(&lcores.join(",")), d.memory_mb, d.hugepages, q(&d.file_prefix), args.join(", "), d.burst, d.mbufs);
}

/// One `[[port]]`.
fn emit_port(o: &mut String, p: &Port) {
    let _ = writeln!(
        o,
        "[[port]]\nname = {}\ndevice = {}\naddress = {}\nrx_queues = {}\ntx_queues = {}\nmtu = {}",
        q(&p.name),
        q(p.device.as_str()),
        q(&p.address.to_string()),
        p.rx_queues,
        p.tx_queues,
        p.mtu
    );
    if let Some(mac) = &p.mac {
        let _ = writeln!(o, "mac = {}", q(&format_mac(mac)));
    }
    let _ = writeln!(
        o,
        "kernel_iface = {}",
        q(p.kernel_iface.as_deref().unwrap_or(""))
    );
    let fl: Vec<String> = p.floating.iter().map(|a| q(&a.to_string())).collect();
    let _ = writeln!(o, "floating = [{}]", fl.join(", "));
    o.push('\n');
}

/// `[[neighbor]]` and `[[route]]`.
fn emit_neighbors_and_routes(o: &mut String, m: &Model) {
    for n in &m.neighbors {
        let port = m.ports.get(n.port).map_or("", |p| p.name.as_str());
        let _ = writeln!(
            o,
            "[[neighbor]]\nport = {}\naddress = {}\nmac = {}\n",
            q(port),
            q(&n.address.to_string()),
            q(&format_mac(&n.mac))
        );
    }
    for r in &m.routes {
        let _ = writeln!(
            o,
            "[[route]]\ndestination = {}\nvia = {}\n",
            q(&r.destination.to_string()),
            q(&r.via.to_string())
        );
    }
}

/// `[arp]`, `[log]`, `[timeouts]`, `[conn]` and `[limits]`.
fn emit_globals(o: &mut String, m: &Model) {
    let _ = writeln!(
        o,
        "[arp]\ntimeout_s = {}\nretry_ms = {}\npending = {}\n",
        m.arp.timeout.as_secs(),
        m.arp.retry.as_millis(),
        m.arp.pending
    );
    let fmt = match m.log.format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    let _ = writeln!(
        o,
        "[log]\nformat = {}\nlevel = {}\n",
        q(fmt),
        q(&m.log.level)
    );
    let _ = writeln!(
        o,
        "[timeouts]\ntcp = {}\ntcp_fin = {}\nudp = {}\n",
        m.timeouts.tcp.as_secs(),
        m.timeouts.tcp_fin.as_secs(),
        m.timeouts.udp.as_secs()
    );
    let _ = writeln!(o, "[conn]\ncapacity = {}\nexpire_nodest_conn = {}\nexpire_quiescent_template = {}\nsloppy_tcp = {}\n",
        m.conn.capacity, m.conn.expire_nodest_conn, m.conn.expire_quiescent_template, m.conn.sloppy_tcp);
    let l = &m.limits;
    let _ = writeln!(
        o,
        "[limits]\nicmp_rate = {}\nicmp_burst = {}\nkernel_rate = {}\nkernel_burst = {}\n",
        l.icmp.rate, l.icmp.burst, l.kernel.rate, l.kernel.burst
    );
}

/// `[ha]`.
fn emit_ha(o: &mut String, h: &super::ha::Ha) {
    let _ = writeln!(
        o,
        "[ha]\nnode = {}\npriority = {}\npreempt = {}\npreempt_delay_ms = {}\npeer = {}\nlisten = {}\nkey_file = {}\ninterval_ms = {}\ndead_interval_ms = {}\nvrid = {}\ngarp = {{ repeat = {}, delay_ms = {} }}\n",
        q(&h.node),
        h.priority,
        h.preempt,
        h.preempt_delay.as_millis(),
        q(&h.peer.to_string()),
        q(&h.listen.to_string()),
        q(&h.key_file.to_string_lossy()),
        h.interval.as_millis(),
        h.dead_interval.as_millis(),
        h.vrid,
        h.garp.repeat,
        h.garp.delay.as_millis()
    );
    for (k, v) in [
        ("notify_active", &h.notify_active),
        ("notify_backup", &h.notify_backup),
        ("notify_fault", &h.notify_fault),
    ] {
        if let Some(c) = v {
            let _ = writeln!(o, "{k} = {}", q(c));
        }
    }
    if !h.track.is_empty() {
        let entries: Vec<String> = h
            .track
            .iter()
            .map(|t| {
                format!(
                    "{{ command = {}, interval_ms = {}, fall = {}, rise = {} }}",
                    q(&t.command),
                    t.interval.as_millis(),
                    t.fall,
                    t.rise
                )
            })
            .collect();
        let _ = writeln!(o, "track = [{}]", entries.join(", "));
    }
    o.push('\n');
}

/// `[control]` and `[metrics]`.
fn emit_management(o: &mut String, m: &Model) {
    let _ = writeln!(
        o,
        "[control]\nsocket = {}\n",
        q(&m.control.socket.to_string_lossy())
    );
    match m.metrics.listen {
        Some(a) => {
            let _ = writeln!(o, "[metrics]\nlisten = {}\n", q(&a.to_string()));
        }
        None => {
            let _ = writeln!(o, "[metrics]\nenabled = false\n");
        }
    }
}

/// One `[[service]]` with its check, sorry server and reals.
fn emit_service(o: &mut String, s: &Service) {
    let flags: Vec<String> = flag_names(s).iter().map(|f| q(f)).collect();
    let _ = writeln!(o, "[[service]]\nname = {}\nprotocol = {}\nvip = {}\nport = {}\nscheduler = {}\nflags = [{}]\nops = {}\nmethod = {}\nmaglev_size = {}",
        q(&s.name), q(s.protocol.as_str()), q(&s.vip.to_string()), s.port, q(s.scheduler.as_str()), flags.join(", "), s.ops, q(s.method.as_str()), s.maglev_size);
    if let Some(p) = &s.persistence {
        let _ = writeln!(
            o,
            "persistence = {{ timeout = {}, netmask = {} }}",
            p.timeout.as_secs(),
            q(&p.netmask.to_string())
        );
    }
    let _ = writeln!(o, "quorum = {}\nhysteresis = {}", s.quorum, s.hysteresis);
    if let Some(c) = &s.quorum_up {
        let _ = writeln!(o, "quorum_up = {}", q(c));
    }
    if let Some(c) = &s.quorum_down {
        let _ = writeln!(o, "quorum_down = {}", q(c));
    }
    o.push('\n');
    if let Some(c) = &s.check_raw {
        let _ = writeln!(o, "  [service.check]\n{}", super::checks::emit(c));
    }
    if let Some(so) = &s.sorry {
        let _ = writeln!(
            o,
            "  [service.sorry]\n  address = {}\n  port = {}\n",
            q(&so.address.to_string()),
            so.port
        );
    }
    for r in &s.reals {
        let _ = writeln!(o, "  [[service.real]]\n  address = {}\n  port = {}\n  weight = {}\n  method = {}\n  upper_threshold = {}\n  lower_threshold = {}\n",
            q(&r.address.to_string()), r.port, r.weight, q(r.method.as_str()), r.upper_threshold, r.lower_threshold);
        if let Some(c) = &r.check_raw {
            let _ = writeln!(o, "  [service.real.check]\n{}", super::checks::emit(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let m = super::super::load_file(&p).unwrap();
                let text = emit(&m);
                let back = super::super::load(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{text}", p.display()));
                assert_eq!(back, m, "{}", p.display());
            }
        }
    }
}
