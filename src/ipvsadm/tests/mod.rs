//! Tests that span `ipvsadm`'s files (one file per topic).
mod format;
mod parse;
mod roundtrip;
