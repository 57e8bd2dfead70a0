//! Piranha lvs.cf constructs.
use super::*;
use crate::config::check_def::{CheckKind, OnFailure};
use crate::config::{Method, Protocol, Scheduler};
use std::net::Ipv4Addr;
use std::time::Duration;

const PI: Format = Format::Piranha;

fn check(r: &Real) -> &crate::config::check_def::Check {
    r.check.as_ref().expect("a check")
}

const GLOBALS: &str = "\
serial_no = 7
primary = 192.168.1.10
primary_private = 10.0.0.10
service = lvs
backup_active = 1
backup = 192.168.1.11
backup_private = 10.0.0.11
heartbeat = 1
heartbeat_port = 539
keepalive = 2
deadtime = 10
network = direct
nat_router = 10.11.12.254 eth1:1
monitor_links = 0
tcp_timeout = 3600
tcpfin_timeout = 30
udp_timeout = 60
";

#[test]
fn globals_become_ha_ports_and_timeouts() {
    let (m, ws) = run(PI, GLOBALS);
    let h = m.ha.as_ref().expect("[ha]");
    assert_eq!(
        (h.node.as_str(), h.priority, h.preempt),
        ("primary", 150, false)
    );
    assert_eq!(h.listen.to_string(), "10.0.0.10:539");
    assert_eq!(h.peer.to_string(), "10.0.0.11:539");
    assert_eq!(
        (h.interval, h.dead_interval),
        (Duration::from_secs(2), Duration::from_secs(10))
    );
    assert_eq!(m.timeouts.tcp, Duration::from_secs(3600));
    assert_eq!(
        (m.timeouts.tcp_fin, m.timeouts.udp),
        (Duration::from_secs(30), Duration::from_secs(60))
    );
    assert_eq!(m.ports[0].name, "eth1");
    assert_eq!(m.ports[0].floating, [Ipv4Addr::new(10, 11, 12, 254)]);
    assert_warned(&ws, 1, "serial_no");
    assert_warned(&ws, line_of(GLOBALS, "monitor_links"), "always watches");
    let standalone = GLOBALS.replace("backup_active = 1", "backup_active = 0");
    let (m, ws) = run(PI, &standalone);
    assert!(m.ha.is_none());
    for line in [2, 3, 5, 6, 7, 8, 9, 10, 11] {
        assert_warned(&ws, line, "standalone");
    }
}

#[test]
fn virtual_servers_and_nanny_checks() {
    let t = format!(
        "{GLOBALS}{}",
        "\
virtual HTTP {
     active = 1
     address = 192.168.1.100 eth0:1
     vip_nmask = 255.255.255.0
     port = 80
     persistent = 300
     pmask = 255.255.255.0
     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"
     expect = \"HTTP/1.1 200 (OK)\"
     use_regex = 0
     load_monitor = none
     scheduler = wlc
     protocol = tcp
     timeout = 6
     reentry = 15
     quiesce_server = 1
     server web1 {
         address = 10.11.12.1
         active = 1
         weight = 1
     }
     server web2 {
         address = 10.11.12.2
         active = 0
     }
}
virtual DNS {
     active = 1
     address = 192.168.1.101 eth0
     port = 53
     protocol = udp
     scheduler = rr
     send_program = \"/usr/local/bin/check-dns %h\"
     expect = \"OK\"
     use_regex = 1
     server d1 {
         address = 10.11.12.3
         active = 1
         weight = 3
         port = 5353
     }
}
virtual MARK {
     active = 1
     address = 192.168.1.102 eth0
     fwmark = 3
}
virtual OFF {
     active = 0
     address = 192.168.1.103 eth0
}
"
    );
    let (m, ws) = run(PI, &t);
    let s = svc(&m, "192.168.1.100", 80);
    assert_eq!(
        (s.name.as_str(), s.method, s.scheduler),
        ("HTTP", Method::Dr, Scheduler::Wlc)
    );
    let p = s.persistence.as_ref().expect("persistent");
    assert_eq!(
        (p.timeout, p.netmask),
        (Duration::from_secs(300), Ipv4Addr::new(255, 255, 255, 0))
    );
    assert_eq!(s.reals.len(), 1);
    let c = check(real(s, "10.11.12.1"));
    assert_eq!(
        c.kind,
        CheckKind::SendExpect {
            send: "GET / HTTP/1.0\\r\\n\\r\\n".into(),
            expect: "^HTTP/1\\.1 200 \\(OK\\)".into()
        }
    );
    // nanny: dead after `timeout` seconds, back after `reentry` seconds.
    assert_eq!(c.params.interval, Duration::from_secs(1));
    assert_eq!((c.params.fall, c.params.rise), (6, 15));
    assert_eq!(c.on_failure, OnFailure::Remove);
    assert_warned(&ws, line_of(&t, "web2"), "not active");
    assert_warned(&ws, line_of(&t, "quiesce_server"), "not carried");
    assert_warned(&ws, line_of(&t, "vip_nmask"), "not carried");
    let d = svc(&m, "192.168.1.101", 53);
    assert_eq!((d.protocol, d.scheduler), (Protocol::Udp, Scheduler::Rr));
    let r = real(d, "10.11.12.3");
    // DR cannot change the port: the service port is used and warned.
    assert_eq!((r.weight, r.port), (3, 53));
    assert_eq!(
        check(r).kind,
        CheckKind::Exec {
            command: "/usr/local/bin/check-dns".into(),
            args: vec!["%h".into()],
            dynamic: false
        }
    );
    assert_warned(&ws, line_of(&t, "expect = \"OK\""), "exit status");
    assert_warned(&ws, line_of(&t, "fwmark"), "firewall-mark");
    assert_warned(&ws, line_of(&t, "virtual OFF"), "not active");
    assert_eq!(m.services.len(), 2);
    let names: Vec<&str> = m.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["eth1", "eth0"]);
}

#[test]
fn nat_network_keeps_the_real_port() {
    let t = "network = nat\nvirtual W {\n active = 1\n address = 10.0.0.1 eth0\n port = 80\n server a {\n  address = 10.1.0.1\n  active = 1\n  port = 8080\n }\n}\n";
    let (m, ws) = run(PI, t);
    let s = svc(&m, "10.0.0.1", 80);
    assert_eq!((s.method, real(s, "10.1.0.1").port), (Method::Nat, 8080));
    // Piranha's default check: connect, send nothing, expect nothing.
    assert_eq!(
        check(real(s, "10.1.0.1")).kind,
        CheckKind::SendExpect {
            send: String::new(),
            expect: String::new()
        }
    );
    assert!(ws.is_empty(), "{ws:?}");
}
