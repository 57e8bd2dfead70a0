//! lvsd: a Linux Virtual Server director on DPDK.
//!
//! Layers (see ARCHITECTURE.md): `packet` (pure wire views), `frame` (the buffer
//! abstraction), `datapath` (pure per-packet logic), `config` (TOML →
//! validated model), `dpdk` (the only module allowed unchecked code: `unsafe_code` is denied elsewhere by the compiler), `worker` (lcore
//! loops), `app` (the management side of `lvsd run`), `testbed`
//! (namespaces for end-to-end tests and the demo).
#![deny(unsafe_code)]
pub mod app;
pub mod config;
pub mod conn;
pub mod ctl;
pub mod datapath;
pub mod demo;
#[allow(unsafe_code)]
pub mod dpdk;
pub mod frame;
pub mod ha;
pub mod health;
pub mod import;
pub mod ipvsadm;
pub mod packet;
pub mod perfgen;
pub mod sched;
pub mod testbed;
pub mod types;
pub mod worker;
pub mod xlate;
