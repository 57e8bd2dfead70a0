//! Per-option handling of the ipvsadm parser (the body of ipvsadm.c's
//! `parse_options` loop) and the per-command fix-ups of `process_options`.

use std::net::{IpAddr, Ipv4Addr};

use super::args::{inet_aton, number_in, parse_host_port, strtol, Opt};
use super::model::{
    sched_flag_bit, sched_flag_names, FwdFlag, Protocol, ServiceKey, SvcId, SyncState,
    DEFAULT_PERSISTENT_TIMEOUT, DEFAULT_SCHEDULER, MAX_TIMEOUT, SCHEDULERS,
};
use super::parse::{Cmd, Command, DaemonOpts, ListOpts, ParseError, RealOpts, SvcOpts, OPTNAMES};

pub(crate) const O_NUM: usize = 0;
pub(crate) const O_CONN: usize = 1;
pub(crate) const O_SVC: usize = 2;
pub(crate) const O_SCHED: usize = 3;
pub(crate) const O_PERS: usize = 4;
pub(crate) const O_MASK: usize = 5;
pub(crate) const O_REAL: usize = 6;
pub(crate) const O_FWD: usize = 7;
pub(crate) const O_W: usize = 8;
pub(crate) const O_X: usize = 9;
pub(crate) const O_Y: usize = 10;
pub(crate) const O_MIFN: usize = 11;
pub(crate) const O_TMO: usize = 12;
pub(crate) const O_DMN: usize = 13;
pub(crate) const O_STATS: usize = 14;
pub(crate) const O_RATE: usize = 15;
pub(crate) const O_THR: usize = 16;
pub(crate) const O_PCONN: usize = 17;
pub(crate) const O_NOSORT: usize = 18;
pub(crate) const O_SYNCID: usize = 19;
pub(crate) const O_EXACT: usize = 20;
pub(crate) const O_OPS: usize = 21;
pub(crate) const O_PE: usize = 22;
pub(crate) const O_SFLAGS: usize = 23;
pub(crate) const O_MGRP: usize = 24;
pub(crate) const O_MPORT: usize = 25;
pub(crate) const O_MTTL: usize = 26;
pub(crate) const O_MAXLEN: usize = 27;
pub(crate) const O_TUNINFO: usize = 28;
pub(crate) const O_TUNTYPE: usize = 29;
pub(crate) const O_TUNPORT: usize = 30;
pub(crate) const O_TUNNOCSUM: usize = 31;
pub(crate) const O_TUNCSUM: usize = 32;
pub(crate) const O_TUNREMCSUM: usize = 33;

/// Everything collected from the options of one command line.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) options: u64,
    pub(crate) daemon_state: Option<SyncState>,
    svc: Option<SvcId>,
    pub(crate) scheduler: Option<String>,
    persistent: Option<u32>,
    netmask: Option<Ipv4Addr>,
    pub(crate) sched_flags_arg: Option<String>,
    pub(crate) flags: Vec<String>,
    ops: bool,
    pe: Option<String>,
    real: Option<(Ipv4Addr, u16)>,
    fwd: Option<FwdFlag>,
    weight: Option<u32>,
    u_threshold: Option<u32>,
    l_threshold: Option<u32>,
    tun_type: bool,
    list: ListOpts,
    mcast_ifn: Option<String>,
    syncid: Option<u8>,
    sync_maxlen: Option<u16>,
    mcast_group: Option<Ipv4Addr>,
    mcast_port: Option<u16>,
    mcast_ttl: Option<u8>,
}

/// `string_to_number` with an ipvsadm-style error naming option and value.
fn num(spelled: &str, what: &str, s: &str, min: i64, max: i64) -> Result<i64, ParseError> {
    number_in(s, min, max).ok_or_else(|| {
        ParseError::invalid(format!(
            "illegal {what} specified: {spelled} `{s}' (must be {min}..{max})"
        ))
    })
}

/// ipvsadm's `parse_timeout(buf, min, MAX_TIMEOUT)`.
pub(crate) fn parse_timeout(spelled: &str, s: &str, min: u32) -> Result<u32, ParseError> {
    number_in(s, min.into(), MAX_TIMEOUT.into())
        .map(|n| n as u32)
        .ok_or_else(|| {
            ParseError::invalid(format!(
                "invalid timeout value `{s}' specified for {spelled} (must be {min}..{MAX_TIMEOUT})"
            ))
        })
}

/// ipvsadm's `parse_sched_flags`: comma-separated, empty items skipped
/// (strtok); `sh-*` only with `sh`, `mh-*` only with `mh` (the scheduler
/// being `-s` or the default wlc). Returns the canonical names.
pub(crate) fn parse_sched_flags(sched: Option<&str>, arg: &str) -> Result<Vec<String>, ParseError> {
    let sched = sched.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SCHEDULER);
    let mut bits = 0u8;
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let Some(bit) = sched_flag_bit(flag) else {
            return Err(ParseError::invalid(format!(
                "invalid scheduler flag `{flag}' in -b `{arg}'"
            )));
        };
        let needs = if flag.starts_with("sh-") {
            Some("sh")
        } else if flag.starts_with("mh-") {
            Some("mh")
        } else {
            None
        };
        if let Some(n) = needs.filter(|n| *n != sched) {
            return Err(ParseError::invalid(format!(
                "incompatible scheduler flag `{flag}' (needs -s {n}, scheduler is {sched})"
            )));
        }
        bits |= bit;
    }
    if !any {
        return Err(ParseError::invalid(format!(
            "invalid scheduler flag list -b `{arg}'"
        )));
    }
    Ok(sched_flag_names(sched, bits))
}

impl State {
    fn set_option(&mut self, bit: usize) -> Result<(), ParseError> {
        if self.options & (1 << bit) != 0 {
            return Err(ParseError::invalid(format!(
                "multiple '{}' options specified",
                OPTNAMES[bit]
            )));
        }
        self.options |= 1 << bit;
        Ok(())
    }

    /// One option after the command (the `while (poptGetNextOpt)` switch),
    /// handed to the handler of its group.
    pub(crate) fn option(
        &mut self,
        opt: Opt,
        arg: Option<String>,
        spelled: &str,
    ) -> Result<(), ParseError> {
        use Opt::*;
        match opt {
            Tcp | Udp | Sctp | Fwmark | Scheduler | Persistent | Netmask | Ipv6 | Ops | Pe
            | SchedFlags => self.service_option(opt, arg, spelled),
            Real | Masq | Ipip | Gate | Weight | UThresh | LThresh | TunType | TunInfo
            | TunPort | TunNoCsum | TunCsum | TunRemCsum => self.real_option(opt, arg, spelled),
            Numeric | Connection | Timeout | Daemon | Stats | Rate | Thresholds
            | PersistentConn | NoSort | Exact | Sort => self.list_option(opt),
            McastIfn | SyncId | McastGroup | McastPort | McastTtl | SyncMaxlen => {
                self.daemon_option(opt, arg, spelled)
            }
            Add | Edit | Delete | Clear | List | Zero | AddServer | EditServer | DeleteServer
            | Set | Help | Version | Restore | Save | StartDaemon | StopDaemon => {
                Err(ParseError::usage(format!(
                    "invalid option `{spelled}' (only one command may be given, first)"
                )))
            }
        }
    }

    /// Virtual-service options: `-t -u -f -s -p -M -6 -o --pe -b`.
    fn service_option(
        &mut self,
        opt: Opt,
        arg: Option<String>,
        spelled: &str,
    ) -> Result<(), ParseError> {
        let owned = arg.clone().unwrap_or_default();
        let a = owned.as_str();
        let unsupported = |what: &str| unsupported(spelled, what);
        match opt {
            Opt::Tcp | Opt::Udp => {
                self.set_option(O_SVC)?;
                let (addr, port) = parse_host_port(spelled, "virtual server", a)?;
                let proto = if opt == Opt::Tcp {
                    Protocol::Tcp
                } else {
                    Protocol::Udp
                };
                self.svc = Some(SvcId::Addr(ServiceKey {
                    protocol: proto,
                    vip: IpAddr::V4(addr),
                    port: port.unwrap_or(0),
                }));
            }
            Opt::Sctp => return unsupported("SCTP services are"),
            Opt::Fwmark => {
                self.set_option(O_SVC)?;
                let m = strtol(a)
                    .filter(|&l| l > 0 && l <= u32::MAX.into())
                    .ok_or_else(|| {
                        ParseError::invalid(format!(
                        "invalid fwmark value `{a}' specified for {spelled} (must be 1..4294967295)"
                    ))
                    })?;
                self.svc = Some(SvcId::Fwmark(m as u32));
            }
            Opt::Scheduler => {
                self.set_option(O_SCHED)?;
                self.scheduler = Some(a.to_string());
            }
            Opt::Persistent => {
                self.set_option(O_PERS)?;
                self.persistent = Some(match arg.as_deref() {
                    None => DEFAULT_PERSISTENT_TIMEOUT,
                    Some(s) => parse_timeout(spelled, s, 1)?,
                });
            }
            Opt::Netmask => {
                self.set_option(O_MASK)?;
                self.netmask = Some(inet_aton(a).ok_or_else(|| {
                    ParseError::invalid(format!(
                        "illegal virtual server persistent mask specified: {spelled} `{a}' \
                         (numeric IPv4 netmask expected)"
                    ))
                })?);
            }
            Opt::Ipv6 => {
                return match self.svc {
                    Some(SvcId::Fwmark(_)) => unsupported("IPv6 fwmark services are"),
                    _ => Err(ParseError::invalid("-6 used before -f".to_string())),
                }
            }
            Opt::Ops => {
                self.set_option(O_OPS)?;
                self.ops = true;
            }
            Opt::Pe => {
                self.set_option(O_PE)?;
                if a != "sip" {
                    return Err(ParseError::invalid(format!(
                        "unknown persistence engine: {spelled} `{a}' (only sip)"
                    )));
                }
                self.pe = Some(a.to_string());
            }
            Opt::SchedFlags => {
                self.set_option(O_SFLAGS)?;
                self.sched_flags_arg = Some(a.to_string());
            }
            // Other groups: dispatched to their own handler by `option`.
            _ => {}
        }
        Ok(())
    }

    /// Real-server options: `-r -m -i -g -w -x -y` and the tunnel options.
    fn real_option(
        &mut self,
        opt: Opt,
        arg: Option<String>,
        spelled: &str,
    ) -> Result<(), ParseError> {
        let owned = arg.clone().unwrap_or_default();
        let a = owned.as_str();
        let unsupported = |what: &str| unsupported(spelled, what);
        match opt {
            Opt::Real => {
                self.set_option(O_REAL)?;
                let (addr, port) = parse_host_port(spelled, "real server", a)?;
                // copy vport to dport if not specified -- at the time -r is
                // seen, like ipvsadm (so `-r` before `-t` gets port 0).
                let vport = self.svc.map_or(0, |s| s.port());
                self.real = Some((addr, port.unwrap_or(vport)));
            }
            Opt::Masq | Opt::Ipip | Opt::Gate => {
                self.set_option(O_FWD)?;
                self.fwd = Some(match opt {
                    Opt::Masq => FwdFlag::MASQ,
                    Opt::Ipip => FwdFlag::TUNNEL,
                    _ => FwdFlag::DROUTE,
                });
            }
            Opt::Weight => {
                self.set_option(O_W)?;
                self.weight = Some(num(spelled, "weight", a, 0, 65535)? as u32);
            }
            Opt::UThresh => {
                self.set_option(O_X)?;
                self.u_threshold = Some(num(spelled, "u_threshold", a, 0, i32::MAX.into())? as u32);
            }
            Opt::LThresh => {
                self.set_option(O_Y)?;
                self.l_threshold = Some(num(spelled, "l_threshold", a, 0, i32::MAX.into())? as u32);
            }
            Opt::TunType => {
                self.set_option(O_TUNTYPE)?;
                match a {
                    "ipip" => self.tun_type = true,
                    "gue" | "gre" => return unsupported("GUE/GRE tunnels are"),
                    _ => {
                        return Err(ParseError::invalid(format!(
                            "illegal tunnel type specified: {spelled} `{a}' (ipip|gue|gre)"
                        )))
                    }
                }
            }
            Opt::TunInfo => return unsupported("tunnel info listing is"),
            Opt::TunPort | Opt::TunNoCsum | Opt::TunCsum | Opt::TunRemCsum => {
                return unsupported("GUE/GRE tunnel options are")
            }
            // Other groups: dispatched to their own handler by `option`.
            _ => {}
        }
        Ok(())
    }

    /// Listing options: `-n -c --timeout --daemon --stats --rate ...`.
    fn list_option(&mut self, opt: Opt) -> Result<(), ParseError> {
        match opt {
            Opt::Numeric => {
                self.set_option(O_NUM)?;
                self.list.numeric = true;
            }
            Opt::Connection => {
                self.set_option(O_CONN)?;
                self.list.connections = true;
            }
            Opt::Timeout => self.flag(O_TMO, |l| l.timeout = true)?,
            Opt::Daemon => self.flag(O_DMN, |l| l.daemon = true)?,
            Opt::Stats => self.flag(O_STATS, |l| l.stats = true)?,
            Opt::Rate => self.flag(O_RATE, |l| l.rate = true)?,
            Opt::Thresholds => self.flag(O_THR, |l| l.thresholds = true)?,
            Opt::PersistentConn => self.flag(O_PCONN, |l| l.persistent_conn = true)?,
            Opt::NoSort => self.flag(O_NOSORT, |l| l.nosort = true)?,
            Opt::Exact => self.flag(O_EXACT, |l| l.exact = true)?,
            Opt::Sort => {}
            // Other groups: dispatched to their own handler by `option`.
            _ => {}
        }
        Ok(())
    }

    /// Sync-daemon options: `--mcast-interface --syncid --mcast-*`, `--sync-maxlen`.
    fn daemon_option(
        &mut self,
        opt: Opt,
        arg: Option<String>,
        spelled: &str,
    ) -> Result<(), ParseError> {
        let owned = arg.clone().unwrap_or_default();
        let a = owned.as_str();
        let unsupported = |what: &str| unsupported(spelled, what);
        match opt {
            Opt::McastIfn => {
                self.set_option(O_MIFN)?;
                if a.is_empty() || a.len() > 15 {
                    return Err(ParseError::invalid(format!(
                        "illegal mcast-interface specified: {spelled} `{a}' (1..15 characters)"
                    )));
                }
                self.mcast_ifn = Some(a.to_string());
            }
            Opt::SyncId => {
                self.set_option(O_SYNCID)?;
                self.syncid = Some(num(spelled, "syncid", a, 0, 255)? as u8);
            }
            Opt::McastGroup => {
                self.set_option(O_MGRP)?;
                if a.contains(':') {
                    return unsupported("IPv6 multicast groups are");
                }
                match a.parse::<Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => self.mcast_group = Some(g),
                    _ => {
                        return Err(ParseError::invalid(format!(
                            "invalid mcast-group specified: {spelled} `{a}'"
                        )))
                    }
                }
            }
            Opt::McastPort => {
                self.set_option(O_MPORT)?;
                self.mcast_port = Some(num(spelled, "mcast-port", a, 1, 65535)? as u16);
            }
            Opt::McastTtl => {
                self.set_option(O_MTTL)?;
                self.mcast_ttl = Some(num(spelled, "mcast-ttl", a, 1, 255)? as u8);
            }
            Opt::SyncMaxlen => {
                self.set_option(O_MAXLEN)?;
                self.sync_maxlen = Some(num(spelled, "sync-maxlen", a, 1, 65535 - 20 - 8)? as u16);
            }
            // Other groups: dispatched to their own handler by `option`.
            _ => {}
        }
        Ok(())
    }

    fn flag(&mut self, bit: usize, f: impl FnOnce(&mut ListOpts)) -> Result<(), ParseError> {
        self.set_option(bit)?;
        f(&mut self.list);
        Ok(())
    }

    fn svc(&self) -> SvcId {
        self.svc
            .expect("service-address checked by generic_opt_check")
    }

    /// `process_options` after `generic_opt_check`.
    pub(crate) fn finish(
        self,
        cmd: Cmd,
        timeouts: Option<[u32; 3]>,
    ) -> Result<Command, ParseError> {
        Ok(match cmd {
            Cmd::Add | Cmd::Edit => self.finish_service(cmd)?,
            Cmd::AddSrv | Cmd::EditSrv => self.finish_real(cmd)?,
            Cmd::DelSrv => {
                let (addr, port) = self.real.expect("real-server checked");
                Command::DeleteServer(self.svc(), addr, port)
            }
            Cmd::Del => Command::DeleteService(self.svc()),
            Cmd::Flush => Command::Clear,
            Cmd::Restore => Command::Restore,
            Cmd::Save => Command::Save {
                numeric: self.list.numeric,
            },
            Cmd::Zero => Command::Zero(self.svc),
            Cmd::List => self.finish_list()?,
            Cmd::Timeout => {
                let [tcp, tcpfin, udp] = timeouts.expect("--set values parsed");
                Command::SetTimeouts { tcp, tcpfin, udp }
            }
            Cmd::StartD => Command::StartDaemon(DaemonOpts {
                state: self.daemon_state.expect("daemon state parsed"),
                mcast_ifn: self.mcast_ifn.unwrap_or_else(|| "eth0".to_string()),
                syncid: self.syncid.unwrap_or(0),
                sync_maxlen: self.sync_maxlen,
                mcast_group: self.mcast_group,
                mcast_port: self.mcast_port,
                mcast_ttl: self.mcast_ttl,
            }),
            Cmd::StopD => Command::StopDaemon(self.daemon_state.expect("daemon state parsed")),
        })
    }

    /// `-A`/`-E`: zero port needs persistence, `-o` needs UDP, the scheduler
    /// must be known.
    fn finish_service(self, cmd: Cmd) -> Result<Command, ParseError> {
        let id = self.svc();
        if let SvcId::Addr(ServiceKey {
            port: 0, vip: addr, ..
        }) = id
        {
            if self.persistent.is_none() {
                return Err(ParseError::invalid(format!(
                    "Zero port specified for non-persistent service {addr}:0 (add -p)"
                )));
            }
        }
        if self.ops
            && matches!(
                id,
                SvcId::Addr(ServiceKey {
                    protocol: Protocol::Tcp,
                    ..
                })
            )
        {
            return Err(ParseError::invalid(
                "One-Packet Scheduling (-o) is only for UDP virtual services, \
                 got a TCP service"
                    .to_string(),
            ));
        }
        let scheduler = self
            .scheduler
            .unwrap_or_else(|| DEFAULT_SCHEDULER.to_string());
        if !SCHEDULERS.contains(&scheduler.as_str()) {
            return Err(ParseError::invalid(format!(
                "unknown scheduler -s `{scheduler}' (one of {})",
                SCHEDULERS.join(",")
            )));
        }
        let opts = SvcOpts {
            scheduler,
            persistent: self.persistent,
            netmask: self.netmask.unwrap_or(Ipv4Addr::BROADCAST),
            flags: self.flags,
            ops: self.ops,
            pe: self.pe,
        };
        Ok(if cmd == Cmd::Add {
            Command::AddService(id, opts)
        } else {
            Command::EditService(id, opts)
        })
    }

    /// `-a`/`-e`: DR and tunnel reals take the virtual port; `--tun-type`
    /// needs `-i`.
    fn finish_real(self, cmd: Cmd) -> Result<Command, ParseError> {
        let id = self.svc();
        let (addr, mut port) = self.real.expect("real-server checked");
        let fwd = self.fwd.unwrap_or(FwdFlag::DROUTE);
        if !matches!(id, SvcId::Fwmark(_)) && matches!(fwd, FwdFlag::DROUTE | FwdFlag::TUNNEL) {
            port = id.port();
        }
        if self.tun_type && fwd != FwdFlag::TUNNEL {
            return Err(ParseError::invalid(
                "--tun-type is only for tunneling servers (-i)".to_string(),
            ));
        }
        let r = RealOpts {
            addr,
            port,
            fwd,
            weight: self.weight.unwrap_or(1),
            u_threshold: self.u_threshold.unwrap_or(0),
            l_threshold: self.l_threshold.unwrap_or(0),
        };
        Ok(if cmd == Cmd::AddSrv {
            Command::AddServer(id, r)
        } else {
            Command::EditServer(id, r)
        })
    }

    /// `-L`: the listing options that cannot be combined.
    fn finish_list(self) -> Result<Command, ParseError> {
        let l = self.list;
        if ((l.connections || l.timeout || l.daemon) && (l.stats || l.rate || l.thresholds))
            || ((l.timeout || l.daemon) && l.persistent_conn)
        {
            return Err(ParseError::invalid(
                "options conflicts in the list command: -c/--timeout/--daemon cannot be \
                 combined with --stats/--rate/--thresholds, nor --timeout/--daemon with \
                 --persistent-conn"
                    .to_string(),
            ));
        }
        Ok(Command::List(self.svc, l))
    }
}

/// "`-X`: WHAT not supported by lvsd", for options ipvsadm has and lvsd not.
fn unsupported(spelled: &str, what: &str) -> Result<(), ParseError> {
    Err(ParseError::unsupported(format!(
        "{spelled}: {what} not supported by lvsd"
    )))
}
