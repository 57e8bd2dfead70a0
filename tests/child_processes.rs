//! Child processes started by lvsd (README, "Child processes"): flapping
//! notify events are coalesced, children are always reaped, a command past
//! its timeout loses its whole process group. Its own test binary, so that
//! /proc shows only the children these tests start.
mod common;
use lvsd::health::{Notifier, NotifyEvent};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests count this process's children: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvsd-children-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (pid, state) of every process whose parent is this test process.
fn own_children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some((state, ppid)) = stat(pid) else {
            continue;
        };
        if ppid == me {
            v.push((pid, state));
        }
    }
    v
}

/// (state, ppid) of `pid`, `None` once it is gone.
fn stat(pid: u32) -> Option<(char, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces; split after the ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

fn role(i: usize) -> NotifyEvent {
    let role = ["active", "backup", "fault"][i % 3];
    NotifyEvent::Role {
        role,
        node: "d1".into(),
        reason: format!("flap {i}"),
    }
}

fn script(dir: &Path, body: &str) -> String {
    let p = dir.join("notify.sh");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    format!("sh {}", p.display())
}

#[test]
fn fifty_flaps_coalesce_and_leave_no_zombies() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmpdir("flaps");
    let log = dir.join("log");
    let cmd = script(
        &dir,
        &format!(
            "echo \"$1 $LVSD_REASON\" >> {}\nexec sleep 60",
            log.display()
        ),
    );
    let mut n = Notifier::with_timeout(8, Duration::from_secs(2));
    let mut most = 0;
    for i in 0..50 {
        n.notify(&cmd, &role(i));
        n.reap();
        most = most.max(own_children().len());
        std::thread::sleep(Duration::from_millis(2));
    }
    let end = Instant::now() + Duration::from_secs(8);
    let last = "backup flap 49";
    loop {
        n.reap();
        let kids = own_children();
        most = most.max(kids.len());
        let zombies: Vec<_> = kids.iter().filter(|(_, s)| *s == 'Z').collect();
        let lines = std::fs::read_to_string(&log).unwrap_or_default();
        let done = lines.lines().last() == Some(last) && n.running() == 0;
        if done && zombies.is_empty() {
            let runs = lines.lines().count();
            assert_eq!(runs, 2, "the first and the last state only: {lines}");
            break;
        }
        assert!(Instant::now() < end, "zombies {zombies:?}, log {lines:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(most <= 2, "{most} children alive at once");
    assert!(n.coalesced() >= 40, "{}", n.coalesced());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmpdir("group");
    let pidfile = dir.join("grandchild");
    let cmd = script(
        &dir,
        &format!(
            "sleep 60 &\necho $! > {}\nenv > {}\nsleep 60",
            pidfile.display(),
            dir.join("env").display()
        ),
    );
    let mut n = Notifier::with_timeout(4, Duration::from_millis(200));
    assert!(n.notify(&cmd, &role(0)));
    let end = Instant::now() + Duration::from_secs(5);
    let grandchild = loop {
        n.reap();
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break p;
        }
        assert!(Instant::now() < end, "no grandchild started");
        std::thread::sleep(Duration::from_millis(10));
    };
    loop {
        n.reap();
        // Gone, or a zombie left to its new parent (not this process).
        let dead = match stat(grandchild) {
            None => true,
            Some((s, _)) => s == 'Z',
        };
        if dead && n.running() == 0 && own_children().is_empty() {
            break;
        }
        assert!(
            Instant::now() < end,
            "grandchild {grandchild}: {:?}, children {:?}",
            stat(grandchild),
            own_children()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A cleared environment: PATH and the LVSD_* variables only.
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    for line in env.lines() {
        let name = line.split('=').next().unwrap_or("");
        assert!(
            name == "PATH"
                || name.starts_with("LVSD_")
                || name == "PWD"
                || name == "SHLVL"
                || name == "_",
            "unexpected variable {line}"
        );
    }
    assert!(env.contains("LVSD_REASON=flap 0"), "{env}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[children] run_as`: a notify command runs as that user (and its
/// primary group), here `nobody`, writing `id -u` and `id -g` to a file in
/// a directory it can write.
#[test]
fn a_notify_runs_as_the_run_as_user() {
    if common::need_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmpdir("run-as");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.join("ids");
    let cmd = script(&dir, &format!("echo $(id -u) $(id -g) > {}", out.display()));
    let m = lvsd::config::load(
        "[dpdk]\nlcores = \"0-1\"\n\n[[port]]\nname = \"ext\"\ndevice = \"net_af_packet0\"\naddress = \"198.18.0.1/24\"\n\n[children]\nrun_as = \"nobody\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run_as = m.children.run_as.expect("run_as");
    lvsd::health::child::set_run_as(Some(&run_as));
    let mut n = Notifier::with_timeout(4, Duration::from_secs(5));
    let started = n.notify(&cmd, &role(0));
    lvsd::health::child::set_run_as(None);
    assert!(started, "notify started");
    let end = Instant::now() + Duration::from_secs(5);
    while n.running() > 0 && Instant::now() < end {
        n.reap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let ids = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        ids.trim(),
        format!("{} {}", run_as.uid, run_as.gid),
        "the notify ran as nobody"
    );
    assert_ne!(run_as.uid, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
