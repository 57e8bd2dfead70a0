//! Shared parts of lvsd's fuzz targets: the datapath's traffic model and
//! the invariants its output must keep.
pub mod check;
pub mod traffic;
