//! Deterministic property tests: wrr cycle exactness, Maglev balance and
//! bounded disruption, table determinism, quiesce stability, no panics.

use crate::sched::testutil::*;
use crate::sched::*;

/// Small LCG for deterministic "random" inputs.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

#[test]
fn wrr_cycle_matches_weights_exactly() {
    let mut r = Lcg(7);
    for _ in 0..500 {
        let n = 1 + r.next() as usize % 8;
        let w: Vec<u32> = (0..n).map(|_| r.next() % 12).collect();
        let d = dests(&w);
        let t = Table::build(Scheduler::Wrr, Flags::default(), &d, 0).unwrap();
        let mut st = State::new(&t);
        let g = w.iter().copied().filter(|&x| x > 0).fold(0, common::gcd);
        let cycle: u32 = w.iter().map(|&x| x.checked_div(g).unwrap_or(0)).sum();
        let mut count = vec![0u32; n];
        for _ in 0..cycle {
            let i = t.pick(&mut st, &d, &idle(n), &flow()).unwrap();
            count[i] += 1;
        }
        let want: Vec<u32> = w.iter().map(|&x| x.checked_div(g).unwrap_or(0)).collect();
        assert_eq!(count, want, "weights {w:?}");
        if cycle == 0 {
            assert_eq!(t.pick(&mut st, &d, &idle(n), &flow()), None);
        }
    }
}

fn mh_counts(t: &Table, n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for &s in t.maglev_slots().unwrap() {
        c[s as usize] += 1;
    }
    c
}

#[test]
fn maglev_equal_weights_balanced_within_one() {
    for &m in &[65537u32, 4093] {
        for &n in &[10usize, 100] {
            let d = dests(&vec![1; n]);
            let t = Table::build(Scheduler::Mh, Flags::default(), &d, m).unwrap();
            let c = mh_counts(&t, n);
            let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
            assert!(hi - lo <= 1, "M={m} n={n} {lo}..{hi}");
            // Equal but large weights give the same table.
            let d7 = dests(&vec![7; n]);
            let t7 = Table::build(Scheduler::Mh, Flags::default(), &d7, m).unwrap();
            assert_eq!(t.maglev_slots(), t7.maglev_slots());
        }
    }
}

#[test]
fn maglev_removal_disruption_bounded() {
    for &m in &[65537u32, 4093] {
        let d = dests(&vec![1; 100]);
        let t = Table::build(Scheduler::Mh, Flags::default(), &d, m).unwrap();
        for removed in [0usize, 37, 99] {
            let mut d2 = d.clone();
            d2[removed].available = false;
            let t2 = Table::build(Scheduler::Mh, Flags::default(), &d2, m).unwrap();
            let (a, b) = (t.maglev_slots().unwrap(), t2.maglev_slots().unwrap());
            let moved = a
                .iter()
                .zip(b)
                .filter(|(x, y)| **x as usize != removed && x != y)
                .count();
            // <= 2% of M for the default M = 65537. With M = 4093 (only ~41
            // slots per dest) Maglev moves ~3%, so the bound is 4% there.
            let pct = if m == 65537 { 2 } else { 4 };
            println!("M={m} removed={removed}: {moved} foreign slots moved");
            assert!(
                moved * 100 <= pct * m as usize,
                "M={m} removed={removed} moved={moved}"
            );
            assert!(b.iter().all(|&s| s as usize != removed));
        }
    }
}

#[test]
fn hash_tables_deterministic_and_order_defined() {
    let mut r = Lcg(99);
    for _ in 0..20 {
        let n = 1 + r.next() as usize % 40;
        let w: Vec<u32> = (0..n).map(|_| r.next() % 5).collect();
        let d: Vec<Dest> = (0..n)
            .map(|i| Dest::new(ip(r.next()), (r.next() % 65536) as u16, w[i]))
            .collect();
        for kind in [Scheduler::Sh, Scheduler::Dh] {
            let a = Table::build(kind, Flags::default(), &d, 0).unwrap();
            let b = Table::build(kind, Flags::default(), &d.clone(), 0).unwrap();
            assert_eq!(a.buckets(), b.buckets());
        }
        let a = Table::build(Scheduler::Mh, Flags::default(), &d, 4093).unwrap();
        let b = Table::build(
            Scheduler::Mh,
            Flags {
                fallback: true,
                port: true,
            },
            &d.clone(),
            4093,
        )
        .unwrap();
        assert_eq!(a.maglev_slots(), b.maglev_slots());
    }
}

#[test]
fn maglev_known_answer_pins_hash() {
    // Pins hsiphash + populate so a change to either is noticed.
    let d = dests(&[1, 1, 1]);
    let t = Table::build(Scheduler::Mh, Flags::default(), &d, 251).unwrap();
    let s = t.maglev_slots().unwrap();
    let sum: u64 = s
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as u64 + 1) * u64::from(x + 1))
        .sum();
    let c = mh_counts(&t, 3);
    assert_eq!(c.iter().sum::<usize>(), 251);
    assert!(c.iter().all(|&x| x == 83 || x == 84));
    // Value recorded from this implementation (kernel-compatible formulas).
    assert_eq!(sum, MH_KAT_SUM);
}
const MH_KAT_SUM: u64 = 65634;

#[test]
fn maglev_quiesce_keeps_table() {
    let mut d = dests(&[3; 20]);
    let t = Table::build(Scheduler::Mh, Flags::default(), &d, 65537).unwrap();
    d[5].set_weight(0);
    assert_eq!(d[5].last_weight, 3);
    let t2 = Table::build(Scheduler::Mh, Flags::default(), &d, 65537).unwrap();
    assert_eq!(t.maglev_slots(), t2.maglev_slots());
    // The quiesced dest is never picked; others keep their clients.
    let fb = Table::build(
        Scheduler::Mh,
        Flags {
            fallback: true,
            port: false,
        },
        &d,
        65537,
    )
    .unwrap();
    let mut st = State::new(&t2);
    let l = idle(20);
    for c in 0..2000u32 {
        let f = flow_from(ip(0x0100_0000u32.wrapping_add(c.wrapping_mul(2_654_435))));
        let before = t.pick(&mut st, &dests(&[3; 20]), &l, &f).unwrap();
        let now = t2.pick(&mut st, &d, &l, &f);
        let now_fb = fb.pick(&mut st, &d, &l, &f).unwrap();
        assert_ne!(now_fb, 5);
        if before != 5 {
            assert_eq!(now, Some(before));
            assert_eq!(now_fb, before);
        } else {
            assert_eq!(now, None);
        }
    }
    // A dest added with weight 0 (last_weight 0) gets no slot.
    let mut d3 = dests(&[3; 20]);
    d3.push(Dest::new(ip(999), 80, 0));
    let t3 = Table::build(Scheduler::Mh, Flags::default(), &d3, 65537).unwrap();
    assert!(t3.maglev_slots().unwrap().iter().all(|&s| s != 20));
}

#[test]
fn no_panic_on_odd_inputs() {
    let mut r = Lcg(3);
    for kind in Scheduler::ALL {
        for case in 0..200 {
            let n = r.next() as usize % 6;
            let mut d: Vec<Dest> = (0..n)
                .map(|i| Dest::new(ip(i as u32), 80, [0, 1, u32::MAX, 5][r.next() as usize % 4]))
                .collect();
            if n > 0 && case % 3 == 0 {
                d[0].available = false;
            }
            let t = Table::build(
                kind,
                Flags {
                    fallback: case % 2 == 0,
                    port: true,
                },
                &d,
                251,
            )
            .unwrap();
            let mut st = State::new(&t);
            let nl = if case % 5 == 0 {
                n.saturating_sub(1)
            } else {
                n
            };
            let l: Vec<DestLoad> = (0..nl)
                .map(|_| DestLoad {
                    active: [0, 1, u32::MAX][r.next() as usize % 3],
                    inactive: [0, u32::MAX][r.next() as usize % 2],
                    persistent: 0,
                    overloaded: r.next().is_multiple_of(4),
                })
                .collect();
            for k in 0..5u64 {
                let mut f = flow_from(ip(r.next()));
                f.now_ms = k * (u64::MAX / 4);
                if let Some(i) = t.pick(&mut st, &d, &l, &f) {
                    assert!(i < n.min(nl));
                    assert!(d[i].available);
                }
                // Mismatched (shorter) dest slice must not panic either.
                let _ = t.pick(&mut st, &d[..n / 2], &l, &f);
            }
            st.rebind(&t, &|i| i.checked_sub(1));
            let _ = t.pick(&mut st, &d, &l, &flow());
        }
    }
}

#[test]
fn thresholds_overload_set_and_clear() {
    let mut d = Dest::new(ip(1), 80, 1);
    d.u_threshold = 4;
    let mut l = DestLoad::default();
    // bind up to 4 total → overload at 4.
    for k in 1..=4u32 {
        l.active = k;
        on_bind(&d, &mut l);
        assert_eq!(l.overloaded, k >= 4, "k={k}");
    }
    // No l_threshold: clear when total*4 < u*3, i.e. total < 3.
    l.active = 3;
    on_unbind(&d, &mut l);
    assert!(l.overloaded);
    l.active = 2;
    on_unbind(&d, &mut l);
    assert!(!l.overloaded);
    // With l_threshold 2: clear only below 2; inactive counts too.
    d.l_threshold = 2;
    l = DestLoad {
        active: 3,
        inactive: 1,
        persistent: 9,
        overloaded: false,
    };
    on_bind(&d, &mut l);
    assert!(l.overloaded);
    l.active = 1;
    on_unbind(&d, &mut l);
    assert!(l.overloaded); // total 2, not < 2
    l.inactive = 0;
    on_unbind(&d, &mut l);
    assert!(!l.overloaded);
    // No thresholds: bind never sets, unbind always clears.
    let d0 = Dest::new(ip(1), 80, 1);
    let mut l0 = DestLoad {
        active: 1_000_000,
        overloaded: true,
        ..Default::default()
    };
    on_unbind(&d0, &mut l0);
    assert!(!l0.overloaded);
    on_bind(&d0, &mut l0);
    assert!(!l0.overloaded);
    // Edits: higher or zero u_threshold clears, lower keeps.
    let mut l1 = DestLoad {
        overloaded: true,
        ..Default::default()
    };
    let mut e = d;
    e.u_threshold = 3;
    on_update(4, &e, &mut l1);
    assert!(l1.overloaded);
    e.u_threshold = 5;
    on_update(4, &e, &mut l1);
    assert!(!l1.overloaded);
    l1.overloaded = true;
    e.u_threshold = 0;
    on_update(4, &e, &mut l1);
    assert!(!l1.overloaded);
    // Overloaded dest is skipped by the schedulers.
    let ds = dests(&[1, 1]);
    let mut ls = idle(2);
    ls[0].overloaded = true;
    for kind in [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Twos,
    ] {
        assert_eq!(one(kind, &ds, &ls), Some(1), "{kind}");
    }
}

#[test]
fn kind_names_round_trip() {
    for k in Scheduler::ALL {
        assert_eq!(Scheduler::from_name(k.as_str()), Some(k));
    }
    assert_eq!(Scheduler::default(), Scheduler::Wlc);
    assert_eq!(Scheduler::from_name("xyz"), None);
}

#[test]
fn state_of_other_kind_is_rejected_or_recreated() {
    let d = dests(&[1, 1]);
    let rr = Table::build(Scheduler::Rr, Flags::default(), &d, 0).unwrap();
    let wlc = Table::build(Scheduler::Wlc, Flags::default(), &d, 0).unwrap();
    let mut st = State::new(&rr);
    assert_eq!(wlc.pick(&mut st, &d, &idle(2), &flow()), None);
    st.rebind_identity(&wlc);
    assert_eq!(wlc.pick(&mut st, &d, &idle(2), &flow()), Some(0));
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn maglev_build_time_65537_x_1000() {
    let d: Vec<Dest> = (0..1000u32)
        .map(|i| Dest::new(ip(i + 1), 80, 1 + i % 10))
        .collect();
    let t0 = std::time::Instant::now();
    let runs = 20;
    for _ in 0..runs {
        let t = Table::build(Scheduler::Mh, Flags::default(), &d, 65537).unwrap();
        std::hint::black_box(&t);
    }
    let per = t0.elapsed() / runs;
    println!("maglev build M=65537, 1000 dests (weights 1..10): {per:?} per build");
    let eq: Vec<Dest> = (0..1000u32).map(|i| Dest::new(ip(i + 1), 80, 1)).collect();
    let t0 = std::time::Instant::now();
    for _ in 0..runs {
        std::hint::black_box(Table::build(Scheduler::Mh, Flags::default(), &eq, 65537).unwrap());
    }
    println!(
        "maglev build M=65537, 1000 dests (equal weights): {:?} per build",
        t0.elapsed() / runs
    );
}
