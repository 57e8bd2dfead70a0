//! Fuzz target: the control protocol's requests. Each line of the input is
//! one request as a client sends it; it is decoded as the server does and
//! handled by a runtime (no workers) that keeps its state across the lines.
//! Never panics; every response encodes; the running configuration stays
//! valid: `save-config` output reads back through the configuration rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsd::ctl::proto::{Envelope, Request, VERSION};
use lvsd::ctl::runtime::Runtime;
use std::path::PathBuf;

const CONFIG: &str = r#"
[dpdk]
lcores = "0-1"
[[port]]
name = "ext"
device = "net_null0"
address = "198.18.0.1/24"
[[port]]
name = "int"
device = "net_null1"
address = "198.18.1.1/24"
[[service]]
protocol = "tcp"
vip = "198.18.0.100"
port = 80
method = "nat"
  [[service.real]]
  address = "198.18.1.11"
  port = 8080
"#;

thread_local! {
    static LINKS: lvsd::worker::Links = lvsd::worker::Links::new(1);
}

fn config_path() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let p = std::env::temp_dir().join(format!("lvsd-fuzz-ctl-{}.toml", std::process::id()));
        std::fs::write(&p, CONFIG).expect("writing the fuzz configuration");
        p
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let model = lvsd::config::load(CONFIG).expect("config");
    // Nothing writes to a runtime's worker links without workers, so one
    // set serves every run (making its rings costs more than a run).
    let links = LINKS.with(|l| l.clone());
    let mut rt = Runtime::new(config_path(), model, Vec::new(), links).expect("runtime");
    for line in data.split(|b| *b == b'\n').take(16) {
        let req = match serde_json::from_slice::<Envelope>(line) {
            Ok(env) if env.version == VERSION => env.request,
            _ => continue,
        };
        // A listing of connections waits for the workers, and there are none.
        if matches!(req, Request::Connections) {
            continue;
        }
        let resp = rt.handle(req);
        serde_json::to_vec(&resp).expect("response encodes");
    }
    let saved = rt.handle(Request::SaveConfig);
    let text = saved
        .data
        .as_ref()
        .and_then(|d| d.as_str())
        .expect("save-config text");
    if let Err(e) = lvsd::config::load(text) {
        panic!("the running configuration is refused: {e}\n{text}");
    }
});
