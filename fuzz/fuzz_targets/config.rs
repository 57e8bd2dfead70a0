//! Fuzz target: the configuration reader behind `lvsd check`. Never
//! panics; a refused file gets at least one error, and every error names
//! its key (or, for a TOML syntax error, its line) and says what is wrong;
//! an accepted file builds a snapshot, and the configuration emitted from
//! it (`lvsadm save-config`) reads back to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::config;
use lvsd::datapath::topology::{self, Registry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::load(text) {
        Ok(m) => {
            let _ = topology::build(&m, &[], 1, &mut Registry::default(), &Default::default());
            let emitted = config::emit::emit(&m);
            match config::load(&emitted) {
                Ok(again) => assert_eq!(again, m, "emitted configuration:\n{emitted}"),
                Err(e) => panic!("emitted configuration refused: {e}\n{emitted}"),
            }
        }
        Err(errs) => {
            assert!(!errs.is_empty(), "refused without an error");
            for e in errs.iter() {
                assert!(
                    !e.path.is_empty() || e.line.is_some(),
                    "error names no key: {e}"
                );
                assert!(!e.message.is_empty(), "empty message for {}", e.path);
            }
            assert!(!errs.to_string().is_empty());
        }
    }
});
