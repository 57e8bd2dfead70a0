//! `lvsd-gen`: a DPDK traffic generator and sink on one lcore (the main
//! thread). It transmits Ethernet/IPv4/TCP-or-UDP frames from many client
//! endpoints to a VIP, receives whatever comes back on the same port, and
//! prints one JSON line: tx/rx pps, loss and latency quantiles taken from
//! the TSC stamp in the payload (1 of `--sample` packets).
//!
//!     lvsd-gen [OPTIONS] -- <EAL args, e.g. -l 0 --vdev net_memif0,role=client,socket=...>
//!
//! Every loop is bounded by `--duration` (and `--count`); SIGINT ends the
//! current phase early. See `perf/README.md`.
use clap::Parser;
use lvsd::dpdk::port::{PortSetup, PortStats};
use lvsd::dpdk::{self, mbuf::free_bulk, Eal, Mbuf, Mempool, Port};
use lvsd::frame::Frame;
use lvsd::perfgen::{
    self, json_line, read_stamp, FloodTally, FlowMix, FrameSpec, LatHist, Legit, Pacer, PhaseStats,
    Protocol, Template, TCP_ACK, TCP_SYN,
};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "lvsd-gen",
    about = "DPDK traffic generator + sink for lvsd benchmarks"
)]
struct Args {
    /// DPDK device name to use (default: the name of the first --vdev).
    #[arg(long)]
    port: Option<String>,
    /// Destination MAC (the DUT's port).
    #[arg(long, default_value = "02:00:00:00:00:01")]
    dst_mac: String,
    /// Source MAC (default: the generator port's MAC).
    #[arg(long)]
    src_mac: Option<String>,
    /// Destination address (the VIP).
    #[arg(long, default_value = "10.0.0.100")]
    vip: Ipv4Addr,
    /// Destination port.
    #[arg(long, default_value_t = 80)]
    dport: u16,
    /// tcp | udp
    #[arg(long, default_value = "tcp")]
    proto: String,
    /// Frame length without FCS (64..=1514 for TCP, 60.. for UDP).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Established client endpoints (ACK packets cycle through 0..flows).
    #[arg(long, default_value_t = 1000)]
    flows: u64,
    /// Order of the established endpoints in the measured phase: `seq`
    /// (0, 1, 2, … as they were created) or `random` (a fixed pseudo-random
    /// permutation, each endpoint still once per round; real clients do not
    /// take turns in creation order, and neither do their records' places
    /// in the director's memory).
    #[arg(long, default_value = "seq")]
    order: String,
    /// Share of packets that are SYNs from new endpoints (0..=1).
    #[arg(long, default_value_t = 0.0)]
    syn_share: f64,
    /// Distinct endpoints SYNs cycle through (after the established ones);
    /// default: up to 10M endpoints in all.
    #[arg(long)]
    syn_space: Option<u64>,
    /// Warm-up: first send one SYN to each of endpoints 0..N, then one ACK
    /// to each (the connections are established before the measured phase).
    #[arg(long, default_value_t = 0)]
    warm: u64,
    /// Warm-up in chunks of N endpoints (SYNs then ACKs of each chunk
    /// before the next), as clients complete handshakes soon after their
    /// SYN; 0 = one chunk (every SYN, then every ACK). A warm-up that fills
    /// most of the table needs chunks under the director's table pressure
    /// policy (ARCHITECTURE.md, "Table pressure"), which recycles the
    /// oldest half-open connections.
    #[arg(long, default_value_t = 0)]
    warm_chunk: u64,
    /// Flood accounting: N "legit" clients (endpoints after the
    /// established ones, before the `--syn-share` flood's) each open one
    /// connection during the measured phase, SYNs spread evenly over its
    /// first 90 %; when the
    /// director forwards a legit SYN the generator (as the real server,
    /// DR) sends that client's ACK; a forwarded ACK is a completed
    /// handshake. The report gains per-set counts: established loss,
    /// flood frames, legit handshakes and their completion ratio.
    #[arg(long)]
    legit: Option<u64>,
    /// Warm-up rate (pps).
    #[arg(long, default_value_t = 1_000_000)]
    warm_rate: u64,
    /// Target rate in pps; 0 = as fast as the link takes them.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Instead of --rate: first measure the rate the device returns at
    /// full speed on this same connection for --probe seconds (same flows,
    /// same order), then run the measured phase paced at this fraction of
    /// it (0 < F <= 1), e.g. 0.5 for "half the maximum rate".
    #[arg(long)]
    rate_of_max: Option<f64>,
    /// Length of the --rate-of-max probe in seconds.
    #[arg(long, default_value_t = 1.0)]
    probe: f64,
    /// Paced phases: the pacer's bucket in packets (default: --burst). A
    /// generator that falls further behind its schedule (descheduled by the
    /// host) gives up the missed slots instead of sending them back to back
    /// (counted as "forfeited"), and drops, as a wire does, the frames the
    /// receiving ring has no room for (counted as "refused", and lost)
    /// instead of holding them back. 0 = neither: every slot is made up and
    /// a full ring holds the generator back (as in the warm-up, which must
    /// deliver every frame).
    #[arg(long)]
    pace_depth: Option<u64>,
    /// Measured phase length in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Stop after this many packets (0 = only the duration bounds it).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// TX burst size.
    #[arg(long, default_value_t = 32)]
    burst: usize,
    /// Latency sampling: 1 of N packets (power of two).
    #[arg(long, default_value_t = 64)]
    sample: u32,
    /// Time to keep receiving after the last transmission (ms).
    #[arg(long, default_value_t = 200)]
    drain_ms: u64,
    /// Wait at most this long for the link (s).
    #[arg(long, default_value_t = 10.0)]
    link_timeout: f64,
    /// Mbufs in the generator's pool.
    #[arg(long, default_value_t = 16383)]
    mbufs: u32,
    /// Write every latency sample above `--slow-us` of the measured phase
    /// to FILE as "ms_since_start latency_us" lines (at most 100,000): when
    /// the tail happens, to tell periodic stalls from random ones.
    #[arg(long)]
    slow_log: Option<std::path::PathBuf>,
    /// Threshold of `--slow-log` in microseconds.
    #[arg(long, default_value_t = 20.0)]
    slow_us: f64,
    /// Free-form label copied into the JSON line.
    #[arg(long, default_value = "")]
    label: String,
    /// EAL arguments (after `--`).
    #[arg(last = true)]
    eal: Vec<String>,
}

/// One phase's settings.
struct Phase<'a> {
    tmpl: &'a Template,
    mix: FlowMix,
    rate: u64,
    duration_s: f64,
    count: u64,
    burst: usize,
    /// The pacer's bucket (see `--pace-depth`; paced phases only).
    pace_depth: u64,
    sample_mask: u32,
    drain_ms: u64,
    /// `--legit`: the legit clients and the per-set counts.
    legit: Option<Legit>,
}

/// Everything the loop touches.
struct Io<'a> {
    port: &'a Port,
    pool: &'a Mempool,
    hz: u64,
    stop: &'a AtomicBool,
}

const RX_BURST: usize = 64;

/// Latency samples above a threshold, with their time (see `--slow-log`).
struct SlowLog {
    /// Threshold in TSC cycles (`u64::MAX`: off).
    above: u64,
    start: u64,
    v: Vec<(u64, u64)>,
}

const SLOW_LOG_MAX: usize = 100_000;

impl SlowLog {
    /// Recording samples above `above` TSC cycles, or nothing (`None`).
    fn new(above: Option<u64>) -> SlowLog {
        SlowLog {
            above: above.unwrap_or(u64::MAX),
            start: 0,
            v: Vec::with_capacity(if above.is_some() { SLOW_LOG_MAX } else { 0 }),
        }
    }

    #[inline]
    fn record(&mut self, now: u64, lat: u64) {
        if lat > self.above && self.v.len() < SLOW_LOG_MAX {
            self.v.push((now.wrapping_sub(self.start), lat));
        }
    }

    fn write(&self, path: &std::path::Path, hz: u64) -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for &(t, l) in &self.v {
            writeln!(
                f,
                "{:.3} {:.2}",
                t as f64 * 1e3 / hz as f64,
                l as f64 * 1e6 / hz as f64
            )?;
        }
        f.flush()
    }
}

/// Receive everything waiting (up to 8 bursts); count and sample.
#[inline]
fn poll_rx(
    io: &Io,
    rxv: &mut Vec<Mbuf>,
    st: &mut PhaseStats,
    hist: &mut LatHist,
    mask: u32,
    slow: &mut SlowLog,
    mut legit: Option<&mut Legit>,
) {
    for _ in 0..8 {
        let n = io.port.rx_burst(0, rxv);
        if n == 0 {
            return;
        }
        let now64 = Eal::tsc();
        let now = now64 as u32;
        for m in rxv.iter() {
            let d = m.data();
            match read_stamp(d) {
                Some((seq, ts)) => {
                    st.rx += 1;
                    st.rx_bytes += d.len() as u64;
                    if seq & mask == 0 {
                        let lat = u64::from(now.wrapping_sub(ts));
                        hist.record(lat);
                        slow.record(now64, lat);
                    }
                }
                None => st.rx_other += 1,
            }
            if let Some(l) = legit.as_deref_mut() {
                l.received(d);
            }
        }
        free_bulk(rxv);
        if n < RX_BURST {
            return;
        }
    }
}

fn run_phase(io: &Io, ph: &mut Phase, hist: &mut LatHist, slow: &mut SlowLog) -> PhaseStats {
    let mut st = PhaseStats::default();
    let len = ph.tmpl.len();
    let start = Eal::tsc();
    slow.start = start;
    let end = start + (ph.duration_s * io.hz as f64) as u64;
    let wire = ph.rate > 0 && ph.pace_depth > 0;
    let mut pacer = Pacer::new(start, io.hz, ph.rate).with_depth(ph.pace_depth);
    let count = if ph.count == 0 { u64::MAX } else { ph.count };
    let mut txq: Vec<Mbuf> = Vec::with_capacity(ph.burst);
    let mut rxv: Vec<Mbuf> = Vec::with_capacity(RX_BURST);
    let mut seq: u32 = 0;
    let mut iter: u64 = 0;
    let mut built: u64 = 0;
    loop {
        iter += 1;
        let now = Eal::tsc();
        poll_rx(
            io,
            &mut rxv,
            &mut st,
            hist,
            ph.sample_mask,
            slow,
            ph.legit.as_mut(),
        );
        if now >= end || (txq.is_empty() && built >= count) {
            break;
        }
        if iter.is_multiple_of(4096) && io.stop.load(Ordering::Relaxed) {
            break;
        }
        if txq.is_empty() {
            let allowed = pacer.allowed(now, built).min(count);
            let want = allowed.saturating_sub(built).min(ph.burst as u64) as usize;
            if want > 0 && io.pool.alloc_bulk(&mut txq, want) {
                let ts = now as u32;
                for m in txq.iter_mut() {
                    let (ep, flags) = next_frame(ph, now);
                    if m.append(len) {
                        ph.tmpl.write(m.data_mut(), ep, flags, seq, ts);
                    }
                    seq = seq.wrapping_add(1);
                }
                built += want as u64;
            }
        }
        if !txq.is_empty() {
            let n = io.port.tx_burst(0, &mut txq);
            st.tx += n as u64;
            st.tx_bytes += (n * len) as u64;
            if wire && !txq.is_empty() {
                // The receiver's ring is full: a wire drops these.
                st.refused += txq.len() as u64;
                free_bulk(&mut txq);
            }
        }
    }
    st.forfeited = pacer.forfeited();
    let tx_end = Eal::tsc();
    if let Some(l) = ph.legit.as_mut() {
        txq.iter().for_each(|m| l.unsent(m.data()));
    }
    free_bulk(&mut txq);
    st.secs = (tx_end - start) as f64 / io.hz as f64;
    let drain_end = tx_end + ph.drain_ms * io.hz / 1000;
    while Eal::tsc() < drain_end {
        poll_rx(
            io,
            &mut rxv,
            &mut st,
            hist,
            ph.sample_mask,
            slow,
            ph.legit.as_mut(),
        );
        if let Some(l) = ph.legit.as_mut() {
            send_pending_acks(io, ph.tmpl, l, &mut st);
        }
    }
    st
}

/// The next frame of a phase: a legit client's (`--legit`) if one is due,
/// else the mix's established ACK or flood SYN.
#[inline]
fn next_frame(ph: &mut Phase, now: u64) -> (u64, u8) {
    if let Some(l) = ph.legit.as_mut() {
        if let Some(f) = l.next_tx(now) {
            return f;
        }
    }
    let (ep, syn) = ph.mix.next_flow();
    if let Some(l) = ph.legit.as_mut() {
        l.sent_mix(syn);
    }
    (ep, if syn { TCP_SYN } else { TCP_ACK })
}

/// During the drain: the legit ACKs of SYNs forwarded at the end of the
/// phase (their handshakes still complete).
fn send_pending_acks(io: &Io, tmpl: &Template, l: &mut Legit, st: &mut PhaseStats) {
    let n = l.pending().min(RX_BURST);
    let mut txq: Vec<Mbuf> = Vec::with_capacity(n);
    if n == 0 || !io.pool.alloc_bulk(&mut txq, n) {
        return;
    }
    let ts = Eal::tsc() as u32;
    for m in txq.iter_mut() {
        // `n` is at most the pending ACKs: `next_tx` pops one each time.
        if m.append(tmpl.len()) {
            if let Some((ep, flags)) = l.next_tx(u64::MAX) {
                tmpl.write(m.data_mut(), ep, flags, 0, ts);
            }
        }
    }
    let sent = io.port.tx_burst(0, &mut txq);
    st.tx += sent as u64;
    txq.iter().for_each(|m| l.unsent(m.data()));
    free_bulk(&mut txq);
}

fn us(cycles: Option<u64>, hz: u64) -> String {
    match cycles {
        Some(c) => format!("{:.2}", c as f64 * 1e6 / hz as f64),
        None => "null".into(),
    }
}

/// The measured phase's outcome.
struct Measured {
    /// The rate the phase aimed at (0: full speed).
    rate: u64,
    /// The full-speed probe before it (`--rate-of-max`).
    probe: Option<PhaseStats>,
    stats: PhaseStats,
    hist: LatHist,
    /// `--legit`: the per-set counts.
    flood: Option<FloodTally>,
}

/// The options' ranges and combinations; the protocol and whether the
/// order is random.
fn check_args(a: &Args) -> anyhow::Result<(Protocol, bool)> {
    let Some(proto) = Protocol::from_name(&a.proto) else {
        anyhow::bail!("--proto {}: tcp or udp", a.proto)
    };
    let random_order = match a.order.as_str() {
        "seq" => false,
        "random" => true,
        o => anyhow::bail!("--order {o}: seq or random"),
    };
    if !(0.0..=1.0).contains(&a.syn_share) {
        anyhow::bail!("--syn-share must be within 0..=1");
    }
    if !a.sample.is_power_of_two() {
        anyhow::bail!("--sample must be a power of two");
    }
    if a.legit.unwrap_or(0) > 1_000_000 {
        anyhow::bail!("--legit: at most 1,000,000 clients");
    }
    if a.legit.is_some() && proto != Protocol::Tcp {
        anyhow::bail!("--legit needs --proto tcp");
    }
    if a.flows.max(a.warm) + a.legit.unwrap_or(0) > perfgen::MAX_ENDPOINTS
        || a.flows + a.warm > perfgen::MAX_ENDPOINTS
        || a.flows > perfgen::MAX_ENDPOINTS
    {
        anyhow::bail!("at most {} endpoints", perfgen::MAX_ENDPOINTS);
    }
    if !(a.duration > 0.0 && a.duration <= 3600.0) {
        anyhow::bail!("--duration must be within (0, 3600] s");
    }
    if let Some(f) = a.rate_of_max {
        if !(f > 0.0 && f <= 1.0) {
            anyhow::bail!("--rate-of-max must be within (0, 1]");
        }
        if a.rate != 0 {
            anyhow::bail!("--rate-of-max and --rate exclude each other");
        }
        if !(a.probe > 0.0 && a.probe <= 60.0) {
            anyhow::bail!("--probe must be within (0, 60] s");
        }
    }
    if a.burst == 0 || a.burst > 512 {
        anyhow::bail!("--burst must be within 1..=512");
    }
    Ok((proto, random_order))
}

/// `--port`, else the device of the first EAL `--vdev`.
fn port_name(a: &Args) -> anyhow::Result<String> {
    if let Some(p) = &a.port {
        return Ok(p.clone());
    }
    a.eal
        .iter()
        .zip(a.eal.iter().skip(1))
        .find(|(k, _)| *k == "--vdev")
        .map(|(_, v)| v.split(',').next().unwrap_or_default().to_string())
        .or_else(|| {
            a.eal
                .iter()
                .find_map(|x| x.strip_prefix("--vdev="))
                .map(|v| v.split(',').next().unwrap_or_default().to_string())
        })
        .ok_or_else(|| anyhow::anyhow!("--port or an EAL --vdev is needed"))
}

/// Open the port and wait (at most `--link-timeout`) for its link.
fn open_port(a: &Args, name: &str, pool: &Arc<Mempool>, stop: &AtomicBool) -> anyhow::Result<Port> {
    let port = Port::open(
        &PortSetup {
            device_name: name.to_string(),
            rx_queues: 1,
            tx_queues: 1,
            mtu: 1500,
            rx_desc: 1024,
            tx_desc: 1024,
        },
        pool.clone(),
    )?;
    let t0 = std::time::Instant::now();
    while !port.link_up() {
        if t0.elapsed().as_secs_f64() > a.link_timeout || stop.load(Ordering::Relaxed) {
            anyhow::bail!("link of {name} not up after {} s", a.link_timeout);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(port)
}

/// `--warm` connections opened (SYN) then confirmed (ACK) before the
/// measurement.
fn warm_up(io: &Io, tmpl: &Template, a: &Args) -> PhaseStats {
    if a.warm == 0 {
        return PhaseStats::default();
    }
    let mut warm_hist = LatHist::new();
    let rate = a.warm_rate.max(1);
    let mut ph = Phase {
        tmpl,
        mix: FlowMix::warm(a.warm),
        rate,
        // Twice the nominal time plus a second, at most 120 s.
        duration_s: (2.0 * a.warm as f64 / rate as f64 + 1.0).min(120.0),
        count: a.warm,
        burst: a.burst,
        pace_depth: 0,
        sample_mask: a.sample - 1,
        drain_ms: a.drain_ms.max(200),
        legit: None,
    };
    let mut no_log = SlowLog::new(None);
    if a.warm_chunk == 0 || a.warm_chunk >= a.warm {
        let syns = run_phase(io, &mut ph, &mut warm_hist, &mut no_log);
        ph.mix = FlowMix::warm_ack(a.warm);
        let acks = run_phase(io, &mut ph, &mut warm_hist, &mut no_log);
        return syns.plus(&acks);
    }
    let mut total = PhaseStats::default();
    let mut from = 0;
    while from < a.warm && !io.stop.load(Ordering::Relaxed) {
        let n = a.warm_chunk.min(a.warm - from);
        ph.count = n;
        ph.duration_s = (2.0 * n as f64 / rate as f64 + 1.0).min(120.0);
        // A short drain between chunks (a late frame still counts in the
        // next one), the full one after the last.
        ph.drain_ms = if from + n < a.warm {
            50
        } else {
            a.drain_ms.max(200)
        };
        ph.mix = FlowMix::warm_range(from, n);
        let syns = run_phase(io, &mut ph, &mut warm_hist, &mut no_log);
        ph.mix = FlowMix::warm_ack_range(from, n);
        let acks = run_phase(io, &mut ph, &mut warm_hist, &mut no_log);
        total = total.plus(&syns).plus(&acks);
        from += n;
    }
    total
}

/// The measured phase (after the full-speed probe with `--rate-of-max`),
/// its slow packets written to `--slow-log`.
fn measure(io: &Io, tmpl: &Template, a: &Args, random_order: bool) -> anyhow::Result<Measured> {
    let syn_ppm = (a.syn_share * 1e6).round() as u32;
    let syn_base = a.flows.max(a.warm) + a.legit.unwrap_or(0);
    let syn_space = a
        .syn_space
        .unwrap_or(perfgen::MAX_ENDPOINTS - syn_base)
        .min(perfgen::MAX_ENDPOINTS - syn_base);
    let mut hist = LatHist::new();
    let mut mix = FlowMix::new(a.flows, syn_base, syn_space, syn_ppm);
    if random_order {
        mix = mix.random_order();
    }
    let mut ph = Phase {
        tmpl,
        mix,
        rate: a.rate,
        duration_s: a.duration,
        count: a.count,
        burst: a.burst,
        pace_depth: a.pace_depth.unwrap_or(a.burst as u64),
        sample_mask: a.sample - 1,
        drain_ms: a.drain_ms,
        legit: None,
    };
    let mut slow = SlowLog::new(
        a.slow_log
            .as_ref()
            .map(|_| (a.slow_us.max(0.0) * io.hz as f64 / 1e6) as u64),
    );
    // --rate-of-max: the full-speed probe on this connection, then the
    // measured phase at the fraction of what came back.
    let mut probe: Option<PhaseStats> = None;
    if let Some(f) = a.rate_of_max.filter(|_| !io.stop.load(Ordering::Relaxed)) {
        ph.rate = 0;
        ph.duration_s = a.probe;
        let p = run_phase(io, &mut ph, &mut LatHist::new(), &mut SlowLog::new(None));
        ph.rate = ((p.rx_pps() * f) as u64).max(1);
        ph.duration_s = a.duration;
        probe = Some(p);
    }
    ph.legit = a.legit.map(|n| {
        let (est, base) = (a.flows, a.flows.max(a.warm));
        Legit::new(est, base, n, Eal::tsc(), io.hz, ph.duration_s)
    });
    let stats = if io.stop.load(Ordering::Relaxed) {
        PhaseStats::default()
    } else {
        run_phase(io, &mut ph, &mut hist, &mut slow)
    };
    if let Some(path) = &a.slow_log {
        slow.write(path, io.hz)
            .map_err(|e| anyhow::anyhow!("--slow-log {}: {e}", path.display()))?;
    }
    Ok(Measured {
        rate: ph.rate,
        probe,
        stats,
        hist,
        flood: ph.legit.map(|l| l.tally),
    })
}

/// The per-set fields of `--legit` (none without it).
fn flood_fields(a: &Args, f: Option<&FloodTally>) -> Vec<(&'static str, String)> {
    let Some(f) = f else { return vec![] };
    vec![
        ("legit", a.legit.unwrap_or(0).to_string()),
        ("est_tx", f.est_tx.to_string()),
        ("est_rx", f.est_rx.to_string()),
        ("est_lost", f.est_lost().to_string()),
        ("flood_tx", f.flood_tx.to_string()),
        ("flood_rx", f.flood_rx.to_string()),
        ("legit_syn_tx", f.legit_syn_tx.to_string()),
        ("legit_syn_rx", f.legit_syn_rx.to_string()),
        ("legit_ack_tx", f.legit_ack_tx.to_string()),
        ("legit_done", f.legit_done.to_string()),
        ("legit_ratio", format!("{:.6}", f.legit_ratio())),
    ]
}

/// The JSON line of results.
fn report(a: &Args, m: &Measured, warm_st: &PhaseStats, ps: &PortStats, hz: u64) -> String {
    let (st, hist) = (&m.stats, &m.hist);
    let mut fields = vec![
        ("label", a.label.clone()),
        ("proto", a.proto.clone()),
        ("size", a.size.to_string()),
        ("flows", a.flows.to_string()),
        ("order", a.order.clone()),
        ("syn_share", a.syn_share.to_string()),
        ("warm", a.warm.to_string()),
        ("rate_target", m.rate.to_string()),
        (
            "rate_of_max",
            a.rate_of_max.map_or("null".into(), |f| f.to_string()),
        ),
        (
            "probe_rx_mpps",
            (m.probe.as_ref()).map_or("null".into(), |p| format!("{:.3}", p.rx_pps() / 1e6)),
        ),
        ("secs", format!("{:.3}", st.secs)),
        ("tx", st.tx.to_string()),
        ("rx", st.rx.to_string()),
        ("rx_other", st.rx_other.to_string()),
        ("tx_mpps", format!("{:.3}", st.tx_pps() / 1e6)),
        ("rx_mpps", format!("{:.3}", st.rx_pps() / 1e6)),
        (
            "rx_gbps",
            format!("{:.3}", st.rx_bytes as f64 * 8.0 / st.secs.max(1e-9) / 1e9),
        ),
        ("refused", st.refused.to_string()),
        ("forfeited", st.forfeited.to_string()),
        ("lost", st.lost().to_string()),
        ("loss_ratio", format!("{:.6}", st.loss_ratio())),
        ("lat_samples", hist.count().to_string()),
        ("lat_p50_us", us(hist.quantile(0.5), hz)),
        ("lat_p99_us", us(hist.quantile(0.99), hz)),
        (
            "lat_max_us",
            us(Some(hist.max()).filter(|_| hist.count() > 0), hz),
        ),
        ("warm_tx", warm_st.tx.to_string()),
        ("warm_rx", warm_st.rx.to_string()),
        ("warm_secs", format!("{:.3}", warm_st.secs)),
        ("port_imissed", ps.imissed.to_string()),
        ("port_oerrors", ps.oerrors.to_string()),
        ("rx_nombuf", ps.rx_nombuf.to_string()),
        ("tsc_hz", hz.to_string()),
        ("dpdk", dpdk::version()),
    ];
    fields.extend(flood_fields(a, m.flood.as_ref()));
    json_line(&fields)
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let (proto, random_order) = check_args(&a)?;
    let port_name = port_name(&a)?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;

    let eal = Eal::init(&a.eal)?;
    let hz = eal.tsc_hz();
    let pool = Arc::new(Mempool::new("gen_pool", a.mbufs, 256, -1)?);
    let port = open_port(&a, &port_name, &pool, &stop)?;
    let src_mac = match &a.src_mac {
        Some(m) => perfgen::parse_mac(m).map_err(anyhow::Error::msg)?,
        None => port.mac(),
    };
    let spec = FrameSpec {
        dst_mac: perfgen::parse_mac(&a.dst_mac).map_err(anyhow::Error::msg)?,
        src_mac,
        dst_ip: a.vip,
        dst_port: a.dport,
        proto,
        size: a.size,
    };
    let tmpl = Template::new(&spec).map_err(anyhow::Error::msg)?;
    let io = Io {
        port: &port,
        pool: &pool,
        hz,
        stop: &stop,
    };
    let warm_st = warm_up(&io, &tmpl, &a);
    let measured = measure(&io, &tmpl, &a, random_order)?;
    println!("{}", report(&a, &measured, &warm_st, &port.stats(), hz));
    drop(port);
    let leaked = pool.in_use();
    if leaked != 0 {
        eprintln!("lvsd-gen: {leaked} mbufs still in use at exit");
    }
    drop(pool);
    drop(eal);
    Ok(())
}
