//! HA stacks: one module per stack, each mapping its own states and log lines onto the
//! normalised timeline.

pub mod pve;
