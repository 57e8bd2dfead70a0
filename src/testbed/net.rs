//! Command helpers and namespace clean-up for the testbed.
use std::process::Command;

/// Run a command; (success, stdout, stderr). Errors only if it cannot start.
pub fn run(cmd: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {cmd}: {e}"))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Run a command that must succeed; its stdout.
pub fn run_ok(cmd: &str, args: &[&str]) -> anyhow::Result<String> {
    let (ok, out, err) = run(cmd, args)?;
    if !ok {
        anyhow::bail!(
            "{cmd} {} failed: {}{}",
            args.join(" "),
            err.trim(),
            out.trim()
        );
    }
    Ok(out)
}

/// Run a shell snippet that must succeed; its stdout.
pub fn sh_ok(script: &str) -> anyhow::Result<String> {
    run_ok("sh", &["-c", script])
}

/// Send a signal to a process by PID.
pub fn kill(pid: u32, signal: i32) -> std::io::Result<()> {
    let (ok, _, err) =
        run("kill", &[&format!("-{signal}"), &pid.to_string()]).map_err(std::io::Error::other)?;
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(err))
    }
}

/// Kill every process inside `ns` (by PID, from `ip netns pids`) and delete it.
pub fn delete_netns(ns: &str) {
    if let Ok((_, pids, _)) = run("ip", &["netns", "pids", ns]) {
        for pid in pids.split_whitespace() {
            let _ = run("kill", &["-9", pid]);
        }
    }
    let _ = run("ip", &["netns", "delete", ns]);
}

/// Delete namespaces whose tag names a process that no longer exists
/// (left behind by an interrupted test run).
pub fn reap_stale() {
    let Ok((_, list, _)) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix("lt") else {
            continue;
        };
        // The tag is lt<pid hex>g<counter>.
        let Some(pid) = rest
            .split('g')
            .next()
            .and_then(|p| u32::from_str_radix(p, 16).ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            delete_netns(name);
        }
    }
}
