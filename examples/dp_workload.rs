//! A fixed, deterministic datapath workload for instruction counting
//! (`perf/callgrind.sh`): set up an engine with CONNS established
//! connections, then push PACKETS frames of MODE through `Engine::rx`.
//!
//!     dp_workload MODE CONNS PACKETS [BURST [ORDER]]
//!         MODE: dr-est | nat-est | dr-new | harness    ORDER: seq | random
//!
//! With BURST (1..64) the packets go through `Workload::burst` as a worker
//! processes an RX burst (prefetch pass first); without, one at a time.
//! `harness` runs dr-est's frames through `Workload::burst_harness_only`
//! (written and recycled, never processed: the share of the figure that is
//! not the engine; needs BURST).
//!
//! ORDER `random` visits the established connections in a fixed
//! pseudo-random order (`FlowMix::random_order`) instead of the order they
//! were created in, so that consecutive packets' records are not
//! neighbours in memory (as with real clients). With the environment
//! variable `DP_NO_RECORD_PREFETCH=1` bursts skip the worker's second
//! prefetch pass (`Engine::prefetch_record`), to measure what it brings.
//!
//! The connection table's capacity is CONNS (plus room for the new
//! connections of `dr-new`) rounded up to a power of two, so 1M
//! connections fill a table of 1,048,576 (lvsd's default `conn.capacity`);
//! `DP_CAPACITY=N` sets it instead (perf/lvsd-perf.toml, the harness's
//! lvsd, uses 2,097,152).
//!
//! Run it twice with different PACKETS: the difference in instructions
//! divided by the difference in packets is the cost per packet, free of
//! the set-up. It also prints the wall-clock ns/packet of the measured
//! phase (noisy on a shared machine; the instruction count is not).
use lvsd::perfgen::bench::{Workload, DR_VIP, NAT_VIP};
use lvsd::perfgen::FlowMix;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if !(4..=6).contains(&a.len()) {
        eprintln!(
            "usage: dp_workload dr-est|nat-est|dr-new|harness CONNS PACKETS [BURST [seq|random]]"
        );
        std::process::exit(2);
    }
    let conns: u64 = a[2].parse().expect("CONNS");
    let packets: u64 = a[3].parse().expect("PACKETS");
    let harness = a[1] == "harness";
    let (vip, new) = match a[1].as_str() {
        "dr-est" | "harness" => (DR_VIP, false),
        "nat-est" => (NAT_VIP, false),
        "dr-new" => (DR_VIP, true),
        m => panic!("unknown mode {m}"),
    };
    // New connections stay in the table: room for up to 7M of them, the
    // same table for every PACKETS so that two runs differ by packets only.
    let extra = if new { 7 << 20 } else { 0 };
    let cap = ((conns + extra + 1024) as usize).next_power_of_two();
    let cap = match std::env::var("DP_CAPACITY") {
        Ok(v) => match v.parse::<usize>() {
            Ok(c) if c as u64 >= conns + extra => c,
            _ => {
                eprintln!(
                    "DP_CAPACITY={v}: want a number of connections of at least {}",
                    conns + extra
                );
                std::process::exit(2);
            }
        },
        Err(_) => cap,
    };
    if new && conns + packets > cap as u64 {
        eprintln!("CONNS + PACKETS must stay below {cap}");
        std::process::exit(2);
    }
    let mut w = Workload::new(cap, vip, 64);
    w.establish(conns);
    w.record_prefetch = std::env::var_os("DP_NO_RECORD_PREFETCH").is_none();
    let mut mix = if new {
        FlowMix::new(0, conns, packets.max(1), 1_000_000)
    } else {
        FlowMix::new(conns, conns, 1, 0)
    };
    let order = a.get(5).map_or("seq", String::as_str);
    match order {
        "seq" => {}
        "random" => mix = mix.random_order(),
        o => panic!("unknown order {o}"),
    }
    let before = w.forwarded;
    let t0 = std::time::Instant::now();
    match a.get(4).map(|b| b.parse::<u64>().expect("BURST")) {
        Some(b) if b > 0 => {
            let b = b.min(64);
            let mut left = packets;
            while left > 0 {
                let n = left.min(b);
                if harness {
                    w.burst_harness_only(&mut mix, n as usize);
                } else {
                    w.burst(&mut mix, n as usize);
                }
                left -= n;
            }
        }
        _ if harness => {
            eprintln!("harness needs BURST");
            std::process::exit(2);
        }
        _ => w.run(&mut mix, packets),
    }
    let ns = t0.elapsed().as_nanos() as f64 / packets.max(1) as f64;
    let fwd = w.forwarded - before;
    println!(
        "mode={} order={order} record_prefetch={} conns={} packets={} forwarded={} drops={} table={} ns_per_packet={ns:.1}",
        a[1],
        w.record_prefetch,
        conns,
        packets,
        fwd,
        w.engine.counters.total_drops(),
        w.conns()
    );
}
