//! The scenario file as written: serde types that mirror the YAML one to one. Unknown keys
//! are errors everywhere. Values that need checking beyond their type keep their source
//! location (`Spanned`) so that validation can point at them.
//!
//! One file type serves both uses: `hadrill run` needs `cluster` and `steps`;
//! `hadrill analyze --expect` uses `marks`, `expect`, `invariants` and `final`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;

use crate::timeline::PowerState;

/// `Deserialize` for "a string or a mapping" types. serde's `untagged` would hide the inner
/// error ("unknown field `nodez`") and its location behind a generic message.
macro_rules! str_or_map {
    ($ty:ident, $str:ident, $map:ident($map_ty:ty), $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        Ok($ty::$str(v.to_owned()))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<$ty, A::Error> {
                        <$map_ty>::deserialize(MapAccessDeserializer::new(m)).map($ty::$map)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// A scenario: what cluster to build, what to do to it, and what must happen.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "hadrill scenario")]
pub struct ScenarioDoc {
    /// Short name, used in reports and run directories.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// One or two sentences: what this scenario shows.
    #[serde(default)]
    pub about: Option<String>,
    /// The HA stack under test.
    #[serde(default)]
    #[schemars(with = "Option<StackKind>")]
    pub stack: Option<Spanned<StackKind>>,
    /// The cluster to build: a name (`clusters/NAME.yaml` next to the scenario or in a
    /// parent directory) or an inline description.
    #[serde(default)]
    #[schemars(with = "Option<ClusterRef>")]
    pub cluster: Option<Spanned<ClusterRef>>,
    /// The HA resources (services) and their policies.
    #[serde(default)]
    pub resources: Vec<ResourceDoc>,
    /// Named events to measure from, found in the timeline (first match).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, PatternDoc>")]
    pub marks: BTreeMap<String, Spanned<PatternDoc>>,
    /// What hadrill does, in order.
    #[serde(default)]
    #[schemars(with = "Vec<StepDoc>")]
    pub steps: Vec<Spanned<StepDoc>>,
    /// Instead of `steps`: a schedule of faults drawn from a seed (`hadrill run --seed N`).
    #[serde(default)]
    #[schemars(with = "Option<ChaosDoc>")]
    pub chaos: Option<Spanned<ChaosDoc>>,
    /// Expectations checked against the whole timeline.
    #[serde(default)]
    #[schemars(with = "Vec<ExpectDoc>")]
    pub expect: Vec<Spanned<ExpectDoc>>,
    /// Things that must never happen during the run.
    #[serde(default)]
    #[schemars(with = "Vec<InvariantDoc>")]
    pub invariants: Vec<Spanned<InvariantDoc>>,
    /// The state at the end of the run.
    #[serde(default, rename = "final")]
    #[schemars(with = "Vec<ExpectDoc>")]
    pub final_state: Vec<Spanned<ExpectDoc>>,
}

/// The HA stacks hadrill knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StackKind {
    /// Proxmox VE HA (pve-ha-crm / pve-ha-lrm, watchdog-mux).
    Pve,
    /// Pacemaker + corosync + sbd.
    Pacemaker,
}

impl StackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StackKind::Pve => "pve",
            StackKind::Pacemaker => "pacemaker",
        }
    }
}

/// A cluster given by name or inline.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum ClusterRef {
    Named(String),
    Inline(ClusterDoc),
}
str_or_map!(
    ClusterRef,
    Named,
    Inline(ClusterDoc),
    "a cluster name (e.g. three-node-nfs) or a mapping with nodes, storage and networks"
);

/// The machines of the lab.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterDoc {
    /// The HA stack, when the cluster file fixes it.
    #[serde(default)]
    pub stack: Option<StackKind>,
    /// How many nodes (named node1, node2, …), or their names.
    pub nodes: NodesDoc,
    /// Shared storage for the HA resources.
    #[serde(default)]
    pub storage: Option<StorageKind>,
    /// Isolated networks, one per role.
    #[serde(default)]
    pub networks: Option<Vec<NetworkKind>>,
    /// Memory per node in MiB.
    #[serde(default)]
    pub memory_mib: Option<u32>,
}

/// A node count or a list of node names.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum NodesDoc {
    Count(u32),
    Names(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    Nfs,
    Ceph,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkKind {
    /// Corosync and the HA stack's own traffic.
    Cluster,
    /// NFS or Ceph traffic.
    Storage,
}

impl NetworkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Cluster => "cluster",
            NetworkKind::Storage => "storage",
        }
    }
}

/// An HA resource.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceDoc {
    /// `vm:100`, `ct:100` (Proxmox VE) or a Pacemaker resource id.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// Restart attempts on the same node before relocating (PVE `max_restart`).
    #[serde(default)]
    pub max_restart: Option<u32>,
    /// Relocations to other nodes before giving up in `error` (PVE `max_relocate`).
    #[serde(default)]
    pub max_relocate: Option<u32>,
    /// Move back to the preferred node when it returns (PVE: not `nofailback`).
    #[serde(default)]
    pub failback: Option<bool>,
    /// Node preference (PVE 8 HA group, PVE 9 node-affinity rule, Pacemaker location).
    #[serde(default)]
    pub group: Option<GroupDoc>,
    /// Placement relative to other resources.
    #[serde(default)]
    pub affinity: Option<AffinityDoc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDoc {
    /// Preferred nodes, in order.
    #[schemars(with = "Vec<String>")]
    pub nodes: Vec<Spanned<String>>,
    /// Never run anywhere else, even when none of these nodes is left.
    #[serde(default)]
    pub restricted: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AffinityDoc {
    /// Resources to keep on the same node.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub together: Vec<Spanned<String>>,
    /// Resources to keep on other nodes.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub apart: Vec<Spanned<String>>,
}

/// One step: exactly one of `await`, `wait`, `fault`, `heal`, `action`, `expect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// A name to refer to this step (`after: pull`, `heal: pull`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id: Option<Spanned<String>>,
    /// For a fault: remember its target node under this role (default `victim`).
    #[serde(default, rename = "as")]
    #[schemars(with = "Option<String>")]
    pub as_role: Option<Spanned<String>>,
    /// Wait until a condition holds (a steady-state gate; not meeting it is inconclusive).
    #[serde(default, rename = "await")]
    #[schemars(with = "Option<ExpectDoc>")]
    pub await_: Option<Spanned<ExpectDoc>>,
    /// Let time pass, e.g. `30s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub wait: Option<Spanned<String>>,
    /// Inject a fault.
    #[serde(default)]
    #[schemars(with = "Option<FaultDoc>")]
    pub fault: Option<Spanned<FaultDoc>>,
    /// Undo the fault of the step with this id.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub heal: Option<Spanned<String>>,
    /// Do what an operator would.
    #[serde(default)]
    #[schemars(with = "Option<ActionDoc>")]
    pub action: Option<Spanned<ActionDoc>>,
    /// Expectations measured from the last fault before this step (or from `after`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<ExpectDoc>>")]
    pub expect: Option<Vec<Spanned<ExpectDoc>>>,
}

/// Faults, by name. Each takes the node it is done to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultDoc {
    /// Pull the power (hypervisor: destroy). Heal: power on.
    PowerPull {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
    /// Cut a node's link on one network (default: cluster). Heal: link up.
    LinkDown {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
        #[serde(default)]
        network: Option<NetworkKind>,
    },
    /// Cut a node's path to shared storage while the others keep theirs. Heal: restore.
    StorageBreak {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
    /// Kill a process inside the node (default signal KILL). Cannot be healed.
    KillProcess {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
        process: String,
        #[serde(default)]
        signal: Option<String>,
    },
    /// Stop a systemd service inside the node. Heal: start it.
    StopService {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
        service: String,
    },
    /// Freeze the node's disk I/O. Heal: thaw.
    FreezeIo {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
    /// Stop the watchdog feeder (SIGSTOP). Heal: SIGCONT.
    FreezeWatchdog {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
    /// Reboot the node the way an operator does (`systemctl reboot`): services are stopped
    /// or moved first. It comes back by itself; nothing to heal.
    Reboot {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
    /// Pause the whole VM. Known to defeat watchdog self-fencing. Heal: resume.
    Pause {
        #[schemars(with = "TargetDoc")]
        node: Spanned<TargetDoc>,
    },
}

/// Which node a fault or action is done to, resolved at run time.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum TargetDoc {
    Named(String),
    Select(TargetSelectDoc),
}
str_or_map!(
    TargetDoc,
    Named,
    Select(TargetSelectDoc),
    "a node name, a role (e.g. victim), `all`, or a mapping such as { runs: ct:100 }"
);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSelectDoc {
    /// The node that runs this service at the moment the step is done.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub runs: Option<Spanned<String>>,
    /// The HA manager's master node.
    #[serde(default)]
    pub master: Option<bool>,
}

/// A fault schedule drawn from a seed; the drawn steps replace `steps`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosDoc {
    /// The seed of the drawing (`hadrill run --seed N` overrides it; none: one from the clock).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The time the faults and the gaps between them cover, e.g. `30m`.
    #[schemars(with = "String")]
    pub duration: Spanned<String>,
    /// The menu: faults with their weights.
    #[schemars(with = "Vec<ChaosFaultDoc>")]
    pub faults: Vec<Spanned<ChaosFaultDoc>>,
    /// Where a fault is done, drawn per fault: `any` (a node drawn from the cluster), a node
    /// name, `{ runs: SERVICE }`, `{ master: true }`, `all` (default `[any]`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<TargetDoc>>")]
    pub targets: Option<Vec<Spanned<TargetDoc>>>,
    /// How long a fault lasts before its heal: `30s..2m` or one duration.
    #[schemars(with = "String")]
    pub lasts: Spanned<String>,
    /// The time between a heal and the next fault: `1m..3m` or one duration.
    #[schemars(with = "String")]
    pub gap: Spanned<String>,
    /// Await every service `started` before each fault (default true).
    #[serde(default)]
    pub settle: Option<bool>,
}

/// One entry of the chaos menu.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosFaultDoc {
    /// A fault as in a step, without its `node` (the targets say where): `power-pull`, or
    /// `{ link-down: { network: cluster } }`.
    #[schemars(with = "MenuFaultDoc")]
    pub fault: Spanned<MenuFaultDoc>,
    /// How often it is drawn relative to the others (default 1).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub weight: Option<Spanned<u32>>,
}

/// A fault name, or a mapping of one fault name to its settings (the step grammar without
/// `node`, which the chaos targets give).
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum MenuFaultDoc {
    Named(String),
    Params(BTreeMap<String, FaultParamsDoc>),
}
str_or_map!(
    MenuFaultDoc,
    Named,
    Params(BTreeMap<String, FaultParamsDoc>),
    "a fault name (e.g. power-pull) or a mapping such as { link-down: { network: cluster } }"
);

/// The settings of a menu fault; which ones a fault takes is checked in validation.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultParamsDoc {
    #[serde(default)]
    pub network: Option<NetworkKind>,
    #[serde(default)]
    pub process: Option<String>,
    #[serde(default)]
    pub signal: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
}

/// An operator action: exactly one of `ha-manager`, `pvecm-expected`, `crm-resource`, `run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ActionDoc {
    /// Arguments to `ha-manager` (Proxmox VE), e.g. `set vm:100 --state disabled`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ha_manager: Option<Spanned<String>>,
    /// `pvecm expected N` (Proxmox VE): the way out of quorum loss.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub pvecm_expected: Option<Spanned<u32>>,
    /// Arguments to `crm_resource` (Pacemaker), e.g. `--cleanup --resource svc`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub crm_resource: Option<Spanned<String>>,
    /// Any shell command.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub run: Option<Spanned<String>>,
    /// Where to run it (default: any node that is up).
    #[serde(default)]
    #[schemars(with = "Option<TargetDoc>")]
    pub on: Option<Spanned<TargetDoc>>,
    /// How long it may take (default 2m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
}

/// A condition on a service or a node, and when it must become true.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectDoc {
    /// The service it is about.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub service: Option<Spanned<String>>,
    /// The node it is about: a name or a role.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub node: Option<Spanned<String>>,
    /// The state to reach: normalised (started, fenced, …) or the stack's own (request_stop, …).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub state: Option<Spanned<String>>,
    /// The node's power as the hypervisor sees it.
    #[serde(default)]
    #[schemars(with = "Option<PowerState>")]
    pub power: Option<Spanned<PowerState>>,
    /// Where the service must be: a node or role, or `{ not: NODE }`.
    #[serde(default)]
    #[schemars(with = "Option<PlacementDoc>")]
    pub on: Option<Spanned<PlacementDoc>>,
    /// The bound, e.g. `60s`, `2m`, `1m30s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub within: Option<Spanned<String>>,
    /// What the bound is measured from: a step id, a mark, or an event pattern.
    #[serde(default)]
    #[schemars(with = "Option<AnchorDoc>")]
    pub after: Option<Spanned<AnchorDoc>>,
    /// No bound: it must happen at some point (after `after`, when given).
    #[serde(default)]
    pub eventually: Option<bool>,
    /// `fail`: this check is known to fail on a sound set-up (a weakness of the stack, shown
    /// on purpose). The run then succeeds (exit 0) only if exactly the checks so marked fail.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expected: Option<Spanned<String>>,
}

/// A node or role, or everything but one.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum PlacementDoc {
    On(String),
    Not(NotDoc),
}
str_or_map!(PlacementDoc, On, Not(NotDoc), "a node name or role, or { not: NODE }");

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotDoc {
    pub not: String,
}

/// A step id or mark name, or an event pattern written in place.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum AnchorDoc {
    Name(String),
    Pattern(Box<PatternDoc>),
}
str_or_map!(
    AnchorDoc,
    Name,
    Pattern(Box<PatternDoc>),
    "a step id or mark name, or an event pattern such as { fault: network-off, node: node3 }"
);

/// An event to find in the timeline (the first one that matches).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternDoc {
    /// A fault: power-off, power-on, network-off, network-on.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub fault: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub service: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub node: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub state: Option<Spanned<String>>,
    #[serde(default)]
    pub power: Option<PowerState>,
    /// Bind the event's node to this role (e.g. `victim`).
    #[serde(default, rename = "as")]
    #[schemars(with = "Option<String>")]
    pub as_role: Option<Spanned<String>>,
}

/// Something that must never happen.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvariantDoc {
    /// `active-on-two-nodes`, `recovery-before-fence`, `unconfirmed-fence`, or a state (e.g. `error`, `fenced`).
    #[schemars(with = "String")]
    pub never: Spanned<String>,
    /// The service it is about (default: every service).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub service: Option<Spanned<String>>,
    /// The node it is about: a name or role.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub node: Option<Spanned<String>>,
    /// A set of nodes: `survivors` (every node not bound to a role), `all`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub nodes: Option<Spanned<String>>,
    /// `fail`: this check is known to fail on a sound set-up (a weakness of the stack, shown
    /// on purpose). The run then succeeds (exit 0) only if exactly the checks so marked fail.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expected: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for NodesDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NodesDoc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node count (e.g. 3) or a list of node names")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodesDoc, E> {
                u32::try_from(v).map(NodesDoc::Count).map_err(|_| E::custom("too many nodes"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodesDoc, E> {
                u32::try_from(v).map(NodesDoc::Count).map_err(|_| E::custom("a node count cannot be negative"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<NodesDoc, A::Error> {
                Vec::<String>::deserialize(SeqAccessDeserializer::new(s)).map(NodesDoc::Names)
            }
        }
        d.deserialize_any(V)
    }
}
