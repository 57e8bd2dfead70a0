//! Shared pieces of the management-loop stall tests: an lvsd on the perf
//! harness's `net_memif` port (perf/lvsd-perf.toml) whose connection table
//! `lvsd-gen` fills, and the measurement itself: 50 idle TCP connections on
//! the metrics port, a control client sending one byte per second, and
//! `lvsadm -Lnc` listing the whole table while the loop's longest iteration
//! (`lvsd_mgmt_loop_max_seconds`) stays within 20 ms.
#![allow(dead_code)]
use lvsd::testbed::Testbed;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");
const GEN: &str = env!("CARGO_BIN_EXE_lvsd-gen");
const PERF_CONF: &str = include_str!("../../perf/lvsd-perf.toml");
/// The metrics address of the lvsd under measurement (the idle holder's).
pub const METRICS: &str = "127.0.0.1:9531";

/// Holds 50 idle connections on the metrics port, reopening any the
/// server closes, for two minutes.
const IDLE_HOLDER: &str = "import socket,time,select
A=('127.0.0.1',9531)
ss=[socket.create_connection(A) for _ in range(50)]
print('held',flush=True)
end=time.time()+120
while time.time()<end:
    r,_,_=select.select(ss,[],[],0.2)
    for s in r:
        try: d=s.recv(1)
        except OSError: d=b''
        if not d:
            s.close(); ss.remove(s); ss.append(socket.create_connection(A))
";

/// The connection count the tests fill the table with: `LVSD_STALL_CONNS`
/// (default 500,000).
pub fn wanted_conns() -> u64 {
    std::env::var("LVSD_STALL_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000)
}

/// The /metrics exposition served at `addr` in namespace `ns`.
pub fn scrape(tb: &Testbed, ns: &str, addr: &str) -> String {
    let code = format!(
        "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://{addr}/metrics',timeout=20).read().decode())"
    );
    tb.exec_ok(ns, "python3", &["-c", &code]).expect("scrape")
}

/// The sum of the samples of `name` (every label set) in `text`.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// perf/lvsd-perf.toml for the memif server socket `memif`, without
/// hugepages, under the testbed's file prefix (plus `suffix`), a 1M-entry
/// table, the control socket `ctl` and metrics on `metrics`.
pub fn perf_conf(tb: &Testbed, memif: &str, suffix: &str, ctl: &str, metrics: &str) -> String {
    let tag = tb.tag();
    PERF_CONF
        .replace("@SOCK@", memif)
        .replace("hugepages = true", "hugepages = false")
        .replace("memory_mb = 256", "memory_mb = 512")
        .replace(
            "file_prefix = \"lvsd-perf\"",
            &format!("file_prefix = \"{tag}{suffix}\""),
        )
        .replace("capacity = 2097152", "capacity = 1048576")
        + &format!("\n[control]\nsocket = \"{ctl}\"\n\n[metrics]\nlisten = \"{metrics}\"\n")
}

/// `lvsd-gen`'s arguments on the memif client of `memif`: `warm`
/// connections opened (SYN, then ACK) at `warm_rate` packets per second,
/// then ACKs on the first 1,000 of them at `rate` for `duration` seconds.
pub fn gen_args(
    tb: &Testbed,
    memif: &str,
    (warm, warm_rate): (u64, u64),
    rate: u64,
    duration: f64,
) -> Vec<String> {
    let vdev = format!("net_memif0,role=client,socket={memif},mac=02:00:00:00:00:02");
    let prefix = format!("--file-prefix={}g", tb.tag());
    let flows = warm.min(1000);
    [
        GEN,
        "--label",
        "fill",
        "--dst-mac",
        "02:00:00:00:00:01",
        "--vip",
        "198.19.0.100",
        "--flows",
        &flows.to_string(),
        "--warm",
        &warm.to_string(),
        "--warm-rate",
        &warm_rate.to_string(),
        "--rate",
        &rate.to_string(),
        "--duration",
        &duration.to_string(),
        "--link-timeout",
        "30",
        "--",
        "-l",
        "0",
        "--no-huge",
        "--no-shconf",
        "-m",
        "512",
        &prefix,
        "--no-pci",
        "--vdev",
        &vdev,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A control client that sends one byte a second (reconnecting when the
/// server closes it) until `stop`.
fn trickle(sock: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let mut connects = 0;
        let mut s: Option<UnixStream> = None;
        while !stop.load(Ordering::Relaxed) {
            if s.is_none() {
                s = UnixStream::connect(&sock).ok();
                connects += 1;
            }
            if let Some(c) = s.as_mut() {
                if c.write_all(b"{").is_err() {
                    s = None;
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        connects
    })
}

/// What one measurement saw.
pub struct Stall {
    /// The loop's longest iteration over the listing (seconds).
    pub max: f64,
    /// How many times the trickling control client (re)connected.
    pub connects: u32,
    /// The lvsd's "slow management loop iteration" log lines.
    pub slow: Vec<String>,
    /// The scrape that reported `max`.
    pub text: String,
}

impl Stall {
    /// The bar: the longest iteration within 20 ms, and the slow client
    /// closed at its deadline (it reconnected).
    pub fn assert_within_bar(&self) {
        let (max, slow, connects) = (self.max, &self.slow, self.connects);
        assert!(
            self.text.contains("lvsd_mgmt_loop_max_seconds "),
            "{}",
            self.text
        );
        assert!(
            max <= 0.020,
            "the management loop stalled {max} s: {slow:#?}"
        );
        assert!(connects >= 2, "the slow client was closed at its deadline");
    }
}

/// The measurement against the lvsd labelled `label` (control socket
/// `ctl`, metrics on [`METRICS`] in `ns`) whose table holds `entries`
/// connections: 50 idle metrics connections held, a control client
/// trickling one byte per second, and `lvsadm -Lnc` lists (nearly) every
/// connection. The bar is [`Stall::assert_within_bar`].
pub fn listing_under_idle_and_slow_clients(
    tb: &mut Testbed,
    ns: &str,
    label: &str,
    ctl: &str,
    entries: u64,
) -> Stall {
    tb.spawn("idle", ns, "python3", &["-c", IDLE_HOLDER])
        .expect("idle holder");
    let held = Testbed::wait_for(Duration::from_secs(10), || tb.log("idle").contains("held"));
    assert!(held, "50 idle connections: {}", tb.log("idle"));
    let stop = Arc::new(AtomicBool::new(false));
    let slow = trickle(ctl.to_string(), stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    // This scrape starts the window the next one reports.
    let _ = scrape(tb, ns, METRICS);

    // lvsadm parses and formats the whole listing (a CPU-bound half
    // minute in a debug build): niced, so that it measures lvsd's loop
    // rather than the scheduler's sharing of a small machine.
    let t = Instant::now();
    let (ok, out, err) = lvsd::testbed::run("nice", &["-n", "19", LVSADM, "--socket", ctl, "-Lnc"])
        .expect("run lvsadm");
    let took = t.elapsed();
    assert!(ok, "lvsadm -Lnc: {err}");
    let rows = out.lines().count().saturating_sub(2) as u64;
    eprintln!("lvsadm -Lnc: {rows} rows in {took:?}");
    assert!(rows * 100 >= entries * 99, "listed {rows} of {entries}");
    // The trickling client keeps going a few more seconds: it is closed at
    // its deadline (5 s) and reconnects.
    std::thread::sleep(Duration::from_secs(6));

    let text = scrape(tb, ns, METRICS);
    let max = sample(&text, "lvsd_mgmt_loop_max_seconds");
    stop.store(true, Ordering::Relaxed);
    let connects = slow.join().unwrap();
    eprintln!("longest management loop iteration: {max} s; slow client connected {connects} times");
    let slow = tb
        .log(label)
        .lines()
        .filter(|l| l.contains("slow management loop iteration"))
        .map(str::to_string)
        .collect();
    let _ = tb.stop("idle", libc::SIGTERM, Duration::from_secs(5));
    Stall {
        max,
        connects,
        slow,
        text,
    }
}
