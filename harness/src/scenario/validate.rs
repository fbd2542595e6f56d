//! From the file as written to a `Plan`: resolve names, parse durations, check what the
//! stack can do. Every problem found is reported (not just the first), each pointing at the
//! place in the file it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use miette::{NamedSource, SourceSpan};
use serde_saphyr::{Location, Spanned};

use super::duration::{format_duration, parse_duration};
use super::error::{LoadError, ScenarioError};
use super::model::*;
use super::plan::*;
use crate::stack::pve;
use crate::timeline::{FaultKind, NodeState, PowerState, ServiceState};

const DEFAULT_AWAIT: Duration = Duration::from_secs(600);
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_MEMORY_MIB: u32 = 768;

/// Read, parse and validate one scenario file.
pub fn load(path: &Path) -> Result<Plan, LoadError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.display().to_string(), source })?;
    parse(&path.display().to_string(), &text, path.parent())
}

/// Parse and validate scenario text. `dir` is where named cluster files are looked up
/// (`clusters/NAME.yaml` there or in a parent); `None` disables the lookup.
pub fn parse(file: &str, text: &str, dir: Option<&Path>) -> Result<Plan, LoadError> {
    let src = Arc::new(text.to_owned());
    let invalid = |errors| LoadError::Invalid { path: file.to_owned(), errors };
    let doc: ScenarioDoc = serde_saphyr::from_str(text).map_err(|e| invalid(vec![yaml_error(file, &src, &e)]))?;
    let mut cx = Cx::new(file, src, dir);
    let plan = cx.plan(doc);
    if cx.errors.is_empty() { Ok(plan) } else { Err(invalid(cx.errors)) }
}

/// A serde-saphyr error as a diagnostic at its location.
fn yaml_error(file: &str, src: &Arc<String>, e: &serde_saphyr::Error) -> ScenarioError {
    let loc = e.location();
    let plain = e.without_snippet().to_string();
    // The message carries its own " at line L, column C"; we show the location ourselves.
    let message = match loc {
        Some(l) => plain.trim_end_matches(&format!(" at line {}, column {}", l.line(), l.column())).to_owned(),
        None => plain,
    };
    let message = readable(message);
    let help = yaml_help(&message);
    let label = short_label(&message);
    diagnostic(file, src, loc.as_ref(), message, label, help)
}

/// A problem at `loc`. On a line too long to draw (no label), the message says where.
fn diagnostic(
    file: &str,
    src: &Arc<String>,
    loc: Option<&Location>,
    message: String,
    label: String,
    help: Option<String>,
) -> ScenarioError {
    let (span, line, column) = span_of(loc, src);
    let message = match span {
        Some(_) => message,
        None => format!("{message} (line {line}, column {column}; the line is too long to show)"),
    };
    ScenarioError { message, source_code: NamedSource::new(file, src.clone()), span, label, help, line, column }
}

/// serde's terse type errors, said the way a scenario author thinks.
fn readable(message: String) -> String {
    match message.as_str() {
        "invalid u32" | "invalid u64" | "invalid u8" | "invalid u16" => "expected a whole number (0 or more)".into(),
        "invalid i32" | "invalid i64" => "expected a whole number".into(),
        "invalid bool" | "invalid boolean" => "expected true or false".into(),
        _ => message,
    }
}

fn yaml_help(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some("keys are checked: a misspelt key is an error, not ignored".into())
    } else if message.starts_with("missing field `name`") {
        Some("every scenario starts with `name: SHORT-NAME`".into())
    } else if message.starts_with("unknown variant") && message.contains("power-pull") {
        Some("a fault is written as `fault: { KIND: { node: TARGET } }`".into())
    } else {
        None
    }
}

/// The label under the caret: the message up to its first comma, kept short.
fn short_label(message: &str) -> String {
    match message.split_once(", expected") {
        Some((head, _)) => head.to_owned(),
        None => message.to_owned(),
    }
}

/// Past this many bytes into its line, a problem is reported without its label: miette pads
/// the line under the excerpt up to the label's column with a format width, and a width past
/// 65 535 panics (a byte is at most 4 columns, for a tab).
const MAX_LABEL_COLUMN: usize = 16_000;

fn span_of(loc: Option<&Location>, src: &str) -> (Option<SourceSpan>, u64, u64) {
    let Some(loc) = loc.filter(|l| l.line() > 0) else {
        return (Some((0, 0).into()), 1, 1);
    };
    let offset =
        loc.span().byte_offset().map(|o| o as usize).unwrap_or_else(|| line_col_offset(src, loc.line(), loc.column()));
    let len = loc.span().byte_len().map(|l| l as usize).unwrap_or(1).max(1);
    let len = len.min(src.len().saturating_sub(offset)).max(usize::from(offset < src.len()));
    let head = &src.as_bytes()[..offset.min(src.len())];
    let line_start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    let span = (offset - line_start <= MAX_LABEL_COLUMN).then(|| (offset, len).into());
    (span, loc.line(), loc.column())
}

fn line_col_offset(src: &str, line: u64, col: u64) -> usize {
    let start: usize = src.split_inclusive('\n').take(line.saturating_sub(1) as usize).map(str::len).sum();
    (start + col.saturating_sub(1) as usize).min(src.len())
}

/// "did you mean …?"
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn join<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Steps as seen by later steps: what each id names.
#[derive(Clone)]
struct StepInfo {
    fault: Option<Fault>,
}

struct Cx<'a> {
    file: String,
    src: Arc<String>,
    dir: Option<&'a Path>,
    errors: Vec<ScenarioError>,
    stack: Option<StackKind>,
    nodes: Option<Vec<String>>,
    services: Option<Vec<String>>,
    roles: BTreeSet<String>,
    marks: BTreeSet<String>,
    steps: BTreeMap<String, StepInfo>,
}

impl<'a> Cx<'a> {
    fn new(file: &str, src: Arc<String>, dir: Option<&'a Path>) -> Self {
        Cx {
            file: file.to_owned(),
            src,
            dir,
            errors: Vec::new(),
            stack: None,
            nodes: None,
            services: None,
            roles: BTreeSet::new(),
            marks: BTreeSet::new(),
            steps: BTreeMap::new(),
        }
    }

    fn loc(&self, at: &Location) -> Loc {
        Loc { file: self.file.clone(), line: at.line(), column: at.column() }
    }

    fn error(&mut self, at: &Location, message: impl Into<String>, label: impl Into<String>, help: Option<String>) {
        self.errors.push(diagnostic(&self.file, &self.src, Some(at), message.into(), label.into(), help));
    }

    fn plan(&mut self, doc: ScenarioDoc) -> Plan {
        self.stack = doc.stack.as_ref().map(|s| s.value);
        let cluster = doc.cluster.as_ref().and_then(|c| self.cluster(c, doc.stack.as_ref()));
        if let Some(c) = &cluster {
            self.nodes = Some(c.nodes.clone());
        }
        if doc.name.value.trim().is_empty() {
            self.error(
                &doc.name.referenced,
                "the scenario name is empty",
                "empty",
                Some("give a short name, e.g. `name: power-pull`".into()),
            );
        }
        let resources = self.resources(&doc.resources);
        if !doc.resources.is_empty() {
            self.services = Some(resources.iter().map(|r| r.id.clone()).collect());
        }
        // Roles and marks are known everywhere in the file, wherever they are bound.
        for (name, mark) in &doc.marks {
            self.marks.insert(name.clone());
            if let Some(role) = &mark.value.as_role {
                self.roles.insert(role.value.clone());
            }
        }
        // The same naming as `steps` uses, so that both agree on each fault's role.
        let mut fault_roles = BTreeSet::new();
        for step in doc.steps.iter().filter(|s| s.value.fault.is_some()) {
            let role =
                step.value.as_role.as_ref().map(|r| r.value.clone()).unwrap_or_else(|| default_role(&fault_roles));
            fault_roles.insert(role);
        }
        self.roles.extend(fault_roles);
        let marks = doc.marks.iter().filter_map(|(name, m)| self.mark(name, m)).collect();
        let mut expectations = Vec::new();
        let steps = self.steps(&doc.steps, &mut expectations);
        if !doc.steps.is_empty() {
            if cluster.is_none() {
                self.error(
                    &doc.name.referenced,
                    "this scenario has steps but no cluster",
                    "steps need a lab",
                    Some(
                        "add `cluster: NAME` (a file in clusters/) or an inline `cluster: { nodes: 3, storage: nfs }`"
                            .into(),
                    ),
                );
            }
            if self.stack.is_none() {
                self.error(
                    &doc.name.referenced,
                    "this scenario has steps but no stack",
                    "which HA stack?",
                    Some("add `stack: pve` or `stack: pacemaker`".into()),
                );
            }
        }
        for e in &doc.expect {
            if let Some(x) = self.expectation(e, Ctx::TopLevel, None) {
                expectations.push(x);
            }
        }
        for e in &doc.final_state {
            if let Some(x) = self.expectation(e, Ctx::Final, None) {
                expectations.push(x);
            }
        }
        let invariants = doc.invariants.iter().filter_map(|i| self.invariant(i)).collect();
        Plan {
            name: doc.name.value.clone(),
            about: doc.about.clone(),
            stack: self.stack,
            cluster,
            resources,
            marks,
            steps,
            expectations,
            invariants,
        }
    }

    // ---- cluster -------------------------------------------------------------------

    fn cluster(&mut self, c: &Spanned<ClusterRef>, stack: Option<&Spanned<StackKind>>) -> Option<ClusterPlan> {
        let (doc, origin);
        let loaded;
        match &c.value {
            ClusterRef::Inline(d) => {
                doc = d;
                origin = "inline".to_owned();
            }
            ClusterRef::Named(name) => {
                let Some(path) = self.find_cluster(name) else {
                    let looked =
                        self.cluster_dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
                    self.error(
                        &c.referenced,
                        format!("no cluster file `{name}.yaml`"),
                        "not found",
                        Some(if looked.is_empty() {
                            "write the cluster inline: `cluster: { nodes: 3, storage: nfs }`".to_owned()
                        } else {
                            format!("looked in: {looked}")
                        }),
                    );
                    return None;
                };
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(&c.referenced, format!("cannot read {}: {e}", path.display()), "unreadable", None);
                        return None;
                    }
                };
                let src = Arc::new(text);
                match serde_saphyr::from_str::<ClusterDoc>(&src) {
                    Ok(d) => loaded = d,
                    Err(e) => {
                        self.errors.push(yaml_error(&path.display().to_string(), &src, &e));
                        return None;
                    }
                }
                doc = &loaded;
                origin = path.display().to_string();
            }
        }
        if let (Some(file_stack), Some(s)) = (doc.stack, stack)
            && file_stack != s.value
        {
            self.error(
                &s.referenced,
                format!(
                    "the scenario says stack `{}` but its cluster is built for `{}`",
                    s.value.as_str(),
                    file_stack.as_str()
                ),
                "conflicts with the cluster",
                None,
            );
        }
        if self.stack.is_none() {
            self.stack = doc.stack;
        }
        let count = match &doc.nodes {
            NodesDoc::Count(n) => *n as usize,
            NodesDoc::Names(names) => names.len(),
        };
        let nodes = match &doc.nodes {
            // A count past 16 is an error below; naming every node of `nodes: 4000000000`
            // would exhaust memory first, so only the first few are named.
            NodesDoc::Count(n) => (1..=(*n).min(64)).map(|i| format!("node{i}")).collect::<Vec<_>>(),
            NodesDoc::Names(names) => names.clone(),
        };
        let min = if self.stack == Some(StackKind::Pve) { 3 } else { 2 };
        if count < min || count > 16 {
            self.error(
                &c.referenced,
                format!("a cluster of {count} node{} cannot be tested here", if count == 1 { "" } else { "s" }),
                "node count",
                Some(format!(
                    "use {min} to 16 nodes{}",
                    if min == 3 { " (Proxmox VE HA needs 3 votes without a QDevice)" } else { "" }
                )),
            );
        }
        let mut seen = BTreeSet::new();
        for n in &nodes {
            let valid = !n.is_empty()
                && n.len() <= 63
                && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                && !n.starts_with('-');
            if !valid {
                self.error(
                    &c.referenced,
                    format!("`{n}` is not a valid host name"),
                    "bad node name",
                    Some("letters, digits and `-`, at most 63 characters".into()),
                );
            } else if !seen.insert(n.clone()) {
                self.error(&c.referenced, format!("node `{n}` is listed twice"), "duplicate node", None);
            }
        }
        let storage = doc.storage.unwrap_or(StorageKind::Nfs);
        let networks = doc.networks.clone().unwrap_or_else(|| vec![NetworkKind::Cluster, NetworkKind::Storage]);
        if !networks.contains(&NetworkKind::Cluster) {
            self.error(
                &c.referenced,
                "the cluster has no `cluster` network",
                "missing network",
                Some("corosync needs it: `networks: [cluster, storage]`".into()),
            );
        }
        if !networks.contains(&NetworkKind::Storage) {
            self.error(
                &c.referenced,
                "shared storage needs the `storage` network",
                "missing network",
                Some("`networks: [cluster, storage]`".into()),
            );
        }
        let memory_mib = doc.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        if memory_mib < 384 {
            self.error(
                &c.referenced,
                format!("{memory_mib} MiB is too little for a cluster node"),
                "memory",
                Some("use at least 384 MiB (768 is the tested default)".into()),
            );
        }
        Some(ClusterPlan { origin, nodes, storage, networks, memory_mib })
    }

    fn cluster_dirs(&self) -> Vec<PathBuf> {
        let Some(dir) = self.dir else {
            return Vec::new();
        };
        dir.ancestors().take(4).map(|d| d.join("clusters")).collect()
    }

    fn find_cluster(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') || name.contains('\\') {
            return None;
        }
        self.cluster_dirs().into_iter().map(|d| d.join(format!("{name}.yaml"))).find(|p| p.is_file())
    }

    // ---- resources -----------------------------------------------------------------

    fn resources(&mut self, docs: &[ResourceDoc]) -> Vec<ResourcePlan> {
        let mut out: Vec<ResourcePlan> = Vec::new();
        for r in docs {
            let id = r.id.value.clone();
            if out.iter().any(|o| o.id == id) {
                self.error(&r.id.referenced, format!("resource `{id}` is declared twice"), "duplicate", None);
                continue;
            }
            if self.stack == Some(StackKind::Pve) && !pve_resource_id(&id) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` is not a Proxmox VE HA resource id"),
                    "expected vm:N or ct:N",
                    Some("Proxmox VE HA resources are `vm:VMID` or `ct:VMID`, with VMID from 100 to 999999999".into()),
                );
            } else if self.stack == Some(StackKind::Pacemaker) && !xml_id(&id) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` cannot be a Pacemaker resource id"),
                    "not an XML id",
                    Some(
                        "Pacemaker ids start with a letter or `_` and hold letters, digits, `_`, `-` and `.` (no `:`)"
                            .into(),
                    ),
                );
            } else if id.is_empty() || id.chars().any(char::is_whitespace) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` is not a resource id"),
                    "bad id",
                    Some("no spaces; e.g. `ct:100` or `svc`".into()),
                );
            }
            let mut group = None;
            if let Some(g) = &r.group {
                if g.nodes.is_empty() {
                    self.error(&r.id.referenced, format!("the group of `{id}` has no nodes"), "empty group", None);
                }
                for n in &g.nodes {
                    self.check_node_name(n);
                }
                group = Some((g.nodes.iter().map(|n| n.value.clone()).collect(), g.restricted));
            }
            let (mut together, mut apart) = (Vec::new(), Vec::new());
            if let Some(a) = &r.affinity {
                for (list, out_list) in [(&a.together, &mut together), (&a.apart, &mut apart)] {
                    for other in list {
                        if other.value == id {
                            self.errors_push_self_affinity(other, &id);
                        }
                        out_list.push(other.value.clone());
                    }
                }
            }
            out.push(ResourcePlan {
                id,
                max_restart: r.max_restart.unwrap_or(1),
                max_relocate: r.max_relocate.unwrap_or(1),
                failback: r.failback.unwrap_or(true),
                group,
                together,
                apart,
            });
        }
        // Affinity may name resources declared later, so check once all are known.
        let ids: Vec<String> = out.iter().map(|r| r.id.clone()).collect();
        for r in docs {
            if let Some(a) = &r.affinity {
                for other in a.together.iter().chain(&a.apart) {
                    if !ids.contains(&other.value) {
                        let help = suggest(&other.value, ids.iter().map(String::as_str));
                        self.error(
                            &other.referenced,
                            format!("affinity names `{}`, which is not a declared resource", other.value),
                            "unknown resource",
                            help,
                        );
                    }
                }
            }
        }
        out
    }

    fn errors_push_self_affinity(&mut self, at: &Spanned<String>, id: &str) {
        self.error(&at.referenced, format!("`{id}` cannot have affinity with itself"), "itself", None);
    }

    fn check_node_name(&mut self, n: &Spanned<String>) {
        if let Some(nodes) = &self.nodes
            && !nodes.contains(&n.value)
        {
            let help = suggest(&n.value, nodes.iter().map(String::as_str))
                .or_else(|| Some(format!("the cluster's nodes are: {}", join(nodes.iter().map(String::as_str)))));
            self.error(&n.referenced, format!("no node `{}` in this cluster", n.value), "unknown node", help);
        }
    }

    // ---- names ---------------------------------------------------------------------

    /// A node name or a role. With a known cluster, anything else is an error.
    fn node_ref(&mut self, name: &str, at: &Location) -> Option<NodeRef> {
        if self.roles.contains(name) {
            return Some(NodeRef::Role(name.to_owned()));
        }
        match &self.nodes {
            Some(nodes) if nodes.iter().any(|n| n == name) => Some(NodeRef::Name(name.to_owned())),
            Some(nodes) => {
                let candidates: Vec<String> = nodes.iter().chain(self.roles.iter()).cloned().collect();
                let help = suggest(name, candidates.iter().map(String::as_str)).or_else(|| {
                    Some(format!(
                        "nodes: {}; roles: {}",
                        join(nodes.iter().map(String::as_str)),
                        if self.roles.is_empty() {
                            "none (bind one with `as:` on a fault or mark)".to_owned()
                        } else {
                            join(self.roles.iter().map(String::as_str))
                        }
                    ))
                });
                self.error(
                    at,
                    format!("`{name}` is neither a node of this cluster nor a role"),
                    "unknown node or role",
                    help,
                );
                None
            }
            // Without a cluster (an expectation file for `analyze`), node names come from the log.
            None => Some(NodeRef::Name(name.to_owned())),
        }
    }

    fn service_ref(&mut self, name: &Spanned<String>) -> Option<String> {
        if let Some(services) = &self.services {
            if !services.contains(&name.value) {
                let help = suggest(&name.value, services.iter().map(String::as_str))
                    .or_else(|| Some(format!("declared resources: {}", join(services.iter().map(String::as_str)))));
                self.error(
                    &name.referenced,
                    format!("`{}` is not a declared resource", name.value),
                    "unknown service",
                    help,
                );
                return None;
            }
        } else if self.stack == Some(StackKind::Pve) && !pve_resource_id(&name.value) {
            self.error(
                &name.referenced,
                format!("`{}` is not a Proxmox VE HA resource id", name.value),
                "expected vm:N or ct:N",
                None,
            );
            return None;
        }
        Some(name.value.clone())
    }

    fn state(&mut self, state: &Spanned<String>, of: Subject) -> Option<String> {
        let s = state.value.as_str();
        let (normal, raw): (Vec<&str>, &[&str]) = match of {
            Subject::Service => (
                ServiceState::ALL.iter().map(|v| v.as_str()).collect(),
                if self.stack != Some(StackKind::Pacemaker) { pve::SERVICE_STATES } else { &[] },
            ),
            Subject::Node => (
                NodeState::ALL.iter().map(|v| v.as_str()).collect(),
                if self.stack != Some(StackKind::Pacemaker) { pve::NODE_STATES } else { &[] },
            ),
        };
        if normal.contains(&s) || raw.contains(&s) {
            return Some(s.to_owned());
        }
        let what = if matches!(of, Subject::Service) { "service" } else { "node" };
        let help = suggest(s, normal.iter().chain(raw.iter()).copied()).unwrap_or_else(|| {
            if raw.is_empty() {
                format!("{what} states: {}", join(normal.iter().copied()))
            } else {
                format!(
                    "{what} states: {} (or the stack's own: {})",
                    join(normal.iter().copied()),
                    join(raw.iter().copied())
                )
            }
        });
        self.error(&state.referenced, format!("`{s}` is not a {what} state"), "unknown state", Some(help));
        None
    }

    fn duration(&mut self, d: &Spanned<String>, what: &str) -> Option<Duration> {
        match parse_duration(&d.value) {
            Ok(v) => Some(v),
            Err(why) => {
                self.error(
                    &d.referenced,
                    format!("{what}: {why}"),
                    "expected a duration",
                    Some("write durations with a unit: `60s`, `2m`, `1m30s`".into()),
                );
                None
            }
        }
    }

    // ---- marks, patterns, anchors -------------------------------------------------

    fn mark(&mut self, name: &str, m: &Spanned<PatternDoc>) -> Option<Mark> {
        let pattern = self.pattern(&m.value, &m.referenced)?;
        let binds = m.value.as_role.as_ref().map(|r| r.value.clone());
        if binds.is_some() && !pattern_has_node(&pattern) {
            self.error(
                &m.referenced,
                format!("mark `{name}` binds a role, but its event has no node"),
                "no node to bind",
                Some("`as:` works on fault, node and power events".into()),
            );
        }
        Some(Mark { name: name.to_owned(), pattern, binds, loc: self.loc(&m.referenced) })
    }

    fn pattern(&mut self, p: &PatternDoc, at: &Location) -> Option<Pattern> {
        let node = match &p.node {
            Some(n) => Some(self.node_ref(&n.value, &n.referenced)?),
            None => None,
        };
        if let Some(f) = &p.fault {
            let Some(fault) = FaultKind::parse(&f.value) else {
                let names = FaultKind::ALL.iter().map(|k| k.as_str());
                let help = suggest(&f.value, names.clone())
                    .unwrap_or_else(|| format!("faults seen in a timeline: {}", join(names)));
                self.error(
                    &f.referenced,
                    format!("`{}` is not a fault that appears in a timeline", f.value),
                    "unknown fault",
                    Some(help),
                );
                return None;
            };
            if p.service.is_some() || p.state.is_some() || p.power.is_some() {
                self.error(at, "a fault pattern takes only `fault`, `node` and `as`", "too many keys", None);
                return None;
            }
            return Some(Pattern::Fault { fault: Some(fault), node });
        }
        if let Some(svc) = &p.service {
            if p.node.is_some() || p.power.is_some() {
                self.error(
                    at,
                    "a service pattern takes `service` and `state`",
                    "too many keys",
                    Some("`node` is for node events; to say where a service runs use an expectation's `on`".into()),
                );
                return None;
            }
            let service = self.service_ref(svc)?;
            let state = match &p.state {
                Some(s) => Some(self.state(s, Subject::Service)?),
                None => None,
            };
            return Some(Pattern::Service { service, state, on: None });
        }
        if let Some(power) = p.power {
            if p.state.is_some() {
                self.error(at, "give either `state` or `power`, not both", "both", None);
                return None;
            }
            return Some(Pattern::Power { node, power });
        }
        if p.node.is_some() {
            let state = match &p.state {
                Some(s) => Some(self.state(s, Subject::Node)?),
                None => None,
            };
            return Some(Pattern::Node { node, state });
        }
        self.error(
            at,
            "this pattern matches nothing",
            "empty pattern",
            Some("give `fault`, `service` or `node`, e.g. `{ fault: network-off, node: node3 }`".into()),
        );
        None
    }

    fn anchor(&mut self, a: &Spanned<AnchorDoc>) -> Option<Anchor> {
        match &a.value {
            AnchorDoc::Name(name) => {
                let is_step = self.steps.contains_key(name);
                let is_mark = self.marks.contains(name);
                match (is_step, is_mark) {
                    (true, true) => {
                        self.error(
                            &a.referenced,
                            format!("`{name}` is both a step id and a mark"),
                            "ambiguous",
                            Some("rename one of them".into()),
                        );
                        None
                    }
                    (true, false) => Some(Anchor::Step(name.clone())),
                    (false, true) => Some(Anchor::Mark(name.clone())),
                    (false, false) => {
                        let candidates: Vec<String> = self.steps.keys().chain(self.marks.iter()).cloned().collect();
                        let help = suggest(name, candidates.iter().map(String::as_str)).or_else(|| {
                            Some(if candidates.is_empty() {
                                "give a step an `id`, declare a mark under `marks:`, or write the event in place: `after: { fault: network-off, node: node3 }`".to_owned()
                            } else {
                                format!("known: {}", join(candidates.iter().map(String::as_str)))
                            })
                        });
                        self.error(
                            &a.referenced,
                            format!("`after: {name}` names no earlier step and no mark"),
                            "unknown anchor",
                            help,
                        );
                        None
                    }
                }
            }
            AnchorDoc::Pattern(p) => Some(Anchor::Pattern(self.pattern(p, &a.referenced)?)),
        }
    }

    // ---- expectations -------------------------------------------------------------

    fn condition(&mut self, e: &ExpectDoc, at: &Location) -> Option<Pattern> {
        match (&e.service, &e.node) {
            (Some(_), Some(n)) => {
                self.error(
                    &n.referenced,
                    "an expectation is about a service or a node, not both",
                    "both",
                    Some("to say where a service runs, use `on: NODE`".into()),
                );
                None
            }
            (None, None) => {
                self.error(at, "this expectation names no service and no node", "about what?", Some("e.g. `{ service: vm:100, state: started, within: 2m }` or `{ node: victim, state: fenced, within: 60s }`".into()));
                None
            }
            (Some(svc), None) => {
                if let Some(p) = &e.power {
                    self.error(&p.referenced, "`power` is about nodes, not services", "node only", None);
                    return None;
                }
                let service = self.service_ref(svc);
                let state = match &e.state {
                    Some(s) => self.state(s, Subject::Service),
                    // "runs on X" reads naturally without a state.
                    None if e.on.is_some() => Some("started".to_owned()),
                    None => {
                        self.error(
                            &svc.referenced,
                            format!("which state of `{}`?", svc.value),
                            "no state",
                            Some("add e.g. `state: started`".into()),
                        );
                        None
                    }
                };
                let on = match &e.on {
                    Some(p) => {
                        let (name, not) = match &p.value {
                            PlacementDoc::On(n) => (n.clone(), false),
                            PlacementDoc::Not(n) => (n.not.clone(), true),
                        };
                        let r = self.node_ref(&name, &p.referenced)?;
                        Some(if not { Placement::NotOn(r) } else { Placement::On(r) })
                    }
                    None => None,
                };
                Some(Pattern::Service { service: service?, state: Some(state?), on })
            }
            (None, Some(n)) => {
                if let Some(on) = &e.on {
                    self.error(
                        &on.referenced,
                        "`on` says where a service runs; this expectation is about a node",
                        "service only",
                        None,
                    );
                    return None;
                }
                let node = self.node_ref(&n.value, &n.referenced)?;
                match (&e.state, &e.power) {
                    (Some(_), Some(p)) => {
                        self.error(&p.referenced, "give either `state` or `power`, not both", "both", None);
                        None
                    }
                    (Some(s), None) => {
                        Some(Pattern::Node { node: Some(node), state: Some(self.state(s, Subject::Node)?) })
                    }
                    (None, Some(p)) => Some(Pattern::Power { node: Some(node), power: p.value }),
                    (None, None) => {
                        self.error(
                            &n.referenced,
                            format!("which state of node `{}`?", n.value),
                            "no state",
                            Some("add `state: fenced` (or online, lost, …) or `power: off|running|reset`".into()),
                        );
                        None
                    }
                }
            }
        }
    }

    fn expectation(&mut self, e: &Spanned<ExpectDoc>, ctx: Ctx, default_after: Option<&str>) -> Option<Expectation> {
        let at = &e.referenced;
        let d = &e.value;
        let condition = self.condition(d, at);
        let timing = match ctx {
            Ctx::Final => {
                if let Some(w) = d.within.as_ref().map(|w| &w.referenced).or(d.after.as_ref().map(|a| &a.referenced)) {
                    self.error(w, "a final-state expectation has no `within` or `after`", "not here", Some("it is checked against the state at the end of the run; move it to `expect:` to bound it in time".into()));
                    return None;
                }
                Timing::Final
            }
            Ctx::TopLevel | Ctx::Step => {
                let after = match &d.after {
                    Some(a) => Some(self.anchor(a)?),
                    None => default_after.map(|s| Anchor::Step(s.to_owned())),
                };
                match (&d.within, d.eventually) {
                    (Some(w), Some(true)) => {
                        self.error(
                            &w.referenced,
                            "`within` and `eventually` exclude each other",
                            "pick one",
                            Some("`within` bounds the time; `eventually: true` only asks that it happens".into()),
                        );
                        return None;
                    }
                    (Some(w), _) => {
                        let bound = self.duration(w, "within")?;
                        let Some(after) = after else {
                            self.error(&w.referenced, "`within` needs something to measure from", "within … after what?", Some("add `after: STEP-ID` or `after: { fault: network-off, node: node3 }`, or put the expectation in a step after a fault".into()));
                            return None;
                        };
                        Timing::Within { bound, after }
                    }
                    (None, Some(true)) => Timing::Eventually { after },
                    (None, _) => {
                        self.error(at, "this expectation does not say when", "when?", Some("add `within: 60s` (measured from `after`) or `eventually: true`; state at the end goes under `final:`".into()));
                        return None;
                    }
                }
            }
        };
        let condition = condition?;
        let text = describe(&condition, &timing);
        let expected_fail = self.expected(&d.expected)?;
        Some(Expectation { condition, timing, text, loc: self.loc(at), expected_fail })
    }

    /// `expected: fail`, the only outcome a check can be marked with.
    fn expected(&mut self, e: &Option<Spanned<String>>) -> Option<bool> {
        match e {
            None => Some(false),
            Some(v) if v.value == "fail" => Some(true),
            Some(v) => {
                self.error(
                    &v.referenced,
                    format!("`expected: {}` is not an outcome hadrill knows", v.value),
                    "unknown outcome",
                    Some(
                        "`expected: fail` marks a check known to fail on a sound set-up; leave it out otherwise".into(),
                    ),
                );
                None
            }
        }
    }

    fn invariant(&mut self, i: &Spanned<InvariantDoc>) -> Option<Invariant> {
        let d = &i.value;
        let service = match &d.service {
            Some(s) => Some(self.service_ref(s)?),
            None => None,
        };
        let nodes = match (&d.node, &d.nodes) {
            (Some(n), Some(_)) => {
                self.error(&n.referenced, "give `node` or `nodes`, not both", "both", None);
                return None;
            }
            (Some(n), None) => Some(NodeSet::One(self.node_ref(&n.value, &n.referenced)?)),
            (None, Some(set)) => match set.value.as_str() {
                "survivors" => {
                    if self.roles.is_empty() {
                        self.error(
                            &set.referenced,
                            "`survivors` means every node without a role, but this file binds no role",
                            "no roles",
                            Some("bind one with `as: victim` on a fault step or a mark".into()),
                        );
                        return None;
                    }
                    Some(NodeSet::Survivors)
                }
                "all" => Some(NodeSet::All),
                other => {
                    let help = suggest(other, ["survivors", "all"])
                        .or_else(|| Some("`nodes:` takes `survivors` or `all`; for one node use `node:`".into()));
                    self.error(&set.referenced, format!("`{other}` is not a node set"), "unknown set", help);
                    return None;
                }
            },
            (None, None) => None,
        };
        let never = match d.never.value.as_str() {
            "active-on-two-nodes" | "recovery-before-fence" if nodes.is_some() => {
                self.error(
                    &d.never.referenced,
                    format!("`{}` is about services; it takes `service`, not nodes", d.never.value),
                    "service invariant",
                    None,
                );
                return None;
            }
            "unconfirmed-fence" if service.is_some() || nodes.is_some() => {
                self.error(
                    &i.referenced,
                    "`unconfirmed-fence` is about every fence of the run; it takes neither `service` nor nodes",
                    "cluster invariant",
                    None,
                );
                return None;
            }
            "active-on-two-nodes" => Never::ActiveOnTwoNodes { service },
            "recovery-before-fence" => Never::RecoveryBeforeFence { service },
            "unconfirmed-fence" => Never::UnconfirmedFence,
            state => match (&service, nodes) {
                (Some(_), Some(_)) => {
                    self.error(&i.referenced, "an invariant is about services or nodes, not both", "both", None);
                    return None;
                }
                (Some(_), None) => Never::ServiceState { service, state: self.state(&d.never, Subject::Service)? },
                (None, Some(nodes)) => Never::NodeState { nodes, state: self.state(&d.never, Subject::Node)? },
                (None, None) => {
                    let known = ["active-on-two-nodes", "recovery-before-fence", "unconfirmed-fence"];
                    let help = suggest(state, known).unwrap_or_else(|| "invariants: `active-on-two-nodes`, `recovery-before-fence`, `unconfirmed-fence`, or a state with `service:` or `node:`/`nodes:`".into());
                    self.error(
                        &d.never.referenced,
                        format!("`never: {state}` is not an invariant hadrill knows"),
                        "unknown invariant",
                        Some(help),
                    );
                    return None;
                }
            },
        };
        let text = describe_never(&never);
        let expected_fail = self.expected(&d.expected)?;
        Some(Invariant { never, text, loc: self.loc(&i.referenced), expected_fail })
    }

    // ---- steps --------------------------------------------------------------------

    fn steps(&mut self, docs: &[Spanned<StepDoc>], expectations: &mut Vec<Expectation>) -> Vec<Step> {
        let mut out = Vec::new();
        let mut last_anchor: Option<String> = None;
        let mut healed: BTreeSet<String> = BTreeSet::new();
        let mut bound_roles: BTreeSet<String> = BTreeSet::new();
        for (index, s) in docs.iter().enumerate() {
            let d = &s.value;
            let at = &s.referenced;
            let present: Vec<&str> = [
                ("await", d.await_.is_some()),
                ("wait", d.wait.is_some()),
                ("fault", d.fault.is_some()),
                ("heal", d.heal.is_some()),
                ("action", d.action.is_some()),
                ("expect", d.expect.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, p)| p.then_some(k))
            .collect();
            if present.is_empty() {
                self.error(
                    at,
                    "this step does nothing",
                    "empty step",
                    Some("a step has one of: await, wait, fault, heal, action, expect".into()),
                );
                continue;
            }
            if present.len() > 1 {
                self.error(
                    at,
                    format!(
                        "a step does one thing; this one has {}",
                        present.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                    ),
                    "several actions",
                    Some("split it into one step each".into()),
                );
                continue;
            }
            // Give this step an implicit id when it is a fault, so step expectations can anchor on it.
            let id = d.id.as_ref().map(|i| i.value.clone());
            if let Some(i) = &d.id
                && self.steps.contains_key(&i.value)
            {
                self.error(&i.referenced, format!("step id `{}` is used twice", i.value), "duplicate id", None);
            }
            if let (Some(r), None) = (&d.as_role, &d.fault) {
                self.error(
                    &r.referenced,
                    "`as` names the target of a fault; this step has no fault",
                    "not a fault",
                    None,
                );
            }
            let what = if let Some(a) = &d.await_ {
                if a.value.after.is_some() || a.value.eventually.is_some() {
                    self.error(
                        &a.referenced,
                        "`await` waits from now: it takes `within` as its timeout, not `after` or `eventually`",
                        "not here",
                        None,
                    );
                    continue;
                }
                let timeout = match &a.value.within {
                    Some(w) => self.duration(w, "within"),
                    None => Some(DEFAULT_AWAIT),
                };
                let Some(condition) = self.condition(&a.value, &a.referenced) else {
                    continue;
                };
                StepKind::Await { condition, timeout: timeout.unwrap_or(DEFAULT_AWAIT) }
            } else if let Some(w) = &d.wait {
                let Some(dur) = self.duration(w, "wait") else {
                    continue;
                };
                StepKind::Wait(dur)
            } else if let Some(f) = &d.fault {
                let Some((fault, target)) = self.fault(f) else {
                    continue;
                };
                let role = d.as_role.as_ref().map(|r| r.value.clone()).unwrap_or_else(|| default_role(&bound_roles));
                if !bound_roles.insert(role.clone())
                    && let Some(r) = &d.as_role
                {
                    self.error(
                        &r.referenced,
                        format!("role `{role}` is already bound by an earlier fault"),
                        "rebound",
                        Some("give each fault's target its own role".into()),
                    );
                }
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: Some(fault.clone()) });
                last_anchor = Some(key);
                StepKind::Fault { fault, target, role }
            } else if let Some(h) = &d.heal {
                let Some(info) = self.steps.get(&h.value).cloned() else {
                    let faults: Vec<String> = self
                        .steps
                        .iter()
                        .filter(|(_, i)| i.fault.is_some())
                        .map(|(k, _)| k.clone())
                        .filter(|k| !k.starts_with('#'))
                        .collect();
                    let later =
                        docs.iter().skip(index + 1).any(|s| s.value.id.as_ref().is_some_and(|i| i.value == h.value));
                    let help = if later {
                        Some("that step comes later: a heal must follow its fault".to_owned())
                    } else {
                        suggest(&h.value, faults.iter().map(String::as_str)).or_else(|| {
                            Some(format!(
                                "fault steps so far: {}",
                                if faults.is_empty() {
                                    "none".to_owned()
                                } else {
                                    join(faults.iter().map(String::as_str))
                                }
                            ))
                        })
                    };
                    self.error(
                        &h.referenced,
                        format!("`heal: {}` names no earlier fault step", h.value),
                        "unknown fault step",
                        help,
                    );
                    continue;
                };
                match &info.fault {
                    None => {
                        self.error(
                            &h.referenced,
                            format!("step `{}` is not a fault, so there is nothing to heal", h.value),
                            "not a fault",
                            None,
                        );
                        continue;
                    }
                    Some(f) if !f.healable() => {
                        let why = if matches!(f, Fault::Reboot) {
                            "a rebooted node comes back by itself; wait for it with `expect: { node: …, state: online }`"
                        } else {
                            "a killed process is restarted by its supervisor or the HA stack; leave it out, or use stop-service"
                        };
                        self.error(
                            &h.referenced,
                            format!("a `{}` cannot be healed", f.name()),
                            "cannot heal",
                            Some(why.into()),
                        );
                        continue;
                    }
                    Some(_) => {}
                }
                if !healed.insert(h.value.clone()) {
                    self.error(&h.referenced, format!("step `{}` is healed twice", h.value), "healed already", None);
                    continue;
                }
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: None });
                last_anchor = Some(key);
                StepKind::Heal { step: h.value.clone() }
            } else if let Some(a) = &d.action {
                let Some((action, on, timeout)) = self.action(a) else {
                    continue;
                };
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: None });
                last_anchor = Some(key);
                StepKind::Action { action, on, timeout }
            } else if let Some(list) = &d.expect {
                if list.is_empty() {
                    self.error(at, "this `expect` list is empty", "nothing expected", None);
                    continue;
                }
                let mut idx = Vec::new();
                for e in list {
                    if let Some(x) = self.expectation(e, Ctx::Step, last_anchor.as_deref()) {
                        idx.push(expectations.len());
                        expectations.push(x);
                    }
                }
                StepKind::Expect(idx)
            } else {
                unreachable!("one step key is present")
            };
            if let Some(i) = &id {
                self.steps.entry(i.clone()).or_insert(StepInfo { fault: None });
            }
            out.push(Step { id, what, loc: self.loc(at) });
        }
        out
    }

    fn fault(&mut self, f: &Spanned<FaultDoc>) -> Option<(Fault, Target)> {
        let (fault, node) = match &f.value {
            FaultDoc::PowerPull { node } => (Fault::PowerPull, node),
            FaultDoc::LinkDown { node, network } => {
                (Fault::LinkDown { network: network.unwrap_or(NetworkKind::Cluster) }, node)
            }
            FaultDoc::StorageBreak { node } => (Fault::StorageBreak, node),
            FaultDoc::KillProcess { node, process, signal } => {
                let signal = signal.clone().unwrap_or_else(|| "KILL".into());
                let known = ["KILL", "TERM", "STOP", "CONT", "HUP", "INT", "ABRT", "SEGV", "USR1", "USR2", "QUIT"];
                let bare = signal.trim_start_matches("SIG");
                if !known.contains(&bare) && bare.parse::<u8>().is_err() {
                    self.error(
                        &f.referenced,
                        format!("`{signal}` is not a signal"),
                        "unknown signal",
                        Some(format!("signals: {}", known.join(", "))),
                    );
                    return None;
                }
                if process.trim().is_empty() {
                    self.error(&f.referenced, "kill-process needs the process name", "no process", None);
                    return None;
                }
                (Fault::KillProcess { process: process.clone(), signal: bare.to_owned() }, node)
            }
            FaultDoc::StopService { node, service } => (Fault::StopService { service: service.clone() }, node),
            FaultDoc::FreezeIo { node } => (Fault::FreezeIo, node),
            FaultDoc::FreezeWatchdog { node } => (Fault::FreezeWatchdog, node),
            FaultDoc::Pause { node } => (Fault::Pause, node),
            FaultDoc::Reboot { node } => (Fault::Reboot, node),
        };
        let target = self.target(node, true)?;
        Some((fault, target))
    }

    fn target(&mut self, t: &Spanned<TargetDoc>, allow_all: bool) -> Option<Target> {
        match &t.value {
            TargetDoc::Named(n) if n == "all" => {
                if allow_all {
                    Some(Target::All)
                } else {
                    self.error(&t.referenced, "an action runs on one node, not `all`", "one node", None);
                    None
                }
            }
            TargetDoc::Named(n) => Some(Target::Node(self.node_ref(n, &t.referenced)?)),
            TargetDoc::Select(s) => match (&s.runs, s.master) {
                (Some(_), Some(true)) => {
                    self.error(&t.referenced, "give `runs` or `master`, not both", "both", None);
                    None
                }
                (Some(svc), _) => Some(Target::Runs(self.service_ref(svc)?)),
                (None, Some(true)) => Some(Target::Master),
                (None, _) => {
                    self.error(
                        &t.referenced,
                        "this target selects no node",
                        "no node",
                        Some("e.g. `{ runs: ct:100 }` or `{ master: true }`".into()),
                    );
                    None
                }
            },
        }
    }

    fn action(&mut self, a: &Spanned<ActionDoc>) -> Option<(Action, Target, Duration)> {
        let d = &a.value;
        let mut chosen: Vec<(&str, Action, &Location)> = Vec::new();
        if let Some(v) = &d.ha_manager {
            chosen.push(("ha-manager", Action::HaManager(v.value.clone()), &v.referenced));
        }
        if let Some(v) = &d.pvecm_expected {
            chosen.push(("pvecm-expected", Action::PvecmExpected(v.value), &v.referenced));
        }
        if let Some(v) = &d.crm_resource {
            chosen.push(("crm-resource", Action::CrmResource(v.value.clone()), &v.referenced));
        }
        if let Some(v) = &d.run {
            chosen.push(("run", Action::Run(v.value.clone()), &v.referenced));
        }
        if chosen.len() != 1 {
            let msg = if chosen.is_empty() {
                "this action does nothing".to_owned()
            } else {
                format!(
                    "an action does one thing; this one has {}",
                    chosen.iter().map(|c| format!("`{}`", c.0)).collect::<Vec<_>>().join(" and ")
                )
            };
            self.error(&a.referenced, msg, "one of ha-manager, pvecm-expected, crm-resource, run", None);
            return None;
        }
        let (key, action, at) = chosen.pop().expect("one action");
        let needs = match &action {
            Action::HaManager(_) | Action::PvecmExpected(_) => Some(StackKind::Pve),
            Action::CrmResource(_) => Some(StackKind::Pacemaker),
            Action::Run(_) => None,
        };
        if let Some(needs) = needs
            && self.stack != Some(needs)
        {
            let has = self
                .stack
                .map(|s| format!("this scenario's stack is `{}`", s.as_str()))
                .unwrap_or_else(|| "this scenario names no stack".into());
            self.error(
                at,
                format!("`{key}` is a {} command; {has}", needs.as_str()),
                "wrong stack",
                Some(format!("use `run:` for any shell command, or set `stack: {}`", needs.as_str())),
            );
            return None;
        }
        match &action {
            Action::HaManager(args) if args.split_whitespace().next().is_none() => {
                self.error(at, "`ha-manager` needs arguments, e.g. `set vm:100 --state disabled`", "empty", None);
                return None;
            }
            Action::PvecmExpected(0) => {
                self.error(
                    at,
                    "`pvecm expected 0` would make every partition quorate",
                    "zero votes",
                    Some("the way out of quorum loss with one node left is `pvecm-expected: 1`".into()),
                );
                return None;
            }
            Action::Run(cmd) if cmd.trim().is_empty() => {
                self.error(at, "`run` needs a command", "empty", None);
                return None;
            }
            _ => {}
        }
        let on = match &d.on {
            Some(t) => self.target(t, false)?,
            None => Target::Any,
        };
        let timeout = match &d.timeout {
            Some(t) => self.duration(t, "timeout")?,
            None => DEFAULT_ACTION_TIMEOUT,
        };
        Some((action, on, timeout))
    }
}

#[derive(Clone, Copy)]
enum Subject {
    Service,
    Node,
}

#[derive(Clone, Copy)]
enum Ctx {
    TopLevel,
    Step,
    Final,
}

/// `victim`, then `victim-2`, … for faults that do not name a role.
fn default_role(taken: &BTreeSet<String>) -> String {
    if !taken.contains("victim") {
        return "victim".into();
    }
    (2..).map(|i| format!("victim-{i}")).find(|r| !taken.contains(r)).expect("unbounded")
}

fn pattern_has_node(p: &Pattern) -> bool {
    !matches!(p, Pattern::Service { .. })
}

/// An XML NCName, as the CIB's schema requires of ids.
fn xml_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn pve_resource_id(id: &str) -> bool {
    let Some((kind, vmid)) = id.split_once(':') else {
        return false;
    };
    matches!(kind, "vm" | "ct")
        && vmid.parse::<u64>().is_ok_and(|n| (100..=999_999_999).contains(&n))
        && !vmid.starts_with('0')
}

/// A pattern as words: `service vm:103 fence on node2`.
pub fn describe_pattern(p: &Pattern) -> String {
    let placement = |on: &Option<Placement>| match on {
        Some(Placement::On(n)) => format!(" on {n}"),
        Some(Placement::NotOn(n)) => format!(" not on {n}"),
        None => String::new(),
    };
    match p {
        Pattern::Fault { fault, node } => format!(
            "fault {}{}",
            fault.map(|f| f.as_str()).unwrap_or("any"),
            node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()
        ),
        Pattern::Service { service, state, on } => {
            format!("service {service} {}{}", state.as_deref().unwrap_or("changes"), placement(on))
        }
        Pattern::Node { node, state } => format!(
            "node {} {}",
            node.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "any".into()),
            state.as_deref().unwrap_or("changes")
        ),
        Pattern::Power { node, power } => format!(
            "node {} power {}",
            node.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "any".into()),
            power_name(*power)
        ),
    }
}

fn power_name(p: PowerState) -> &'static str {
    p.as_str()
}

fn describe_anchor(a: &Anchor) -> String {
    match a {
        Anchor::Step(s) if s.starts_with('#') => format!("step {}", &s[1..]),
        Anchor::Step(s) | Anchor::Mark(s) => s.clone(),
        Anchor::Pattern(p) => describe_pattern(p),
    }
}

fn describe(c: &Pattern, t: &Timing) -> String {
    let what = describe_pattern(c);
    match t {
        Timing::Within { bound, after } => {
            format!("{what} within {} after {}", format_duration(*bound), describe_anchor(after))
        }
        Timing::Eventually { after: Some(a) } => {
            format!("{what} eventually after {}", describe_anchor(a))
        }
        Timing::Eventually { after: None } => format!("{what} eventually"),
        Timing::Final => format!("{what} at the end"),
    }
}

/// The fence-truth invariant as checks name it.
pub const UNCONFIRMED_FENCE: &str = "never: a fence the hypervisor did not confirm";

pub fn describe_never(n: &Never) -> String {
    let svc = |s: &Option<String>| s.clone().unwrap_or_else(|| "any service".into());
    match n {
        Never::ActiveOnTwoNodes { service } => {
            format!("never: {} active on two nodes", svc(service))
        }
        Never::RecoveryBeforeFence { service } => {
            format!("never: {} recovered before its node was fenced", svc(service))
        }
        Never::ServiceState { service, state } => format!("never: {} {state}", svc(service)),
        Never::UnconfirmedFence => UNCONFIRMED_FENCE.into(),
        Never::NodeState { nodes, state } => {
            let who = match nodes {
                NodeSet::One(n) => format!("node {n}"),
                NodeSet::Survivors => "a survivor".into(),
                NodeSet::All => "any node".into(),
            };
            format!("never: {who} {state}")
        }
    }
}
