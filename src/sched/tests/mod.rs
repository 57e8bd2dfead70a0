//! Tests that span `sched`'s files (one file per topic).
mod prop;
