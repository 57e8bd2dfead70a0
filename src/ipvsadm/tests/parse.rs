//! Parser tests: every command and option of ipvsadm 1.31, defaults,
//! popt argument rules (clusters, glued, `=`, `-p`'s optional argument),
//! and error messages naming the option and value.

use std::net::Ipv4Addr;

use super::format::{ip, tcp, udp};
use crate::ipvsadm::model::*;
use crate::ipvsadm::parse::*;

fn p(s: &str) -> Result<Command, ParseError> {
    let v: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    parse(&v)
}

fn ok(s: &str) -> Command {
    p(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Asserts failure and that the message contains every `needle`.
fn err(s: &str, needles: &[&str]) -> ParseError {
    let e = p(s).expect_err(s);
    for n in needles {
        assert!(e.message.contains(n), "{s}: `{}' lacks `{n}'", e.message);
    }
    e
}

fn svc_defaults() -> SvcOpts {
    SvcOpts {
        scheduler: "wlc".into(),
        persistent: None,
        netmask: Ipv4Addr::BROADCAST,
        flags: vec![],
        ops: false,
        pe: None,
    }
}

fn add(s: &str) -> SvcOpts {
    match ok(s) {
        Command::AddService(_, o) | Command::EditService(_, o) => o,
        c => panic!("{s}: {c:?}"),
    }
}

fn real(s: &str) -> RealOpts {
    match ok(s) {
        Command::AddServer(_, r) | Command::EditServer(_, r) => r,
        c => panic!("{s}: {c:?}"),
    }
}

fn list(s: &str) -> (Option<SvcId>, ListOpts) {
    match ok(s) {
        Command::List(id, o) => (id, o),
        c => panic!("{s}: {c:?}"),
    }
}

#[test]
fn no_args_and_program_name() {
    assert_eq!(ok(""), Command::List(None, ListOpts::default()));
    assert_eq!(ok("ipvsadm"), Command::List(None, ListOpts::default()));
    assert_eq!(ok("lvsadm -C"), Command::Clear);
    assert_eq!(ok("/sbin/ipvsadm -C"), Command::Clear);
}

#[test]
fn add_edit_service_defaults() {
    assert_eq!(
        ok("-A -t 1.2.3.4:80"),
        Command::AddService(tcp("1.2.3.4", 80), svc_defaults())
    );
    assert_eq!(
        ok("--edit-service --udp-service 1.2.3.4:53"),
        Command::EditService(udp("1.2.3.4", 53), svc_defaults())
    );
    assert_eq!(
        ok("-A -f 7"),
        Command::AddService(SvcId::Fwmark(7), svc_defaults())
    );
}

#[test]
fn persistent_optional_argument() {
    assert_eq!(add("-A -t 1.2.3.4:80 -p").persistent, Some(360));
    assert_eq!(add("-A -t 1.2.3.4:80 -p 600").persistent, Some(600));
    assert_eq!(add("-A -t 1.2.3.4:80 -p600").persistent, Some(600));
    assert_eq!(
        add("-A -t 1.2.3.4:80 --persistent=600").persistent,
        Some(600)
    );
    assert_eq!(
        add("-A -t 1.2.3.4:80 --persistent 600").persistent,
        Some(600)
    );
    // next word starting with '-' is not consumed
    let o = add("-A -t 1.2.3.4:80 -p -s rr");
    assert_eq!((o.persistent, o.scheduler.as_str()), (Some(360), "rr"));
    assert_eq!(add("-A -p -t 1.2.3.4:80").persistent, Some(360));
    assert_eq!(add("-A -t 1.2.3.4:80 -p 2678400").persistent, Some(2678400));
    err("-A -t 1.2.3.4:80 -p 0", &["`0'", "-p"]);
    err("-A -t 1.2.3.4:80 -p 2678401", &["`2678401'"]);
    // a non-dash word after -p is its argument, as with popt
    err("-A -p 1.2.3.4:80", &["invalid timeout value `1.2.3.4:80'"]);
}

#[test]
fn service_options() {
    let o = add("-A -t 1.2.3.4:80 -s rr -p 100 -M 255.255.255.0 --pe sip");
    assert_eq!(o.scheduler, "rr");
    assert_eq!(o.netmask, ip("255.255.255.0"));
    assert_eq!(o.pe.as_deref(), Some("sip"));
    for s in SCHEDULERS {
        assert_eq!(add(&format!("-A -t 1.2.3.4:80 -s {s}")).scheduler, s);
    }
    err("-A -t 1.2.3.4:80 -s bogus", &["`bogus'"]);
    err("-A -t 1.2.3.4:80 -M host", &["-M", "`host'"]);
    err("-A -t 1.2.3.4:80 --pe foo", &["--pe", "`foo'"]);
    assert!(add("-A -u 1.2.3.4:53 -o").ops);
    assert!(add("-A -f 3 --ops").ops);
    err("-A -t 1.2.3.4:80 -o", &["One-Packet", "UDP"]);
    // port 0 needs persistence
    err("-A -t 1.2.3.4", &["Zero port", "1.2.3.4:0"]);
    assert_eq!(add("-A -t 1.2.3.4 -p").persistent, Some(360));
    assert_eq!(add("-A -t 1.2.3.4:0 -p 10").persistent, Some(10));
}

#[test]
fn sched_flags() {
    assert_eq!(
        add("-A -u 1.2.3.4:53 -s sh -b sh-port,sh-fallback").flags,
        ["sh-fallback", "sh-port"]
    );
    assert_eq!(add("-A -u 1.2.3.4:53 -b sh-port -s sh").flags, ["sh-port"]);
    assert_eq!(
        add("-A -u 1.2.3.4:53 -s sh -b flag-1").flags,
        ["sh-fallback"]
    );
    assert_eq!(
        add("-A -u 1.2.3.4:53 -s mh -b mh-fallback,mh-port").flags,
        ["mh-fallback", "mh-port"]
    );
    assert_eq!(
        add("-A -u 1.2.3.4:53 -s rr --sched-flags flag-3,,flag-1").flags,
        ["flag-1", "flag-3"]
    );
    err(
        "-A -u 1.2.3.4:53 -b sh-port",
        &["incompatible", "sh-port", "wlc"],
    );
    err(
        "-A -u 1.2.3.4:53 -s mh -b sh-fallback",
        &["incompatible", "sh-fallback"],
    );
    err(
        "-A -u 1.2.3.4:53 -s sh -b mh-port",
        &["incompatible", "mh-port"],
    );
    err(
        "-A -u 1.2.3.4:53 -b bogus",
        &["invalid scheduler flag `bogus'"],
    );
    err("-A -u 1.2.3.4:53 -b ,", &["-b"]);
}

#[test]
fn delete_clear_restore_save() {
    assert_eq!(
        ok("-D -t 1.2.3.4:80"),
        Command::DeleteService(tcp("1.2.3.4", 80))
    );
    assert_eq!(ok("-D -f 9"), Command::DeleteService(SvcId::Fwmark(9)));
    err(
        "-D -t 1.2.3.4:80 -s rr",
        &["Illegal 'scheduler' option with the 'delete-service' command"],
    );
    err(
        "-D",
        &["You need to supply the 'service-address' option for the 'delete-service' command"],
    );
    assert_eq!(ok("--clear"), Command::Clear);
    err("-C -n", &["Illegal 'numeric'"]);
    assert_eq!(ok("-R"), Command::Restore);
    assert_eq!(ok("--restore"), Command::Restore);
    assert_eq!(ok("-S"), Command::Save { numeric: false });
    assert_eq!(ok("-Sn"), Command::Save { numeric: true });
    assert_eq!(ok("--save --numeric"), Command::Save { numeric: true });
    err(
        "-S -c",
        &["Illegal 'connection' option with the 'save' command"],
    );
}

#[test]
fn add_server_defaults_and_ports() {
    let r = real("-a -t 1.2.3.4:80 -r 10.0.0.1");
    assert_eq!(
        r,
        RealOpts {
            addr: ip("10.0.0.1"),
            port: 80,
            fwd: FwdFlag::DROUTE,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0
        }
    );
    let r = real("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -m -w 5 -x 100 -y 50");
    assert_eq!(
        (r.port, r.fwd, r.weight, r.u_threshold, r.l_threshold),
        (8080, FwdFlag::MASQ, 5, 100, 50)
    );
    // -g / -i force the virtual port on non-fwmark services
    assert_eq!(real("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -g").port, 80);
    assert_eq!(real("-e -t 1.2.3.4:80 -r 10.0.0.1:8080 -i").port, 80);
    assert_eq!(real("-a -t 1.2.3.4:80 -r 10.0.0.1:8080").port, 80);
    assert_eq!(real("-a -f 7 -r 10.0.0.1:8080 -g").port, 8080);
    assert_eq!(real("-a -f 7 -r 10.0.0.1 -m").port, 0);
    // ipvsadm copies the vport when -r is parsed: -r before -t gets 0
    assert_eq!(real("-a -r 10.0.0.1 -t 1.2.3.4:80 -m").port, 0);
    assert_eq!(real("--add-server --tcp-service=1.2.3.4:80 --real-server=10.0.0.1 --masquerading --weight=0").weight, 0);
    assert_eq!(real("-a -t1.2.3.4:80 -r10.0.0.1 -mw7").weight, 7);
    assert_eq!(
        real("-a -t 1.2.3.4:80 -r 10.0.0.1 -w 65535 -x 2147483647").u_threshold,
        2147483647
    );
    assert_eq!(
        real("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type ipip").fwd,
        FwdFlag::TUNNEL
    );
}

#[test]
fn server_errors() {
    err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -w 65536",
        &["weight", "`65536'"],
    );
    err("-a -t 1.2.3.4:80 -r 10.0.0.1 -w -1", &["weight", "`-1'"]);
    err("-a -t 1.2.3.4:80 -r 10.0.0.1 -w abc", &["weight", "`abc'"]);
    err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -x 2147483648",
        &["u_threshold", "`2147483648'"],
    );
    err("-a -t 1.2.3.4:80 -r 10.0.0.1 -y x", &["l_threshold", "`x'"]);
    err(
        "-a -t 1.2.3.4:80",
        &["You need to supply the 'real-server' option for the 'add-server' command"],
    );
    err("-a -r 10.0.0.1", &["'service-address'"]);
    err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -m -g",
        &["multiple 'forwarding-method' options"],
    );
    err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -s rr",
        &["Illegal 'scheduler' option with the 'add-server' command"],
    );
    err(
        "-A -t 1.2.3.4:80 -r 10.0.0.1",
        &["Illegal 'real-server' option with the 'add-service' command"],
    );
    err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 --tun-type ipip",
        &["--tun-type", "-i"],
    );
    err("-a -t 1.2.3.4:80 -r 10.0.0.1 --tun-type foo", &["`foo'"]);
    let e = err(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue",
        &["not supported"],
    );
    assert_eq!(e.kind, ErrorKind::Unsupported);
    for o in [
        "--tun-port 5",
        "--tun-nocsum",
        "--tun-csum",
        "--tun-remcsum",
    ] {
        let e = err(
            &format!("-a -t 1.2.3.4:80 -r 10.0.0.1 -i {o}"),
            &["not supported"],
        );
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }
}

#[test]
fn delete_server() {
    assert_eq!(
        ok("-d -t 1.2.3.4:80 -r 10.0.0.1"),
        Command::DeleteServer(tcp("1.2.3.4", 80), ip("10.0.0.1"), 80)
    );
    assert_eq!(
        ok("--delete-server -f 5 -r 10.0.0.1:99"),
        Command::DeleteServer(SvcId::Fwmark(5), ip("10.0.0.1"), 99)
    );
    err(
        "-d -t 1.2.3.4:80 -r 10.0.0.1 -w 1",
        &["Illegal 'weight' option with the 'delete-server' command"],
    );
}

#[test]
fn list_forms() {
    let d = ListOpts::default();
    for s in ["-L", "-l", "--list"] {
        assert_eq!(list(s), (None, d));
    }
    assert_eq!(list("-Ln").1, ListOpts { numeric: true, ..d });
    assert_eq!(
        list("-Lnc").1,
        ListOpts {
            numeric: true,
            connections: true,
            ..d
        }
    );
    assert_eq!(
        list("-L -n -c").1,
        ListOpts {
            numeric: true,
            connections: true,
            ..d
        }
    );
    assert_eq!(
        list("-L --stats --exact").1,
        ListOpts {
            stats: true,
            exact: true,
            ..d
        }
    );
    assert_eq!(
        list("-L -X --rate").1,
        ListOpts {
            exact: true,
            rate: true,
            ..d
        }
    );
    assert_eq!(
        list("-L --thresholds").1,
        ListOpts {
            thresholds: true,
            ..d
        }
    );
    assert_eq!(
        list("-L --persistent-conn -c").1,
        ListOpts {
            persistent_conn: true,
            connections: true,
            ..d
        }
    );
    assert_eq!(list("-L --timeout").1, ListOpts { timeout: true, ..d });
    assert_eq!(list("-L --daemon").1, ListOpts { daemon: true, ..d });
    assert_eq!(list("-L --sort").1, d);
    assert_eq!(list("-L --nosort").1, ListOpts { nosort: true, ..d });
    assert_eq!(
        list("-Ln -t 1.2.3.4:80"),
        (Some(tcp("1.2.3.4", 80)), ListOpts { numeric: true, ..d })
    );
    assert_eq!(list("-Lnt 1.2.3.4:80").0, Some(tcp("1.2.3.4", 80)));
    err("-L -c -t 1.2.3.4:80", &["The option 'service-address' conflicts with the 'connection' option in the 'list' command"]);
    err("-L --daemon -t 1.2.3.4:80", &["conflicts"]);
    err(
        "-L --timeout --daemon",
        &["'daemon' conflicts with the 'timeout'"],
    );
    err("-L -c --stats", &["options conflicts in the list command"]);
    err("-L --timeout --persistent-conn", &["options conflicts"]);
    err(
        "-L -s rr",
        &["Illegal 'scheduler' option with the 'list' command"],
    );
    err("-L -n -n", &["multiple 'numeric' options specified"]);
    err("-L --tun-info", &["not supported"]);
}

#[test]
fn zero_set_help_version() {
    assert_eq!(ok("-Z"), Command::Zero(None));
    assert_eq!(
        ok("--zero -u 1.2.3.4:53"),
        Command::Zero(Some(udp("1.2.3.4", 53)))
    );
    assert_eq!(
        ok("--set 900 120 300"),
        Command::SetTimeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        }
    );
    assert_eq!(
        ok("--set 0 0 2678400"),
        Command::SetTimeouts {
            tcp: 0,
            tcpfin: 0,
            udp: 2678400
        }
    );
    err("--set 900 120", &["--set option requires 3 timeout values"]);
    err("--set 1 2 3 4", &["unexpected argument 4"]);
    err("--set 2678401 1 1", &["`2678401'"]);
    err("--set 1 2 x", &["`x'"]);
    assert_eq!(ok("-h"), Command::Help);
    assert_eq!(ok("--help whatever"), Command::Help);
    assert_eq!(ok("-v"), Command::Version);
    assert_eq!(ok("--version"), Command::Version);
}

#[test]
fn daemon_commands() {
    assert_eq!(
        ok("--start-daemon master"),
        Command::StartDaemon(DaemonOpts {
            state: SyncState::Master,
            mcast_ifn: "eth0".into(),
            syncid: 0,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        })
    );
    let c = ok("--start-daemon=backup --mcast-interface eth1 --syncid 5 --mcast-group 224.0.0.82 --mcast-port 9000 --mcast-ttl 2 --sync-maxlen 1400");
    let Command::StartDaemon(d) = c else { panic!() };
    assert_eq!(
        (
            d.state,
            d.mcast_ifn.as_str(),
            d.syncid,
            d.mcast_group,
            d.mcast_port,
            d.mcast_ttl,
            d.sync_maxlen
        ),
        (
            SyncState::Backup,
            "eth1",
            5,
            Some(ip("224.0.0.82")),
            Some(9000),
            Some(2),
            Some(1400)
        )
    );
    assert_eq!(
        ok("--stop-daemon master"),
        Command::StopDaemon(SyncState::Master)
    );
    err("--start-daemon foo", &["`foo'"]);
    err("--start-daemon master --syncid 256", &["syncid", "`256'"]);
    err(
        "--start-daemon master --mcast-group 10.0.0.1",
        &["mcast-group", "`10.0.0.1'"],
    );
    err(
        "--stop-daemon master --mcast-interface eth0",
        &["Illegal 'mcast-interface'"],
    );
}

#[test]
fn command_position_and_words() {
    err("-nL", &["first option must be a command", "-n"]);
    err("-n -L", &["first option must be a command"]);
    err("-L -A", &["invalid option `-A'"]);
    err("foo", &["no command", "foo"]);
    err("-L foo", &["unexpected argument foo"]);
    err(
        "-A -t 1.2.3.4:80 -t 1.2.3.4:81",
        &["multiple 'service-address' options"],
    );
    err("-A -t 1.2.3.4:80 -f 1", &["multiple 'service-address'"]);
    let e = err("-L --bogus", &["unknown option `--bogus'"]);
    assert_eq!(e.kind, ErrorKind::Usage);
    err("-LQ", &["unknown option `-Q'"]);
    err("-A -t", &["`-t' requires an argument"]);
    err("-L --stats=1", &["takes no argument"]);
    assert_eq!(ok("-L -- "), Command::List(None, ListOpts::default()));
    err("-L -- -n", &["unexpected argument -n"]);
}

#[test]
fn addresses() {
    err(
        "-A -t www.example.com:80",
        &["`www.example.com:80'", "numeric"],
    );
    err("-A -t 1.2.3.4:http", &["`1.2.3.4:http'", "numeric port"]);
    err("-A -t 1.2.3.4:65536", &["`1.2.3.4:65536'"]);
    err("-A -t 1.2.3.4:", &["`1.2.3.4:'"]);
    err("-A -t 80", &["`80'"]);
    err("-A -t 1.2.3.256:80", &["`1.2.3.256:80'"]);
    let e = err("-A -t [::1]:80", &["IPv6", "[::1]:80"]);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(
        err("-a -t 1.2.3.4:80 -r 2001:db8::1", &["IPv6"]).kind,
        ErrorKind::Unsupported
    );
    // inet_aton forms are numeric addresses
    assert_eq!(
        ok("-D -t 10.1:80"),
        Command::DeleteService(tcp("10.0.0.1", 80))
    );
    assert_eq!(
        ok("-D -t 0x7f.1:80"),
        Command::DeleteService(tcp("127.0.0.1", 80))
    );
    assert_eq!(
        ok("-D -t 010.0.0.1:80"),
        Command::DeleteService(tcp("8.0.0.1", 80))
    );
    assert_eq!(
        ok("-D -t 167772161:80"),
        Command::DeleteService(tcp("10.0.0.1", 80))
    );
    let e = err("-A --sctp-service 1.2.3.4:80", &["SCTP", "not supported"]);
    assert_eq!(e.kind, ErrorKind::Unsupported);
}

#[test]
fn fwmarks() {
    assert_eq!(
        ok("-D -f 4294967295"),
        Command::DeleteService(SvcId::Fwmark(u32::MAX))
    );
    err("-D -f 0", &["invalid fwmark value `0'"]);
    err("-D -f 4294967296", &["`4294967296'"]);
    err("-D -f x", &["`x'"]);
    assert_eq!(err("-A -f 7 -6", &["IPv6"]).kind, ErrorKind::Unsupported);
    err("-A -6 -f 7", &["-6 used before -f"]);
}

#[test]
fn restore_input() {
    let text = "\n# saved rules\n-A -t 1.2.3.4:80 -s rr\n  ipvsadm -a -t 1.2.3.4:80 -r 10.0.0.1 -m\nipvsadm\n-a -t 1.2.3.4:80 -r 10.0.0.2 -w 99999\n-R\n";
    let r = parse_restore(text);
    assert_eq!(r.len(), 4);
    assert!(matches!(r[0], Ok(Command::AddService(..))));
    assert!(matches!(r[1], Ok(Command::AddServer(..))));
    let Err((line, e)) = &r[2] else { panic!() };
    assert_eq!(*line, 6);
    assert!(e.message.contains("`99999'"));
    let Err((line, e)) = &r[3] else { panic!() };
    assert_eq!(*line, 7);
    assert!(e.message.contains("restore"));
}
