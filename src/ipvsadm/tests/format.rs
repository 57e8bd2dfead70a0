//! Golden tests for `format`: every listing layout byte-for-byte against
//! ipvsadm 1.31's printf formats (expected strings written out with
//! explicit `\n` and trailing spaces; `PLAIN` and `SAVE` are the exact
//! examples of ipvsadm 1.31's output).

use std::net::Ipv4Addr;

use crate::ipvsadm::format::{self, largenum};
use crate::ipvsadm::model::*;
use crate::ipvsadm::parse::ListOpts;

pub(super) fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(super) fn real(addr: &str, port: u16, fwd: FwdFlag, weight: u32) -> RealInfo {
    RealInfo {
        addr: ip(addr),
        port,
        fwd,
        weight,
        u_threshold: 0,
        l_threshold: 0,
        active: 0,
        inactive: 0,
        persistent: 0,
        stats: Stats::default(),
        rates: Rates::default(),
    }
}

pub(super) fn svc(id: SvcId, sched: &str, reals: Vec<RealInfo>) -> SvcInfo {
    SvcInfo {
        id,
        scheduler: sched.to_string(),
        flags: vec![],
        persistent: None,
        netmask: Ipv4Addr::BROADCAST,
        ops: false,
        pe: None,
        reals,
        stats: Stats::default(),
        rates: Rates::default(),
    }
}

pub(super) fn tcp(addr: &str, port: u16) -> SvcId {
    SvcId::Addr(ServiceKey {
        protocol: Protocol::Tcp,
        vip: std::net::IpAddr::V4(ip(addr)),
        port,
    })
}

pub(super) fn udp(addr: &str, port: u16) -> SvcId {
    SvcId::Addr(ServiceKey {
        protocol: Protocol::Udp,
        vip: std::net::IpAddr::V4(ip(addr)),
        port,
    })
}

/// ipvsadm 1.31's example table, given in scrambled order (sorting must fix it),
/// with counters chosen to hit every `print_largenum` range.
pub(super) fn reference_table() -> Vec<SvcInfo> {
    let mut r11 = real("10.0.0.11", 80, FwdFlag::MASQ, 1);
    r11.active = 3;
    r11.inactive = 12;
    r11.u_threshold = 100;
    r11.l_threshold = 50;
    r11.persistent = 7;
    r11.stats = Stats {
        conns: 99_999_999_999,
        inpkts: 100_000_000_000,
        outpkts: 99_999_999_999_999,
        inbytes: 100_000_000_000_000,
        outbytes: u64::MAX,
    };
    r11.rates = Rates {
        cps: 7,
        inpps: 2000,
        outpps: 1900,
        inbps: 150_000_000,
        outbps: 5,
    };
    let mut r12 = real("10.0.0.12", 80, FwdFlag::DROUTE, 0);
    r12.active = 1;
    r12.inactive = 40;
    r12.rates.cps = 123_456_789;
    let mut web = svc(tcp("192.0.2.10", 80), "wlc", vec![r12, r11]);
    web.persistent = Some(360);
    web.netmask = ip("255.255.255.0");
    web.stats = Stats {
        conns: 0,
        inpkts: 99_999_999,
        outpkts: 100_000_000,
        inbytes: 999_999_999,
        outbytes: 1_000_000_000,
    };
    web.rates = Rates {
        cps: 12,
        inpps: 3400,
        outpps: 3300,
        inbps: 123_456_789,
        outbps: 1_234_567_890,
    };
    let mut r21 = real("10.0.0.21", 53, FwdFlag::MASQ, 1);
    r21.inactive = 4;
    let mut dns = svc(udp("192.0.2.10", 53), "sh", vec![r21]);
    dns.flags = vec!["sh-port".into(), "sh-fallback".into()];
    dns.ops = true;
    let fwm = svc(
        SvcId::Fwmark(7),
        "rr",
        vec![real("10.0.0.31", 0, FwdFlag::TUNNEL, 1)],
    );
    vec![fwm, dns, web]
}

const SAVE: &str = concat!(
    "-A -t 192.0.2.10:80 -s wlc -p 360 -M 255.255.255.0\n",
    "-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 1\n",
    "-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w 0\n",
    "-A -u 192.0.2.10:53 -s sh -o -b sh-fallback,sh-port\n",
    "-a -u 192.0.2.10:53 -r 10.0.0.21:53 -m -w 1\n",
    "-A -f 7 -s rr\n",
    "-a -f 7 -r 10.0.0.31:0 -i -w 1 --tun-type ipip\n",
);

const PLAIN: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "TCP  192.0.2.10:80 wlc persistent 360 mask 255.255.255.0\n",
    "  -> 10.0.0.11:80                 Masq    1      3          12        \n",
    "  -> 10.0.0.12:80                 Route   0      1          40        \n",
    "UDP  192.0.2.10:53 sh (sh-fallback,sh-port) ops\n",
    "  -> 10.0.0.21:53                 Masq    1      0          4         \n",
    "FWM  7 rr\n",
    "  -> 10.0.0.31:0                  Tunnel  1      0          0         \n",
);

const STATS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.0.2.10:80                       0 99999999  100000K  999999K    1000M\n",
    "  -> 10.0.0.11:80                   99999M     100G   99999G     100T18446744T\n",
    "  -> 10.0.0.12:80                        0        0        0        0        0\n",
    "UDP  192.0.2.10:53                       0        0        0        0        0\n",
    "  -> 10.0.0.21:53                        0        0        0        0        0\n",
    "FWM  7                                   0        0        0        0        0\n",
    "  -> 10.0.0.31:0                         0        0        0        0        0\n",
);

const STATS_EXACT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.0.2.10:80                       0 99999999 100000000 999999999 1000000000\n",
    "  -> 10.0.0.11:80                 99999999999 100000000000 99999999999999 100000000000000 18446744073709551615\n",
    "  -> 10.0.0.12:80                        0        0        0        0        0\n",
    "UDP  192.0.2.10:53                       0        0        0        0        0\n",
    "  -> 10.0.0.21:53                        0        0        0        0        0\n",
    "FWM  7                                   0        0        0        0        0\n",
    "  -> 10.0.0.31:0                         0        0        0        0        0\n",
);

const RATE: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.0.2.10:80                      12     3400     3300  123456K    1234M\n",
    "  -> 10.0.0.11:80                        7     2000     1900  150000K        5\n",
    "  -> 10.0.0.12:80                 123456789        0        0        0        0\n",
    "UDP  192.0.2.10:53                       0        0        0        0        0\n",
    "  -> 10.0.0.21:53                        0        0        0        0        0\n",
    "FWM  7                                   0        0        0        0        0\n",
    "  -> 10.0.0.31:0                         0        0        0        0        0\n",
);

const THRESHOLDS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.0.2.10:80 wlc persistent 360 mask 255.255.255.0\n",
    "  -> 10.0.0.11:80                 100        50         3          12        \n",
    "  -> 10.0.0.12:80                 0          0          1          40        \n",
    "UDP  192.0.2.10:53 sh (sh-fallback,sh-port) ops\n",
    "  -> 10.0.0.21:53                 0          0          0          4         \n",
    "FWM  7 rr\n",
    "  -> 10.0.0.31:0                  0          0          0          0         \n",
);

const PERSISTENT_CONN: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.0.2.10:80 wlc persistent 360 mask 255.255.255.0\n",
    "  -> 10.0.0.11:80                 1         7           3          12        \n",
    "  -> 10.0.0.12:80                 0         0           1          40        \n",
    "UDP  192.0.2.10:53 sh (sh-fallback,sh-port) ops\n",
    "  -> 10.0.0.21:53                 1         0           0          4         \n",
    "FWM  7 rr\n",
    "  -> 10.0.0.31:0                  1         0           0          0         \n",
);

fn lo() -> ListOpts {
    ListOpts {
        numeric: true,
        ..ListOpts::default()
    }
}

#[test]
fn plain_ln_matches_reference() {
    assert_eq!(format::list(&reference_table(), &lo(), 4096), PLAIN);
}

#[test]
fn non_numeric_is_identical() {
    let opts = ListOpts::default();
    assert_eq!(format::list(&reference_table(), &opts, 4096), PLAIN);
}

#[test]
fn save_matches_reference() {
    assert_eq!(format::save(&reference_table()), SAVE);
}

#[test]
fn stats_all_largenum_ranges() {
    let o = ListOpts {
        stats: true,
        ..lo()
    };
    assert_eq!(format::list(&reference_table(), &o, 4096), STATS);
}

#[test]
fn stats_exact() {
    let o = ListOpts {
        stats: true,
        exact: true,
        ..lo()
    };
    assert_eq!(format::list(&reference_table(), &o, 4096), STATS_EXACT);
}

#[test]
fn stats_wins_over_rate() {
    let o = ListOpts {
        stats: true,
        rate: true,
        ..lo()
    };
    assert_eq!(format::list(&reference_table(), &o, 4096), STATS);
}

#[test]
fn rate() {
    let o = ListOpts { rate: true, ..lo() };
    assert_eq!(format::list(&reference_table(), &o, 4096), RATE);
}

#[test]
fn thresholds() {
    let o = ListOpts {
        thresholds: true,
        ..lo()
    };
    assert_eq!(format::list(&reference_table(), &o, 4096), THRESHOLDS);
}

#[test]
fn persistent_conn() {
    let o = ListOpts {
        persistent_conn: true,
        ..lo()
    };
    assert_eq!(format::list(&reference_table(), &o, 4096), PERSISTENT_CONN);
}

#[test]
fn largenum_boundaries() {
    let cases: &[(u64, &str)] = &[
        (0, "        0"),
        (99_999_999, " 99999999"),
        (100_000_000, "  100000K"),
        (999_999_999, "  999999K"),
        (1_000_000_000, "    1000M"),
        (99_999_999_999, "   99999M"),
        (100_000_000_000, "     100G"),
        (99_999_999_999_999, "   99999G"),
        (100_000_000_000_000, "     100T"),
        (u64::MAX, "18446744T"),
    ];
    for &(n, s) in cases {
        assert_eq!(largenum(n, false), s, "{n}");
    }
    assert_eq!(largenum(12_345_678, true), " 12345678");
    assert_eq!(largenum(123_456_789, true), " 123456789");
    assert_eq!(largenum(u64::MAX, true), " 18446744073709551615");
}

#[test]
fn list_single_service_has_no_header() {
    let t = reference_table();
    let expected = concat!(
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "FWM  7 rr\n",
        "  -> 10.0.0.31:0                  Tunnel  1      0          0         \n",
    );
    assert_eq!(format::list_service(&t[0], &lo()), expected);
}

#[test]
fn sorting_wraps_like_ipvsadm() {
    // (int)(ntohl(a) - ntohl(b)): 192.168.x - 10.x overflows to negative,
    // so 192.168.x sorts first; same for services.
    let reals = vec![
        real("10.0.0.1", 80, FwdFlag::MASQ, 1),
        real("192.168.0.1", 80, FwdFlag::MASQ, 1),
        real("10.0.0.1", 8080, FwdFlag::MASQ, 1),
        real("10.0.0.1", 443, FwdFlag::MASQ, 1),
    ];
    let t = vec![
        svc(tcp("10.1.1.1", 80), "rr", vec![]),
        svc(tcp("192.168.1.1", 80), "rr", reals),
    ];
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  192.168.1.1:80 rr\n",
        "  -> 192.168.0.1:80               Masq    1      0          0         \n",
        "  -> 10.0.0.1:80                  Masq    1      0          0         \n",
        "  -> 10.0.0.1:443                 Masq    1      0          0         \n",
        "  -> 10.0.0.1:8080                Masq    1      0          0         \n",
        "TCP  10.1.1.1:80 rr\n",
    );
    assert_eq!(format::list(&t, &lo(), 4096), expected);
    // --nosort keeps the given order.
    let o = ListOpts {
        nosort: true,
        ..lo()
    };
    let out = format::list(&t, &o, 4096);
    assert!(out.contains("TCP  10.1.1.1:80 rr\nTCP  192.168.1.1:80 rr\n  -> 10.0.0.1:80 "));
}

#[test]
fn services_sort_fwmark_proto_addr_port() {
    let t = vec![
        svc(SvcId::Fwmark(2), "rr", vec![]),
        svc(udp("1.1.1.1", 53), "rr", vec![]),
        svc(SvcId::Fwmark(1), "rr", vec![]),
        svc(tcp("1.1.1.1", 443), "rr", vec![]),
        svc(tcp("1.1.1.1", 80), "rr", vec![]),
        // 0 - 0x80000001 wraps positive: this mark sorts before fwmark-0 services
        svc(SvcId::Fwmark(0x8000_0001), "rr", vec![]),
    ];
    let save = format::save(&t);
    assert_eq!(
        save,
        concat!(
            "-A -f 2147483649 -s rr\n",
            "-A -t 1.1.1.1:80 -s rr\n",
            "-A -t 1.1.1.1:443 -s rr\n",
            "-A -u 1.1.1.1:53 -s rr\n",
            "-A -f 1 -s rr\n",
            "-A -f 2 -s rr\n",
        )
    );
}

#[test]
fn service_line_variants() {
    let mut s = svc(tcp("1.2.3.4", 0), "rr", vec![]);
    s.persistent = Some(600);
    s.pe = Some("sip".into());
    s.flags = vec!["flag-1".into(), "flag-3".into()];
    let mut m = svc(udp("1.2.3.4", 5060), "mh", vec![]);
    m.flags = vec!["flag-2".into()];
    m.pe = Some("sip".into()); // not persistent: -L omits pe, -S keeps it
    m.ops = true;
    let mut f = svc(SvcId::Fwmark(9), "sh", vec![]);
    f.flags = vec!["flag-1".into()];
    f.persistent = Some(1);
    f.netmask = ip("255.255.0.0");
    let t = vec![s, m, f];
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=64)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  1.2.3.4:0 rr (flag-1,flag-3) persistent 600 pe sip\n",
        "UDP  1.2.3.4:5060 mh (mh-port) ops\n",
        "FWM  9 sh (sh-fallback) persistent 1 mask 255.255.0.0\n",
    );
    assert_eq!(format::list(&t, &lo(), 64), expected);
    let expected_save = concat!(
        "-A -t 1.2.3.4:0 -s rr -p 600 --pe sip -b flag-1,flag-3\n",
        "-A -u 1.2.3.4:5060 -s mh --pe sip -o -b mh-port\n",
        "-A -f 9 -s sh -p 1 -M 255.255.0.0 -b sh-fallback\n",
    );
    assert_eq!(format::save(&t), expected_save);
}

#[test]
fn local_forwarding_lists_local_saves_g() {
    let t = vec![svc(
        tcp("1.2.3.4", 80),
        "wlc",
        vec![real("1.2.3.4", 80, FwdFlag::LOCAL, 3)],
    )];
    assert!(format::list(&t, &lo(), 4096)
        .ends_with("  -> 1.2.3.4:80                   Local   3      0          0         \n"));
    assert_eq!(
        format::save(&t),
        "-A -t 1.2.3.4:80 -s wlc\n-a -t 1.2.3.4:80 -r 1.2.3.4:80 -g -w 3\n"
    );
}

#[test]
fn empty_table() {
    assert_eq!(
        format::list(&[], &lo(), 4096),
        concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        )
    );
    assert_eq!(format::save(&[]), "");
}

#[test]
fn connections_lnc() {
    let c = |proto, state: &str, exp, c: &str, cp, v: &str, vp, r: &str, rp| ConnInfo {
        proto,
        state: state.to_string(),
        expires_secs: exp,
        caddr: ip(c),
        cport: cp,
        vaddr: ip(v),
        vport: vp,
        raddr: ip(r),
        rport: rp,
    };
    let conns = vec![
        c(
            Some(Protocol::Tcp),
            "ESTABLISHED",
            899,
            "198.51.100.7",
            51234,
            "192.0.2.10",
            80,
            "10.0.0.11",
            80,
        ),
        c(
            Some(Protocol::Udp),
            "UDP",
            5,
            "198.51.100.8",
            5353,
            "192.0.2.10",
            53,
            "10.0.0.21",
            53,
        ),
        c(
            None,
            "NONE",
            6000,
            "198.51.100.0",
            0,
            "0.0.0.7",
            0,
            "10.0.0.31",
            0,
        ),
    ];
    let expected = concat!(
        "IPVS connection entries\n",
        "pro expire state       source             virtual            destination\n",
        "TCP 14:59  ESTABLISHED 198.51.100.7:51234 192.0.2.10:80      10.0.0.11:80\n",
        "UDP 00:05  UDP         198.51.100.8:5353  192.0.2.10:53      10.0.0.21:53\n",
        "IP  100:00 NONE        198.51.100.0:0     0.0.0.7:0          10.0.0.31:0\n",
    );
    assert_eq!(format::connections(&conns), expected);
}

#[test]
fn timeout_output() {
    let t = Timeouts::from_secs(900, 120, 300);
    assert_eq!(
        format::timeouts(&t),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
}

#[test]
fn daemon_output() {
    let d = vec![
        DaemonInfo {
            state: SyncState::Master,
            mcast_ifn: "eth0".into(),
            syncid: 0,
            sync_maxlen: 1472,
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: 8848,
            mcast_ttl: 1,
        },
        DaemonInfo {
            state: SyncState::Backup,
            mcast_ifn: "eth1".into(),
            syncid: 5,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        },
    ];
    assert_eq!(
        format::daemon(&d),
        concat!(
            "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n",
            "backup sync daemon (mcast=eth1, syncid=5)\n",
        )
    );
}
