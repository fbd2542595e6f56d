//! hadrill: a chaos and acceptance harness for VM high-availability clusters.
//!
//! The engine: scenario language, timeline, stack log readers, checks and reports. The
//! command line lives in `harness/cli` and is the only place that knows about clap.

pub mod analyze;
pub mod check;
pub mod exit;
pub mod fault;
pub mod fuzz;
pub mod image;
pub mod lab;
pub mod node;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stack;
pub mod timeline;
pub mod workload;
