//! Test topologies of network namespaces and veth pairs, used by the
//! end-to-end tests and by `lvsd demo`.
//!
//! Every name carries a per-process tag (`lt<pid hex>g<counter>`), so
//! tests in parallel never clash; [`Testbed`] deletes everything it made on
//! drop (also when a test fails), and [`Testbed::new`] first removes what
//! earlier, killed processes left behind (tags whose pid is gone).
//! Processes started with [`Testbed::spawn`] are killed by PID on drop.
pub mod lab;
mod net;

pub use net::{run, run_ok, sh_ok};

/// Send a signal to a process by PID.
pub fn signal(pid: u32, sig: i32) -> std::io::Result<()> {
    net::kill(pid, sig)
}

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A set of namespaces, links and processes that is torn down on drop.
pub struct Testbed {
    tag: String,
    namespaces: Vec<String>,
    children: Vec<(String, Child)>,
    /// Scratch directory for configs, logs and captures (removed on drop
    /// unless `LVSD_KEEP_TESTBED` is set).
    pub dir: PathBuf,
}

/// One end of a veth pair, living in a namespace.
#[derive(Clone, Debug)]
pub struct Link {
    pub ns: String,
    pub ifname: String,
}

impl Testbed {
    /// A fresh testbed; cleans up leftovers of dead processes first.
    pub fn new() -> anyhow::Result<Testbed> {
        net::reap_stale();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("lt{:x}g{}", std::process::id(), n);
        let dir = std::env::temp_dir().join(format!("lvsd-{tag}"));
        std::fs::create_dir_all(&dir)?;
        Ok(Testbed {
            tag,
            namespaces: Vec::new(),
            children: Vec::new(),
            dir,
        })
    }

    /// The unique tag of this testbed.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Create namespace `<tag>-<short>`, with `lo` up; returns its full name.
    pub fn netns(&mut self, short: &str) -> anyhow::Result<String> {
        let name = format!("{}-{}", self.tag, short);
        run_ok("ip", &["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        self.exec_ok(&name, "ip", &["link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// A veth pair between two namespaces. `a_name`/`b_name` are the
    /// interface names inside them (≤ 15 chars). IPv6 is disabled on both
    /// ends so the kernel sends no router solicitations or DAD.
    pub fn veth(
        &mut self,
        a_ns: &str,
        a_name: &str,
        b_ns: &str,
        b_name: &str,
    ) -> anyhow::Result<(Link, Link)> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tmp_a = format!("ta{:x}{n}", std::process::id() & 0xfffff);
        let tmp_b = format!("tb{:x}{n}", std::process::id() & 0xfffff);
        run_ok(
            "ip",
            &[
                "link", "add", &tmp_a, "type", "veth", "peer", "name", &tmp_b,
            ],
        )?;
        for (tmp, ns, name) in [(&tmp_a, a_ns, a_name), (&tmp_b, b_ns, b_name)] {
            run_ok("ip", &["link", "set", tmp, "netns", ns])?;
            self.exec_ok(ns, "ip", &["link", "set", tmp, "name", name])?;
            let _ = self.exec(
                ns,
                "sysctl",
                &["-qw", &format!("net.ipv6.conf.{name}.disable_ipv6=1")],
            );
            self.exec_ok(ns, "ip", &["link", "set", name, "up"])?;
        }
        Ok((
            Link {
                ns: a_ns.into(),
                ifname: a_name.into(),
            },
            Link {
                ns: b_ns.into(),
                ifname: b_name.into(),
            },
        ))
    }

    /// Give a kernel endpoint an address, turn off checksum and segmentation
    /// offloads (a DPDK path does not complete partial checksums), and
    /// optionally add a default route.
    pub fn host_addr(&self, link: &Link, cidr: &str, gateway: Option<&str>) -> anyhow::Result<()> {
        self.exec_ok(&link.ns, "ip", &["addr", "add", cidr, "dev", &link.ifname])?;
        self.exec_ok(
            &link.ns,
            "ethtool",
            &[
                "-K",
                &link.ifname,
                "tx",
                "off",
                "rx",
                "off",
                "tso",
                "off",
                "gso",
                "off",
                "gro",
                "off",
            ],
        )?;
        if let Some(gw) = gateway {
            self.exec_ok(&link.ns, "ip", &["route", "add", "default", "via", gw])?;
        }
        Ok(())
    }

    /// Run a command inside `ns`, returning (success, stdout, stderr).
    pub fn exec(
        &self,
        ns: &str,
        cmd: &str,
        args: &[&str],
    ) -> anyhow::Result<(bool, String, String)> {
        let mut full = vec!["netns", "exec", ns, cmd];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Like [`exec`](Self::exec) but an error unless it succeeds; stdout.
    pub fn exec_ok(&self, ns: &str, cmd: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut full = vec!["netns", "exec", ns, cmd];
        full.extend_from_slice(args);
        run_ok("ip", &full)
    }

    /// Start a long-running process in `ns` with stdout/stderr to
    /// `<dir>/<label>.log`; killed (by PID) on drop.
    pub fn spawn(
        &mut self,
        label: &str,
        ns: &str,
        cmd: &str,
        args: &[&str],
    ) -> anyhow::Result<u32> {
        let log = std::fs::File::create(self.dir.join(format!("{label}.log")))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns, cmd])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let pid = child.id();
        self.children.push((label.to_string(), child));
        Ok(pid)
    }

    /// The log of a spawned process so far.
    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{label}.log"))).unwrap_or_default()
    }

    /// Send `signal` to a spawned process and wait (up to `timeout`) for it
    /// to exit; its exit code (None if it did not exit or died by signal).
    pub fn stop(&mut self, label: &str, signal: i32, timeout: Duration) -> Option<i32> {
        let idx = self.children.iter().position(|(l, _)| l == label)?;
        let (_, mut child) = self.children.remove(idx);
        let _ = net::kill(child.id(), signal);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// PID of a spawned process.
    pub fn pid(&self, label: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| c.id())
    }

    /// Is the spawned process still running?
    pub fn running(&mut self, label: &str) -> bool {
        self.children
            .iter_mut()
            .find(|(l, _)| l == label)
            .is_some_and(|(_, c)| matches!(c.try_wait(), Ok(None)))
    }

    /// Poll `f` every 50 ms until it returns true or `timeout` passes.
    pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        f()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut() {
            let _ = net::kill(child.id(), libc::SIGTERM);
        }
        for (_, child) in self.children.iter_mut() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            net::delete_netns(ns);
        }
        if std::env::var_os("LVSD_KEEP_TESTBED").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
