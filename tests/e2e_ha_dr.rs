//! Active/backup in DR mode: the real servers hold the VIP on `lo` and
//! answer clients directly; the backup has the synced connections and
//! forwards them by MAC after `kill -9` of the active.
mod common;
#[path = "common/lab.rs"]
mod lab;
use lab::*;
#[path = "common/ha.rs"]
mod ha;
use ha::{now, write_key};
use lvsd::testbed::lab::Lab;
use lvsd::testbed::Testbed;
use std::time::Duration;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");
const VIP: &str = "198.18.0.100";

fn config(l: &Lab, me: char, key: &std::path::Path) -> String {
    let (last, node, prio, listen, peer) = match me {
        'a' => (250, "lvs-a", 150, "198.18.9.1:5511", "198.18.9.2:5511"),
        _ => (251, "lvs-b", 100, "198.18.9.2:5511", "198.18.9.1:5511"),
    };
    let mut c = format!(
        "[dpdk]\nlcores = \"0-1\"\nmemory_mb = 256\nfile_prefix = \"{tag}{me}\"\n\n\
         [[port]]\nname = \"ext\"\ndevice = \"net_af_packet0,iface=lv-ext\"\naddress = \"198.18.0.{last}/24\"\n\n\
         [[port]]\nname = \"int\"\ndevice = \"net_af_packet1,iface=lv-int\"\naddress = \"198.18.1.{last}/24\"\n\n\
         [ha]\nnode = \"{node}\"\npriority = {prio}\npreempt = false\npeer = \"{peer}\"\nlisten = \"{listen}\"\nkey_file = \"{key}\"\n\
         interval_ms = 100\ndead_interval_ms = 300\ngarp = {{ repeat = 3, delay_ms = 1000 }}\n\n\
         [[service]]\nprotocol = \"tcp\"\nvip = \"{VIP}\"\nport = 7000\nscheduler = \"rr\"\nmethod = \"dr\"\n",
        tag = l.tb.tag(),
        key = key.display()
    );
    for i in 0..2 {
        c += &format!("  [[service.real]]\n  address = \"198.18.0.{}\"\n", 11 + i);
    }
    c
}

#[test]
fn dr_failover_keeps_every_established_connection() {
    if common::need_root() {
        return;
    }
    let mut l = Lab::new(1, 0).expect("lab");
    let dirb = l.add_director("dirb").expect("second director");
    let key = l.tb.dir.join("ha.key");
    write_key(&key, "0123456789abcdef0123456789abcdef\n");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/realserver.sh");
    for i in 0..2 {
        let ns = l
            .add_direct_real(&format!("198.18.0.{}", 11 + i), None)
            .expect("real");
        l.tb.exec_ok(&ns, script, &["dr", VIP])
            .expect("realserver.sh dr");
        server(&mut l, &ns, "banner", 7000, &format!("r{i}"));
    }
    let dira = l.dir.clone();
    l.start_lvsd_in("lvsd-a", &dira, LVSD, &config(&l, 'a', &key))
        .expect("lvsd a");
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd-a")
        .contains("becoming ACTIVE")));
    l.start_lvsd_in("lvsd-b", &dirb, LVSD, &config(&l, 'b', &key))
        .expect("lvsd b");
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd-b")
        .contains("bulk sync from the peer done")));
    let c = l.clients[0].clone();
    let client = format!("{TOOLS}/client.py");
    l.tb.spawn(
        "hold",
        &c,
        "python3",
        &[&client, "hold", VIP, "7000", "100", "8"],
    )
    .unwrap();
    let up = Testbed::wait_for(Duration::from_secs(20), || {
        established_at(&l.tb.log("hold")).is_some()
    });
    assert!(up, "{}", l.tb.log("hold"));
    std::thread::sleep(Duration::from_secs(2));
    let killed = now();
    l.tb.stop("lvsd-a", libc::SIGKILL, Duration::from_secs(5));
    assert!(Testbed::wait_for(Duration::from_secs(5), || l
        .tb
        .log("lvsd-b")
        .contains("becoming ACTIVE")));
    eprintln!(
        "DR takeover detected {:.0} ms after the kill (log poll)",
        (now() - killed) * 1000.0
    );
    assert!(Testbed::wait_for(Duration::from_secs(25), || l
        .tb
        .log("hold")
        .contains("counts")));
    let h = last_json(&l.tb.log("hold"));
    assert_eq!(h["established"].as_u64().or(Some(100)), Some(100));
    assert_eq!(
        (h["errors"].as_u64(), h["echo_errors"].as_u64()),
        (Some(0), Some(0)),
        "DR streams intact: {h}\n{}",
        l.tb.log("lvsd-b")
    );
    assert_eq!(
        l.tb.stop("lvsd-b", libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
