//! `lvsd check`: every file in conf/ is a working example; a bad file gets
//! every error, each naming its key and line, and exit code 1.
use std::process::Command;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn check(path: &std::path::Path) -> (i32, String) {
    let out = Command::new(LVSD)
        .args(["check", "-c"])
        .arg(path)
        .output()
        .expect("run lvsd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_example_in_conf_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("conf/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let (code, out) = check(&p);
            assert_eq!((code, out.trim()), (0, "ok"), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 2, "conf/ holds the examples");
}

#[test]
fn three_mistakes_three_errors() {
    let text = r#"
[dpdk]
lcores = "0-1"

[[port]]
name = "ext"
device = "net_af_packet0,iface=lv-ext"
address = "198.18.0.1/33"

[[neighbor]]
port = "nope"
address = "198.18.0.9"
mac = "02:00:00:00:00:09"

[[route]]
destination = "0.0.0.0/0"
via = "not-an-address"
"#;
    let dir = std::env::temp_dir().join(format!("lvsd-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.toml");
    std::fs::write(&p, text).unwrap();
    let (code, out) = check(&p);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 3, "{out}");
    assert!(errors[0].contains("port[0].address (line 8)"), "{out}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("neighbor[0].port (line 11)")),
        "{out}"
    );
    assert!(
        errors.iter().any(|e| e.contains("route[0].via (line 17)")),
        "{out}"
    );
}

#[test]
fn unknown_key_is_an_error() {
    let text = "[dpdk]\nlcores = \"0-1\"\nturbo = true\n[[port]]\nname = \"ext\"\ndevice = \"net_null0\"\naddress = \"198.18.0.1/24\"\n";
    let p = std::env::temp_dir().join(format!("lvsd-unknown-{}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    let (code, out) = check(&p);
    let _ = std::fs::remove_file(&p);
    assert_eq!(code, 1);
    assert!(out.contains("turbo") && out.contains("line 3"), "{out}");
}

#[test]
fn seven_mistakes_of_seven_kinds_in_one_run() {
    // A wrong type, an unknown key, a duplicate port name, a bad CIDR, a
    // bad listen address, an unknown scheduler, a negative weight.
    let text = include_str!("data/seven-mistakes.toml");
    let p = std::env::temp_dir().join(format!("lvsd-seven-{}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    let (code, out) = check(&p);
    let _ = std::fs::remove_file(&p);
    assert_eq!(code, 1, "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    let expected = [
        "error: dpdk.burst (line 3): invalid type: string \"many\", expected an integer",
        "error: port[0].speed (line 9): unknown key `speed`",
        "error: port[1].name (line 12): duplicate port name 'ext'",
        "error: port[1].address (line 14): invalid IPv4 prefix '198.18.1.1/33'",
        "error: metrics.listen (line 17): invalid listen address 'localhost'",
        "error: service[0].scheduler (line 23): unknown scheduler 'fastest'",
        "error: service[0].real[0].weight (line 27): invalid value -1",
    ];
    assert_eq!(errors.len(), expected.len(), "{out}");
    for (got, want) in errors.iter().zip(expected) {
        assert!(
            got.starts_with(want),
            "got {got:?}, want {want:?}...\n{out}"
        );
    }
}

#[test]
fn too_few_mbufs_name_the_field_and_the_number_needed() {
    let ports = "[[port]]\nname = \"ext\"\ndevice = \"net_af_packet0,iface=lv-ext\"\naddress = \"198.18.0.1/24\"\nrx_queues = 2\n\n\
                 [[port]]\nname = \"int\"\ndevice = \"net_af_packet1,iface=lv-int\"\naddress = \"198.18.1.1/24\"\nrx_queues = 2\n";
    let dir = std::env::temp_dir().join(format!("lvsd-mbufs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two workers, two queues per port: the old default of 8191 is too few.
    let small = dir.join("small.toml");
    std::fs::write(
        &small,
        format!("[dpdk]\nlcores = \"0-2\"\nmbufs = 8191\n\n{ports}"),
    )
    .unwrap();
    let (code, out) = check(&small);
    // Unset: the pool is sized for them.
    let unset = dir.join("unset.toml");
    std::fs::write(&unset, format!("[dpdk]\nlcores = \"0-2\"\n\n{ports}")).unwrap();
    let (code_unset, out_unset) = check(&unset);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(
        errors[0].starts_with(
            "error: dpdk.mbufs (line 3): 8191 mbufs are too few: at least 14656 are needed"
        ),
        "{out}"
    );
    assert_eq!((code_unset, out_unset.trim()), (0, "ok"));
}
