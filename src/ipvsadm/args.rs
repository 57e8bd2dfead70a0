//! Low-level argv handling for the ipvsadm parser: the popt-compatible
//! option tokenizer (short clusters, glued/separate/`=` arguments, the
//! optional argument of `-p`), and the C-library-compatible number and
//! address parsers (`strtol`, `inet_aton`, `parse_service`).

use std::net::Ipv4Addr;

use super::parse::ParseError;

/// Every option ipvsadm 1.31 knows (commands included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    // commands
    Add,
    Edit,
    Delete,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DeleteServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    // options
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    Real,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThresh,
    LThresh,
    Numeric,
    Connection,
    McastIfn,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    Required,
    Optional,
}

/// (long name, short name, argument kind, id) — popt's `options_table`.
const SPECS: &[(&str, Option<char>, ArgKind, Opt)] = &[
    ("add-service", Some('A'), ArgKind::None, Opt::Add),
    ("edit-service", Some('E'), ArgKind::None, Opt::Edit),
    ("delete-service", Some('D'), ArgKind::None, Opt::Delete),
    ("clear", Some('C'), ArgKind::None, Opt::Clear),
    ("list", Some('L'), ArgKind::None, Opt::List),
    ("list", Some('l'), ArgKind::None, Opt::List),
    ("zero", Some('Z'), ArgKind::None, Opt::Zero),
    ("add-server", Some('a'), ArgKind::None, Opt::AddServer),
    ("edit-server", Some('e'), ArgKind::None, Opt::EditServer),
    ("delete-server", Some('d'), ArgKind::None, Opt::DeleteServer),
    ("set", None, ArgKind::None, Opt::Set),
    ("help", Some('h'), ArgKind::None, Opt::Help),
    ("version", Some('v'), ArgKind::None, Opt::Version),
    ("restore", Some('R'), ArgKind::None, Opt::Restore),
    ("save", Some('S'), ArgKind::None, Opt::Save),
    ("start-daemon", None, ArgKind::Required, Opt::StartDaemon),
    ("stop-daemon", None, ArgKind::Required, Opt::StopDaemon),
    ("tcp-service", Some('t'), ArgKind::Required, Opt::Tcp),
    ("udp-service", Some('u'), ArgKind::Required, Opt::Udp),
    ("sctp-service", None, ArgKind::Required, Opt::Sctp),
    ("fwmark-service", Some('f'), ArgKind::Required, Opt::Fwmark),
    ("scheduler", Some('s'), ArgKind::Required, Opt::Scheduler),
    ("persistent", Some('p'), ArgKind::Optional, Opt::Persistent),
    ("netmask", Some('M'), ArgKind::Required, Opt::Netmask),
    ("real-server", Some('r'), ArgKind::Required, Opt::Real),
    ("masquerading", Some('m'), ArgKind::None, Opt::Masq),
    ("ipip", Some('i'), ArgKind::None, Opt::Ipip),
    ("gatewaying", Some('g'), ArgKind::None, Opt::Gate),
    ("weight", Some('w'), ArgKind::Required, Opt::Weight),
    ("u-threshold", Some('x'), ArgKind::Required, Opt::UThresh),
    ("l-threshold", Some('y'), ArgKind::Required, Opt::LThresh),
    ("numeric", Some('n'), ArgKind::None, Opt::Numeric),
    ("connection", Some('c'), ArgKind::None, Opt::Connection),
    ("mcast-interface", None, ArgKind::Required, Opt::McastIfn),
    ("syncid", None, ArgKind::Required, Opt::SyncId),
    ("timeout", None, ArgKind::None, Opt::Timeout),
    ("daemon", None, ArgKind::None, Opt::Daemon),
    ("stats", None, ArgKind::None, Opt::Stats),
    ("rate", None, ArgKind::None, Opt::Rate),
    ("thresholds", None, ArgKind::None, Opt::Thresholds),
    ("persistent-conn", None, ArgKind::None, Opt::PersistentConn),
    ("nosort", None, ArgKind::None, Opt::NoSort),
    ("sort", None, ArgKind::None, Opt::Sort),
    ("exact", Some('X'), ArgKind::None, Opt::Exact),
    ("ipv6", Some('6'), ArgKind::None, Opt::Ipv6),
    ("ops", Some('o'), ArgKind::None, Opt::Ops),
    ("pe", None, ArgKind::Required, Opt::Pe),
    ("sched-flags", Some('b'), ArgKind::Required, Opt::SchedFlags),
    ("mcast-group", None, ArgKind::Required, Opt::McastGroup),
    ("mcast-port", None, ArgKind::Required, Opt::McastPort),
    ("mcast-ttl", None, ArgKind::Required, Opt::McastTtl),
    ("sync-maxlen", None, ArgKind::Required, Opt::SyncMaxlen),
    ("tun-info", None, ArgKind::None, Opt::TunInfo),
    ("tun-type", None, ArgKind::Required, Opt::TunType),
    ("tun-port", None, ArgKind::Required, Opt::TunPort),
    ("tun-nocsum", None, ArgKind::None, Opt::TunNoCsum),
    ("tun-csum", None, ArgKind::None, Opt::TunCsum),
    ("tun-remcsum", None, ArgKind::None, Opt::TunRemCsum),
];

/// One tokenizer result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// An option, its argument (if any) and how the user spelled it
    /// (`-p`, `--persistent`) for error messages.
    Opt {
        opt: Opt,
        arg: Option<String>,
        spelled: String,
    },
    /// A non-option word ("leftover" in popt terms).
    Word(String),
}

/// Splits argv like popt does for ipvsadm's table. Short options may be
/// clustered (`-Lnc`); an option taking an argument eats the rest of its
/// cluster (`-p600`, `-t1.2.3.4:80`) or else the next word; long options
/// take `--opt=value` or the next word. `-p`'s argument is optional: the
/// next word is only taken when it does not start with `-` (popt's rule for
/// `POPT_ARGFLAG_OPTIONAL`). `--` ends option processing.
pub(crate) fn tokenize(args: &[String]) -> Result<Vec<Item>, ParseError> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut only_words = false;
    while i < args.len() {
        let w = &args[i];
        i += 1;
        if only_words || w == "-" || !w.starts_with('-') {
            out.push(Item::Word(w.clone()));
            continue;
        }
        if w == "--" {
            only_words = true;
            continue;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, glued) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(lname, _, kind, opt)) = SPECS.iter().find(|s| s.0 == name) else {
                return Err(ParseError::usage(format!("unknown option `--{name}'")));
            };
            let spelled = format!("--{lname}");
            let arg = match (kind, glued) {
                (ArgKind::None, Some(v)) => {
                    return Err(ParseError::usage(format!(
                        "option `{spelled}' takes no argument (got `{v}')"
                    )))
                }
                (ArgKind::None, None) => None,
                (_, Some(v)) => Some(v),
                (kind, None) => take_next(args, &mut i, kind, &spelled)?,
            };
            out.push(Item::Opt { opt, arg, spelled });
            continue;
        }
        // short cluster
        let chars: Vec<char> = w[1..].chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            k += 1;
            let Some(&(_, _, kind, opt)) = SPECS.iter().find(|s| s.1 == Some(c)) else {
                return Err(ParseError::usage(format!("unknown option `-{c}' in `{w}'")));
            };
            let spelled = format!("-{c}");
            let arg = if kind == ArgKind::None {
                None
            } else if k < chars.len() {
                let rest: String = chars[k..].iter().collect();
                k = chars.len();
                Some(rest)
            } else {
                take_next(args, &mut i, kind, &spelled)?
            };
            out.push(Item::Opt { opt, arg, spelled });
        }
    }
    Ok(out)
}

fn take_next(
    args: &[String],
    i: &mut usize,
    kind: ArgKind,
    spelled: &str,
) -> Result<Option<String>, ParseError> {
    match args.get(*i) {
        None if kind == ArgKind::Optional => Ok(None),
        None => Err(ParseError::usage(format!(
            "option `{spelled}' requires an argument"
        ))),
        Some(next) if kind == ArgKind::Optional && next.starts_with('-') => Ok(None),
        Some(next) => {
            *i += 1;
            Ok(Some(next.clone()))
        }
    }
}

/// C `strtol(s, &end, 10)` requiring the whole string to be consumed:
/// optional leading whitespace, optional sign, at least one digit.
pub(crate) fn strtol(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?; // overflow = ERANGE
    Some(if neg { -v } else { v })
}

/// ipvsadm's `string_to_number(s, min, max)`.
pub(crate) fn number_in(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol(s).filter(|n| (min..=max).contains(n))
}

/// glibc `inet_aton`: 1 to 4 parts, each decimal, octal (leading 0) or hex
/// (0x); the last part fills the remaining bytes (`10.1` = 10.0.0.1).
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        let (radix, digits) = if let Some(h) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            (16, h)
        } else if p.len() > 1 && p.starts_with('0') {
            (8, &p[1..])
        } else {
            (10, *p)
        };
        if p.is_empty() || (radix == 16 && digits.is_empty()) {
            return None;
        }
        if !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        vals.push(v);
    }
    let last = *vals.last()?;
    let head = &vals[..vals.len() - 1];
    if head.iter().any(|&v| v > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last_bits < 64 && last >= (1u64 << last_bits) {
        return None;
    }
    let mut n: u64 = 0;
    for (idx, v) in head.iter().enumerate() {
        n |= v << (24 - 8 * idx as u32);
    }
    Some(Ipv4Addr::from((n | last) as u32))
}

/// Result of ipvsadm's `parse_service` for `-t/-u/-r` arguments:
/// address and, if one was given, port.
pub(crate) fn parse_host_port(
    opt: &str,
    what: &str,
    s: &str,
) -> Result<(Ipv4Addr, Option<u16>), ParseError> {
    let bad = |why: &str| {
        ParseError::invalid(format!(
            "illegal {what} address[:port] specified for {opt}: `{s}'{why}"
        ))
    };
    // A string of digits only is never an address (str_is_digit).
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(""));
    }
    if s.starts_with('[') || s.matches(':').count() > 1 {
        return Err(ParseError::unsupported(format!(
            "IPv6 addresses are not supported yet ({opt} `{s}')"
        )));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let Some(addr) = inet_aton(host) else {
        return Err(bad(
            " (host names are not resolved; use a numeric IPv4 address)",
        ));
    };
    let port = match port {
        None => None,
        Some(p) => match number_in(p, 0, 65535) {
            Some(n) => Some(n as u16),
            None if !p.is_empty() && !p.bytes().any(|b| b.is_ascii_digit()) => {
                return Err(bad(" (service names are not resolved; use a numeric port)"))
            }
            None => return Err(bad(" (port must be 0..65535)")),
        },
    };
    Ok((addr, port))
}
