//! The management loop never stalls: with the connection table filled by
//! `lvsd-gen` over `net_memif` (perf/lvsd-perf.toml, as in
//! `e2e_perf_harness`), 50 idle TCP connections held on the metrics port
//! and a control client sending one byte per second, `lvsadm -Lnc` lists
//! every connection while the loop's longest iteration
//! (`lvsd_mgmt_loop_max_seconds`) stays within 20 ms. The count is
//! `LVSD_STALL_CONNS` (default 500,000).
mod common;
use lvsd::testbed::Testbed;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const LVSADM: &str = env!("CARGO_BIN_EXE_lvsadm");
const GEN: &str = env!("CARGO_BIN_EXE_lvsd-gen");
const PERF_CONF: &str = include_str!("../perf/lvsd-perf.toml");
const METRICS: &str = "127.0.0.1:9531";

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

fn scrape(tb: &Testbed, ns: &str) -> String {
    let code = format!(
        "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://{METRICS}/metrics',timeout=20).read().decode())"
    );
    tb.exec_ok(ns, "python3", &["-c", &code]).expect("scrape")
}

fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
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

/// Fill the table: `n` connections opened (SYN, then ACK) by the generator.
fn fill(tb: &Testbed, ns: &str, memif: &str, n: u64) {
    let vdev = format!("net_memif0,role=client,socket={memif},mac=02:00:00:00:00:02");
    let prefix = format!("--file-prefix={}g", tb.tag());
    let n = n.to_string();
    let args = [
        "600",
        GEN,
        "--label",
        "fill",
        "--dst-mac",
        "02:00:00:00:00:01",
        "--vip",
        "198.19.0.100",
        "--flows",
        &n,
        "--warm",
        &n,
        "--warm-rate",
        "100000",
        "--rate",
        "1000",
        "--duration",
        "0.1",
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
    ];
    let (ok, out, err) = tb.exec(ns, "timeout", &args).expect("lvsd-gen");
    assert!(ok, "lvsd-gen: {out}\n{err}\nlvsd: {}", tb.log("lvsd"));
}

#[test]
fn listing_a_full_table_under_idle_and_slow_clients_never_stalls_the_loop() {
    if common::need_root() {
        return;
    }
    let want: u64 = std::env::var("LVSD_STALL_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let mut tb = Testbed::new().expect("testbed");
    let ns = tb.netns("stall").expect("netns");
    let memif = tb.dir.join("memif.sock").to_string_lossy().to_string();
    let ctl = tb.dir.join("lvsd.sock").to_string_lossy().to_string();
    let tag = tb.tag().to_string();
    let conf = PERF_CONF
        .replace("@SOCK@", &memif)
        .replace("hugepages = true", "hugepages = false")
        .replace("memory_mb = 256", "memory_mb = 512")
        .replace(
            "file_prefix = \"lvsd-perf\"",
            &format!("file_prefix = \"{tag}\""),
        )
        .replace("capacity = 2097152", "capacity = 1048576")
        + &format!("\n[control]\nsocket = \"{ctl}\"\n\n[metrics]\nlisten = \"{METRICS}\"\n");
    let path = tb.dir.join("lvsd.toml");
    std::fs::write(&path, &conf).unwrap();
    let path = path.to_string_lossy().to_string();
    tb.spawn("lvsd", &ns, LVSD, &["run", "-c", &path])
        .expect("spawn lvsd");
    let up = Testbed::wait_for(Duration::from_secs(30), || {
        tb.log("lvsd").contains("lvsd running")
    });
    assert!(up, "lvsd started: {}", tb.log("lvsd"));

    fill(&tb, &ns, &memif, want);
    let entries = sample(&scrape(&tb, &ns), "lvsd_worker_conn_table_entries") as u64;
    eprintln!("connections in the table: {entries} (asked for {want})");
    assert!(
        entries * 10 >= want * 9,
        "table filled: {entries} of {want}"
    );

    tb.spawn("idle", &ns, "python3", &["-c", IDLE_HOLDER])
        .expect("idle holder");
    let held = Testbed::wait_for(Duration::from_secs(10), || tb.log("idle").contains("held"));
    assert!(held, "50 idle connections: {}", tb.log("idle"));
    let stop = Arc::new(AtomicBool::new(false));
    let slow = trickle(ctl.clone(), stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    // This scrape starts the window the next one reports.
    let _ = scrape(&tb, &ns);

    // lvsadm parses and formats the whole listing (a CPU-bound half
    // minute in a debug build): niced, so that it measures lvsd's loop
    // rather than the scheduler's sharing of a small machine.
    let t = Instant::now();
    let (ok, out, err) =
        lvsd::testbed::run("nice", &["-n", "19", LVSADM, "--socket", &ctl, "-Lnc"])
            .expect("run lvsadm");
    let took = t.elapsed();
    assert!(ok, "lvsadm -Lnc: {err}");
    let rows = out.lines().count().saturating_sub(2) as u64;
    eprintln!("lvsadm -Lnc: {rows} rows in {took:?}");
    assert!(rows * 100 >= entries * 99, "listed {rows} of {entries}");
    // The trickling client keeps going a few more seconds: it is closed at
    // its deadline (5 s) and reconnects.
    std::thread::sleep(Duration::from_secs(6));

    let text = scrape(&tb, &ns);
    let max = sample(&text, "lvsd_mgmt_loop_max_seconds");
    stop.store(true, Ordering::Relaxed);
    let connects = slow.join().unwrap();
    eprintln!("longest management loop iteration: {max} s; slow client connected {connects} times");
    assert!(text.contains("lvsd_mgmt_loop_max_seconds "), "{text}");
    let log = tb.log("lvsd");
    let slow: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("slow management loop iteration"))
        .collect();
    assert!(
        max <= 0.020,
        "the management loop stalled {max} s: {slow:#?}"
    );
    assert!(connects >= 2, "the slow client was closed at its deadline");
    assert_eq!(
        tb.stop("lvsd", libc::SIGINT, Duration::from_secs(30)),
        Some(0)
    );
}
