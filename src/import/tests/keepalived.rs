//! keepalived.conf constructs, one test per group of keywords.
use super::*;
use crate::config::check_def::{CheckKind, OnFailure, StatusRange};
use crate::config::{Method, Protocol, Scheduler};
use std::net::Ipv4Addr;
use std::time::Duration;

const KA: Format = Format::Keepalived;

fn check(r: &Real) -> &crate::config::check_def::Check {
    r.check.as_ref().expect("a check")
}

#[test]
fn nat_default_and_keepalived_defaults_are_written_out() {
    let t = "virtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 8080 {\n    TCP_CHECK {\n    }\n  }\n}\n";
    let (m, _) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 80);
    // keepalived forwards by NAT unless told otherwise; lvsd's default is DR.
    assert_eq!(
        (s.method, real(s, "10.1.0.1").method),
        (Method::Nat, Method::Nat)
    );
    assert_eq!(real(s, "10.1.0.1").port, 8080);
    assert_eq!(real(s, "10.1.0.1").weight, 1);
    assert_eq!(
        (s.scheduler, s.quorum, s.hysteresis),
        (Scheduler::Wlc, 1, 0)
    );
    let c = check(real(s, "10.1.0.1"));
    assert_eq!(c.kind, CheckKind::Tcp);
    // delay_loop 60 s, connect_timeout 5 s, retry 1, warmup up to delay_loop,
    // a failed real removed (no inhibit_on_failure).
    assert_eq!(c.params.interval, Duration::from_secs(60));
    assert_eq!(c.params.timeout, Duration::from_secs(5));
    assert_eq!((c.params.rise, c.params.fall), (1, 2));
    assert_eq!(c.params.warmup, Duration::from_secs(60));
    assert!(!c.params.alpha);
    assert_eq!(c.on_failure, OnFailure::Remove);
}

#[test]
fn timers_inherit_and_convert_to_milliseconds() {
    let t = "\
virtual_server 10.0.0.1 80 {
    delay_loop 6
    alpha
    real_server 10.1.0.1 80 {
        TCP_CHECK {
            connect_timeout 2.5
            retry 2
            delay_before_retry 6
        }
    }
    real_server 10.1.0.2 80 {
        inhibit_on_failure
        warmup 0
        TCP_CHECK {
        }
    }
}
";
    let (m, ws) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 80);
    let a = check(real(s, "10.1.0.1"));
    assert_eq!(a.params.interval, Duration::from_millis(6000));
    assert_eq!(a.params.timeout, Duration::from_millis(2500));
    assert_eq!(
        (a.params.fall, a.params.warmup),
        (3, Duration::from_secs(6))
    );
    assert!(a.params.alpha);
    assert_eq!(a.on_failure, OnFailure::Remove);
    let b = check(real(s, "10.1.0.2"));
    assert_eq!((b.params.fall, b.params.warmup), (2, Duration::ZERO));
    assert_eq!(b.on_failure, OnFailure::Inhibit);
    // delay_before_retry equal to delay_loop changes nothing; the default
    // (1 s) of the second checker does.
    assert!(!ws
        .iter()
        .any(|w| w.loc.line == line_of(t, "delay_before_retry")));
    let second = t
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("TCP_CHECK"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    assert_warned(&ws, second, "delay_before_retry (1000 ms) not carried");
}

#[test]
fn http_and_ssl_checks_carry_the_first_url() {
    let t = "\
virtual_server 10.0.0.1 80 {
    virtualhost www.example.com
    real_server 10.1.0.1 80 {
        HTTP_GET {
            url {
                path /health
                digest 9B3A0C85A887A256D6939DA88AABD8CD
                status_code 200 300-302
                regex \"^OK\"
            }
            url {
                path /second
            }
            http_protocol 1.1
            connect_port 8081
            connect_ip 10.9.9.9
            bindto 10.1.0.254
            bind_port 40000
        }
    }
    real_server 10.1.0.2 80 {
        SSL_GET {
            url {
                path /
                virtualhost tls.example.com
                regex \"^down\"
                regex_no_match
            }
            enable_sni
        }
    }
}
";
    let (m, ws) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 80);
    let a = check(real(s, "10.1.0.1"));
    assert_eq!(
        a.kind,
        CheckKind::Http {
            method: "GET".into(),
            path: "/health".into(),
            host: Some("www.example.com".into()),
            status: vec![StatusRange::single(200), StatusRange::new(300, 302)],
            body_regex: Some("^OK".into()),
            digest: Some("9b3a0c85a887a256d6939da88aabd8cd".into()),
            tls: false,
        }
    );
    assert_eq!(a.params.connect_port, Some(8081));
    assert_eq!(a.params.bind_addr, Some(Ipv4Addr::new(10, 1, 0, 254)));
    assert_eq!(a.params.bind_port, Some(40000));
    assert_warned(&ws, line_of(t, "path /second") - 1, "one URL per check");
    assert_warned(&ws, line_of(t, "http_protocol"), "HTTP/1.0");
    assert_warned(&ws, line_of(t, "connect_ip"), "real server's own address");
    let CheckKind::Http {
        tls, host, status, ..
    } = &check(real(s, "10.1.0.2")).kind
    else {
        panic!("https check")
    };
    assert!(tls);
    assert_eq!(host.as_deref(), Some("tls.example.com"));
    assert_eq!(status, &vec![StatusRange::new(200, 299)]);
    // A regex that must not match is not turned into one that must.
    let CheckKind::Http { body_regex, .. } = &check(real(s, "10.1.0.2")).kind else {
        panic!("https check")
    };
    assert_eq!(body_regex, &None);
    assert_warned(&ws, line_of(t, "regex_no_match"), "left out");
}

#[test]
fn misc_dns_and_udp_checks() {
    let t = "\
virtual_server 10.0.0.1 53 {
    protocol UDP
    delay_loop 10
    real_server 10.1.0.1 53 {
        MISC_CHECK {
            misc_path \"/usr/local/bin/check.sh 10.1.0.1\"
            misc_timeout 4
            misc_dynamic
            user nobody
        }
    }
    real_server 10.1.0.2 53 {
        DNS_CHECK {
            type a
            name www.example.com
        }
    }
    real_server 10.1.0.3 53 {
        UDP_CHECK {
            payload 0a0B 0c
            require_reply 0a0b
            max_reply_length 10
        }
    }
    real_server 10.1.0.4 53 {
        UDP_CHECK {
            require_reply
        }
    }
}
";
    let (m, ws) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 53);
    assert_eq!(s.protocol, Protocol::Udp);
    let misc = check(real(s, "10.1.0.1"));
    assert_eq!(
        misc.kind,
        CheckKind::Exec {
            command: "/usr/local/bin/check.sh 10.1.0.1".into(),
            args: vec![],
            dynamic: true
        }
    );
    // MISC_CHECK's retry default is 0.
    assert_eq!(
        (misc.params.timeout, misc.params.fall),
        (Duration::from_secs(4), 1)
    );
    assert_warned(&ws, line_of(t, "user nobody"), "[children] run_as");
    let dns = check(real(s, "10.1.0.2"));
    assert_eq!(
        dns.kind,
        CheckKind::Dns {
            qtype: "A".into(),
            name: "www.example.com".into()
        }
    );
    // DNS_CHECK: retry 3, delay_before_retry = delay_loop (nothing to warn).
    assert_eq!(dns.params.fall, 4);
    assert!(!warned(&ws, line_of(t, "DNS_CHECK"), "delay_before_retry"));
    assert_eq!(
        check(real(s, "10.1.0.3")).kind,
        CheckKind::Udp {
            payload: vec![0x0a, 0x0b, 0x0c],
            expect: Some(vec![0x0a, 0x0b])
        }
    );
    assert_warned(&ws, line_of(t, "max_reply_length"), "first bytes");
    assert_eq!(
        check(real(s, "10.1.0.4")).kind,
        CheckKind::Udp {
            payload: vec![],
            expect: Some(vec![])
        }
    );
}

#[test]
fn checkers_lvsd_lacks_and_extra_checkers_are_warned() {
    let t = "\
virtual_server 10.0.0.1 25 {
    real_server 10.1.0.1 25 {
        SMTP_CHECK {
            helo_name lvs.example.com
        }
    }
    real_server 10.1.0.2 25 {
        PING_CHECK {
        }
    }
    real_server 10.1.0.3 25 {
        FILE_CHECK {
            track_file f
        }
        notify_up /bin/up
    }
    real_server 10.1.0.4 25 {
        TCP_CHECK {
            connect_timeout 1
        }
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
";
    let (m, ws) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 25);
    for (ip, kw) in [
        ("10.1.0.1", "SMTP_CHECK"),
        ("10.1.0.2", "PING_CHECK"),
        ("10.1.0.3", "FILE_CHECK"),
    ] {
        assert!(real(s, ip).check.is_none(), "{ip}");
        assert_warned(&ws, line_of(t, kw), "not carried (yet)");
    }
    assert_warned(
        &ws,
        line_of(t, "real_server 10.1.0.3"),
        "this real has no check",
    );
    let c = check(real(s, "10.1.0.4"));
    assert_eq!(
        (&c.kind, c.params.timeout),
        (&CheckKind::Tcp, Duration::from_secs(1))
    );
    assert_warned(&ws, line_of(t, "MISC_CHECK"), "one check per real");
}

#[test]
fn virtual_server_settings() {
    let t = "\
virtual_server 10.0.0.1 80 {
    lb_algo sh
    lb_kind DR
    sh-port
    flag-3
    mh-port
    persistence_timeout
    persistence_granularity 255.255.255.0
    sorry_server 10.1.0.99 8080
    quorum 3
    hysteresis 1
    quorum_up \"/bin/q up\"
    quorum_down /bin/q-down
    omega
    hashed
    real_server 10.1.0.1 80 {
        weight 7
        uthreshold 100
        lthreshold 10
        lvs_method TUN
    }
    real_server 10.1.0.2 81 {
    }
}
virtual_server 10.0.0.1 53 {
    lvs_sched rr
    lvs_method NAT
    protocol UDP
    ops
    persistence_timeout 50
    real_server 10.1.0.3 5353 {
    }
}
";
    let (m, ws) = run(KA, t);
    let s = svc(&m, "10.0.0.1", 80);
    assert_eq!((s.scheduler, s.method), (Scheduler::Sh, Method::Dr));
    assert_eq!(crate::config::emit::flag_names(s), ["sh-port", "flag-3"]);
    assert_warned(&ws, line_of(t, "mh-port"), "applies to scheduler mh only");
    let p = s.persistence.as_ref().expect("persistent");
    assert_eq!(
        (p.timeout, p.netmask),
        (Duration::from_secs(360), Ipv4Addr::new(255, 255, 255, 0))
    );
    let sorry = s.sorry.as_ref().expect("sorry server");
    assert_eq!(
        (sorry.address.to_string(), sorry.port),
        ("10.1.0.99".into(), 8080)
    );
    assert_eq!((s.quorum, s.hysteresis), (3, 1));
    assert_eq!(s.quorum_up.as_deref(), Some("/bin/q up"));
    assert_eq!(s.quorum_down.as_deref(), Some("/bin/q-down"));
    assert_warned(&ws, line_of(t, "omega"), "shutdown");
    assert_warned(&ws, line_of(t, "hashed"), "no lvsd equivalent");
    let r = real(s, "10.1.0.1");
    assert_eq!(
        (r.weight, r.upper_threshold, r.lower_threshold, r.method),
        (7, 100, 10, Method::Tun)
    );
    // DR cannot change the port: IPVS ignores it, lvsd refuses it.
    assert_eq!(real(s, "10.1.0.2").port, 80);
    assert_warned(&ws, line_of(t, "10.1.0.2 81"), "cannot change the port");
    let u = svc(&m, "10.0.0.1", 53);
    assert_eq!(
        (u.scheduler, u.method, u.protocol, u.ops),
        (Scheduler::Rr, Method::Nat, Protocol::Udp, true)
    );
    assert_eq!(real(u, "10.1.0.3").port, 5353);
    assert_eq!(
        u.persistence.as_ref().map(|p| p.timeout),
        Some(Duration::from_secs(50))
    );
}

#[test]
fn groups_fwmark_and_ipv6() {
    let t = "\
virtual_server_group G {
    10.0.0.1 80
    10.0.0.2-3 80
    10.0.1.0/31 8080
    fwmark 5
}
virtual_server group G {
    lb_algo rr
    real_server 10.1.0.1 80 {
    }
}
virtual_server fwmark 7 {
    real_server 10.1.0.2 80 {
    }
}
virtual_server 2001:db8::1 80 {
}
virtual_server group NOPE {
}
virtual_server_group UNUSED {
    10.0.0.9 80
}
";
    let (m, ws) = run(KA, t);
    let keys: Vec<String> = m
        .services
        .iter()
        .map(|s| format!("{}:{}", s.vip, s.port))
        .collect();
    assert_eq!(
        keys,
        [
            "10.0.0.1:80",
            "10.0.0.2:80",
            "10.0.0.3:80",
            "10.0.1.0:8080",
            "10.0.1.1:8080"
        ]
    );
    assert!(m
        .services
        .iter()
        .all(|s| s.scheduler == Scheduler::Rr && s.reals.len() == 1));
    assert_warned(&ws, line_of(t, "fwmark 5"), "firewall-mark");
    assert_warned(&ws, line_of(t, "virtual_server fwmark 7"), "firewall-mark");
    assert_warned(&ws, line_of(t, "2001:db8::1"), "IPv6");
    assert_warned(&ws, line_of(t, "NOPE"), "no virtual_server_group named");
    assert_warned(&ws, line_of(t, "UNUSED"), "no virtual_server uses");
}

#[test]
fn vrrp_instances_become_one_ha_section() {
    let t = "\
global_defs {
    router_id lvs-a
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 3
    lvs_timeouts tcp 7200 tcpfin 60 udp 120
    smtp_server 10.9.9.9
}
virtual_server 192.168.0.10 80 {
    real_server 10.1.0.1 80 {
    }
}
vrrp_script chk {
    script \"/bin/chk uplink\"
    interval 2
    fall 3
    rise 2
    timeout 1
}
vrrp_script heavy {
    script /bin/heavy
    weight -20
}
vrrp_script idle {
    script /bin/idle
}
vrrp_sync_group G {
    group {
        EXT
        INT
    }
    notify_master \"/bin/n master\"
}
vrrp_instance EXT {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.5
    nopreempt
    preempt_delay 2
    authentication {
        auth_pass x
    }
    virtual_ipaddress {
        192.168.0.10/24 dev eth0
        192.168.0.11
    }
    track_interface {
        eth0
    }
    track_script {
        chk
        heavy
        absent
    }
    unicast_src_ip 10.9.0.1
    unicast_peer {
        10.9.0.2
    }
    notify_backup /bin/n-backup
    notify /bin/any
}
vrrp_instance INT {
    interface eth1
    virtual_router_id 52
    priority 150
    advert_int 0.5
    nopreempt
    preempt_delay 2
    unicast_src_ip 10.9.0.1
    unicast_peer {
        10.9.0.2
    }
    notify_backup /bin/n-backup
    virtual_ipaddress {
        10.1.0.254/24 dev eth1
    }
}
vrrp_instance OTHER {
    priority 90
    unicast_peer {
        10.9.0.2
    }
}
";
    let (m, ws) = run(KA, t);
    let h = m.ha.as_ref().expect("[ha]");
    assert_eq!((h.node.as_str(), h.priority, h.vrid), ("lvs-a", 150, 51));
    assert!(!h.preempt);
    assert_eq!(h.preempt_delay, Duration::from_secs(2));
    assert_eq!(h.interval, Duration::from_millis(500));
    // keepalived's master-down time: 3 × 500 + (256 − 150) × 500 / 256.
    assert_eq!(h.dead_interval, Duration::from_millis(1500 + 207));
    assert_eq!((h.garp.repeat, h.garp.delay), (3, Duration::from_secs(10)));
    assert_eq!(h.listen.to_string(), "10.9.0.1:5511");
    assert_eq!(h.peer.to_string(), "10.9.0.2:5511");
    assert_eq!(h.notify_active.as_deref(), Some("/bin/n master"));
    assert_eq!(h.notify_backup.as_deref(), Some("/bin/n-backup"));
    // A weight-0 vrrp_script (FAULT on failure) is an lvsd tracked command.
    assert_eq!(h.track.len(), 1);
    assert_eq!(h.track[0].command, "/bin/chk uplink");
    assert_eq!(h.track[0].interval, Duration::from_secs(2));
    assert_eq!((h.track[0].fall, h.track[0].rise), (3, 2));
    assert_eq!(m.timeouts.tcp, Duration::from_secs(7200));
    assert_eq!(
        (m.timeouts.tcp_fin, m.timeouts.udp),
        (Duration::from_secs(60), Duration::from_secs(120))
    );
    let names: Vec<&str> = m.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["eth0", "eth1"]);
    // A VIP needs nothing; another VRRP address floats on its port.
    assert_eq!(m.ports[0].floating, [Ipv4Addr::new(192, 168, 0, 11)]);
    assert_eq!(m.ports[1].floating, [Ipv4Addr::new(10, 1, 0, 254)]);
    assert!(m
        .ports
        .iter()
        .all(|p| !p.address.contains(Ipv4Addr::new(192, 168, 0, 10))));
    for (kw, msg) in [
        ("smtp_server", "no lvsd equivalent"),
        ("state MASTER", "elects"),
        ("authentication", "key_file"),
        ("track_interface", "link of every data port"),
        ("        heavy", "weight -20"),
        ("        absent", "no vrrp_script named"),
        ("vrrp_script idle", "no vrrp_instance tracks it"),
        ("timeout 1", "interval_ms"),
        ("notify /bin/any", "split this script"),
        ("vrrp_instance OTHER", "priority"),
    ] {
        assert_warned(&ws, line_of(t, kw), msg);
    }
    let int = line_of(t, "vrrp_instance INT");
    assert_warned(&ws, int, "virtual_router_id not carried");
    assert!(!warned(&ws, int, "priority"));
}

#[test]
fn includes_are_followed_relative_to_the_including_file() {
    let dir = std::env::temp_dir().join(format!("lvsd-import-inc-{}", std::process::id()));
    let sub = dir.join("conf.d");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("a.conf"),
        "virtual_server 10.0.0.1 80 {\n    include ../reals.inc\n}\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("b.conf"),
        "virtual_server 10.0.0.2 80 {\n    bogus_keyword 1\n}\n",
    )
    .unwrap();
    std::fs::write(
        sub.join(".hidden.conf"),
        "virtual_server 10.0.0.3 80 {\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("reals.inc"), "real_server 10.1.0.1 80 {\n}\n").unwrap();
    let t = "include conf.d/*.conf\ninclude missing.conf\n";
    let (m, ws) = run_in(KA, t, Some(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    let keys: Vec<String> = m.services.iter().map(|s| s.vip.to_string()).collect();
    assert_eq!(keys, ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(svc(&m, "10.0.0.1", 80).reals.len(), 1);
    assert_warned(&ws, 2, "no such file");
    let b = ws
        .iter()
        .find(|w| w.loc.file.ends_with("b.conf"))
        .expect("b.conf warning");
    assert_eq!((b.loc.line, b.source.as_str()), (2, "bogus_keyword 1"));
}

#[test]
fn unexpanded_lines_unknown_blocks_and_braces_are_warned() {
    let t = "\
$PRIO=100
@main virtual_server 10.0.0.9 80 {
}
~SEQ(i, 1, 3) x
net_namespace blue
virtual_server 10.0.0.1 80 {
    real_server 10.1.0.1 80 {
}
}
}
";
    let (m, ws) = run(KA, t);
    assert_eq!(m.services.len(), 1);
    assert_warned(&ws, 1, "not expanded");
    assert_warned(&ws, 2, "not expanded");
    assert_warned(&ws, 4, "not expanded");
    assert_warned(&ws, 5, "net_namespace");
    assert!(ws.iter().any(|w| w.message.contains("unmatched")));
}

#[test]
fn vrrp_globals_without_an_instance_are_warned() {
    let t = "global_defs {\n    router_id a\n    vrrp_garp_master_repeat 2\n}\n";
    let (m, ws) = run(KA, t);
    assert!(m.ha.is_none());
    assert_warned(&ws, 2, "standalone");
    assert_warned(&ws, 3, "standalone");
}
