//! Finds DPDK with pkg-config, generates bindings for `dpdk-wrap/wrap.h` with
//! bindgen, and compiles the C shims in `dpdk-wrap/wrap.c`. Linking is
//! dynamic so that EAL autoloads the poll-mode drivers from Debian's pmds dir.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=dpdk-wrap/wrap.h");
    println!("cargo:rerun-if-changed=dpdk-wrap/wrap.c");
    let lib = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("DPDK not found by pkg-config: apt-get install libdpdk-dev pkg-config");

    // Every token of `pkg-config --cflags libdpdk` goes to both bindgen and cc
    // (it carries `-include rte_config.h` and `-march=corei7`, which rte_memcpy needs).
    let out = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("running pkg-config");
    let cflags: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let mut build = cc::Build::new();
    build.file("dpdk-wrap/wrap.c").opt_level(3).warnings(false);
    for f in &cflags {
        build.flag(f);
    }
    for p in &lib.include_paths {
        build.include(p);
    }
    build.compile("lvsd_wrap");

    let bindings = bindgen::Builder::default()
        .header("dpdk-wrap/wrap.h")
        .clang_args(&cflags)
        .allowlist_function("rte_.*|lvsd_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .opaque_type("rte_arp_hdr|rte_arp_ipv4|rte_l2tpv2_combined_msg_hdr|rte_gtp_psc_generic_hdr")
        .blocklist_type("max_align_t")
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .clang_macro_fallback()
        .generate()
        .expect("bindgen over dpdk-wrap/wrap.h");
    let out_path = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out_path.join("dpdk_bindings.rs"))
        .expect("writing bindings");
}
