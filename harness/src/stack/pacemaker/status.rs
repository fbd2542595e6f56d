//! What `crm_mon --output-as=xml -1` shows (Pacemaker 2.1.5, API 2.25): nodes, resources,
//! the DC and its quorum, fail counts; normalised, with the raw states kept.
//!
//! Decisions worth knowing:
//! - A node's raw state is the text crm_mon prints for it (`UNCLEAN (offline)`, `standby`, …),
//!   derived from the XML flags in the order `node_text_status` uses.
//! - Quorum is known only with a DC: crm_mon writes `with_quorum` on `<current_dc>`.
//! - A resource instance's normalised state: unmanaged → `frozen`; failed and blocked →
//!   `error`; failed → `recovery`; active only on UNCLEAN nodes → `fence` (recovery waits for
//!   fencing); stopped with `target-role=Stopped` → `disabled`; stopped with its failure budget
//!   used up everywhere (`error_state`) → `error`; otherwise its role (`states.rs`).
//! - Services are the resources outside clones (primitives and groups). A group is `started`
//!   on a node when all its members are; partly up is left undecided here (`state: None`) and
//!   settled by `diff` from where the group was coming from. Clone instances are listed but
//!   not made into services: they run on several nodes by design.

use std::collections::BTreeSet;

use roxmltree::Node as XmlNode;
use serde::Serialize;

use crate::timeline::{NodeState, ServiceState};

use super::PacemakerError;
use super::states::{node_state, service_state};
use super::xml::{self, INFINITY, attr, child, children, flag, score};

/// The cluster as one crm_mon run saw it: the view of the partition of the node it ran on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterStatus {
    /// The designated controller, when the partition has one.
    pub dc: Option<String>,
    /// Whether the DC's partition has quorum; unknown without a DC.
    pub have_quorum: Option<bool>,
    pub stonith_enabled: bool,
    /// Cluster-wide `maintenance-mode`.
    pub maintenance_mode: bool,
    pub nodes: Vec<Node>,
    /// Every resource instance, in crm_mon's order (a clone has one per instance).
    pub resources: Vec<Resource>,
    /// Groups outside clones, with their members in order.
    pub groups: Vec<Group>,
    /// Per resource and node where crm_mon lists a history: failures so far and the
    /// threshold after which the resource is banned from that node.
    pub fail_counts: Vec<FailCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub id: String,
    /// crm_mon's status text, e.g. `online`, `UNCLEAN (offline)`, `standby`.
    pub raw: String,
    pub state: Option<NodeState>,
    pub online: bool,
    pub standby: bool,
    pub standby_onfail: bool,
    pub maintenance: bool,
    pub pending: bool,
    pub unclean: bool,
    pub shutdown: bool,
    pub expected_up: bool,
    pub is_dc: bool,
    pub resources_running: u32,
}

impl Node {
    /// Whether the scheduler may place resources here.
    pub fn eligible(&self) -> bool {
        self.online && !self.unclean && !self.pending && !self.standby && !self.maintenance
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub id: String,
    /// `class:provider:type`, e.g. `ocf:heartbeat:Dummy`.
    pub agent: String,
    /// The group it belongs to.
    pub group: Option<String>,
    /// The clone (or bundle) it is an instance of.
    pub clone: Option<String>,
    /// The role crm_mon writes: `Started`, `Stopped`, `Promoted`, `Starting`, …
    pub role: String,
    /// The state as crm_mon's text shows it: `FAILED` for a failed instance, else the role.
    pub raw: String,
    pub state: Option<ServiceState>,
    /// Nodes it is active on.
    pub nodes: Vec<String>,
    pub active: bool,
    pub failed: bool,
    pub blocked: bool,
    pub managed: bool,
    pub orphaned: bool,
    pub failure_ignored: bool,
    pub target_role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailCount {
    pub resource: String,
    pub node: String,
    /// 0 when crm_mon shows none; INFINITY (1000000) after a fatal start failure.
    pub fail_count: u32,
    pub migration_threshold: Option<u32>,
}

/// A service (a primitive or a group outside clones) as one state and placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub id: String,
    /// The raw state: the resource's, or the group members' joined with `/` when they differ.
    pub raw: String,
    /// `None` for a group that is partly up: `diff` settles it from the previous state.
    pub state: Option<ServiceState>,
    /// Nodes where it (any member) is active, in crm_mon's order.
    pub nodes: Vec<String>,
    /// How many of its members (1 for a primitive) are active.
    pub active_members: usize,
}

/// Read `crm_mon --output-as=xml` (one-shot).
pub fn parse_crm_mon(text: &str) -> Result<ClusterStatus, PacemakerError> {
    const WHAT: &str = "crm_mon output";
    let doc = xml::parse(text, WHAT)?;
    let root = xml::envelope(&doc, WHAT, "<pacemaker-result> from `crm_mon --output-as=xml`")?;
    let Some(summary) = child(root, "summary") else {
        return Err(PacemakerError::UnexpectedElement {
            expected: "<summary> in crm_mon output (is this `crm_mon --output-as=xml`?)",
            found: root.first_element_child().map_or_else(|| "nothing".into(), |c| c.tag_name().name().to_owned()),
            line: xml::line(root),
        });
    };

    let (mut dc, mut have_quorum) = (None, None);
    if let Some(cd) = child(summary, "current_dc")
        && flag(cd, "current_dc", "present", false)?
    {
        dc = Some(attr(cd, "current_dc", "name")?.to_owned());
        have_quorum = Some(flag(cd, "current_dc", "with_quorum", false)?);
    }
    let (mut stonith_enabled, mut maintenance_mode) = (false, false);
    if let Some(opts) = child(summary, "cluster_options") {
        stonith_enabled = flag(opts, "cluster_options", "stonith-enabled", false)?;
        maintenance_mode = flag(opts, "cluster_options", "maintenance-mode", false)?;
    }

    let mut nodes = Vec::new();
    if let Some(list) = child(root, "nodes") {
        for n in children(list, "node") {
            nodes.push(parse_node(n)?);
        }
    }

    let mut resources = Vec::new();
    let mut groups = Vec::new();
    if let Some(list) = child(root, "resources") {
        walk(list, None, None, &mut resources, &mut groups)?;
    }

    let mut fail_counts = Vec::new();
    if let Some(history) = child(root, "node_history") {
        for n in children(history, "node") {
            let node = attr(n, "node", "name")?;
            for rh in children(n, "resource_history") {
                fail_counts.push(FailCount {
                    resource: attr(rh, "resource_history", "id")?.to_owned(),
                    node: node.to_owned(),
                    fail_count: score(rh, "resource_history", "fail-count")?.unwrap_or(0),
                    migration_threshold: score(rh, "resource_history", "migration-threshold")?,
                });
            }
        }
    }

    let mut status =
        ClusterStatus { dc, have_quorum, stonith_enabled, maintenance_mode, nodes, resources, groups, fail_counts };
    for i in 0..status.resources.len() {
        let state = instance_state(&status, &status.resources[i]);
        status.resources[i].state = state;
    }
    Ok(status)
}

fn parse_node(n: XmlNode) -> Result<Node, PacemakerError> {
    const E: &str = "node";
    let resources_running = score(n, E, "resources_running")?.unwrap_or(0);
    let mut node = Node {
        name: attr(n, E, "name")?.to_owned(),
        id: n.attribute("id").unwrap_or_default().to_owned(),
        raw: String::new(),
        state: None,
        online: flag(n, E, "online", false)?,
        standby: flag(n, E, "standby", false)?,
        standby_onfail: flag(n, E, "standby_onfail", false)?,
        maintenance: flag(n, E, "maintenance", false)?,
        pending: flag(n, E, "pending", false)?,
        unclean: flag(n, E, "unclean", false)?,
        shutdown: flag(n, E, "shutdown", false)?,
        expected_up: flag(n, E, "expected_up", false)?,
        is_dc: flag(n, E, "is_dc", false)?,
        resources_running,
    };
    node.raw = node_text(&node).to_owned();
    node.state = node_state(&node.raw);
    Ok(node)
}

/// crm_mon's status text for a node, decided in the same order as crm_mon does.
fn node_text(n: &Node) -> &'static str {
    if n.unclean {
        if n.online {
            "UNCLEAN (online)"
        } else if n.pending {
            "UNCLEAN (pending)"
        } else {
            "UNCLEAN (offline)"
        }
    } else if n.pending {
        "pending"
    } else if n.standby_onfail && n.online {
        "standby (on-fail)"
    } else if n.standby {
        match (n.online, n.resources_running > 0) {
            (true, true) => "standby (with active resources)",
            (true, false) => "standby",
            (false, _) => "OFFLINE (standby)",
        }
    } else if n.maintenance {
        if n.online { "maintenance" } else { "OFFLINE (maintenance)" }
    } else if n.online {
        "online"
    } else {
        "OFFLINE"
    }
}

/// Collect resource instances under `parent`, remembering the group and clone around them.
fn walk(
    parent: XmlNode,
    group: Option<&str>,
    clone: Option<&str>,
    out: &mut Vec<Resource>,
    groups: &mut Vec<Group>,
) -> Result<(), PacemakerError> {
    for c in parent.children().filter(XmlNode::is_element) {
        match c.tag_name().name() {
            "resource" => out.push(parse_resource(c, group, clone)?),
            "group" => {
                let id = attr(c, "group", "id")?;
                if clone.is_none() {
                    let members = children(c, "resource")
                        .map(|r| attr(r, "resource", "id").map(str::to_owned))
                        .collect::<Result<_, _>>()?;
                    groups.push(Group { id: id.to_owned(), members });
                }
                walk(c, Some(id), clone, out, groups)?;
            }
            "clone" => walk(c, group, Some(attr(c, "clone", "id")?), out, groups)?,
            "bundle" => walk(c, group, Some(attr(c, "bundle", "id")?), out, groups)?,
            "replica" => walk(c, group, clone, out, groups)?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_resource(r: XmlNode, group: Option<&str>, clone: Option<&str>) -> Result<Resource, PacemakerError> {
    const E: &str = "resource";
    let role = attr(r, E, "role")?.to_owned();
    let failed = flag(r, E, "failed", false)?;
    Ok(Resource {
        id: attr(r, E, "id")?.to_owned(),
        agent: r.attribute("resource_agent").unwrap_or_default().to_owned(),
        group: group.map(str::to_owned),
        clone: clone.map(str::to_owned),
        raw: if failed { "FAILED".to_owned() } else { role.clone() },
        role,
        state: None,
        nodes: children(r, "node").map(|n| attr(n, "node", "name").map(str::to_owned)).collect::<Result<_, _>>()?,
        active: flag(r, E, "active", false)?,
        failed,
        blocked: flag(r, E, "blocked", false)?,
        managed: flag(r, E, "managed", true)?,
        orphaned: flag(r, E, "orphaned", false)?,
        failure_ignored: flag(r, E, "failure_ignored", false)?,
        target_role: r.attribute("target_role").map(str::to_owned),
    })
}

fn instance_state(status: &ClusterStatus, r: &Resource) -> Option<ServiceState> {
    if !r.managed {
        return Some(ServiceState::Frozen);
    }
    if r.failed {
        return Some(if r.blocked { ServiceState::Error } else { ServiceState::Recovery });
    }
    if !r.nodes.is_empty() && r.nodes.iter().all(|n| status.node(n).is_some_and(|n| n.unclean)) {
        return Some(ServiceState::Fence);
    }
    let state = service_state(&r.role)?;
    if state == ServiceState::Stopped {
        if r.target_role.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("stopped")) {
            return Some(ServiceState::Disabled);
        }
        if exhausted(status, &r.id) {
            return Some(ServiceState::Error);
        }
    }
    Some(state)
}

/// The failure budget of a primitive is used up on every node that could run it.
fn exhausted(status: &ClusterStatus, id: &str) -> bool {
    let default_threshold =
        status.fail_counts.iter().filter(|f| f.resource == id).find_map(|f| f.migration_threshold).unwrap_or(INFINITY);
    let mut eligible = status.nodes.iter().filter(|n| n.eligible()).peekable();
    eligible.peek().is_some()
        && eligible.all(|n| {
            status
                .fail_counts
                .iter()
                .find(|f| f.resource == id && f.node == n.name)
                .is_some_and(|f| f.fail_count > 0 && f.fail_count >= f.migration_threshold.unwrap_or(default_threshold))
        })
}

impl ClusterStatus {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The instances of a resource id (one for a primitive, several for a clone's).
    pub fn instances<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.id == id)
    }

    /// The ids that are services: primitives and groups outside clones, in crm_mon's order.
    pub fn service_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for r in self.resources.iter().filter(|r| r.clone.is_none()) {
            let id = r.group.as_deref().unwrap_or(&r.id);
            if r.group.is_some() && !ids.contains(&id) {
                ids.push(id);
            }
            if !ids.contains(&r.id.as_str()) {
                ids.push(&r.id);
            }
        }
        ids
    }

    /// A primitive or group outside clones, as one service.
    pub fn service(&self, id: &str) -> Option<ServiceView> {
        if let Some(g) = self.groups.iter().find(|g| g.id == id) {
            return Some(self.group_view(g));
        }
        let r = self.resources.iter().find(|r| r.id == id && r.clone.is_none())?;
        Some(ServiceView {
            id: r.id.clone(),
            raw: r.raw.clone(),
            state: r.state,
            nodes: r.nodes.clone(),
            active_members: usize::from(r.active),
        })
    }

    fn group_view(&self, g: &Group) -> ServiceView {
        let members: Vec<&Resource> =
            g.members.iter().filter_map(|m| self.resources.iter().find(|r| &r.id == m && r.clone.is_none())).collect();
        let mut nodes: Vec<String> = Vec::new();
        for n in members.iter().flat_map(|m| &m.nodes) {
            if !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
        let raws: BTreeSet<&str> = members.iter().map(|m| m.raw.as_str()).collect();
        let raw = if raws.len() == 1 {
            members[0].raw.clone()
        } else {
            members.iter().map(|m| m.raw.as_str()).collect::<Vec<_>>().join("/")
        };
        let states: Vec<Option<ServiceState>> = members.iter().map(|m| m.state).collect();
        let state = if states.windows(2).all(|w| w[0] == w[1]) {
            states.first().copied().flatten()
        } else if error_state(self, &g.id) {
            Some(ServiceState::Error)
        } else {
            // The most telling member state; partly started and partly stopped is undecided.
            [
                ServiceState::Error,
                ServiceState::Fence,
                ServiceState::Recovery,
                ServiceState::Frozen,
                ServiceState::Migrating,
                ServiceState::Stopping,
                ServiceState::Starting,
            ]
            .into_iter()
            .find(|s| states.contains(&Some(*s)))
        };
        let active_members = members.iter().filter(|m| m.active).count();
        ServiceView { id: g.id.clone(), raw, state, nodes, active_members }
    }
}

/// Whether a resource (a primitive, a clone's primitive, or a group) needs an operator: it
/// runs nowhere and its failure budget (`migration-threshold`) is used up on every node that
/// could run it (online, clean, not in standby or maintenance). A group is in error when it
/// runs nowhere and one of its members is. False for an id crm_mon does not show, and when
/// no node could run anything (the cluster is down, not the resource).
pub fn error_state(status: &ClusterStatus, resource: &str) -> bool {
    if let Some(g) = status.groups.iter().find(|g| g.id == resource) {
        let runs = g.members.iter().any(|m| status.instances(m).any(|r| r.active));
        return !runs && g.members.iter().any(|m| error_state(status, m));
    }
    let mut instances = status.instances(resource).peekable();
    if instances.peek().is_none() {
        return false;
    }
    !instances.any(|r| r.active) && exhausted(status, resource)
}
