//! One thing that happened, from any source (HA stack log, stack status, hypervisor, fault
//! injector, workload), on the run's single clock.
//!
//! The JSON-lines form is a contract other tools rely on: every event has `kind` and `t`
//! first, then the fields of its kind. Raw states are kept exactly as the stack wrote them;
//! normalised ones sit beside them under `*_state` keys.

use serde::{Deserialize, Serialize};

use super::{NodeState, PowerState, Seconds, ServiceState};

/// An event on the timeline.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Event {
    /// Seconds since the start of the log or run.
    pub t: Seconds,
    #[serde(flatten)]
    pub data: EventData,
    /// Who reported it, e.g. `node1/crm`, `cmdlist`, `hypervisor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// 1-based line in the source log, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// Faults and heals, from the simulator's command list or from hadrill's own fault catalogue.
/// The first four are the simulator's words and part of the JSON contract of `analyze`;
/// hadrill's lab writes a power pull as `power-off` and a cut cluster link as `network-off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    PowerOff,
    PowerOn,
    NetworkOff,
    NetworkOn,
    StorageOff,
    StorageOn,
    KillProcess,
    StopService,
    StartService,
    FreezeIo,
    ThawIo,
    FreezeWatchdog,
    ThawWatchdog,
    Pause,
    Resume,
    Reboot,
}

impl FaultKind {
    pub const ALL: &'static [FaultKind] = &[
        FaultKind::PowerOff,
        FaultKind::PowerOn,
        FaultKind::NetworkOff,
        FaultKind::NetworkOn,
        FaultKind::StorageOff,
        FaultKind::StorageOn,
        FaultKind::KillProcess,
        FaultKind::StopService,
        FaultKind::StartService,
        FaultKind::FreezeIo,
        FaultKind::ThawIo,
        FaultKind::FreezeWatchdog,
        FaultKind::ThawWatchdog,
        FaultKind::Pause,
        FaultKind::Resume,
        FaultKind::Reboot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::PowerOff => "power-off",
            FaultKind::PowerOn => "power-on",
            FaultKind::NetworkOff => "network-off",
            FaultKind::NetworkOn => "network-on",
            FaultKind::StorageOff => "storage-off",
            FaultKind::StorageOn => "storage-on",
            FaultKind::KillProcess => "kill-process",
            FaultKind::StopService => "stop-service",
            FaultKind::StartService => "start-service",
            FaultKind::FreezeIo => "freeze-io",
            FaultKind::ThawIo => "thaw-io",
            FaultKind::FreezeWatchdog => "freeze-watchdog",
            FaultKind::ThawWatchdog => "thaw-watchdog",
            FaultKind::Pause => "pause",
            FaultKind::Resume => "resume",
            FaultKind::Reboot => "reboot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    /// Whether this undoes an earlier fault rather than causing one.
    pub fn is_heal(self) -> bool {
        matches!(
            self,
            FaultKind::PowerOn
                | FaultKind::NetworkOn
                | FaultKind::StorageOn
                | FaultKind::StartService
                | FaultKind::ThawIo
                | FaultKind::ThawWatchdog
                | FaultKind::Resume
        )
    }
}

/// Steps of fencing a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FencePhase {
    /// The manager decided to fence the node.
    Started,
    /// Fencing is confirmed (PVE: the manager got the node's agent lock).
    Acknowledged,
    Failed,
}

/// What a lock event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockAction {
    Acquired,
    Released,
    Lost,
}

/// An operation of the local resource manager on one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceOp {
    /// The node begins to start the service.
    Start,
    /// The node reports the service running.
    Running,
    /// The node begins to stop the service.
    Stop,
    /// The node reports the service stopped.
    Stopped,
    /// Migration or relocation away from the node began.
    MoveBegin,
    /// Migration or relocation finished: the service now runs on `target`.
    MoveEnd,
    /// A start or stop failed.
    Failed,
}

/// The body of an event, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EventData {
    /// The HA manager changed a service's state.
    Service {
        service: String,
        /// Raw state, exactly as the stack wrote it.
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_state: Option<ServiceState>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_state: Option<ServiceState>,
        /// The node the service is placed on after the change, when the log says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        /// Migration or relocation target, when the log says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// The HA manager changed a node's state.
    Node {
        node: String,
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_state: Option<NodeState>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_state: Option<NodeState>,
    },
    /// A fault injected or healed.
    Fault {
        node: String,
        fault: FaultKind,
        /// The scenario step that did it, in a run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    /// Fencing of a node.
    Fence { node: String, phase: FencePhase },
    /// A node's power changed, as the hypervisor or simulated hardware saw it.
    Power {
        node: String,
        state: PowerState,
        /// Why, e.g. `watchdog`, `fault`, `reboot`, `shutdown`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A watchdog fired or changed state on a node.
    Watchdog {
        node: String,
        /// What happened: `expired`, `reset`, `armed`, `disarmed`, `closed`.
        action: String,
    },
    /// The cluster's HA manager master changed.
    Master { node: String },
    /// A daemon's own state machine changed (PVE CRM/LRM `status change A => B`).
    Daemon { node: String, daemon: String, from: String, to: String },
    /// A cluster lock was acquired, released or lost.
    Lock { node: String, lock: String, action: LockAction },
    /// A node's view of quorum changed.
    Quorum {
        node: String,
        quorate: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Vec<String>>,
    },
    /// The local resource manager of `node` acted on a service.
    ServiceOp {
        service: String,
        node: String,
        op: ServiceOp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// The manager chose where to recover a service of a fenced node (`to` absent: nowhere).
    Recovery {
        service: String,
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// A service failed to start, stop or move, or ran out of retries.
    ServiceError {
        service: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry: Option<u32>,
    },
    /// The HA manager started or stopped tracking a service (added, removed, ignored,
    /// disarmed), or learnt that it was moved while untracked. While a service is untracked,
    /// where it runs is not known from the HA stack.
    Tracking {
        service: String,
        tracked: bool,
        /// `added`, `removed`, `disarmed`, `moved-while-disarmed`.
        reason: String,
        /// Where the manager places it from now on, when the log says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// The HA service's own workload as a client sees it: a writer on `node` became active
    /// (heartbeats arriving) or went silent. Recorded on the storage server's clock, so a
    /// paused node's wrong guest clock cannot hide an overlap.
    Workload {
        service: String,
        node: String,
        active: bool,
        /// The heartbeat sequence number that marks the change, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A node's liveness beacon, as the storage server saw it: hadrill's own writer on every
    /// node, outside the HA stack, beating while the node runs at all. `alive`: its run of
    /// beats began; otherwise its last beat. Evidence against a fence that did not happen.
    Liveness {
        node: String,
        alive: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A command given to the cluster: the simulator's command list, or an operator action.
    Command {
        command: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// A warning or error the reader did not map to anything more specific.
    Log { level: String, message: String },
}

impl EventData {
    /// The `kind` tag as written in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::Service { .. } => "service",
            EventData::Node { .. } => "node",
            EventData::Fault { .. } => "fault",
            EventData::Fence { .. } => "fence",
            EventData::Power { .. } => "power",
            EventData::Watchdog { .. } => "watchdog",
            EventData::Master { .. } => "master",
            EventData::Daemon { .. } => "daemon",
            EventData::Lock { .. } => "lock",
            EventData::Quorum { .. } => "quorum",
            EventData::ServiceOp { .. } => "service-op",
            EventData::Recovery { .. } => "recovery",
            EventData::ServiceError { .. } => "service-error",
            EventData::Tracking { .. } => "tracking",
            EventData::Workload { .. } => "workload",
            EventData::Liveness { .. } => "liveness",
            EventData::Command { .. } => "command",
            EventData::Log { .. } => "log",
        }
    }

    /// The node this event is about, if it is about one.
    pub fn node(&self) -> Option<&str> {
        match self {
            EventData::Node { node, .. }
            | EventData::Fault { node, .. }
            | EventData::Fence { node, .. }
            | EventData::Power { node, .. }
            | EventData::Watchdog { node, .. }
            | EventData::Master { node }
            | EventData::Daemon { node, .. }
            | EventData::Lock { node, .. }
            | EventData::Quorum { node, .. }
            | EventData::ServiceOp { node, .. }
            | EventData::Workload { node, .. }
            | EventData::Liveness { node, .. } => Some(node),
            EventData::Service { node, .. }
            | EventData::ServiceError { node, .. }
            | EventData::Command { node, .. }
            | EventData::Tracking { node, .. } => node.as_deref(),
            EventData::Recovery { from, .. } => Some(from),
            EventData::Log { .. } => None,
        }
    }

    /// The service this event is about, if it is about one.
    pub fn service(&self) -> Option<&str> {
        match self {
            EventData::Service { service, .. }
            | EventData::ServiceOp { service, .. }
            | EventData::Recovery { service, .. }
            | EventData::ServiceError { service, .. }
            | EventData::Tracking { service, .. }
            | EventData::Workload { service, .. } => Some(service),
            _ => None,
        }
    }
}

impl Event {
    pub fn new(t: Seconds, data: EventData) -> Self {
        Event { t, data, by: None, line: None }
    }

    pub fn by(mut self, by: impl Into<String>) -> Self {
        self.by = Some(by.into());
        self
    }

    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

/// Wire form: `kind` and `t` first, then the body, then where it came from.
impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            kind: &'static str,
            t: Seconds,
            #[serde(flatten)]
            body: Untagged<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            by: &'a Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            line: Option<u64>,
        }
        /// The body without its tag: serde writes the tag first, and `t` must come second.
        struct Untagged<'a>(&'a EventData);
        impl Serialize for Untagged<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let value = serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?;
                let serde_json::Value::Object(map) = value else {
                    return Err(serde::ser::Error::custom("event body is not an object"));
                };
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter().filter(|(k, _)| *k != "kind") {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        Wire { kind: self.data.kind(), t: self.t, body: Untagged(&self.data), by: &self.by, line: self.line }
            .serialize(s)
    }
}
