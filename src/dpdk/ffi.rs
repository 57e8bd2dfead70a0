//! Raw bindings generated at build time by bindgen over `dpdk-wrap/wrap.h`
//! (see `build.rs`: allowlists `rte_.*` and the `lvsd_*` shims). Nothing
//! outside `src/dpdk/` touches these.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    improper_ctypes,
    unnecessary_transmutes,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
include!(concat!(env!("OUT_DIR"), "/dpdk_bindings.rs"));
