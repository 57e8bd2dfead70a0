//! Parsed TOML document → [`RawConfig`], field by field.
//!
//! Each table is read key by key: a value of the wrong type and a key that
//! the table does not know are recorded (with key path and line) and the
//! reading goes on, so one pass names every such mistake. A wrong value is
//! then treated as absent: the section validators use the default, and a
//! required key is not reported a second time as missing
//! ([`Ctx::missing`] skips keys that already have an error).

use toml_edit::{Item, TableLike, Value};

use super::ctx::Ctx;
use super::raw::*;

/// Reads one table, remembering which keys it asked for.
struct Fields<'t, 'c, 's> {
    cx: &'c mut Ctx<'s>,
    path: String,
    table: &'t dyn TableLike,
    known: Vec<&'static str>,
}

/// What a value is, in the words of an error message.
fn describe(item: &Item) -> String {
    match item {
        Item::Value(Value::String(s)) => format!("string {:?}", s.value()),
        Item::Value(Value::Integer(i)) => format!("integer `{}`", i.value()),
        Item::Value(Value::Float(f)) => format!("floating point `{}`", f.value()),
        Item::Value(Value::Boolean(b)) => format!("boolean `{}`", b.value()),
        Item::Value(Value::Datetime(d)) => format!("datetime `{}`", d.value()),
        Item::Value(Value::Array(_)) | Item::ArrayOfTables(_) => "array".into(),
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "table".into(),
        Item::None => "nothing".into(),
    }
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`" (serde's wording).
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => "no keys".into(),
        [a] => a.clone(),
        [a, b] => format!("{a} or {b}"),
        all => format!("one of {}", all.join(", ")),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl<'t, 'c, 's> Fields<'t, 'c, 's> {
    fn new(cx: &'c mut Ctx<'s>, path: &str, table: &'t dyn TableLike) -> Self {
        Fields {
            cx,
            path: path.to_owned(),
            table,
            known: Vec::new(),
        }
    }

    /// The item at `key`, if present; records `key` as known.
    fn item(&mut self, key: &'static str) -> Option<&'t Item> {
        self.known.push(key);
        self.table.get(key).filter(|i| !i.is_none())
    }

    /// Records a type error at `path` and returns `None`.
    fn type_error<T>(&mut self, path: &str, item: &Item, expected: &str) -> Option<T> {
        self.cx.err(
            path,
            format!("invalid type: {}, expected {expected}", describe(item)),
        );
        None
    }

    /// A value of one type, read by `get`; a type error when it is another.
    fn value<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        get: impl Fn(&Value) -> Option<T>,
    ) -> Option<T> {
        let item = self.item(key)?;
        if let Some(v) = item.as_value().and_then(&get) {
            return Some(v);
        }
        let path = join(&self.path, key);
        self.type_error(&path, item, expected)
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        self.value(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    fn int(&mut self, key: &'static str) -> Option<i64> {
        self.value(key, "an integer", Value::as_integer)
    }

    fn bool(&mut self, key: &'static str) -> Option<bool> {
        self.value(key, "true or false", Value::as_bool)
    }

    /// An array whose every element `get` accepts; each other element is a
    /// type error and the whole key then counts as absent.
    fn array<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        get: impl Fn(&Value) -> Option<T>,
    ) -> Option<Vec<T>> {
        let item = self.item(key)?;
        let path = join(&self.path, key);
        let Some(array) = item.as_array() else {
            return self.type_error(&path, item, "an array");
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, v) in array.iter().enumerate() {
            match get(v) {
                Some(x) => out.push(x),
                None => {
                    ok = false;
                    let elem = Item::Value(v.clone());
                    self.type_error::<()>(&format!("{path}[{i}]"), &elem, expected);
                }
            }
        }
        ok.then_some(out)
    }

    fn strings(&mut self, key: &'static str) -> Option<Vec<String>> {
        self.array(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    /// A sub-table read by `read`.
    fn table<T>(
        &mut self,
        key: &'static str,
        read: impl FnOnce(&mut Ctx<'s>, &str, &'t dyn TableLike) -> T,
    ) -> Option<T> {
        let item = self.item(key)?;
        let path = join(&self.path, key);
        match item.as_table_like() {
            Some(t) => Some(read(self.cx, &path, t)),
            None => self.type_error(&path, item, "a table"),
        }
    }

    /// `[[key]]` (or an array of inline tables), each element read by `read`.
    fn tables<T>(
        &mut self,
        key: &'static str,
        read: impl Fn(&mut Ctx<'s>, &str, &'t dyn TableLike) -> T,
    ) -> Vec<T> {
        let Some(item) = self.item(key) else {
            return Vec::new();
        };
        let path = join(&self.path, key);
        let elems: Option<Vec<&'t dyn TableLike>> = match item {
            Item::ArrayOfTables(a) => Some(a.iter().map(|t| t as &dyn TableLike).collect()),
            Item::Value(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
                .collect(),
            _ => None,
        };
        let Some(elems) = elems else {
            let _: Option<()> = self.type_error(&path, item, "an array of tables");
            return Vec::new();
        };
        elems
            .into_iter()
            .enumerate()
            .map(|(i, t)| read(self.cx, &format!("{path}[{i}]"), t))
            .collect()
    }

    /// Records every key of the table that was not asked for.
    fn finish(self) {
        for (key, _) in self.table.iter() {
            if !self.known.contains(&key) {
                self.cx.err(
                    &join(&self.path, key),
                    format!("unknown key `{key}`, expected {}", one_of(&self.known)),
                );
            }
        }
    }
}

/// The whole document.
pub fn config(cx: &mut Ctx, doc: &toml_edit::Table) -> RawConfig {
    let mut f = Fields::new(cx, "", doc);
    let raw = RawConfig {
        dpdk: f.table("dpdk", dpdk),
        port: f.tables("port", port),
        neighbor: f.tables("neighbor", neighbor),
        route: f.tables("route", route),
        arp: f.table("arp", arp).unwrap_or_default(),
        log: f.table("log", log).unwrap_or_default(),
        timeouts: f.table("timeouts", timeouts).unwrap_or_default(),
        conn: f.table("conn", conn).unwrap_or_default(),
        limits: f.table("limits", limits).unwrap_or_default(),
        service: f.tables("service", service),
        control: f.table("control", control).unwrap_or_default(),
        metrics: f.table("metrics", metrics).unwrap_or_default(),
        ha: f.table("ha", ha),
        children: f.table("children", children).unwrap_or_default(),
    };
    f.finish();
    raw
}

fn dpdk(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawDpdk {
    with(cx, p, t, |f| RawDpdk {
        lcores: f.string("lcores"),
        memory_mb: f.int("memory_mb"),
        hugepages: f.bool("hugepages"),
        file_prefix: f.string("file_prefix"),
        args: f.strings("args"),
        burst: f.int("burst"),
        mbufs: f.int("mbufs"),
    })
}

/// Reads the table at `p` into `T` with `read`, then reports unknown keys.
fn with<'t, 's, T>(
    cx: &mut Ctx<'s>,
    p: &str,
    t: &'t dyn TableLike,
    read: impl FnOnce(&mut Fields<'t, '_, 's>) -> T,
) -> T {
    let mut f = Fields::new(cx, p, t);
    let r = read(&mut f);
    f.finish();
    r
}

fn port(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawPort {
    with(cx, p, t, |f| RawPort {
        name: f.string("name"),
        device: f.string("device"),
        address: f.string("address"),
        rx_queues: f.int("rx_queues"),
        tx_queues: f.int("tx_queues"),
        mtu: f.int("mtu"),
        mac: f.string("mac"),
        kernel_iface: f.string("kernel_iface"),
        floating: f.strings("floating"),
    })
}

fn neighbor(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawNeighbor {
    with(cx, p, t, |f| RawNeighbor {
        port: f.string("port"),
        address: f.string("address"),
        mac: f.string("mac"),
    })
}

fn route(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawRoute {
    with(cx, p, t, |f| RawRoute {
        destination: f.string("destination"),
        via: f.string("via"),
    })
}

fn arp(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawArp {
    with(cx, p, t, |f| RawArp {
        timeout_s: f.int("timeout_s"),
        retry_ms: f.int("retry_ms"),
        pending: f.int("pending"),
    })
}

fn log(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawLog {
    with(cx, p, t, |f| RawLog {
        format: f.string("format"),
        level: f.string("level"),
    })
}

fn timeouts(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawTimeouts {
    with(cx, p, t, |f| RawTimeouts {
        tcp: f.int("tcp"),
        tcp_fin: f.int("tcp_fin"),
        udp: f.int("udp"),
    })
}

fn limits(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawLimits {
    with(cx, p, t, |f| RawLimits {
        icmp_rate: f.int("icmp_rate"),
        icmp_burst: f.int("icmp_burst"),
        kernel_rate: f.int("kernel_rate"),
        kernel_burst: f.int("kernel_burst"),
    })
}

fn conn(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawConn {
    with(cx, p, t, |f| RawConn {
        capacity: f.int("capacity"),
        expire_nodest_conn: f.bool("expire_nodest_conn"),
        expire_quiescent_template: f.bool("expire_quiescent_template"),
        sloppy_tcp: f.bool("sloppy_tcp"),
    })
}

fn control(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawControl {
    with(cx, p, t, |f| RawControl {
        socket: f.string("socket"),
    })
}

fn metrics(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawMetrics {
    with(cx, p, t, |f| RawMetrics {
        listen: f.string("listen"),
        enabled: f.bool("enabled"),
    })
}

fn children(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawChildren {
    with(cx, p, t, |f| RawChildren {
        run_as: f.string("run_as"),
    })
}

fn ha(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawHa {
    with(cx, p, t, |f| RawHa {
        node: f.string("node"),
        priority: f.int("priority"),
        preempt: f.bool("preempt"),
        preempt_delay_ms: f.int("preempt_delay_ms"),
        peer: f.string("peer"),
        listen: f.string("listen"),
        key_file: f.string("key_file"),
        interval_ms: f.int("interval_ms"),
        dead_interval_ms: f.int("dead_interval_ms"),
        garp: f.table("garp", garp),
        vrid: f.int("vrid"),
        notify_active: f.string("notify_active"),
        notify_backup: f.string("notify_backup"),
        notify_fault: f.string("notify_fault"),
        track: f.tables("track", track),
    })
}

fn track(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawTrack {
    with(cx, p, t, |f| RawTrack {
        command: f.string("command"),
        interval_ms: f.int("interval_ms"),
        fall: f.int("fall"),
        rise: f.int("rise"),
    })
}

fn garp(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawGarp {
    with(cx, p, t, |f| RawGarp {
        repeat: f.int("repeat"),
        delay_ms: f.int("delay_ms"),
    })
}

fn service(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawService {
    with(cx, p, t, |f| RawService {
        name: f.string("name"),
        protocol: f.string("protocol"),
        vip: f.string("vip"),
        port: f.int("port"),
        scheduler: f.string("scheduler"),
        flags: f.strings("flags"),
        persistence: f.table("persistence", persistence),
        ops: f.bool("ops"),
        method: f.string("method"),
        maglev_size: f.int("maglev_size"),
        quorum: f.int("quorum"),
        hysteresis: f.int("hysteresis"),
        quorum_up: f.string("quorum_up"),
        quorum_down: f.string("quorum_down"),
        check: f.table("check", check),
        sorry: f.table("sorry", sorry),
        real: f.tables("real", real),
    })
}

fn persistence(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawPersistence {
    with(cx, p, t, |f| RawPersistence {
        timeout: f.int("timeout"),
        netmask: f.string("netmask"),
    })
}

fn sorry(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawSorry {
    with(cx, p, t, |f| RawSorry {
        address: f.string("address"),
        port: f.int("port"),
    })
}

fn real(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawReal {
    with(cx, p, t, |f| RawReal {
        address: f.string("address"),
        port: f.int("port"),
        weight: f.int("weight"),
        method: f.string("method"),
        upper_threshold: f.int("upper_threshold"),
        lower_threshold: f.int("lower_threshold"),
        check: f.table("check", check),
    })
}

/// A status entry: an integer code or a `"200-299"` string.
fn status(v: &Value) -> Option<RawStatus> {
    match v {
        Value::Integer(i) => Some(RawStatus::Code(*i.value())),
        Value::String(s) => Some(RawStatus::Range(s.value().clone())),
        _ => None,
    }
}

fn check(cx: &mut Ctx, p: &str, t: &dyn TableLike) -> RawCheck {
    with(cx, p, t, |f| RawCheck {
        r#type: f.string("type"),
        method: f.string("method"),
        path: f.string("path"),
        host: f.string("host"),
        status: f.array("status", "a status code or a range string", status),
        body_regex: f.string("body_regex"),
        digest: f.string("digest"),
        send: f.string("send"),
        expect: f.string("expect"),
        command: f.string("command"),
        args: f.strings("args"),
        dynamic: f.bool("dynamic"),
        payload: f.string("payload"),
        reply: f.string("reply"),
        query_type: f.string("query_type"),
        query_name: f.string("query_name"),
        port: f.int("port"),
        interval_ms: f.int("interval_ms"),
        timeout_ms: f.int("timeout_ms"),
        rise: f.int("rise"),
        fall: f.int("fall"),
        warmup_ms: f.int("warmup_ms"),
        alpha: f.bool("alpha"),
        bind: f.string("bind"),
        bind_port: f.int("bind_port"),
        on_failure: f.string("on_failure"),
        notify_up: f.string("notify_up"),
        notify_down: f.string("notify_down"),
    })
}
