//! Shared helpers for the end-to-end tests: a director namespace running the
//! real `lvsd` binary on af_packet virtual devices over veth pairs, with
//! kernel hosts in their own namespaces.
#![allow(dead_code)]
use lvsd::testbed::Testbed;
use std::time::Duration;

pub const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// Skip (return true) when not root: namespaces need it. Under CI
/// (`CI=true`) a skipped end-to-end test is a failure, never a silent pass.
pub fn need_root() -> bool {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        skip("end-to-end tests need root");
        return true;
    }
    false
}

/// Reports a skipped test on stderr; panics instead under CI (`CI=true`).
pub fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: this test cannot be skipped ({why})");
    }
    eprintln!("SKIPPED: {why}");
}

/// Are 2 MB hugepages available (mounted and reserved)?
pub fn hugepages_available() -> bool {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .is_ok_and(|m| m.lines().any(|l| l.contains("hugetlbfs")));
    let free = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                })
        })
        .unwrap_or(0);
    mounted && free >= 128
}

/// A director namespace `dir` with one veth per port to a host namespace.
pub struct Topo {
    pub tb: Testbed,
    pub dir: String,
    /// (port name, director-side ifname, host ns, host ifname)
    pub ports: Vec<(String, String, String, String)>,
}

impl Topo {
    /// `ports`: (port name, host short name, host address/prefix).
    pub fn new(ports: &[(&str, &str, &str)]) -> Topo {
        let mut tb = Testbed::new().expect("testbed");
        let dir = tb.netns("dir").expect("dir ns");
        let mut out = Vec::new();
        for (name, host, cidr) in ports {
            let hns = tb.netns(host).expect("host ns");
            let lv_if = format!("lv-{name}");
            let (_, h) = tb.veth(&dir, &lv_if, &hns, "eth0").expect("veth");
            tb.host_addr(&h, cidr, None).expect("host addr");
            out.push((name.to_string(), lv_if, hns, "eth0".to_string()));
        }
        Topo {
            tb,
            dir,
            ports: out,
        }
    }

    /// The director-side MAC of a port (af_packet uses the interface's MAC).
    pub fn port_mac(&self, port: &str) -> String {
        let (_, lv_if, _, _) = self.ports.iter().find(|p| p.0 == port).expect("port");
        let out = self
            .tb
            .exec_ok(
                &self.dir,
                "cat",
                &[&format!("/sys/class/net/{lv_if}/address")],
            )
            .expect("mac");
        out.trim().to_string()
    }

    /// Host namespace of a port.
    pub fn host(&self, port: &str) -> String {
        self.ports
            .iter()
            .find(|p| p.0 == port)
            .expect("port")
            .2
            .clone()
    }

    /// The `[dpdk]` and `[[port]]` part of a config for this topology;
    /// addresses per port given as CIDR.
    pub fn base_config(&self, addrs: &[(&str, &str)], hugepages: bool) -> String {
        let mut c = format!(
            "[dpdk]\nlcores = \"0-1\"\nmemory_mb = 256\nhugepages = {hugepages}\nfile_prefix = \"{}\"\n\n",
            self.tb.tag()
        );
        for (i, (name, lv_if, _, _)) in self.ports.iter().enumerate() {
            let addr = addrs
                .iter()
                .find(|a| a.0 == name)
                .map(|a| a.1)
                .expect("address");
            c += &format!(
                "[[port]]\nname = \"{name}\"\ndevice = \"net_af_packet{i},iface={lv_if}\"\naddress = \"{addr}\"\n\n"
            );
        }
        c
    }

    /// Write `config` and start lvsd in the director namespace; waits until it runs.
    pub fn start_lvsd(&mut self, config: &str) {
        let path = self.tb.dir.join("lvsd.toml");
        let config = format!(
            "{config}\n[control]\nsocket = \"{}\"\n",
            self.tb.dir.join("lvsd.sock").display()
        );
        std::fs::write(&path, config).expect("write config");
        let p = path.to_string_lossy().to_string();
        let dir = self.dir.clone();
        self.tb
            .spawn("lvsd", &dir, LVSD, &["run", "-c", &p])
            .expect("spawn lvsd");
        let ok = Testbed::wait_for(Duration::from_secs(20), || {
            self.tb.log("lvsd").contains("lvsd running")
        });
        assert!(ok, "lvsd did not start:\n{}", self.tb.log("lvsd"));
    }

    /// Stop lvsd with `signal`; its exit code.
    pub fn stop_lvsd(&mut self, signal: i32) -> Option<i32> {
        self.tb.stop("lvsd", signal, Duration::from_secs(15))
    }
}
