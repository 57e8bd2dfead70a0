//! ldirectord.cf constructs.
use super::*;
use crate::config::check_def::{CheckKind, OnFailure, StatusRange};
use crate::config::{Method, Protocol, Scheduler};
use std::net::Ipv4Addr;
use std::time::Duration;

const LD: Format = Format::Ldirectord;

fn check(r: &Real) -> &crate::config::check_def::Check {
    r.check.as_ref().expect("a check")
}

#[test]
fn defaults_and_global_timers_are_written_out() {
    let t = "\
checkinterval=5
checktimeout=3
negotiatetimeout=10
failurecount=2
virtual=192.168.6.240:80
\treal=192.168.6.2:80 masq
virtual=192.168.6.240:81
\treal=192.168.6.3:81 gate
\tchecktype=connect
\tquiescent=yes
";
    let (m, ws) = run(LD, t);
    assert!(ws.is_empty(), "{ws:?}");
    let s = svc(&m, "192.168.6.240", 80);
    // ldirectord: wrr, tcp, service from the port (80: http), negotiate.
    assert_eq!(
        (s.scheduler, s.protocol, s.method),
        (Scheduler::Wrr, Protocol::Tcp, Method::Nat)
    );
    let c = check(real(s, "192.168.6.2"));
    assert_eq!(
        c.kind,
        CheckKind::Http {
            method: "GET".into(),
            path: "/".into(),
            host: None,
            status: vec![StatusRange::new(200, 299)],
            body_regex: None,
            digest: None,
            tls: false
        }
    );
    assert_eq!(
        (c.params.interval, c.params.timeout),
        (Duration::from_secs(5), Duration::from_secs(10))
    );
    assert_eq!((c.params.rise, c.params.fall), (1, 2));
    // Reals start down until checked, as after ldirectord's start; a failed
    // real is removed (quiescent = no, ldirectord's default).
    assert!(c.params.alpha);
    assert_eq!(c.on_failure, OnFailure::Remove);
    let s2 = svc(&m, "192.168.6.240", 81);
    let c2 = check(real(s2, "192.168.6.3"));
    assert_eq!(
        (&c2.kind, c2.params.timeout),
        (&CheckKind::Tcp, Duration::from_secs(3))
    );
    assert_eq!(c2.on_failure, OnFailure::Inhibit);
    assert_eq!(real(s2, "192.168.6.3").method, Method::Dr);
}

#[test]
fn real_lines_ranges_methods_and_overrides() {
    let t = "\
virtual=10.0.0.1:80
\treal=10.1.0.1->10.1.0.3:8080 masq 4
\treal=10.1.0.10-10.1.0.11 gate
\treal=10.1.0.20:80 ipip 2 \"alive.html\", \"I am alive\"
\treal=10.1.0.30:80 bridge
\treal=web1.example.com:80 gate
\trequest=\"index.html\"
\treceive=\"Test\"
";
    let (m, ws) = run(LD, t);
    let s = svc(&m, "10.0.0.1", 80);
    for a in ["10.1.0.1", "10.1.0.2", "10.1.0.3"] {
        let r = real(s, a);
        assert_eq!((r.port, r.weight, r.method), (8080, 4, Method::Nat), "{a}");
    }
    for a in ["10.1.0.10", "10.1.0.11"] {
        assert_eq!(
            (real(s, a).port, real(s, a).method),
            (80, Method::Dr),
            "{a}"
        );
    }
    let r = real(s, "10.1.0.20");
    assert_eq!((r.weight, r.method), (2, Method::Tun));
    let CheckKind::Http {
        path, body_regex, ..
    } = &check(r).kind
    else {
        panic!("http")
    };
    assert_eq!(
        (path.as_str(), body_regex.as_deref()),
        ("/alive.html", Some("I am alive"))
    );
    let CheckKind::Http {
        path, body_regex, ..
    } = &check(real(s, "10.1.0.1")).kind
    else {
        panic!("http")
    };
    assert_eq!(
        (path.as_str(), body_regex.as_deref()),
        ("/index.html", Some("Test"))
    );
    assert_eq!(s.reals.len(), 6);
    assert_warned(&ws, line_of(t, "bridge"), "gate, masq or ipip");
    assert_warned(&ws, line_of(t, "web1"), "host names");
}

#[test]
fn check_types() {
    let t = "\
virtual=10.0.0.1:3306
\treal=10.1.0.1:3306 masq
\tchecktype=external
\tcheckcommand=\"/usr/local/bin/check-mysql\"
virtual=10.0.0.2:3306
\treal=10.1.0.1:3306 masq
\tservice=mysql
\tlogin=\"monitor\"
virtual=10.0.0.3:7000
\treal=10.1.0.1:7000 masq
\tservice=simpletcp
\trequest=\"PING\\n\"
\treceive=\"PONG\"
virtual=10.0.0.4:53
\treal=10.1.0.1:53 gate
\tservice=dns
\trequest=\"www.example.com\"
\treceive=\"10.9.9.9\"
virtual=10.0.0.5:80
\treal=10.1.0.1:80 gate
\tchecktype=ping
virtual=10.0.0.6:80
\treal=10.1.0.1:80 gate 3
\tchecktype=off
\tfallback=127.0.0.1:80
virtual=10.0.0.7:80
\treal=10.1.0.1:80 gate
\tchecktype=on
virtual=10.0.0.8:443
\treal=10.1.0.1:443 gate
\tchecktype=5
\thttpmethod=HEAD
\tvirtualhost=www.example.com
virtual=10.0.0.9:5000
\treal=10.1.0.1:5000 gate
\tchecktype=external-perl
";
    let (m, ws) = run(LD, t);
    let ext = check(real(svc(&m, "10.0.0.1", 3306), "10.1.0.1"));
    assert_eq!(
        ext.kind,
        CheckKind::Exec {
            command: "/usr/local/bin/check-mysql".into(),
            args: vec!["10.0.0.1".into(), "3306".into(), "%h".into(), "%p".into()],
            dynamic: false
        }
    );
    assert_eq!(ext.params.timeout, Duration::from_secs(5));
    assert_eq!(
        check(real(svc(&m, "10.0.0.2", 3306), "10.1.0.1")).kind,
        CheckKind::Tcp
    );
    assert_warned(
        &ws,
        line_of(t, "service=mysql"),
        "TCP connect check is used",
    );
    assert_warned(&ws, line_of(t, "login"), "not carried");
    let st = check(real(svc(&m, "10.0.0.3", 7000), "10.1.0.1"));
    assert_eq!(
        st.kind,
        CheckKind::SendExpect {
            send: "PING\\n".into(),
            expect: "PONG".into()
        }
    );
    assert_eq!(st.params.timeout, Duration::from_secs(30));
    let dns = svc(&m, "10.0.0.4", 53);
    assert_eq!(dns.protocol, Protocol::Udp);
    assert_eq!(
        check(real(dns, "10.1.0.1")).kind,
        CheckKind::Dns {
            qtype: "A".into(),
            name: "www.example.com".into()
        }
    );
    assert_warned(&ws, line_of(t, "service=dns"), "expected address");
    assert!(real(svc(&m, "10.0.0.5", 80), "10.1.0.1").check.is_none());
    assert_warned(&ws, line_of(t, "checktype=ping"), "not carried (yet)");
    let off = svc(&m, "10.0.0.6", 80);
    assert_eq!(
        (real(off, "10.1.0.1").weight, off.sorry.is_none()),
        (0, true)
    );
    assert_warned(&ws, line_of(t, "checktype=off"), "weight 0");
    assert!(real(svc(&m, "10.0.0.7", 80), "10.1.0.1").check.is_none());
    let CheckKind::Http {
        method, tls, host, ..
    } = &check(real(svc(&m, "10.0.0.8", 443), "10.1.0.1")).kind
    else {
        panic!("https")
    };
    assert_eq!(
        (method.as_str(), *tls, host.as_deref()),
        ("HEAD", true, Some("www.example.com"))
    );
    assert_warned(&ws, line_of(t, "checktype=5"), "combined");
    assert!(matches!(
        check(real(svc(&m, "10.0.0.9", 5000), "10.1.0.1")).kind,
        CheckKind::Exec { .. }
    ));
    assert_warned(&ws, line_of(t, "external-perl"), "as a program");
}

#[test]
fn virtual_settings_fallback_and_left_out_sections() {
    let t = "\
fallback=127.0.0.1:80 gate
quiescent=yes
fork=no
logfile=\"/var/log/ldirectord.log\"
autoreload=yes
emailalert=\"a@example.com\"
virtual=10.0.0.1:80
\treal=10.1.0.1:80 gate
\tpersistent=600
\tnetmask=255.255.255.0
\tscheduler=sh
\tcheckport=8080
\tcheckinterval=2
\tfallback=127.0.0.1:8080
virtual=10.0.0.2:80
\treal=10.1.0.1:80 gate
\tnetmask=255.255.0.0
\tprotocol=udp
\tops=yes
\tquiescent=no
virtual=77
\treal=10.1.0.1 gate
virtual6=[2001:db8::1]:80
\treal6=[2001:db8::2]:80 gate
\tunknown_directive=1
";
    let (m, ws) = run(LD, t);
    let s = svc(&m, "10.0.0.1", 80);
    let p = s.persistence.as_ref().expect("persistent");
    assert_eq!(
        (p.timeout, p.netmask),
        (Duration::from_secs(600), Ipv4Addr::new(255, 255, 255, 0))
    );
    assert_eq!(s.scheduler, Scheduler::Sh);
    let c = check(real(s, "10.1.0.1"));
    assert_eq!(c.params.connect_port, Some(8080));
    assert_eq!(c.on_failure, OnFailure::Inhibit);
    // fork = no: ldirectord ignores a virtual's checkinterval.
    assert_eq!(c.params.interval, Duration::from_secs(10));
    assert_warned(&ws, line_of(t, "checkinterval=2"), "fork = yes");
    let sorry = s.sorry.as_ref().expect("fallback");
    assert_eq!(
        (sorry.address.to_string(), sorry.port),
        ("127.0.0.1".into(), 8080)
    );
    let u = svc(&m, "10.0.0.2", 80);
    assert_eq!(
        (u.protocol, u.ops, u.persistence.is_none()),
        (Protocol::Udp, true, true)
    );
    assert_eq!(u.sorry.as_ref().map(|x| x.port), Some(80));
    assert_eq!(check(real(u, "10.1.0.1")).on_failure, OnFailure::Remove);
    assert_warned(
        &ws,
        line_of(t, "netmask=255.255.0.0"),
        "persistent services only",
    );
    assert_warned(&ws, 1, "forwarding method");
    for (kw, msg) in [
        ("fork=no", "concurrently"),
        ("logfile", "stderr"),
        ("autoreload", "SIGHUP"),
        ("emailalert", "no email"),
        ("virtual=77", "firewall-mark"),
        ("virtual6", "IPv6"),
    ] {
        assert_warned(&ws, line_of(t, kw), msg);
    }
    assert_eq!(m.services.len(), 2);
}
