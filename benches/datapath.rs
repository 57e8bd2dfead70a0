//! Datapath micro-benchmarks (criterion): ns per packet of
//! `datapath::Engine::rx` on recycled `VecFrame`s (established and new
//! flows, DR and NAT, at 1k and 1M connections) and the Maglev table build
//! (M = 65537, 1000 reals). Frame bytes are rewritten from a template
//! before each packet (a 64-byte copy, part of the figure).
//!
//!     cargo bench --bench datapath [-- FILTER]
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lvsd::perfgen::bench::{Workload, DR_VIP, NAT_VIP};
use lvsd::perfgen::FlowMix;
use lvsd::sched::{Dest, Flags, Scheduler, Table};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const CAPACITY: usize = 1 << 21;

fn established(c: &mut Criterion) {
    let mut g = c.benchmark_group("established");
    g.throughput(Throughput::Elements(1));
    for (name, vip) in [("dr", DR_VIP), ("nat", NAT_VIP)] {
        for conns in [1_000u64, 1_000_000] {
            let mut w = Workload::new(CAPACITY, vip, 64);
            w.establish(conns);
            // A stride through the endpoints so consecutive packets hit
            // unrelated buckets (as interleaved flows on a wire do).
            let mut mix = FlowMix::new(conns, conns, 1, 0);
            g.bench_function(format!("{name}/{}", label(conns)), |b| {
                b.iter(|| {
                    let (ep, _) = mix.next_flow();
                    w.packet(ep, false)
                })
            });
        }
    }
    g.finish();
}

/// Established flows in bursts of 32 with the worker's prefetch passes
/// (`Workload::burst`): the figure is per packet. At 1M connections also
/// with the clients in random order (`FlowMix::random_order`), where each
/// packet's record is a DRAM miss of its own.
fn established_burst(c: &mut Criterion) {
    let mut g = c.benchmark_group("established-burst32");
    g.throughput(Throughput::Elements(32));
    for (name, vip) in [("dr", DR_VIP), ("nat", NAT_VIP)] {
        for (conns, random) in [(1_000u64, false), (1_000_000, false), (1_000_000, true)] {
            let mut w = Workload::new(CAPACITY, vip, 64);
            w.establish(conns);
            let (mut mix, order) = established_mix(conns, random);
            g.bench_function(format!("{name}/{}{order}", label(conns)), |b| {
                b.iter(|| w.burst(&mut mix, 32))
            });
        }
    }
    g.finish();
}

/// ACKs of `conns` established connections, in creation or random order,
/// and the benchmark name suffix that says which.
fn established_mix(conns: u64, random: bool) -> (FlowMix, &'static str) {
    let mix = FlowMix::new(conns, conns, 1, 0);
    if random {
        (mix.random_order(), "-random")
    } else {
        (mix, "")
    }
}

/// The part of `established-burst32` that is not the engine: frames
/// written from the template and recycled (`Workload::burst_harness_only`).
/// Engine ns/packet = established-burst32 − this.
fn harness_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness-only-burst32");
    g.throughput(Throughput::Elements(32));
    let conns = 1_000_000u64;
    let mut w = Workload::new(CAPACITY, DR_VIP, 64);
    w.establish(conns);
    for random in [false, true] {
        let (mut mix, order) = established_mix(conns, random);
        g.bench_function(format!("dr/{}{order}", label(conns)), |b| {
            b.iter(|| w.burst_harness_only(&mut mix, 32))
        });
    }
    g.finish();
}

fn new_flows(c: &mut Criterion) {
    let mut g = c.benchmark_group("new");
    g.throughput(Throughput::Elements(1));
    for conns in [1_000u64, 1_000_000] {
        let mut w = Workload::new(CAPACITY, DR_VIP, 64);
        w.establish(conns);
        g.bench_function(format!("dr/{}", label(conns)), |b| {
            // Timed: `iters` SYNs from fresh endpoints, in chunks; untimed:
            // removing them again so the table stays at `conns`.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(200_000);
                    let mut mix = FlowMix::new(0, conns, n, 1_000_000);
                    let t = Instant::now();
                    w.run(&mut mix, n);
                    total += t.elapsed();
                    w.forget(conns, conns + n);
                    left -= n;
                }
                total
            })
        });
    }
    g.finish();
}

fn maglev(c: &mut Criterion) {
    let dests: Vec<Dest> = (0..1000u32)
        .map(|i| Dest::new(IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i)), 80, 1))
        .collect();
    let mut g = c.benchmark_group("maglev");
    g.sample_size(10);
    g.bench_function("build/65537x1000", |b| {
        b.iter_batched(
            || dests.clone(),
            |d| Table::build(Scheduler::Mh, Flags::default(), &d, 65537).expect("maglev"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn label(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = established, established_burst, harness_only, new_flows, maglev
}
criterion_main!(benches);
