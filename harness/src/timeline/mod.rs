//! The timeline: every event from every source on one clock, and the normalised snapshot
//! form used for golden files and for diffing a scenario across HA stack versions.

mod event;
mod model;
mod seconds;
mod snapshot;
mod state;

pub use event::{Event, EventData, FaultKind, FencePhase, LockAction, ServiceOp};
pub use model::{JsonlError, Meta, Timeline};
pub use seconds::Seconds;
pub use snapshot::{Roles, bucket, snapshot};
pub use state::{NodeState, PowerState, ServiceState};
