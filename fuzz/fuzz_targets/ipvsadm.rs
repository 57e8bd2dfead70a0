//! Fuzz target: ipvsadm argument parsing. The input is an argument vector
//! (arguments separated by NUL bytes) and, read as a whole, `-R` input.
//! Never panics; every refusal carries a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::ipvsadm::{parse, parse_restore};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let args: Vec<String> = text.split('\0').map(str::to_owned).collect();
    match parse(&args) {
        Ok(c) => {
            let _ = format!("{c:?}");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "refusal without a message"),
    }
    for r in parse_restore(&text.replace('\0', " ")) {
        if let Err((line, e)) = r {
            assert!(line >= 1, "restore error line {line}");
            assert!(!e.to_string().is_empty());
        }
    }
});
