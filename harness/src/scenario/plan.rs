//! The validated scenario: every name resolved, every duration parsed, the stack's
//! capabilities checked. Nothing downstream ever sees the raw YAML.

use std::time::Duration;

use serde::Serialize;

use super::model::{NetworkKind, StackKind, StorageKind};
use crate::timeline::{FaultKind, PowerState};

/// Where something is written: `file:line:column`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Loc {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A validated scenario or expectation file.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub name: String,
    pub about: Option<String>,
    pub stack: Option<StackKind>,
    pub cluster: Option<ClusterPlan>,
    pub resources: Vec<ResourcePlan>,
    pub marks: Vec<Mark>,
    pub steps: Vec<Step>,
    /// Every expectation of the file: top-level `expect`, those inside steps, and `final`.
    pub expectations: Vec<Expectation>,
    pub invariants: Vec<Invariant>,
    /// A schedule to draw (`chaos:`); `steps` is then empty until it is drawn.
    pub chaos: Option<ChaosPlan>,
}

/// The validated `chaos:` section: everything `chaos::draw` needs besides the seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChaosPlan {
    pub seed: Option<u64>,
    pub duration: Duration,
    /// The menu, each fault with its weight (> 0).
    pub faults: Vec<(Fault, u32)>,
    pub targets: Vec<ChaosTarget>,
    /// Inclusive ranges.
    pub lasts: (Duration, Duration),
    pub gap: (Duration, Duration),
    /// Await every service `started` before each fault.
    pub settle: bool,
    /// The cluster's nodes (for `any`) and the services (for settling).
    pub nodes: Vec<String>,
    pub services: Vec<String>,
}

/// Where a chaos fault is done.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChaosTarget {
    /// A node drawn from the cluster at drawing time, so the schedule names it.
    AnyNode,
    /// As in a step.
    Fixed(Target),
}

#[derive(Clone, Debug, Serialize)]
pub struct ClusterPlan {
    /// Where the cluster came from: `inline` or the cluster file's path.
    pub origin: String,
    pub nodes: Vec<String>,
    pub storage: StorageKind,
    pub networks: Vec<NetworkKind>,
    pub memory_mib: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourcePlan {
    pub id: String,
    pub max_restart: u32,
    pub max_relocate: u32,
    pub failback: bool,
    pub group: Option<(Vec<String>, bool)>,
    pub together: Vec<String>,
    pub apart: Vec<String>,
}

/// A named event to measure from, found in the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    pub name: String,
    pub pattern: Pattern,
    /// The role the matched event's node is bound to.
    pub binds: Option<String>,
    pub loc: Loc,
}

/// An event to look for in the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Pattern {
    Fault { fault: Option<FaultKind>, node: Option<NodeRef> },
    Service { service: String, state: Option<String>, on: Option<Placement> },
    Node { node: Option<NodeRef>, state: Option<String> },
    Power { node: Option<NodeRef>, power: PowerState },
}

/// A node by name or by a role bound during the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "name", rename_all = "kebab-case")]
pub enum NodeRef {
    Name(String),
    Role(String),
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeRef::Name(n) | NodeRef::Role(n) => f.write_str(n),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    On(NodeRef),
    NotOn(NodeRef),
}

/// Where a fault or action is done, resolved when the step runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Node(NodeRef),
    All,
    Runs(String),
    Master,
    /// Any node that is up (actions only).
    Any,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub id: Option<String>,
    pub what: StepKind,
    pub loc: Loc,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Wait until the condition holds; not within `timeout` makes the run inconclusive.
    Await {
        condition: Pattern,
        timeout: Duration,
    },
    Wait(Duration),
    Fault {
        fault: Fault,
        target: Target,
        role: String,
    },
    Heal {
        step: String,
    },
    Action {
        action: Action,
        on: Target,
        timeout: Duration,
    },
    /// Expectations of this step are in `Plan::expectations`; here only their indexes.
    Expect(Vec<usize>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    PowerPull,
    LinkDown { network: NetworkKind },
    StorageBreak,
    KillProcess { process: String, signal: String },
    StopService { service: String },
    FreezeIo,
    FreezeWatchdog,
    Pause,
    Reboot,
}

impl Fault {
    /// Its name in scenario files (from the fault catalogue).
    pub fn name(&self) -> &'static str {
        crate::fault::entry(self).name
    }

    /// Whether a `heal` step can undo it (from the fault catalogue).
    pub fn healable(&self) -> bool {
        crate::fault::entry(self).heals
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    HaManager(String),
    PvecmExpected(u32),
    CrmResource(String),
    Run(String),
}

/// What an expectation measures from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// The instant a fault, heal or action step was done (known in a run, not in a log).
    Step(String),
    Mark(String),
    Pattern(Pattern),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timing {
    Within {
        bound: Duration,
        after: Anchor,
    },
    Eventually {
        after: Option<Anchor>,
    },
    /// Checked against the state at the end.
    Final,
}

/// One expectation: the condition, when it must hold, and where it is written.
#[derive(Clone, Debug, Serialize)]
pub struct Expectation {
    pub condition: Pattern,
    pub timing: Timing,
    /// As a person would say it: `service vm:103 fence within 60s after cut`.
    pub text: String,
    pub loc: Loc,
    /// Known to fail on a sound set-up (`expected: fail`).
    pub expected_fail: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Never {
    /// One service running on two nodes at once.
    ActiveOnTwoNodes { service: Option<String> },
    /// A service of a lost node started elsewhere before that node was fenced.
    RecoveryBeforeFence { service: Option<String> },
    /// A service reaching a state.
    ServiceState { service: Option<String>, state: String },
    /// A node (or a set of nodes) reaching a state.
    NodeState { nodes: NodeSet, state: String },
    /// A fence the stack acknowledged that the hypervisor did not confirm (or refuted). On by
    /// default in every `hadrill run`.
    UnconfirmedFence,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSet {
    One(NodeRef),
    /// Every node not bound to a role.
    Survivors,
    All,
}

#[derive(Clone, Debug, Serialize)]
pub struct Invariant {
    pub never: Never,
    pub text: String,
    pub loc: Loc,
    /// Known to fail on a sound set-up (`expected: fail`).
    pub expected_fail: bool,
}
