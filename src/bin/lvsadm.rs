//! `lvsadm`: ipvsadm 1.31 syntax and output against a running lvsd, plus
//! lvsd's own verbs:
//!
//! ```text
//! lvsadm [--socket PATH] <ipvsadm arguments>     e.g. -Ln, -A -t VIP:80 -s wrr, -Sn, -R
//! lvsadm [--socket PATH] reload [--discard-runtime]
//! lvsadm [--socket PATH] save-config             running configuration as TOML
//! lvsadm [--socket PATH] show status|health
//! lvsadm [--socket PATH] show ha [--json]           the active/backup pair's state
//! lvsadm [--socket PATH] explain tcp|udp CLIENT:PORT VIP:PORT
//! ```
//! The socket is `--socket PATH`, else `$LVSD_SOCKET`, else the `[control]
//! socket` of the configuration given with `--config FILE` (or a leading
//! `-c FILE`), else `/run/lvsd/lvsd.sock`.
use lvsd::ctl::proto::*;
use lvsd::ctl::server::request;
use lvsd::ipvsadm::{self, Command, ErrorKind, ListOpts, SvcId};
use lvsd::types::{Method, Scheduler};
use std::io::Read;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn die(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

fn send(sock: &Path, r: Request) -> Result<Option<serde_json::Value>, String> {
    let resp = request(
        sock,
        &Envelope {
            version: VERSION,
            request: r,
        },
    )
    .map_err(|e| e.to_string())?;
    if resp.ok {
        Ok(resp.data)
    } else {
        Err(resp.error.unwrap_or_else(|| "request failed".into()))
    }
}

fn key(id: &SvcId) -> Result<ServiceKey, String> {
    match id {
        SvcId::Addr(k) => Ok(*k),
        SvcId::Fwmark(m) => Err(format!(
            "fwmark service {m}: firewall-mark services are not supported by lvsd yet"
        )),
    }
}

/// ipvsadm command → control request (None: handled locally).
fn to_request(c: &Command) -> Result<Request, String> {
    Ok(match c {
        Command::AddService(id, o) | Command::EditService(id, o) => {
            let service = ServiceSpec {
                key: key(id)?,
                scheduler: Scheduler::from_name(&o.scheduler)
                    .ok_or_else(|| format!("unknown scheduler '{}'", o.scheduler))?,
                persistence: o.persistent.map(|t| PersistSpec { timeout: t, netmask: o.netmask }),
                flags: o.flags.clone(),
                ops: o.ops,
            };
            if o.pe.is_some() {
                return Err("--pe: persistence engines are not supported by lvsd yet".into());
            }
            if matches!(c, Command::AddService(..)) {
                Request::AddService { service }
            } else {
                Request::EditService { service }
            }
        }
        Command::DeleteService(id) => Request::DeleteService { key: key(id)? },
        Command::Clear => Request::Clear,
        Command::AddServer(id, r) | Command::EditServer(id, r) => {
            let real = RealSpec {
                address: r.addr.into(),
                port: r.port,
                // Local (only ever reported by a kernel) is sent as dr, like `-S` saves it as -g.
                method: r.fwd.method().unwrap_or(Method::Dr),
                weight: r.weight,
                upper_threshold: r.u_threshold,
                lower_threshold: r.l_threshold,
            };
            if matches!(c, Command::AddServer(..)) {
                Request::AddReal { key: key(id)?, real }
            } else {
                Request::EditReal { key: key(id)?, real }
            }
        }
        Command::DeleteServer(id, addr, port) => Request::DeleteReal { key: key(id)?, address: (*addr).into(), port: *port },
        Command::Zero(id) => Request::Zero { key: id.as_ref().map(key).transpose()? },
        Command::SetTimeouts { tcp, tcpfin, udp } => Request::SetTimeouts { tcp: *tcp, tcp_fin: *tcpfin, udp: *udp },
        Command::StartDaemon(_) | Command::StopDaemon(_) => {
            return Err("--start-daemon/--stop-daemon: lvsd replicates connections through its [ha] peer link, not the IPVS sync daemon".into())
        }
        other => return Err(format!("{other:?} cannot be sent as one request")),
    })
}

fn svc_infos(l: &ListData) -> Vec<ipvsadm::SvcInfo> {
    l.services
        .iter()
        .map(|s| ipvsadm::SvcInfo {
            id: SvcId::Addr(s.key),
            scheduler: s.scheduler.as_str().to_string(),
            flags: s.flags.clone(),
            persistent: s.persistence.as_ref().map(|p| p.timeout),
            netmask: s
                .persistence
                .as_ref()
                .map_or(std::net::Ipv4Addr::BROADCAST, |p| p.netmask),
            ops: s.ops,
            pe: None,
            reals: s
                .reals
                .iter()
                .map(|r| ipvsadm::RealInfo {
                    addr: r.address,
                    port: r.port,
                    fwd: ipvsadm::format::fwd_from_name(&r.method),
                    weight: r.weight,
                    u_threshold: r.upper_threshold,
                    l_threshold: r.lower_threshold,
                    active: r.active as u32,
                    inactive: r.inactive as u32,
                    persistent: r.persistent as u32,
                    stats: stats(&r.stats),
                    rates: rates(&r.rates),
                })
                .collect(),
            stats: stats(&s.stats),
            rates: rates(&s.rates),
        })
        .collect()
}

fn stats(s: &StatsData) -> ipvsadm::Stats {
    ipvsadm::Stats {
        conns: s.conns,
        inpkts: s.inpkts,
        outpkts: s.outpkts,
        inbytes: s.inbytes,
        outbytes: s.outbytes,
    }
}

fn rates(r: &RatesData) -> ipvsadm::Rates {
    ipvsadm::Rates {
        cps: r.cps,
        inpps: r.inpps,
        outpps: r.outpps,
        inbps: r.inbps,
        outbps: r.outbps,
    }
}

fn list(sock: &Path) -> Result<ListData, String> {
    let v = send(sock, Request::List)?.ok_or("empty answer")?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn run_ipvsadm(sock: &Path, args: &[String]) -> ExitCode {
    let cmd = match ipvsadm::parse(args) {
        Ok(c) => c,
        Err(e) => return die(if e.kind == ErrorKind::Usage { 255 } else { 2 }, e.message),
    };
    let result: Result<String, String> = match &cmd {
        Command::Help => Ok(format!("{}\n", include_str!("lvsadm_help.txt"))),
        Command::Version => Ok(format!(
            "lvsadm {} (ipvsadm v1.31 compatible)\n",
            env!("CARGO_PKG_VERSION")
        )),
        Command::List(svc, opts) => list_cmd(sock, svc.as_ref(), opts),
        Command::Save { .. } => list(sock).map(|l| ipvsadm::format::save(&svc_infos(&l))),
        Command::Restore => {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                return die(2, format!("reading standard input: {e}"));
            }
            let mut requests = Vec::new();
            for r in ipvsadm::parse_restore(&text) {
                match r
                    .map_err(|(line, e)| format!("line {line}: {}", e.message))
                    .and_then(|c| to_request(&c))
                {
                    Ok(req) => requests.push(req),
                    Err(e) => return die(2, e),
                }
            }
            send(sock, Request::Batch { requests }).map(|_| String::new())
        }
        other => to_request(other)
            .and_then(|r| send(sock, r))
            .map(|_| String::new()),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => die(2, e),
    }
}

fn list_cmd(sock: &Path, svc: Option<&SvcId>, opts: &ListOpts) -> Result<String, String> {
    if opts.timeout {
        let l = list(sock)?;
        let (tcp, tcpfin, udp) = l.timeouts;
        return Ok(ipvsadm::format::timeouts(&ipvsadm::Timeouts::from_secs(
            tcp, tcpfin, udp,
        )));
    }
    if opts.daemon {
        return Ok(String::new());
    }
    if opts.connections {
        let v = send(sock, Request::Connections)?.ok_or("empty answer")?;
        let conns: Vec<ConnData> = serde_json::from_value(v).map_err(|e| e.to_string())?;
        let rows: Vec<ipvsadm::ConnInfo> =
            conns.iter().map(lvsd::ctl::listing::conn_info).collect();
        return Ok(ipvsadm::format::connections(&rows));
    }
    let l = list(sock)?;
    let infos = svc_infos(&l);
    if let Some(id) = svc {
        return match infos.iter().find(|s| s.id == *id) {
            Some(s) => Ok(ipvsadm::format::list_service(s, opts)),
            None => Err("No such service".into()),
        };
    }
    Ok(ipvsadm::format::list(&infos, opts, 4096))
}

fn own_verb(sock: &Path, args: &[String]) -> ExitCode {
    let verb = args[0].as_str();
    let rest: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let r = match (verb, rest.as_slice()) {
        ("reload", []) => send(sock, Request::Reload { discard_runtime: false }),
        ("reload", ["--discard-runtime"]) => send(sock, Request::Reload { discard_runtime: true }),
        ("save-config", []) => send(sock, Request::SaveConfig),
        ("show", ["status"]) => send(sock, Request::Status),
        ("show", ["health"]) => send(sock, Request::Health),
        ("show", ["ha"]) => return show_ha(sock, false),
        ("show", ["ha", "--json"]) => return show_ha(sock, true),
        ("explain", [proto, client, vip]) => {
            let (Ok(client), Ok(vip)) = (client.parse::<SocketAddrV4>(), vip.parse::<SocketAddrV4>()) else {
                return die(2, "explain: expected CLIENT-IP:PORT VIP:PORT (numeric IPv4)");
            };
            send(sock, Request::Explain { protocol: proto.to_string(), client, vip })
        }
        _ => {
            return die(
                255,
                "usage: lvsadm reload [--discard-runtime] | save-config | show status|health | show ha [--json] | explain tcp|udp CLIENT:PORT VIP:PORT",
            )
        }
    };
    match r {
        Ok(Some(serde_json::Value::String(s))) => {
            print!("{s}");
            ExitCode::SUCCESS
        }
        Ok(Some(v)) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => die(2, e),
    }
}

/// `show ha`: the pair's state as text (or as the protocol's JSON); a
/// director without `[ha]` says so and it is not an error.
fn show_ha(sock: &Path, json: bool) -> ExitCode {
    let v = match send(sock, Request::Ha) {
        Ok(Some(v)) => v,
        Ok(None) => return die(2, "show ha: empty answer"),
        Err(e) => return die(2, e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if v["configured"] == serde_json::Value::Bool(false) {
        print!("{}", lvsd::ctl::ha_show::NOT_CONFIGURED);
        return ExitCode::SUCCESS;
    }
    match serde_json::from_value::<HaStatusData>(v) {
        Ok(s) => {
            print!("{}", lvsd::ctl::ha_show::render(&s));
            ExitCode::SUCCESS
        }
        Err(e) => die(2, format!("show ha: unexpected answer: {e}")),
    }
}

/// Takes lvsadm's own `--socket PATH` / `--config FILE` (or a leading
/// `-c FILE`) out of `args` and returns the control socket: `--socket`, else
/// `$LVSD_SOCKET`, else the configuration's `[control] socket`, else the
/// default.
fn socket_path(args: &mut Vec<String>) -> Result<PathBuf, String> {
    let mut sock = None;
    let mut config = None;
    if args.first().is_some_and(|a| a == "-c") && args.len() > 1 {
        config = Some(PathBuf::from(args.remove(1)));
        args.remove(0);
    }
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f == "--socket" || f == "--config" => {
                (f.to_string(), Some(v.to_string()))
            }
            _ => (args[i].clone(), None),
        };
        if flag != "--socket" && flag != "--config" {
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None if i + 1 < args.len() => args.remove(i + 1),
            None => return Err(format!("lvsadm: {flag} needs a value")),
        };
        args.remove(i);
        if flag == "--socket" {
            sock = Some(PathBuf::from(value));
        } else {
            config = Some(PathBuf::from(value));
        }
    }
    if let Some(s) = sock.or_else(|| std::env::var_os("LVSD_SOCKET").map(PathBuf::from)) {
        return Ok(s);
    }
    match config {
        Some(file) => lvsd::config::load_file(&file)
            .map(|m| m.control.socket)
            .map_err(|e| format!("lvsadm: {}: {e}", file.display())),
        None => Ok(PathBuf::from(lvsd::config::DEFAULT_SOCKET)),
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let sock = match socket_path(&mut args) {
        Ok(s) => s,
        Err(e) => return die(2, e),
    };
    match args.first().map(String::as_str) {
        Some("reload" | "save-config" | "show" | "explain") => own_verb(&sock, &args),
        _ => run_ipvsadm(&sock, &args),
    }
}
