//! `lvsd import`: the real binary on each sample configuration under
//! tests/data/import/ (written from each tool's manual, every construct the
//! README's mapping table lists); its output passes the real `lvsd check`,
//! and every warning names an existing source line and quotes it.
use std::path::{Path, PathBuf};
use std::process::Command;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name)
}

/// Runs `lvsd import FORMAT FILE`: (exit code, stdout, stderr).
fn import(format: &str, file: &Path) -> (i32, String, String) {
    let out = Command::new(LVSD)
        .arg("import")
        .arg(format)
        .arg(file)
        .output()
        .expect("run lvsd import");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `lvsd check` on `toml`: (exit code, stdout).
fn check(toml: &str, tag: &str) -> (i32, String) {
    let p = std::env::temp_dir().join(format!("lvsd-import-{tag}-{}.toml", std::process::id()));
    std::fs::write(&p, toml).expect("write");
    let out = Command::new(LVSD)
        .args(["check", "-c"])
        .arg(&p)
        .output()
        .expect("run lvsd check");
    let _ = std::fs::remove_file(&p);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every `warning:` of `stderr` as (file, line, message), each checked to
/// name an existing line of its file and quote it on the next line.
fn warnings(stderr: &str) -> Vec<(String, usize, String)> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("warning: ") else {
            assert!(
                l.starts_with("    | ") || l.starts_with("note: ") || l.ends_with("warning(s): each names a source line lvsd does not carry (or carries differently)"),
                "unexpected stderr line {l:?}"
            );
            continue;
        };
        let mut parts = rest.splitn(3, ':');
        let (file, line, msg) = (parts.next(), parts.next(), parts.next());
        let (Some(file), Some(Ok(line)), Some(msg)) = (file, line.map(str::parse::<usize>), msg)
        else {
            panic!("a warning names FILE:LINE: {l:?}");
        };
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{l}: {file}: {e}"));
        let src = text
            .lines()
            .nth(line.wrapping_sub(1))
            .unwrap_or_else(|| panic!("{l}: no line {line}"));
        assert!(!src.trim().is_empty(), "{l}: line {line} is empty");
        assert_eq!(
            lines.get(i + 1).copied(),
            Some(format!("    | {}", src.trim()).as_str()),
            "{l}"
        );
        out.push((file.to_string(), line, msg.trim().to_string()));
    }
    out
}

/// The 1-based line of `file` that contains `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("read");
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

/// Imports `file`, checks the output with `lvsd check`, checks each
/// warning, and returns the configuration and the warnings.
fn import_and_check(
    format: &str,
    name: &str,
) -> (lvsd::config::Model, Vec<(String, usize, String)>) {
    let file = data(name);
    let (code, toml, err) = import(format, &file);
    assert_eq!(code, 0, "{err}");
    let (code, out) = check(&toml, format);
    assert_eq!((code, out.trim()), (0, "ok"), "{toml}");
    let ws = warnings(&err);
    assert!(err.contains("note: [dpdk] lcores"), "{err}");
    (lvsd::config::load(&toml).expect("loads"), ws)
}

#[track_caller]
fn assert_warned(ws: &[(String, usize, String)], file: &Path, needle: &str, text: &str) {
    let line = line_of(file, needle);
    let f = file.display().to_string();
    assert!(
        ws.iter().any(
            |(wf, wl, m)| wf.ends_with(f.rsplit('/').next().unwrap_or(&f))
                && *wl == line
                && m.contains(text)
        ),
        "no warning at {}:{line} ({needle:?}) containing {text:?} in {ws:#?}",
        file.display()
    );
}

#[test]
fn keepalived_sample_imports_and_passes_check() {
    let (m, ws) = import_and_check("keepalived", "keepalived.conf");
    let f = data("keepalived.conf");
    // Services from the main file, the included one and the group.
    let keys: Vec<String> = m
        .services
        .iter()
        .map(|s| format!("{}:{}", s.vip, s.port))
        .collect();
    for k in [
        "192.168.200.16:25",
        "192.168.200.16:80",
        "192.168.200.16:53",
        "192.168.200.21:80",
        "192.168.200.22:80",
        "192.168.200.18:0",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
    }
    let ha = m.ha.as_ref().expect("[ha]");
    assert_eq!(ha.track.len(), 1, "vrrp_script chk_ipvs, tracked by VI_EXT");
    for (needle, text) in [
        ("SMTP_CHECK", "not carried (yet)"),
        ("PING_CHECK", "not carried (yet)"),
        ("FILE_CHECK", "not carried (yet)"),
        ("virtual_server fwmark 80", "firewall-mark"),
        ("fwmark 7", "firewall-mark"),
        ("2001:db8::80", "IPv6"),
        ("lb_kind TUN type gue", "IPIP only"),
        ("http_protocol 1.1", "HTTP/1.0"),
        ("virtual_server 192.168.200.19", "needs persistence"),
    ] {
        assert_warned(&ws, &f, needle, text);
    }
}

#[test]
fn ldirectord_sample_imports_and_passes_check() {
    let (m, ws) = import_and_check("ldirectord", "ldirectord.cf");
    let f = data("ldirectord.cf");
    assert_eq!(
        m.services.len(),
        11,
        "{:#?}",
        m.services.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for (needle, text) in [
        ("checktype=ping", "not carried (yet)"),
        ("virtual=10", "firewall-mark"),
        ("virtual6", "IPv6"),
        ("service=mysql", "TCP connect"),
        ("emailalert=\"admin", "no email"),
    ] {
        assert_warned(&ws, &f, needle, text);
    }
}

#[test]
fn piranha_sample_imports_and_passes_check() {
    let (m, ws) = import_and_check("piranha", "lvs.cf");
    let f = data("lvs.cf");
    assert_eq!(m.services.len(), 3);
    assert!(m.ha.is_some());
    for (needle, text) in [
        ("fwmark = 80", "firewall-mark"),
        ("virtual OFF", "not active"),
        ("load_monitor = uptime", "load"),
        ("expect = \"OK\"", "exit status"),
    ] {
        assert_warned(&ws, &f, needle, text);
    }
}

#[test]
fn an_unreadable_file_is_an_error() {
    let (code, out, err) = import("keepalived", &data("no-such-file.conf"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("cannot read"), "{err}");
}

/// Blocks of keepalived whose lines are values (addresses, names), not
/// keywords.
const LIST_BLOCKS: &[&str] = &[
    "notification_email",
    "group",
    "track_interface",
    "track_script",
    "unicast_peer",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "static_routes",
    "virtual_server_group",
];

/// The keywords a sample uses (first words; `key` of `key = value`).
fn keywords(name: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(data(name)).expect("sample");
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split(['#', '!']).next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let key = l
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("")
            .to_string();
        let in_list = stack
            .last()
            .is_some_and(|b| LIST_BLOCKS.contains(&b.as_str()));
        if key != "}" && !key.is_empty() && !in_list {
            out.push((i + 1, key.clone()));
        }
        if l.ends_with('{') {
            stack.push(key);
        } else if l == "}" {
            stack.pop();
        }
    }
    out
}

/// The README's mapping table names every keyword the samples use (the
/// samples hold every construct the importers know).
#[test]
fn readme_table_names_every_keyword_of_the_samples() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let start = readme
        .find("## Importing a keepalived, ldirectord or Piranha configuration")
        .expect("the README's import section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    let words: std::collections::BTreeSet<&str> = section[..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')))
        .filter(|w| !w.is_empty())
        .collect();
    let mut missing = Vec::new();
    for name in [
        "keepalived.conf",
        "keepalived.d/mail.conf",
        "ldirectord.cf",
        "lvs.cf",
    ] {
        for (line, k) in keywords(name) {
            if !words.contains(k.as_str()) {
                missing.push(format!("{name}:{line}: {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the README's import table does not name:\n{}",
        missing.join("\n")
    );
}
