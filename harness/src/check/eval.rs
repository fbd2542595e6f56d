//! Evaluation of a plan's expectations and invariants against a timeline.
//!
//! "B within T after A" looks for the first event at or after A that makes B true. When B
//! is not seen, the verdict depends on how far observation reaches: a closed window is a
//! failure, a window still open when the log ends is inconclusive. A check whose anchor
//! never happened, or whose role was never bound, is inconclusive too: it is never a pass.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::ClusterModel;
use super::{CheckKind, CheckResult, Subject, Verdict};
use crate::scenario::{
    Anchor, Expectation, Invariant, Mark, Never, NodeRef, NodeSet, Pattern, Placement, Plan, Timing, describe_pattern,
};
use crate::timeline::{Event, EventData, FencePhase, NodeState, Roles, Seconds, ServiceOp, ServiceState, Timeline};

/// All checks of one run or analysed log, and the run's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// A title for reports: the scenario's or expectation file's name, or the log's.
    pub title: String,
    pub checks: Vec<CheckResult>,
    /// `None` when there was nothing to check.
    pub verdict: Option<Verdict>,
    /// Roles bound during the run (node → role).
    pub roles: Roles,
}

/// What a run knows beyond its timeline: when each step was done and which node each role
/// was bound to. Empty for an analysed log, where marks bind roles instead.
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    pub steps: BTreeMap<String, Seconds>,
    /// role → node
    pub roles: BTreeMap<String, String>,
    /// Invariants are judged from this instant on (a run: when its first step began; before,
    /// the stack was being set up and a service is, say, stopped before its first start).
    /// Earlier events still build up the state. `None`: the whole timeline.
    pub from: Option<Seconds>,
}

/// Evaluate every expectation and invariant of `plan` against `timeline`.
pub fn evaluate(timeline: &Timeline, plan: &Plan, bindings: &Bindings) -> Evaluation {
    // Nodes of the cluster count even when no event named them (a quiet survivor).
    let mut nodes = timeline.nodes();
    nodes.extend(plan.cluster.iter().flat_map(|c| c.nodes.iter().cloned()));
    let mut cx = Eval {
        timeline,
        nodes,
        steps: bindings.steps.clone(),
        roles: bindings.roles.clone(),
        marks: BTreeMap::new(),
        from: bindings.from,
    };
    cx.resolve_marks(&plan.marks);
    let mut checks: Vec<CheckResult> = plan.expectations.iter().map(|x| cx.expectation(x)).collect();
    checks.extend(plan.invariants.iter().map(|i| cx.invariant(i)));
    let verdict = Verdict::combine(checks.iter().map(|c| c.verdict));
    let roles = Roles(cx.roles.iter().map(|(role, node)| (node.clone(), role.clone())).collect());
    Evaluation { title: plan.name.clone(), checks, verdict, roles }
}

struct Eval<'a> {
    timeline: &'a Timeline,
    nodes: BTreeSet<String>,
    steps: BTreeMap<String, Seconds>,
    /// role → node
    roles: BTreeMap<String, String>,
    /// mark → when it happened (None: never)
    marks: BTreeMap<String, Option<Seconds>>,
    /// Where invariants start to count.
    from: Option<Seconds>,
}

/// Where the anchor of a check is, or why it cannot be found.
enum AnchorAt {
    At(Seconds),
    Missing(String),
}

impl Eval<'_> {
    /// Marks may refer to roles bound by other marks, so resolve in rounds.
    fn resolve_marks(&mut self, marks: &[Mark]) {
        let mut pending: Vec<&Mark> = marks.iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|m| {
                if pattern_roles(&m.pattern).iter().any(|r| !self.roles.contains_key(r)) {
                    return true;
                }
                let found =
                    self.first_match(&m.pattern, Seconds(f64::MIN)).map(|e| (e.t, e.data.node().map(str::to_owned)));
                if let (Some((_, Some(node))), Some(role)) = (&found, &m.binds) {
                    self.roles.insert(role.clone(), node.clone());
                }
                self.marks.insert(m.name.clone(), found.map(|(t, _)| t));
                false
            });
            if pending.len() == before {
                for m in pending.drain(..) {
                    self.marks.insert(m.name.clone(), None);
                }
            }
        }
    }

    fn node_name(&self, r: &NodeRef) -> Option<String> {
        match r {
            NodeRef::Name(n) => Some(n.clone()),
            NodeRef::Role(role) => self.roles.get(role).cloned(),
        }
    }

    /// The first event at or after `from` that matches, with the model stepped through
    /// every event before it.
    fn first_match(&self, p: &Pattern, from: Seconds) -> Option<&Event> {
        let mut model = ClusterModel::default();
        for e in &self.timeline.events {
            let before = model.services.get(event_service(e).unwrap_or("")).and_then(|s| s.node.clone());
            model.apply(e);
            if e.t >= from && self.matches(p, e, &model, before.as_deref()) {
                return Some(e);
            }
        }
        None
    }

    /// Whether `e` (already applied to `model`) makes `p` true.
    fn matches(&self, p: &Pattern, e: &Event, model: &ClusterModel, _node_before: Option<&str>) -> bool {
        let node_is = |r: &Option<NodeRef>, n: &str| match r {
            None => true,
            Some(r) => self.node_name(r).as_deref() == Some(n),
        };
        match (p, &e.data) {
            (Pattern::Fault { fault, node }, EventData::Fault { node: n, fault: f, .. }) => {
                fault.is_none_or(|k| k == *f) && node_is(node, n)
            }
            (Pattern::Service { service, state, on }, EventData::Service { service: s, to, to_state, .. })
                if s == service =>
            {
                if !state.as_deref().is_none_or(|want| state_is(want, to, to_state.map(ServiceState::as_str))) {
                    return false;
                }
                let placed = model.services.get(service).and_then(|v| v.node.as_deref());
                match on {
                    None => true,
                    Some(Placement::On(r)) => self.node_name(r).is_some_and(|n| placed == Some(n.as_str())),
                    Some(Placement::NotOn(r)) => self.node_name(r).is_some_and(|n| placed.is_some_and(|p| p != n)),
                }
            }
            // A node reporting the service running is as good as the manager saying so; some
            // logs (a Pacemaker journal) only have the former.
            (
                Pattern::Service { service, state, on },
                EventData::ServiceOp { service: s, node: n, op: ServiceOp::Running, .. },
            ) if s == service && state.as_deref().is_some_and(|w| w == "started" || w == "Started") => match on {
                None => true,
                Some(Placement::On(r)) => self.node_name(r).as_deref() == Some(n.as_str()),
                Some(Placement::NotOn(r)) => self.node_name(r).is_some_and(|x| x != *n),
            },
            (Pattern::Node { node, state }, EventData::Node { node: n, to, to_state, .. }) => {
                node_is(node, n)
                    && state.as_deref().is_none_or(|want| state_is(want, to, to_state.map(NodeState::as_str)))
            }
            // Fencing is confirmed by its own event; PVE never shows a `fenced` node state.
            (Pattern::Node { node, state }, EventData::Fence { node: n, phase }) => {
                let as_state = match phase {
                    FencePhase::Started => "fencing",
                    FencePhase::Acknowledged => "fenced",
                    FencePhase::Failed => return false,
                };
                node_is(node, n) && state.as_deref().is_some_and(|want| want == as_state)
            }
            (Pattern::Power { node, power }, EventData::Power { node: n, state, .. }) => {
                node_is(node, n) && power == state
            }
            _ => false,
        }
    }

    fn anchor_time(&self, a: &Anchor) -> AnchorAt {
        match a {
            Anchor::Step(id) => match self.steps.get(id) {
                Some(t) => AnchorAt::At(*t),
                None if self.steps.is_empty() => AnchorAt::Missing(format!(
                    "step `{}` is only known in a run, not in an analysed log",
                    id.trim_start_matches('#')
                )),
                None => AnchorAt::Missing(format!("step `{}` was not reached", id.trim_start_matches('#'))),
            },
            Anchor::Mark(m) => match self.marks.get(m).copied().flatten() {
                Some(t) => AnchorAt::At(t),
                None => AnchorAt::Missing(format!("mark `{m}` never happened")),
            },
            Anchor::Pattern(p) => {
                if let Some(missing) = self.unbound(p) {
                    return AnchorAt::Missing(missing);
                }
                match self.first_match(p, Seconds(f64::MIN)) {
                    Some(e) => AnchorAt::At(e.t),
                    None => AnchorAt::Missing(format!("`{}` never happened", describe_pattern(p))),
                }
            }
        }
    }

    /// A role the pattern needs that was never bound, as a sentence.
    fn unbound(&self, p: &Pattern) -> Option<String> {
        pattern_roles(p)
            .into_iter()
            .find(|r| !self.roles.contains_key(r))
            .map(|r| format!("role `{r}` was never bound to a node"))
    }

    fn subject(&self, p: &Pattern) -> Subject {
        match p {
            Pattern::Service { service, .. } => Subject::Service(service.clone()),
            Pattern::Node { node: Some(r), .. }
            | Pattern::Power { node: Some(r), .. }
            | Pattern::Fault { node: Some(r), .. } => Subject::Node(self.node_name(r).unwrap_or_else(|| r.to_string())),
            _ => Subject::Cluster,
        }
    }

    fn expectation(&self, x: &Expectation) -> CheckResult {
        let kind = match x.timing {
            Timing::Within { .. } => CheckKind::Within,
            Timing::Eventually { .. } => CheckKind::Eventually,
            Timing::Final => CheckKind::Final,
        };
        let mut r = CheckResult {
            name: x.text.clone(),
            kind,
            subject: self.subject(&x.condition),
            verdict: Verdict::Inconclusive,
            message: String::new(),
            from: None,
            until: None,
            seen: None,
            measured: None,
            location: Some(x.loc.to_string()),
        };
        let end = self.timeline.end();
        if self.timeline.events.is_empty() {
            r.message = "the timeline is empty: nothing was observed".into();
            return r;
        }
        if let Some(missing) = self.unbound(&x.condition) {
            r.message = missing;
            return r;
        }
        match &x.timing {
            Timing::Within { bound, after } => {
                let t0 = match self.anchor_time(after) {
                    AnchorAt::At(t) => t,
                    AnchorAt::Missing(why) => {
                        r.message = format!("cannot measure: {why}");
                        return r;
                    }
                };
                let deadline = t0 + secs(*bound);
                r.from = Some(t0);
                r.until = Some(deadline);
                match self.first_match(&x.condition, t0) {
                    Some(e) => {
                        let took = e.t - t0;
                        r.seen = Some(e.t);
                        r.measured = Some(took);
                        if e.t <= deadline {
                            r.verdict = Verdict::Pass;
                            r.message = format!("after {took}s (bound {}s), at t={}", secs(*bound), e.t);
                        } else {
                            r.verdict = Verdict::Fail;
                            r.message = format!("took {took}s, more than the {}s bound (at t={})", secs(*bound), e.t);
                        }
                    }
                    None if end >= deadline => {
                        r.verdict = Verdict::Fail;
                        r.message = format!(
                            "did not happen within {}s after t={t0}; observed until t={end}, and it never happened",
                            secs(*bound)
                        );
                    }
                    None => {
                        r.message = format!(
                            "observation ended at t={end}, {}s into the {}s window, before it happened",
                            end - t0,
                            secs(*bound)
                        );
                    }
                }
            }
            Timing::Eventually { after } => {
                let t0 = match after.as_ref().map(|a| self.anchor_time(a)) {
                    None => Seconds(f64::MIN),
                    Some(AnchorAt::At(t)) => {
                        r.from = Some(t);
                        t
                    }
                    Some(AnchorAt::Missing(why)) => {
                        r.message = format!("cannot measure: {why}");
                        return r;
                    }
                };
                match self.first_match(&x.condition, t0) {
                    Some(e) => {
                        r.verdict = Verdict::Pass;
                        r.seen = Some(e.t);
                        if t0.0 > f64::MIN {
                            r.measured = Some(e.t - t0);
                            r.message = format!("at t={}, {}s after t={t0}", e.t, e.t - t0);
                        } else {
                            r.message = format!("at t={}", e.t);
                        }
                    }
                    None => {
                        r.verdict = Verdict::Fail;
                        r.message = format!("never happened; observed until t={end}");
                    }
                }
            }
            Timing::Final => self.final_state(&x.condition, &mut r),
        }
        r
    }

    fn final_state(&self, p: &Pattern, r: &mut CheckResult) {
        let mut model = ClusterModel::default();
        for e in &self.timeline.events {
            model.apply(e);
        }
        let end = self.timeline.end();
        r.seen = Some(end);
        match holds(p, &model, &self.roles) {
            Holds::Undecided(why) => r.message = why,
            Holds::Yes(now) => {
                r.verdict = Verdict::Pass;
                r.message = format!("at the end (t={end}): {now}");
            }
            Holds::No(now) => {
                r.verdict = Verdict::Fail;
                r.message = format!("at the end (t={end}): {now}");
            }
        }
    }

    fn invariant(&self, inv: &Invariant) -> CheckResult {
        let mut r = CheckResult {
            name: inv.text.clone(),
            kind: CheckKind::Never,
            subject: Subject::Cluster,
            verdict: Verdict::Inconclusive,
            message: String::new(),
            from: Some(self.from.unwrap_or(Seconds::ZERO)),
            until: Some(self.timeline.end()),
            seen: None,
            measured: None,
            location: Some(inv.loc.to_string()),
        };
        let counts = |t: Seconds| self.from.is_none_or(|f| t >= f);
        if self.timeline.events.is_empty() {
            r.message = "the timeline is empty: nothing was observed".into();
            return r;
        }
        let service_filter = |s: &Option<String>, name: &str| s.as_deref().is_none_or(|w| w == name);
        let end = self.timeline.end();
        let mut model = ClusterModel::default();
        match &inv.never {
            Never::ActiveOnTwoNodes { service } => {
                if let Some(s) = service {
                    r.subject = Subject::Service(s.clone());
                }
                let mut ever_active = BTreeSet::new();
                for e in &self.timeline.events {
                    model.apply(e);
                    for (name, v) in model.services.iter().filter(|(n, _)| service_filter(service, n)) {
                        if !v.active.is_empty() {
                            ever_active.insert(name.clone());
                        }
                        if v.active.len() >= 2 && counts(e.t) {
                            r.verdict = Verdict::Fail;
                            r.seen = Some(e.t);
                            r.message = format!(
                                "{name} was active on {} at t={}",
                                v.active.iter().cloned().collect::<Vec<_>>().join(" and "),
                                e.t
                            );
                            return r;
                        }
                    }
                }
                if ever_active.is_empty() {
                    r.message = "no service was ever seen running, so there was nothing to check".into();
                } else {
                    r.verdict = Verdict::Pass;
                    r.message = format!(
                        "checked until t={end}: {} never active on two nodes",
                        ever_active.into_iter().collect::<Vec<_>>().join(", ")
                    );
                }
            }
            Never::RecoveryBeforeFence { service } => {
                if let Some(s) = service {
                    r.subject = Subject::Service(s.clone());
                }
                // A plan to recover (Pacemaker's "Actions: Recover …") is not unsafe; starting
                // the service elsewhere, or PVE putting it into `recovery`, is what must wait
                // for the lost node to be fenced.
                let mut recoveries = 0;
                for e in &self.timeline.events {
                    let moved = match &e.data {
                        EventData::Service { service: s, to_state: Some(ServiceState::Recovery), .. } => {
                            Some((s, None))
                        }
                        EventData::Service {
                            service: s,
                            to_state: Some(ServiceState::Started | ServiceState::Starting),
                            node: Some(m),
                            ..
                        } => Some((s, Some(m))),
                        EventData::ServiceOp {
                            service: s, node: m, op: ServiceOp::Start | ServiceOp::Running, ..
                        } => Some((s, Some(m))),
                        _ => None,
                    };
                    if let Some((s, to)) = moved.filter(|(s, _)| service_filter(service, s)) {
                        let view = model.services.get(s);
                        let before: BTreeSet<&String> =
                            view.map(|v| v.node.iter().chain(v.active.iter()).collect()).unwrap_or_default();
                        let left: Vec<&&String> = before.iter().filter(|n| Some(**n) != to).collect();
                        if !left.is_empty() {
                            recoveries += 1;
                        }
                        if let Some(n) = left
                            .into_iter()
                            .find(|n| model.nodes.get(**n).is_some_and(|v| v.unfenced_loss))
                            .filter(|_| counts(e.t))
                        {
                            r.verdict = Verdict::Fail;
                            r.seen = Some(e.t);
                            r.message = match to {
                                Some(m) => format!("{s} was started on {m} at t={} before {n} was fenced", e.t),
                                None => {
                                    format!("{s} was put into recovery from {n} at t={} before {n} was fenced", e.t)
                                }
                            };
                            return r;
                        }
                    }
                    model.apply(e);
                }
                // Unlike split brain, this needs nothing observed to hold: no recovery at all
                // cannot have come too early.
                r.verdict = Verdict::Pass;
                r.message = if recoveries == 0 {
                    format!("no service moved until t={end}")
                } else {
                    format!("{recoveries} move(s) of a service, none before its node was fenced")
                };
            }
            Never::ServiceState { service, state } => {
                if let Some(s) = service {
                    r.subject = Subject::Service(s.clone());
                }
                let mut seen_any = false;
                for e in &self.timeline.events {
                    if let EventData::Service { service: s, to, to_state, .. } = &e.data
                        && service_filter(service, s)
                    {
                        seen_any = true;
                        if counts(e.t) && state_is(state, to, to_state.map(ServiceState::as_str)) {
                            r.verdict = Verdict::Fail;
                            r.seen = Some(e.t);
                            r.message = format!("{s} went to {to} at t={}", e.t);
                            return r;
                        }
                    }
                }
                if seen_any {
                    r.verdict = Verdict::Pass;
                    r.message = format!("never {state} until t={end}");
                } else {
                    r.message = format!("{} never appears in the timeline", service.as_deref().unwrap_or("no service"));
                }
            }
            Never::NodeState { nodes, state } => {
                let all = self.nodes.clone();
                let set: BTreeSet<String> = match nodes {
                    NodeSet::All => all.clone(),
                    NodeSet::One(n) => match self.node_name(n) {
                        Some(n) => {
                            r.subject = Subject::Node(n.clone());
                            BTreeSet::from([n])
                        }
                        None => {
                            r.message = format!("role `{n}` was never bound to a node");
                            return r;
                        }
                    },
                    NodeSet::Survivors => {
                        if self.roles.is_empty() {
                            r.message = "no role was bound, so there are no survivors to speak of".into();
                            return r;
                        }
                        let bound: BTreeSet<&String> = self.roles.values().collect();
                        all.iter().filter(|n| !bound.contains(n)).cloned().collect()
                    }
                };
                if set.is_empty() {
                    r.message = "the node set is empty".into();
                    return r;
                }
                let probe = Pattern::Node { node: None, state: Some(state.clone()) };
                for e in &self.timeline.events {
                    model.apply(e);
                    if counts(e.t)
                        && e.data.node().is_some_and(|n| set.contains(n))
                        && self.matches(&probe, e, &model, None)
                    {
                        r.verdict = Verdict::Fail;
                        r.seen = Some(e.t);
                        r.message = format!("node {} became {state} at t={}", e.data.node().unwrap_or("?"), e.t);
                        return r;
                    }
                }
                r.verdict = Verdict::Pass;
                r.message =
                    format!("none of {} became {state} until t={end}", set.into_iter().collect::<Vec<_>>().join(", "));
            }
        }
        r
    }
}

/// `want` names either the stack's raw state or the normalised one.
fn state_is(want: &str, raw: &str, normal: Option<&str>) -> bool {
    want == raw || normal == Some(want)
}

fn event_service(e: &Event) -> Option<&str> {
    e.data.service()
}

fn pattern_roles(p: &Pattern) -> Vec<String> {
    let role = |r: &Option<NodeRef>| match r {
        Some(NodeRef::Role(x)) => vec![x.clone()],
        _ => vec![],
    };
    match p {
        Pattern::Fault { node, .. } | Pattern::Node { node, .. } | Pattern::Power { node, .. } => role(node),
        Pattern::Service { on, .. } => match on {
            Some(Placement::On(NodeRef::Role(x))) | Some(Placement::NotOn(NodeRef::Role(x))) => {
                vec![x.clone()]
            }
            _ => vec![],
        },
    }
}

fn secs(d: Duration) -> Seconds {
    Seconds::from_millis(d.as_millis() as i64)
}

/// Whether a condition holds in a model of the cluster, with what the model shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Holds {
    Yes(String),
    No(String),
    /// The model cannot tell (the subject was never seen, a role is unbound).
    Undecided(String),
}

/// Whether `p` holds in `model` now. Shared by `final:` checks and the runner's `await`.
pub fn holds(p: &Pattern, model: &ClusterModel, roles: &BTreeMap<String, String>) -> Holds {
    let node_name = |r: &NodeRef| match r {
        NodeRef::Name(n) => Some(n.clone()),
        NodeRef::Role(role) => roles.get(role).cloned(),
    };
    if let Some(role) = pattern_roles(p).into_iter().find(|r| !roles.contains_key(r)) {
        return Holds::Undecided(format!("role `{role}` was never bound to a node"));
    }
    let verdict = |ok: bool, now: String| if ok { Holds::Yes(now) } else { Holds::No(now) };
    match p {
        Pattern::Service { service, state, on } => {
            let Some(v) = model.services.get(service).filter(|v| !v.raw.is_empty()) else {
                return Holds::Undecided(format!("service {service} has not been seen"));
            };
            let placed = v.node.clone();
            let state_ok =
                state.as_deref().is_none_or(|want| state_is(want, &v.raw, v.state.map(ServiceState::as_str)));
            let on_ok = match on {
                None => true,
                Some(Placement::On(n)) => node_name(n).is_some_and(|n| placed.as_deref() == Some(n.as_str())),
                Some(Placement::NotOn(n)) => node_name(n).is_some_and(|n| placed.as_deref().is_some_and(|p| p != n)),
            };
            verdict(state_ok && on_ok, format!("{} on {}", v.raw, placed.as_deref().unwrap_or("no node")))
        }
        Pattern::Node { node, state } => {
            let name = node.as_ref().and_then(node_name).unwrap_or_default();
            let Some(v) = model.nodes.get(&name).filter(|v| v.state.is_some() || !v.raw.is_empty()) else {
                return Holds::Undecided(format!("node {name} has no state yet"));
            };
            let ok = state.as_deref().is_none_or(|want| state_is(want, &v.raw, v.state.map(NodeState::as_str)));
            verdict(ok, v.state.map(|s| s.as_str().to_owned()).unwrap_or_else(|| v.raw.clone()))
        }
        Pattern::Power { node, power } => {
            let name = node.as_ref().and_then(node_name).unwrap_or_default();
            let Some(now) = model.nodes.get(&name).and_then(|v| v.power) else {
                return Holds::Undecided(format!("the power of node {name} has not been observed"));
            };
            verdict(now == *power, format!("power {now}"))
        }
        Pattern::Fault { .. } => Holds::Undecided("a fault is an instant, not a state".into()),
    }
}
