//! The timeline: every event from every source on one clock, and the normalised snapshot
//! form used for golden files and for diffing a scenario across HA stack versions.

mod event;
mod seconds;
mod snapshot;
mod state;
mod timeline;

pub use event::{Event, EventData, FaultKind, FencePhase, LockAction, ServiceOp};
pub use seconds::Seconds;
pub use snapshot::{Roles, snapshot};
pub use state::{NodeState, PowerState, ServiceState};
pub use timeline::{Meta, Timeline};
