//! `lvsd demo`: the README's first command. Builds the standard lab in
//! network namespaces (one client, three real servers running small HTTP
//! servers), runs lvsd on the embedded configuration (`conf/nat-web.toml`:
//! VIP 198.18.0.100:80, NAT, wrr 3:2:1), sends 600 HTTP requests from the
//! client through the VIP, shows how they spread and lvsd's connection
//! table, and tears everything down.
use crate::testbed::lab::{client_addr, real_addr, Lab};
use crate::testbed::Testbed;
use std::time::Duration;

/// The embedded default configuration.
pub const CONFIG: &str = include_str!("../conf/nat-web.toml");
const SERVER: &str = include_str!("../tests/tools/server.py");
const CLIENT: &str = include_str!("../tests/tools/client.py");

/// Run the demo.
pub fn run() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?.to_string_lossy().to_string();
    println!(
        "== lab: client {} on the ext side; real servers {}, {}, {} on the int side",
        client_addr(0),
        real_addr(0),
        real_addr(1),
        real_addr(2)
    );
    let mut lab = Lab::new(1, 3)?;
    let client = start_servers(&mut lab)?;
    println!("== lvsd on the embedded configuration (conf/nat-web.toml): VIP 198.18.0.100:80, NAT, wrr, weights 3:2:1");
    let config = CONFIG.replace(
        "lcores = \"0-1\"",
        "lcores = \"0-1\"\nfile_prefix = \"lvsd-demo\"",
    );
    lab.start_lvsd(&exe, &config)?;
    send_traffic(&lab, &client)?;
    show_connections(&lab)?;
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
    println!("== tearing the lab down");
    Ok(())
}

/// Write the tools into the lab's directory and start an HTTP server in
/// each real server's namespace; returns the client tool's path.
fn start_servers(lab: &mut Lab) -> anyhow::Result<String> {
    let server = lab.tb.dir.join("server.py");
    let client = lab.tb.dir.join("client.py");
    std::fs::write(&server, SERVER)?;
    std::fs::write(&client, CLIENT)?;
    let (server, client) = (
        server.to_string_lossy().to_string(),
        client.to_string_lossy().to_string(),
    );
    for (i, ns) in lab.reals.clone().iter().enumerate() {
        let label = format!("http{i}");
        lab.tb.spawn(
            &label,
            ns,
            "python3",
            &[&server, "http", "80", &real_addr(i)],
        )?;
        if !Testbed::wait_for(Duration::from_secs(10), || {
            lab.tb.log(&label).contains("listening")
        }) {
            anyhow::bail!("HTTP server on {} did not start", real_addr(i));
        }
    }
    Ok(client)
}

/// From the client: a ping to the VIP, then 600 HTTP requests through it.
fn send_traffic(lab: &Lab, client: &str) -> anyhow::Result<()> {
    let c = lab.clients[0].clone();
    let (ok, out, _) = lab.tb.exec(
        &c,
        "ping",
        &["-c", "2", "-i", "0.2", "-W", "2", "198.18.0.100"],
    )?;
    let summary = out
        .lines()
        .find(|l| l.contains("transmitted"))
        .unwrap_or("no answer");
    println!(
        "client pings the VIP: {} ({summary})",
        if ok { "answered by lvsd" } else { "FAILED" }
    );
    let (_, out, _) = lab.tb.exec(
        &c,
        "ping",
        &["-c", "5", "-i", "0.2", "-W", "2", "198.18.0.1"],
    )?;
    let replies = out.lines().filter(|l| l.contains("bytes from")).count();
    let dups = out.matches("DUP!").count();
    println!(
        "client pings the director (198.18.0.1): {} replies, {dups} duplicates (the kernel ignores lvsd's ports)",
        replies - dups
    );

    println!("== client: 600 HTTP requests to http://198.18.0.100/, a new TCP connection each");
    let out = lab.tb.exec_ok(
        &c,
        "python3",
        &[client, "http", "198.18.0.100", "80", "600"],
    )?;
    println!(
        "answers per real server (JSON from the client): {}",
        out.trim()
    );
    Ok(())
}

/// lvsd's connection table (SIGUSR1 dumps it to its log): the first
/// entries and the count per real server.
fn show_connections(lab: &Lab) -> anyhow::Result<()> {
    let Some(pid) = lab.tb.pid("lvsd") else {
        return Ok(());
    };
    crate::testbed::signal(pid, libc::SIGUSR1)?;
    Testbed::wait_for(Duration::from_secs(3), || {
        lab.tb.log("lvsd").contains(" entries (")
    });
    let log = lab.tb.log("lvsd");
    let table: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("IPVS connection entries"))
        .take_while(|l| !l.starts_with("-- "))
        .collect();
    println!(
        "== lvsd connection table (ipvsadm -Lnc format, first 8 of {} entries):",
        table.len().saturating_sub(2)
    );
    for l in table.iter().take(10) {
        println!("  {l}");
    }
    let mut per_real = std::collections::BTreeMap::new();
    for l in table.iter().skip(2) {
        if let Some(dest) = l.split_whitespace().last() {
            *per_real.entry(dest.to_string()).or_insert(0) += 1;
        }
    }
    println!("  entries per real server: {per_real:?}");
    Ok(())
}
