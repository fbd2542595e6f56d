//! HA stacks: one module per stack, each mapping its own states and log lines onto the
//! normalised timeline. The journal framing is shared (`journal`); each stack has its own
//! message grammar.

mod corosync;
pub(crate) mod journal;

pub use journal::FramingError;
pub mod pacemaker;
pub mod pve;
