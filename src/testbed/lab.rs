//! The standard lab: a director namespace running lvsd with two af_packet
//! ports, `ext` (198.18.0.1/24) towards clients and `int` (198.18.1.1/24)
//! towards real servers. Each side is a bridge in its own switch namespace,
//! so any number of clients (198.18.0.2, .3, …) and real servers
//! (198.18.1.11, .12, …) attach; reals use the director as default gateway
//! (needed for NAT).
use super::{Link, Testbed};
use std::time::Duration;

/// A running lab.
pub struct Lab {
    pub tb: Testbed,
    pub dir: String,
    pub clients: Vec<String>,
    pub reals: Vec<String>,
    ext_sw: String,
    int_sw: String,
}

/// Address of client `i` (0-based).
pub fn client_addr(i: usize) -> String {
    format!("198.18.0.{}", 2 + i)
}

/// Address of real server `i` (0-based).
pub fn real_addr(i: usize) -> String {
    format!("198.18.1.{}", 11 + i)
}

impl Lab {
    /// Build the namespaces: director, two switches, `clients` clients and
    /// `reals` real servers.
    pub fn new(clients: usize, reals: usize) -> anyhow::Result<Lab> {
        let mut tb = Testbed::new()?;
        let dir = tb.netns("dir")?;
        let ext_sw = tb.netns("swe")?;
        let int_sw = tb.netns("swi")?;
        for sw in [&ext_sw, &int_sw] {
            tb.exec_ok(sw, "ip", &["link", "add", "br0", "type", "bridge"])?;
            tb.exec_ok(sw, "ip", &["link", "set", "br0", "up"])?;
        }
        let (_, s) = tb.veth(&dir, "lv-ext", &ext_sw, "dir")?;
        attach(&tb, &s)?;
        let (_, s) = tb.veth(&dir, "lv-int", &int_sw, "dir")?;
        attach(&tb, &s)?;
        let mut lab = Lab {
            tb,
            dir,
            clients: vec![],
            reals: vec![],
            ext_sw,
            int_sw,
        };
        for _ in 0..clients {
            lab.add_client()?;
        }
        for _ in 0..reals {
            lab.add_real()?;
        }
        Ok(lab)
    }

    /// Attach one more client; returns its namespace.
    pub fn add_client(&mut self) -> anyhow::Result<String> {
        let i = self.clients.len();
        let ns = self.tb.netns(&format!("c{i}"))?;
        let sw = self.ext_sw.clone();
        let (h, s) = self.tb.veth(&ns, "eth0", &sw, &format!("c{i}"))?;
        attach(&self.tb, &s)?;
        self.tb
            .host_addr(&h, &format!("{}/24", client_addr(i)), Some("198.18.0.1"))?;
        self.clients.push(ns.clone());
        Ok(ns)
    }

    /// Attach a real server on the *client* segment (ext switch) with
    /// address `addr`, for DR and TUN: it answers clients directly. With
    /// `vip`, the VIP goes on `lo` with `arp_ignore=1`/`arp_announce=2` and
    /// reverse-path filtering off, as a DR/TUN real server is prepared.
    pub fn add_direct_real(&mut self, addr: &str, vip: Option<&str>) -> anyhow::Result<String> {
        let i = self.reals.len();
        let ns = self.tb.netns(&format!("r{i}"))?;
        let sw = self.ext_sw.clone();
        let (h, s) = self.tb.veth(&ns, "eth0", &sw, &format!("r{i}"))?;
        attach(&self.tb, &s)?;
        self.tb.host_addr(&h, &format!("{addr}/24"), None)?;
        if let Some(vip) = vip {
            for kv in [
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.eth0.arp_ignore=1",
                "net.ipv4.conf.eth0.arp_announce=2",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.eth0.rp_filter=0",
                "net.ipv4.conf.lo.rp_filter=0",
            ] {
                self.tb.exec_ok(&ns, "sysctl", &["-qw", kv])?;
            }
            self.tb.exec_ok(
                &ns,
                "ip",
                &["addr", "add", &format!("{vip}/32"), "dev", "lo"],
            )?;
        }
        self.reals.push(ns.clone());
        Ok(ns)
    }

    /// Attach one more real server (default gateway: the director).
    pub fn add_real(&mut self) -> anyhow::Result<String> {
        let i = self.reals.len();
        let ns = self.tb.netns(&format!("r{i}"))?;
        let sw = self.int_sw.clone();
        let (h, s) = self.tb.veth(&ns, "eth0", &sw, &format!("r{i}"))?;
        attach(&self.tb, &s)?;
        self.tb
            .host_addr(&h, &format!("{}/24", real_addr(i)), Some("198.18.1.1"))?;
        self.reals.push(ns.clone());
        Ok(ns)
    }

    /// Write `config` and run lvsd in the director namespace until it
    /// reports it is running.
    pub fn start_lvsd(&mut self, lvsd: &str, config: &str) -> anyhow::Result<()> {
        let dir = self.dir.clone();
        self.start_lvsd_in("lvsd", &dir, lvsd, config)
    }

    /// Add a second director namespace `short` on both switches, with a
    /// management link to the first one: 198.18.9.1/24 on `mgmt` in the
    /// first director, 198.18.9.2/24 in the new one (kernel interfaces, not
    /// DPDK). Returns the new namespace.
    pub fn add_director(&mut self, short: &str) -> anyhow::Result<String> {
        let ns = self.tb.netns(short)?;
        let (ext_sw, int_sw) = (self.ext_sw.clone(), self.int_sw.clone());
        let (_, s) = self.tb.veth(&ns, "lv-ext", &ext_sw, short)?;
        attach(&self.tb, &s)?;
        let (_, s) = self.tb.veth(&ns, "lv-int", &int_sw, &format!("{short}i"))?;
        attach(&self.tb, &s)?;
        let dir = self.dir.clone();
        let (a, b) = self.tb.veth(&dir, "mgmt", &ns, "mgmt")?;
        self.tb.exec_ok(
            &a.ns,
            "ip",
            &["addr", "add", "198.18.9.1/24", "dev", "mgmt"],
        )?;
        self.tb.exec_ok(
            &b.ns,
            "ip",
            &["addr", "add", "198.18.9.2/24", "dev", "mgmt"],
        )?;
        Ok(ns)
    }

    /// Cut (or restore) the management link between the two directors.
    pub fn mgmt_link(&self, up: bool) -> anyhow::Result<()> {
        self.tb.exec_ok(
            &self.dir,
            "ip",
            &["link", "set", "mgmt", if up { "up" } else { "down" }],
        )?;
        Ok(())
    }

    /// Run lvsd as process `label` in namespace `ns` with `config` (a
    /// control socket `<label>.sock` is added); waits until it runs.
    pub fn start_lvsd_in(
        &mut self,
        label: &str,
        ns: &str,
        lvsd: &str,
        config: &str,
    ) -> anyhow::Result<()> {
        let p = self.write_config(label, config)?;
        self.tb.spawn(label, ns, lvsd, &["run", "-c", &p])?;
        self.wait_lvsd(label)
    }

    /// Writes `<label>.toml` (with a control socket `<label>.sock` unless
    /// the config has `[control]`); its path.
    fn write_config(&self, label: &str, config: &str) -> anyhow::Result<String> {
        let path = self.tb.dir.join(format!("{label}.toml"));
        let mut config = config.to_string();
        if !config.contains("[control]") {
            config += &format!(
                "\n[control]\nsocket = \"{}\"\n",
                self.tb.dir.join(format!("{label}.sock")).display()
            );
        }
        std::fs::write(&path, config)?;
        Ok(path.to_string_lossy().to_string())
    }

    /// Writes the configs and spawns several lvsd (`(label, ns, config)`)
    /// in the same instant, then waits until each is running: two
    /// directors started together.
    pub fn start_lvsd_together(
        &mut self,
        lvsd: &str,
        each: &[(&str, &str, &str)],
    ) -> anyhow::Result<()> {
        let mut paths = Vec::new();
        for (label, _, config) in each {
            paths.push(self.write_config(label, config)?);
        }
        for ((label, ns, _), p) in each.iter().zip(&paths) {
            self.tb.spawn(label, ns, lvsd, &["run", "-c", p])?;
        }
        each.iter()
            .try_for_each(|(label, _, _)| self.wait_lvsd(label))
    }

    fn wait_lvsd(&self, label: &str) -> anyhow::Result<()> {
        let ok = Testbed::wait_for(Duration::from_secs(30), || {
            let log = self.tb.log(label);
            log.contains("lvsd running") || log.contains("ERROR")
        });
        let log = self.tb.log(label);
        if !ok || !log.contains("lvsd running") {
            anyhow::bail!("{label} did not start:\n{log}");
        }
        Ok(())
    }

    /// The control socket the lab's lvsd listens on.
    pub fn socket(&self) -> std::path::PathBuf {
        self.tb.dir.join("lvsd.sock")
    }

    /// Stop lvsd (SIGTERM); its exit code.
    pub fn stop_lvsd(&mut self) -> Option<i32> {
        self.tb.stop("lvsd", libc::SIGTERM, Duration::from_secs(15))
    }
}

fn attach(tb: &Testbed, sw_end: &Link) -> anyhow::Result<()> {
    tb.exec_ok(
        &sw_end.ns,
        "ip",
        &["link", "set", &sw_end.ifname, "master", "br0"],
    )?;
    Ok(())
}
