//! Fuzz target: frames through a configured `Engine` (services of every
//! method, persistence, thresholds, ICMP errors, ARP, reloads, time
//! passing). Invariants: no panic; every emitted frame parses, leaves
//! from the port's MAC, fits the port's MTU and, when the frame that
//! caused it was intact, carries valid checksums; the counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::frame::VecFrame;
use lvsd_fuzz::{check, traffic};

fuzz_target!(|ops: Vec<traffic::Op>| {
    let mut e = traffic::engine(true);
    let mut run = traffic::Run::default();
    let (mut fed, mut fed_bytes) = (0u64, 0u64);
    for op in ops.iter().take(256) {
        let frames = traffic::inputs(op);
        if frames.is_empty() {
            run.step(op, &mut [&mut e]);
            check::drain(&mut e, true);
        }
        for i in frames {
            let snap = run.snap();
            e.rx(
                VecFrame::new(&i.bytes),
                i.port,
                &snap,
                &mut run.alloc,
                run.now,
            );
            fed += 1;
            fed_bytes += i.bytes.len() as u64;
            check::drain(&mut e, i.intact);
            run.now += 1;
        }
        check::counters(&e, fed, fed_bytes);
    }
});
