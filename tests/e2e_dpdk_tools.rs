//! DPDK's own tools attach to a running lvsd: `dpdk-telemetry.py` lists its
//! ports, and `dpdk-dumpcap` captures its traffic into a pcapng that tshark
//! reads. Needs hugepages (the shared configuration secondaries attach to).
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
use lvsd::testbed::lab::Lab;
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

#[test]
fn telemetry_and_dumpcap_attach() {
    if common::need_root() {
        return;
    }
    if !common::hugepages_available() {
        common::skip("no hugepages reserved (deploy/setup.sh reserves them)");
        return;
    }
    let mut l = Lab::new(1, 0).expect("lab");
    let cfg = base(&l, 1).replace("memory_mb = 256\n", "memory_mb = 256\nhugepages = true\n");
    l.start_lvsd(LVSD, &cfg).expect("lvsd");
    let prefix = l.tb.tag().to_string();
    let dir = l.dir.clone();
    let tele =
        l.tb.exec_ok(
            &dir,
            "sh",
            &[
                "-c",
                &format!("echo /ethdev/list | dpdk-telemetry.py -f {prefix}"),
            ],
        )
        .expect("telemetry");
    let json = tele
        .lines()
        .find(|x| x.contains("/ethdev/list"))
        .unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let ports = v["/ethdev/list"].as_array().map(|a| a.len()).unwrap_or(0);
    // ext and int, and their kernel interfaces.
    assert_eq!(ports, 4, "{tele}");
    let pcap = l.tb.dir.join("cap.pcapng").to_string_lossy().to_string();
    let pcap_arg = format!("-w{pcap}");
    let prefix_arg = format!("--file-prefix={prefix}");
    l.tb.spawn(
        "dumpcap",
        &dir,
        "dpdk-dumpcap",
        &[
            &prefix_arg,
            "-i",
            "net_af_packet0",
            &pcap_arg,
            "-a",
            "duration:5",
            "-q",
        ],
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let c = l.clients[0].clone();
    let _ =
        l.tb.exec(&c, "ping", &["-c", "8", "-i", "0.2", "198.18.0.1"]);
    let done = Testbed::wait_for(Duration::from_secs(15), || !l.tb.running("dumpcap"));
    assert!(done, "dumpcap finished: {}", l.tb.log("dumpcap"));
    let decoded = lvsd::testbed::run("tshark", &["-r", &pcap, "-T", "fields", "-e", "icmp.type"])
        .expect("tshark");
    assert!(decoded.0, "tshark read the capture: {}", decoded.2);
    let icmp: Vec<&str> = decoded.1.lines().filter(|x| !x.is_empty()).collect();
    let requests = icmp.iter().filter(|t| **t == "8").count();
    let replies = icmp.iter().filter(|t| **t == "0").count();
    assert!(
        requests >= 3 && replies >= 3,
        "echo requests (rx) and replies (tx) captured: {icmp:?}"
    );
    assert_eq!(l.stop_lvsd(), Some(0));
}
