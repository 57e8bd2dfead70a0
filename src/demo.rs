//! `lvsd demo`: the README's first command. Builds the standard lab in
//! network namespaces (one client, three real servers), runs lvsd on the
//! embedded configuration (`conf/nat-web.toml`), shows what happens, and
//! tears everything down.
use crate::testbed::lab::{client_addr, real_addr, Lab};

/// The embedded default configuration.
pub const CONFIG: &str = include_str!("../conf/nat-web.toml");

/// Run the demo.
pub fn run() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?.to_string_lossy().to_string();
    println!(
        "== building the lab: client {} on ext, reals {}, {}, {} on int",
        client_addr(0),
        real_addr(0),
        real_addr(1),
        real_addr(2)
    );
    let mut lab = Lab::new(1, 3)?;
    let config = CONFIG.replace(
        "lcores = \"0-1\"",
        "lcores = \"0-1\"\nfile_prefix = \"lvsd-demo\"",
    );
    println!("== starting lvsd with the embedded configuration (conf/nat-web.toml)");
    lab.start_lvsd(&exe, &config)?;
    let client = lab.clients[0].clone();
    for (what, addr) in [
        ("director ext address", "198.18.0.1"),
        ("VIP", "198.18.0.100"),
    ] {
        let (ok, out, _) =
            lab.tb
                .exec(&client, "ping", &["-c", "3", "-i", "0.2", "-W", "2", addr])?;
        let summary = out
            .lines()
            .find(|l| l.contains("transmitted"))
            .unwrap_or("no answer");
        println!(
            "client -> {what} {addr}: {} ({summary})",
            if ok { "answered" } else { "FAILED" }
        );
    }
    for (i, r) in lab.reals.clone().iter().enumerate() {
        let (ok, out, _) = lab.tb.exec(
            r,
            "ping",
            &["-c", "2", "-i", "0.2", "-W", "2", "198.18.1.1"],
        )?;
        let summary = out
            .lines()
            .find(|l| l.contains("transmitted"))
            .unwrap_or("no answer");
        println!(
            "real {} -> director int address 198.18.1.1: {} ({summary})",
            real_addr(i),
            if ok { "answered" } else { "FAILED" }
        );
    }
    let neigh = lab.tb.exec_ok(&client, "ip", &["neigh"])?;
    println!("client ARP table:\n{}", neigh.trim_end());
    let code = lab.stop_lvsd();
    println!("== lvsd stopped (exit code {code:?}); its counters:");
    for line in lab
        .tb
        .log("lvsd")
        .lines()
        .filter(|l| l.contains("counters") || l.contains("mempool"))
    {
        println!("  {}", line.trim());
    }
    println!("== tearing down");
    Ok(())
}
