//! The HA service as a client sees it: the heartbeats that `hadrill-workload observe` recorded
//! on the storage server's clock, turned into timeline events, downtime, and the intervals in
//! which two nodes' writers were live at once (split brain).

mod analysis;
mod parse;

pub use analysis::{
    Downtime, LIVENESS_SERVICE, Outage, Overlap, activity, downtime, downtime_with_gap, nominal_gap, overlaps,
    shared_interval,
};
pub use parse::{Beat, BeatKind, WorkloadError, parse_observer_log, read_observer_log};
