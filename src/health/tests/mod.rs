//! Tests that span `health`'s files (one file per topic).
mod exec;
mod net;
mod tls;
