//! lvsd: a Linux Virtual Server director on DPDK.
//!
//! Layers (see DESIGN.md): `packet` (pure wire views), `frame` (the buffer
//! abstraction), `datapath` (pure per-packet logic), `config` (TOML →
//! validated model), `dpdk` (the only place with `unsafe`), `worker` (lcore
//! loops), `app` (the management side of `lvsd run`), `testbed`
//! (namespaces for end-to-end tests and the demo).
pub mod app;
pub mod config;
pub mod conn;
pub mod ctl;
pub mod datapath;
pub mod demo;
pub mod dpdk;
pub mod frame;
pub mod ha;
pub mod health;
pub mod ipvsadm;
pub mod packet;
pub mod perfgen;
pub mod sched;
pub mod testbed;
pub mod types;
pub mod worker;
pub mod xlate;
