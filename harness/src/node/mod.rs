//! SSH to the lab's VMs (russh): the run's key pair and pinned host keys, sessions with
//! keepalives and a time limit on every call, a pool that opens a node's session again after
//! it died, one long-lived journal stream per node, and the measurement of each guest's clock
//! against the host's.

mod clock;
mod clockmap;
mod error;
mod fleet;
mod journal;
mod keys;
mod known_hosts;
mod pool;
mod ssh;

pub use clock::{ClockOffset, ClockSample, best_offset, measure_offset};
pub use clockmap::{ClockMap, MapStats, Stall};
pub use error::SshError;
pub use fleet::{Fleet, connect_fleet};
pub use journal::{JournalEntry, JournalItem, JournalStream, parse_journal_line};
pub use keys::RunKey;
pub use known_hosts::KnownHosts;
pub use pool::SessionPool;
pub use ssh::{NodeSession, Output, RawOutput, SessionOptions};
