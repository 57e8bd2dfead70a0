//! Fuzz target: the established fast path changes nothing but speed. Two
//! engines built alike, one with the fast path off, take the same
//! operations (the fast one sometimes with the prefetch pass's hint); after
//! every step both sent the same bytes out of the same ports, and at the
//! end their counters (but the fast-path count) and connection tables are
//! identical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::datapath::Engine;
use lvsd::frame::VecFrame;
use lvsd_fuzz::{check, traffic};

fn conns(e: &Engine<VecFrame>) -> Vec<(u32, lvsd::conn::Conn)> {
    let mut v = Vec::new();
    e.lb.for_each_conn(|id, c| v.push((id.0, *c)));
    v
}

fuzz_target!(|input: (u64, Vec<traffic::Op>)| {
    let (hints, ops) = input;
    let mut fast = traffic::engine(true);
    let mut general = traffic::engine(false);
    let mut run = traffic::Run::default();
    let mut k = 0usize;
    for op in ops.iter().take(256) {
        let frames = traffic::inputs(op);
        if frames.is_empty() {
            run.step(op, &mut [&mut fast, &mut general]);
            let (a, b) = (
                check::drain(&mut fast, true),
                check::drain(&mut general, true),
            );
            assert_eq!(a, b, "after {op:?}");
        }
        for i in frames {
            k += 1;
            let snap = run.snap();
            if hints >> (k % 64) & 1 == 1 {
                let hint = fast.prefetch(&i.bytes, i.port, &snap, |_| {});
                fast.prefetch_record(&hint, |_| {});
                fast.rx_hinted(
                    VecFrame::new(&i.bytes),
                    &hint,
                    i.port,
                    &snap,
                    &mut run.alloc,
                    run.now,
                );
            } else {
                fast.rx(
                    VecFrame::new(&i.bytes),
                    i.port,
                    &snap,
                    &mut run.alloc,
                    run.now,
                );
            }
            general.rx(
                VecFrame::new(&i.bytes),
                i.port,
                &snap,
                &mut run.alloc,
                run.now,
            );
            run.now += 1;
            let (a, b) = (
                check::drain(&mut fast, i.intact),
                check::drain(&mut general, i.intact),
            );
            assert_eq!(a, b, "frame {k} of {op:?}");
        }
    }
    assert_eq!(general.counters.fast_path.get(), 0);
    assert_eq!(
        check::summary(&fast.counters),
        check::summary(&general.counters)
    );
    assert_eq!(conns(&fast), conns(&general));
});
