//! ipvsadm 1.31 command line → typed [`Command`].
//!
//! Mirrors ipvsadm.c: the first option must be a command; every option may
//! be given once (`set_option`); the command/option legality table
//! (`commands_v_options`) is checked after all options are read; then the
//! per-command fix-ups (default scheduler, port-0 and OPS checks, real
//! port forced to the virtual port for `-g`/`-i`, ...).
//!
//! Values are resolved the way ipvsadm sends them to the kernel: `-E`/`-e`
//! carry a complete service/destination (omitted options take their
//! defaults, they do not "keep" the old value), exactly like ipvsadm.
//!
//! lvsd differences (all rejected with a clear error rather than guessed):
//! IPv6 (`[addr]:port`, `-6`), `--sctp-service`, GUE/GRE tunnels and their
//! options, `--tun-info`, host and service names (never resolved).

use std::fmt;
use std::net::Ipv4Addr;

use super::args::{tokenize, Item, Opt};
use super::model::{FwdFlag, SvcId, SyncState};
use super::opts::*;

/// Options of `-A`/`-E`, resolved with ipvsadm's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcOpts {
    /// `-s`, default `wlc`.
    pub scheduler: String,
    /// `-p [timeout]`: `Some(timeout)` when persistent (bare `-p` = 360).
    pub persistent: Option<u32>,
    /// `-M`, default 255.255.255.255.
    pub netmask: Ipv4Addr,
    /// `-b`, canonical names for the scheduler (see `model::sched_flag_names`).
    pub flags: Vec<String>,
    /// `-o`.
    pub ops: bool,
    /// `--pe` (only `sip`).
    pub pe: Option<String>,
}

/// Options of `-a`/`-e`, resolved with ipvsadm's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealOpts {
    pub addr: Ipv4Addr,
    pub port: u16,
    /// Default `Route` (`-g`). Never `Local`.
    pub fwd: FwdFlag,
    /// `-w`, default 1.
    pub weight: u32,
    /// `-x`, default 0.
    pub u_threshold: u32,
    /// `-y`, default 0.
    pub l_threshold: u32,
}

/// Flags of `-L`/`-l`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOpts {
    pub numeric: bool,
    pub connections: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub timeout: bool,
    pub daemon: bool,
    pub exact: bool,
    /// `--nosort` (`--sort` is accepted and is a no-op, as in ipvsadm).
    pub nosort: bool,
}

/// `--start-daemon` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonOpts {
    pub state: SyncState,
    /// `--mcast-interface`, default `eth0`.
    pub mcast_ifn: String,
    /// `--syncid`, default 0.
    pub syncid: u8,
    pub sync_maxlen: Option<u16>,
    pub mcast_group: Option<Ipv4Addr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

/// One ipvsadm invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    AddService(SvcId, SvcOpts),
    EditService(SvcId, SvcOpts),
    DeleteService(SvcId),
    Clear,
    Restore,
    Save { numeric: bool },
    AddServer(SvcId, RealOpts),
    EditServer(SvcId, RealOpts),
    DeleteServer(SvcId, Ipv4Addr, u16),
    List(Option<SvcId>, ListOpts),
    Zero(Option<SvcId>),
    SetTimeouts { tcp: u32, tcpfin: u32, udp: u32 },
    StartDaemon(DaemonOpts),
    StopDaemon(SyncState),
    Help,
    Version,
}

/// What kind of failure a [`ParseError`] is (ipvsadm exits 255 for usage
/// errors, 2 for the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed command line (unknown option, no command, ...).
    Usage,
    /// Well-formed but illegal value or combination.
    Invalid,
    /// Valid for ipvsadm but not (yet) supported by lvsd.
    Unsupported,
}

/// A parse failure with an ipvsadm-style message naming option and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ParseError {
    pub(crate) fn usage(m: String) -> Self {
        ParseError {
            kind: ErrorKind::Usage,
            message: m,
        }
    }
    pub(crate) fn invalid(m: String) -> Self {
        ParseError {
            kind: ErrorKind::Invalid,
            message: m,
        }
    }
    pub(crate) fn unsupported(m: String) -> Self {
        ParseError {
            kind: ErrorKind::Unsupported,
            message: m,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// ipvsadm's `optnames`, index = option bit.
pub(crate) const OPTNAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddSrv,
    DelSrv,
    EditSrv,
    Timeout,
    StartD,
    StopD,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddSrv => "add-server",
            Cmd::DelSrv => "delete-server",
            Cmd::EditSrv => "edit-server",
            Cmd::Timeout => "set",
            Cmd::StartD => "start-daemon",
            Cmd::StopD => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
        }
    }

    /// `commands_v_options` row: (compulsory, optional, exclusive); all
    /// other options are illegal.
    fn rules(self) -> (&'static [usize], &'static [usize], &'static [usize]) {
        match self {
            Cmd::Add | Cmd::Edit => (
                &[O_SVC],
                &[O_SCHED, O_PERS, O_MASK, O_OPS, O_PE, O_SFLAGS],
                &[],
            ),
            Cmd::Del => (&[O_SVC], &[], &[]),
            Cmd::DelSrv => (&[O_SVC, O_REAL], &[], &[]),
            Cmd::List => (
                &[],
                &[
                    O_NUM, O_STATS, O_RATE, O_THR, O_PCONN, O_NOSORT, O_SYNCID, O_EXACT, O_TUNINFO,
                ],
                &[O_CONN, O_SVC, O_TMO, O_DMN],
            ),
            Cmd::AddSrv | Cmd::EditSrv => (
                &[O_SVC, O_REAL],
                &[
                    O_FWD,
                    O_W,
                    O_X,
                    O_Y,
                    O_TUNTYPE,
                    O_TUNPORT,
                    O_TUNNOCSUM,
                    O_TUNCSUM,
                    O_TUNREMCSUM,
                ],
                &[],
            ),
            Cmd::StartD => (
                &[],
                &[O_MIFN, O_SYNCID, O_MGRP, O_MPORT, O_MTTL, O_MAXLEN],
                &[],
            ),
            Cmd::StopD => (&[], &[O_SYNCID], &[]),
            Cmd::Save => (&[], &[O_NUM], &[]),
            Cmd::Zero => (&[], &[O_SVC], &[]),
            Cmd::Flush | Cmd::Timeout | Cmd::Restore => (&[], &[], &[]),
        }
    }
}

/// ipvsadm's `generic_opt_check`, same order of checks and messages.
fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), ParseError> {
    let (req, opt, one) = cmd.rules();
    let mut last: Option<usize> = None;
    for (j, name) in OPTNAMES.iter().enumerate() {
        let set = options & (1 << j) != 0;
        if !set {
            if req.contains(&j) {
                return Err(ParseError::invalid(format!(
                    "You need to supply the '{name}' option for the '{}' command",
                    cmd.name()
                )));
            }
        } else if one.contains(&j) {
            if let Some(l) = last {
                return Err(ParseError::invalid(format!(
                    "The option '{name}' conflicts with the '{}' option in the '{}' command",
                    OPTNAMES[l],
                    cmd.name()
                )));
            }
            last = Some(j);
        } else if !req.contains(&j) && !opt.contains(&j) {
            return Err(ParseError::invalid(format!(
                "Illegal '{name}' option with the '{}' command",
                cmd.name()
            )));
        }
    }
    Ok(())
}

/// Parses one ipvsadm command line (without the program name; a leading
/// `ipvsadm`/`lvsadm` word is skipped). No arguments means `-L`.
pub fn parse(args: &[String]) -> Result<Command, ParseError> {
    let args = match args.first() {
        Some(w) if is_program_name(w) => &args[1..],
        _ => args,
    };
    if args.is_empty() {
        return Ok(Command::List(None, ListOpts::default()));
    }
    let items = tokenize(args)?;
    let mut st = State::default();
    let mut cmd: Option<Cmd> = None;
    let mut words = Vec::new();
    for item in items {
        match item {
            Item::Word(w) => words.push(w),
            Item::Opt { opt, arg, spelled } => match cmd {
                None => match first_command(opt, arg, &spelled)? {
                    First::Done(c) => return Ok(c),
                    First::Cmd(c, state) => {
                        cmd = Some(c);
                        st.daemon_state = state;
                    }
                },
                Some(_) => st.option(opt, arg, &spelled)?,
            },
        }
    }
    let Some(cmd) = cmd else {
        return Err(ParseError::usage(format!(
            "no command given (the first option must be a command), got `{}'; \
             try `ipvsadm -h'",
            args.join(" ")
        )));
    };
    let mut words = words.into_iter();
    let mut timeouts = None;
    if cmd == Cmd::Timeout {
        let v: Vec<String> = words.by_ref().take(3).collect();
        if v.len() < 3 {
            return Err(ParseError::invalid(format!(
                "--set option requires 3 timeout values, got {}",
                v.len()
            )));
        }
        let mut t = [0u32; 3];
        for (k, s) in v.iter().enumerate() {
            t[k] = parse_timeout("--set", s, 0)?;
        }
        timeouts = Some(t);
    }
    if let Some(w) = words.next() {
        return Err(ParseError::usage(format!("unexpected argument {w}")));
    }
    if let Some(f) = &st.sched_flags_arg {
        st.flags = parse_sched_flags(st.scheduler.as_deref(), f)?;
    }
    generic_opt_check(cmd, st.options)?;
    st.finish(cmd, timeouts)
}

/// Parses `ipvsadm -R` input: one command per line, blank lines and `#`
/// comments skipped, optional leading `ipvsadm` word. Errors carry the
/// 1-based line number. A nested `-R` is an error (as in ipvsadm).
pub fn parse_restore(text: &str) -> Vec<Result<Command, (usize, ParseError)>> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words: Vec<String> = t.split_whitespace().map(str::to_string).collect();
        if is_program_name(&words[0]) {
            words.remove(0);
        }
        if words.is_empty() {
            continue;
        }
        let r = match parse(&words) {
            Ok(Command::Restore) => Err(ParseError::usage(
                "-R/--restore is not allowed inside restore input".to_string(),
            )),
            r => r,
        };
        out.push(r.map_err(|e| (idx + 1, e)));
    }
    out
}

fn is_program_name(w: &str) -> bool {
    let base = w.rsplit('/').next().unwrap_or(w);
    base == "ipvsadm" || base == "lvsadm"
}

enum First {
    Done(Command),
    Cmd(Cmd, Option<SyncState>),
}

/// ipvsadm's first `poptGetNextOpt` switch: must be a command.
fn first_command(opt: Opt, arg: Option<String>, spelled: &str) -> Result<First, ParseError> {
    let daemon_state = |arg: Option<String>| match arg.as_deref() {
        Some("master") => Ok(Some(SyncState::Master)),
        Some("backup") => Ok(Some(SyncState::Backup)),
        a => Err(ParseError::invalid(format!(
            "illegal {spelled} parameter specified: `{}' (master|backup)",
            a.unwrap_or("")
        ))),
    };
    let cmd = match opt {
        Opt::Add => Cmd::Add,
        Opt::Edit => Cmd::Edit,
        Opt::Delete => Cmd::Del,
        Opt::Clear => Cmd::Flush,
        Opt::List => Cmd::List,
        Opt::Zero => Cmd::Zero,
        Opt::AddServer => Cmd::AddSrv,
        Opt::EditServer => Cmd::EditSrv,
        Opt::DeleteServer => Cmd::DelSrv,
        Opt::Set => Cmd::Timeout,
        Opt::Restore => Cmd::Restore,
        Opt::Save => Cmd::Save,
        Opt::Help => return Ok(First::Done(Command::Help)),
        Opt::Version => return Ok(First::Done(Command::Version)),
        Opt::StartDaemon => return Ok(First::Cmd(Cmd::StartD, daemon_state(arg)?)),
        Opt::StopDaemon => return Ok(First::Cmd(Cmd::StopD, daemon_state(arg)?)),
        _ => {
            return Err(ParseError::usage(format!(
                "the first option must be a command, got `{spelled}'; try `ipvsadm -h'"
            )))
        }
    };
    Ok(First::Cmd(cmd, None))
}
