//! Proxmox VE HA: its raw states and the reader that turns its logs (the HA simulator's
//! output and journal exports of a real cluster) into a timeline.
//!
//! One message grammar (`grammar`), three framings (`simulator`, `journal` short and JSON).

mod error;
mod grammar;
mod journal;
mod read;
mod simulator;
mod states;
#[cfg(test)]
mod tests;

pub use error::LogError;
pub use read::{LogFormat, detect, parse, read_log};
pub use states::{NODE_STATES, SERVICE_STATES, node_state, service_state};
