//! Evaluation of a plan's expectations and invariants against a timeline.
//!
//! "B within T after A" looks for the first event at or after A that makes B true. When B
//! is not seen, the verdict depends on how far observation reaches: a closed window is a
//! failure, a window still open when the log ends is inconclusive. A check whose anchor
//! never happened, or whose role was never bound, is inconclusive too: it is never a pass.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::fence::{self, FenceAudit, Finding};
use super::model::ClusterModel;
use super::{CheckKind, CheckResult, Subject, Verdict};
use crate::scenario::{
    Anchor, Expectation, Invariant, Mark, Never, NodeRef, NodeSet, Pattern, Placement, Plan, Timing, UNCONFIRMED_FENCE,
    describe_pattern,
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
    /// Every fence the stack acknowledged, with the hypervisor's word on it (when fence truth
    /// was checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fences: Vec<FenceAudit>,
}

impl Evaluation {
    /// Whether the scenario marks any check `expected: fail`.
    pub fn expects_failure(&self) -> bool {
        self.checks.iter().any(|c| c.expected_fail)
    }

    /// The verdict as the scenario asks for it (see [`CheckResult::as_expected`]): what the
    /// exit code follows. The same as `verdict` when no check is marked.
    pub fn judged(&self) -> Option<Verdict> {
        if self.expects_failure() {
            Verdict::combine(self.checks.iter().map(CheckResult::as_expected))
        } else {
            self.verdict
        }
    }

    /// The exit code of the run or analysis: its judged verdict's.
    pub fn exit_code(&self) -> i32 {
        self.judged().unwrap_or(Verdict::Inconclusive).exit_code()
    }
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
    /// What the run watched beyond the stack's own word.
    pub watched: Watched,
    /// Judge every acknowledged fence even when the plan does not list `unconfirmed-fence`
    /// (a run's final judgement).
    pub fence_truth: bool,
}

/// What a run watched beyond the stack's own word: what checks may expect to stand on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Watched {
    /// The hypervisor's power events were recorded throughout (a run on a lab): no power
    /// event means none happened. Also turns fence truth on for every run.
    pub hypervisor: bool,
    /// The storage server recorded the HA service's writers (hadrill's workload): a service
    /// with no writer on record was never seen running by the best witness.
    pub storage: bool,
    /// The stack fences through power management, not by watchdog self-fencing: an
    /// acknowledgement must follow a power action.
    pub power_fencing: bool,
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
        watched: bindings.watched,
        fences: Vec::new(),
    };
    cx.resolve_marks(&plan.marks);
    let mut checks: Vec<CheckResult> = plan.expectations.iter().map(|x| cx.expectation(x)).collect();
    checks.extend(plan.invariants.iter().map(|i| cx.invariant(i)));
    // Fence truth is on in every run, listed or not.
    if bindings.fence_truth && !plan.invariants.iter().any(|i| i.never == Never::UnconfirmedFence) {
        let mut c = cx.fence_truth();
        c.message.push_str(" (checked in every run)");
        checks.push(c);
    }
    let verdict = Verdict::combine(checks.iter().map(|c| c.verdict));
    let roles = Roles(cx.roles.iter().map(|(role, node)| (node.clone(), role.clone())).collect());
    Evaluation { title: plan.name.clone(), checks, verdict, roles, fences: cx.fences }
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
    watched: Watched,
    /// Filled by the fence-truth check.
    fences: Vec<FenceAudit>,
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
            evidence: None,
            expected_fail: x.expected_fail,
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

    /// An invariant's result before it is decided: inconclusive, over the judged window.
    fn never_check(&self, name: String) -> CheckResult {
        CheckResult {
            name,
            kind: CheckKind::Never,
            subject: Subject::Cluster,
            verdict: Verdict::Inconclusive,
            message: String::new(),
            from: Some(self.from.unwrap_or(Seconds::ZERO)),
            until: Some(self.timeline.end()),
            seen: None,
            measured: None,
            location: None,
            evidence: None,
            expected_fail: false,
        }
    }

    /// Every acknowledged fence judged against the hypervisor (see `fence`).
    fn fence_truth(&mut self) -> CheckResult {
        let mut r = self.never_check(UNCONFIRMED_FENCE.into());
        let audits = fence::audit(self.timeline, self.from, !self.watched.power_fencing);
        let hv = fence::hypervisor_events(self.timeline);
        r.evidence = Some(format!("the hardware's power events: {hv}; fences acknowledged: {}", audits.len()));
        let end = self.timeline.end();
        if self.timeline.events.is_empty() {
            r.message = "the timeline is empty: nothing was observed".into();
        } else if let Some(a) = audits.iter().find(|a| matches!(a.finding, Finding::Refuted { .. })) {
            r.verdict = Verdict::Fail;
            r.seen = Some(a.acked_at);
            r.message = a.describe();
        } else if let Some(a) = audits.iter().find(|a| matches!(a.finding, Finding::Unconfirmed { .. })) {
            r.seen = Some(a.acked_at);
            r.message = a.describe();
        } else if audits.is_empty() && hv == 0 && !self.watched.hypervisor {
            r.message =
                "no hypervisor events in this timeline: a fence could be neither confirmed nor ruled out".into();
        } else if audits.is_empty() {
            r.verdict = Verdict::Pass;
            r.message = format!("no fence was acknowledged until t={end}");
        } else {
            r.verdict = Verdict::Pass;
            r.message = audits.iter().map(FenceAudit::describe).collect::<Vec<_>>().join("; ");
        }
        self.fences = audits;
        r
    }

    fn invariant(&mut self, inv: &Invariant) -> CheckResult {
        if inv.never == Never::UnconfirmedFence {
            let mut r = self.fence_truth();
            r.location = Some(inv.loc.to_string());
            r.expected_fail = inv.expected_fail;
            return r;
        }
        let mut r = self.never_check(inv.text.clone());
        r.location = Some(inv.loc.to_string());
        r.expected_fail = inv.expected_fail;
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
                // 1. The storage server's record decides first: two nodes' writers live at once
                // is a split brain, whatever the stack said in between.
                let runs = writer_runs(self.timeline, |n| service_filter(service, n));
                let beats: u64 = runs.iter().map(WriterRun::heartbeats).sum();
                let record = if runs.is_empty() {
                    "the nodes' and managers' reports only (no storage-server record in this timeline)".to_owned()
                } else {
                    format!(
                        "the storage server's record: {} writer run(s), {beats} heartbeat(s)",
                        runs.iter().filter(|w| w.ended.is_some()).count()
                    )
                };
                if let Some((a, b, lo, hi)) = first_overlap(&runs, end, counts) {
                    r.verdict = Verdict::Fail;
                    r.seen = Some(lo);
                    r.measured = Some(hi - lo);
                    r.message = format!(
                        "{}: {} and {} were both live for {}s from t={lo}, on the storage server's clock",
                        a.service,
                        a.describe(),
                        b.describe(),
                        hi - lo
                    );
                    r.evidence = Some(record);
                    return r;
                }
                // 2. The fold: what nodes and managers report may add activity (never remove a
                // writer the server still sees).
                let mut ever_active = BTreeSet::new();
                for e in &self.timeline.events {
                    model.apply(e);
                    for (name, v) in model.services.iter().filter(|(n, _)| service_filter(service, n)) {
                        let active = v.active();
                        if !active.is_empty() {
                            ever_active.insert(name.clone());
                        }
                        if active.len() >= 2 && counts(e.t) {
                            // Say which of them the server saw, and who reported the rest.
                            let writers: Vec<&str> =
                                active.iter().filter(|n| v.writers.contains(**n)).map(|n| n.as_str()).collect();
                            let mut how = Vec::new();
                            if !writers.is_empty() {
                                how.push(format!("{} by the storage server's record", writers.join(" and ")));
                            }
                            if let Some(by) = &e.by {
                                how.push(format!("last reported by {by}"));
                            }
                            r.verdict = Verdict::Fail;
                            r.seen = Some(e.t);
                            r.message = format!(
                                "{name} was active on {} at t={} ({})",
                                active.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" and "),
                                e.t,
                                how.join("; ")
                            );
                            r.evidence = Some(record);
                            return r;
                        }
                    }
                }
                let on_record: BTreeSet<&str> = runs.iter().map(|w| w.service.as_str()).collect();
                let unrecorded: Vec<&String> = ever_active.iter().filter(|s| !on_record.contains(s.as_str())).collect();
                if ever_active.is_empty() {
                    r.message = "no service was ever seen running, so there was nothing to check".into();
                } else if self.watched.storage && !unrecorded.is_empty() {
                    // The best witness saw nothing: the stack's word alone is not a pass.
                    r.message = format!(
                        "the storage server recorded no writer of {}, so only the stack's own reports speak for it",
                        unrecorded.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    );
                } else {
                    r.verdict = Verdict::Pass;
                    r.message = format!(
                        "checked until t={end}: {} never active on two nodes",
                        ever_active.into_iter().collect::<Vec<_>>().join(", ")
                    );
                }
                r.evidence = Some(record);
            }
            Never::RecoveryBeforeFence { service } => {
                if let Some(s) = service {
                    r.subject = Subject::Service(s.clone());
                }
                // A plan to recover (Pacemaker's "Actions: Recover …") is not unsafe; starting
                // the service elsewhere, or PVE putting it into `recovery`, is what must wait
                // for the lost node to be fenced.
                let mut recoveries = 0;
                // A fence acknowledgement the hypervisor's record refutes fenced nothing (rank
                // 1 over rank 3): the node's loss stays unfenced.
                let audits = fence::audit(self.timeline, None, !self.watched.power_fencing);
                let refuted: Vec<&FenceAudit> =
                    audits.iter().filter(|a| matches!(a.finding, Finding::Refuted { .. })).collect();
                let refuted_ack = |e: &Event| match &e.data {
                    EventData::Fence { node, phase: FencePhase::Acknowledged } => {
                        refuted.iter().find(|a| &a.node == node && a.acks.contains(&e.t)).copied()
                    }
                    _ => None,
                };
                r.evidence = Some(format!(
                    "the stack's fence acknowledgements: {} fence(s), {} refuted by the hardware's record",
                    audits.len(),
                    refuted.len()
                ));
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
                            view.map(|v| v.node.iter().chain(v.active()).collect()).unwrap_or_default();
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
                            let why = refuted
                                .iter()
                                .find(|a| &a.node == *n && a.acked_at <= e.t)
                                .map(|a| format!(" (its fence acknowledged at t={} was refuted)", a.acked_at))
                                .unwrap_or_default();
                            r.message = match to {
                                Some(m) => format!("{s} was started on {m} at t={} before {n} was fenced{why}", e.t),
                                None => {
                                    format!(
                                        "{s} was put into recovery from {n} at t={} before {n} was fenced{why}",
                                        e.t
                                    )
                                }
                            };
                            return r;
                        }
                    }
                    model.apply(e);
                    if let Some(a) = refuted_ack(e)
                        && let Some(v) = model.nodes.get_mut(&a.node)
                    {
                        v.unfenced_loss = true;
                    }
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
            // Judged at the top by `fence_truth`; never folded here.
            Never::UnconfirmedFence => {}
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

/// One run of one node's writer, as the storage server recorded it (`workload` events).
struct WriterRun {
    service: String,
    node: String,
    from: Seconds,
    first_seq: Option<u64>,
    /// When it went silent, with its last heartbeat's seq; `None`: still live at the end.
    ended: Option<(Seconds, Option<u64>)>,
}

impl WriterRun {
    fn until(&self, end: Seconds) -> Seconds {
        self.ended.map_or(end, |(t, _)| t)
    }

    fn heartbeats(&self) -> u64 {
        match (self.first_seq, self.ended.and_then(|(_, s)| s)) {
            (Some(a), Some(b)) if b >= a => b - a + 1,
            _ => 1,
        }
    }

    fn describe(&self) -> String {
        let seq = |s: Option<u64>| s.map_or("?".to_owned(), |s| s.to_string());
        match self.ended {
            Some((t, last)) => format!(
                "{}'s writer (heartbeats seq {}–{}, live t={}–{t})",
                self.node,
                seq(self.first_seq),
                seq(last),
                self.from
            ),
            None => format!("{}'s writer (from seq {}, live from t={})", self.node, seq(self.first_seq), self.from),
        }
    }
}

/// The writers' runs of the services `keep` accepts, in the order they began.
fn writer_runs(timeline: &Timeline, keep: impl Fn(&str) -> bool) -> Vec<WriterRun> {
    let mut runs: Vec<WriterRun> = Vec::new();
    let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &timeline.events {
        let EventData::Workload { service, node, active, seq } = &e.data else { continue };
        if !keep(service) {
            continue;
        }
        let key = (service.clone(), node.clone());
        match (active, open.get(&key)) {
            (true, None) => {
                open.insert(key, runs.len());
                runs.push(WriterRun {
                    service: service.clone(),
                    node: node.clone(),
                    from: e.t,
                    first_seq: *seq,
                    ended: None,
                });
            }
            (false, Some(&i)) => {
                runs[i].ended = Some((e.t, *seq));
                open.remove(&key);
            }
            // A repeated start or a silence without a start says nothing new.
            _ => {}
        }
    }
    runs
}

/// The first time two nodes' writers of one service were live together: both runs, and the
/// shared interval, by the workload's own rule (`workload::shared_interval`). `counts` says
/// whether an overlap ending then falls in the judged window.
fn first_overlap(
    runs: &[WriterRun],
    end: Seconds,
    counts: impl Fn(Seconds) -> bool,
) -> Option<(&WriterRun, &WriterRun, Seconds, Seconds)> {
    let span = |r: &WriterRun| (r.from.millis(), r.until(end).millis());
    let mut best: Option<(&WriterRun, &WriterRun, Seconds, Seconds)> = None;
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            if a.node == b.node || a.service != b.service {
                continue;
            }
            let Some((lo, hi)) = crate::workload::shared_interval(span(a), span(b)) else { continue };
            let (lo, hi) = (Seconds::from_millis(lo), Seconds::from_millis(hi));
            if counts(hi) && best.as_ref().is_none_or(|(.., l, _)| lo < *l) {
                best = Some((a, b, lo, hi));
            }
        }
    }
    best
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Meta, PowerState};

    fn at(t: f64, data: EventData, by: &str) -> Event {
        Event::new(Seconds::from_millis((t * 1000.0).round() as i64), data).by(by)
    }
    fn writer(t: f64, node: &str, active: bool, seq: u64) -> Event {
        at(
            t,
            EventData::Workload { service: "svc".into(), node: node.into(), active, seq: Some(seq) },
            "workload-observer",
        )
    }
    fn op(t: f64, node: &str, op: ServiceOp) -> Event {
        at(
            t,
            EventData::ServiceOp { service: "svc".into(), node: node.into(), op, target: None },
            &format!("{node}/pacemaker-controld"),
        )
    }
    fn plan(yaml: &str) -> Plan {
        crate::scenario::parse("t.yaml", yaml, None).unwrap_or_else(|e| panic!("{e:?}"))
    }
    const SAFETY: &str =
        "name: t\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n  - { never: unconfirmed-fence }\n";

    /// The false PASS found on real VMs, as its timeline looked: node2's fencing was
    /// acknowledged by watchdog assumption (a node that had just rejoined) while node2 still
    /// ran; node1 started the service; the storage server saw node2's writer (up to seq 80)
    /// and node1's (from seq 0) interleave for 3.4 s; the hypervisor reset node2 11.7 s after
    /// the acknowledgement.
    fn false_pass() -> Timeline {
        let ev = vec![
            at(
                -30.0,
                EventData::Node {
                    node: "node2".into(),
                    from: "OFFLINE".into(),
                    to: "online".into(),
                    from_state: None,
                    to_state: Some(NodeState::Online),
                },
                "node1/crm_mon",
            ),
            writer(0.0, "node2", true, 1),
            op(0.5, "node2", ServiceOp::Running),
            at(
                22.0,
                EventData::Node {
                    node: "node2".into(),
                    from: "online".into(),
                    to: "UNCLEAN".into(),
                    from_state: Some(NodeState::Online),
                    to_state: Some(NodeState::Lost),
                },
                "node3/crm_mon",
            ),
            at(
                46.0,
                EventData::Fence { node: "node2".into(), phase: FencePhase::Acknowledged },
                "node3/pacemaker-fenced",
            ),
            op(47.0, "node1", ServiceOp::Start),
            writer(48.0, "node1", true, 0),
            writer(51.4, "node2", false, 80),
            at(
                57.7,
                EventData::Power { node: "node2".into(), state: PowerState::Reset, reason: Some("reboot".into()) },
                "hypervisor",
            ),
            writer(120.0, "node1", false, 72),
        ];
        Timeline::new(ev, Meta { end: Seconds::from_millis(150_000), ..Meta::default() })
    }

    #[test]
    fn two_writers_on_the_server_fail_whatever_the_stack_acknowledged() {
        let e = evaluate(&false_pass(), &plan(SAFETY), &Bindings::default());
        let split = &e.checks[0];
        assert_eq!(split.verdict, Verdict::Fail, "{split:#?}");
        for part in ["node2's writer (heartbeats seq 1–80", "node1's writer (heartbeats seq 0–72", "3.4s from t=48"]
        {
            assert!(split.message.contains(part), "{part:?} not in {}", split.message);
        }
        assert_eq!(split.measured, Some(Seconds::from_millis(3400)));
        assert_eq!(split.evidence.as_deref(), Some("the storage server's record: 2 writer run(s), 153 heartbeat(s)"));
        // And the acknowledgement itself is refuted by node2's heartbeat after it.
        let fence = &e.checks[1];
        assert_eq!(fence.verdict, Verdict::Fail, "{fence:#?}");
        assert!(fence.message.contains("REFUTED") && fence.message.contains("seq 80"), "{}", fence.message);
        assert_eq!(e.fences.len(), 1);
    }

    #[test]
    fn a_refuted_fence_does_not_count_as_fenced_for_recovery() {
        let p = plan("name: t\ninvariants:\n  - { never: recovery-before-fence }\n");
        let e = evaluate(&false_pass(), &p, &Bindings::default());
        let c = &e.checks[0];
        assert_eq!(c.verdict, Verdict::Fail, "{c:#?}");
        assert!(
            c.message.contains(
                "svc was started on node1 at t=47 before node2 was fenced (its fence acknowledged at t=46 was refuted)"
            ),
            "{}",
            c.message
        );
    }

    #[test]
    fn a_handover_seen_within_one_poll_is_no_overlap() {
        let ev = vec![
            writer(0.0, "node2", true, 1),
            writer(40.0, "node2", false, 40),
            writer(40.0, "node1", true, 0),
            writer(90.0, "node1", false, 50),
        ];
        let t = Timeline::new(ev, Meta { end: Seconds::from_millis(100_000), ..Meta::default() });
        let e = evaluate(
            &t,
            &plan("name: t\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n"),
            &Bindings::default(),
        );
        assert_eq!(e.checks[0].verdict, Verdict::Pass, "{:#?}", e.checks[0]);
    }

    #[test]
    fn a_run_with_a_storage_record_does_not_pass_on_the_stacks_word_alone() {
        let ev = vec![op(0.0, "node1", ServiceOp::Running)];
        let t = Timeline::new(ev, Meta { end: Seconds::from_millis(100_000), ..Meta::default() });
        let p = plan("name: t\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n");
        let watched = Watched { storage: true, ..Watched::default() };
        let e = evaluate(&t, &p, &Bindings { watched, ..Bindings::default() });
        assert_eq!(e.checks[0].verdict, Verdict::Inconclusive, "{:#?}", e.checks[0]);
        assert!(e.checks[0].message.contains("recorded no writer of svc"), "{}", e.checks[0].message);
        // Without a storage server in the set-up (a PVE log), the node's own report stands.
        assert_eq!(evaluate(&t, &p, &Bindings::default()).checks[0].verdict, Verdict::Pass);
    }

    #[test]
    fn fence_truth_is_judged_in_every_run_and_is_never_a_pass_without_the_hypervisor() {
        let p = plan("name: t\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n");
        let run = Bindings { fence_truth: true, ..Bindings::default() };
        let e = evaluate(&false_pass(), &p, &run);
        assert_eq!(e.checks.last().map(|c| c.name.as_str()), Some(UNCONFIRMED_FENCE));
        // A journal with a fence and no hypervisor: inconclusive.
        let ev = vec![at(46.0, EventData::Fence { node: "node2".into(), phase: FencePhase::Acknowledged }, "node3/x")];
        let t = Timeline::new(ev, Meta { end: Seconds::from_millis(60_000), ..Meta::default() });
        let e = evaluate(&t, &plan("name: t\ninvariants:\n  - { never: unconfirmed-fence }\n"), &Bindings::default());
        assert_eq!(e.checks[0].verdict, Verdict::Inconclusive, "{:#?}", e.checks[0]);
        // Nothing at all: still not a pass.
        let quiet = Timeline::new(vec![op(0.0, "node1", ServiceOp::Running)], Meta::default());
        let e =
            evaluate(&quiet, &plan("name: t\ninvariants:\n  - { never: unconfirmed-fence }\n"), &Bindings::default());
        assert_eq!(e.checks[0].verdict, Verdict::Inconclusive, "{:#?}", e.checks[0]);
        // In a run that watched the hypervisor, no fence means none to doubt.
        let watched = Bindings { watched: Watched { hypervisor: true, ..Watched::default() }, ..Bindings::default() };
        let e = evaluate(&quiet, &plan("name: t\ninvariants:\n  - { never: unconfirmed-fence }\n"), &watched);
        assert_eq!(e.checks[0].verdict, Verdict::Pass, "{:#?}", e.checks[0]);
    }

    #[test]
    fn checks_marked_expected_fail_are_met_by_failing() {
        let yaml = "name: t\ninvariants:\n  - { service: svc, never: active-on-two-nodes, expected: fail }\n  - { never: unconfirmed-fence, expected: fail }\n";
        let e = evaluate(&false_pass(), &plan(yaml), &Bindings::default());
        assert_eq!(e.verdict, Some(Verdict::Fail), "the verdict itself stays what happened");
        assert_eq!(e.judged(), Some(Verdict::Pass));
        assert_eq!(e.exit_code(), 0);
        // A sound run of the same scenario is not as expected.
        let ev = vec![writer(0.0, "node2", true, 1), writer(10.0, "node2", false, 10)];
        let t = Timeline::new(ev, Meta { end: Seconds::from_millis(20_000), ..Meta::default() });
        let watched = Bindings { watched: Watched { hypervisor: true, ..Watched::default() }, ..Bindings::default() };
        let e = evaluate(&t, &plan(yaml), &watched);
        assert_eq!(e.verdict, Some(Verdict::Pass));
        assert_eq!(e.judged(), Some(Verdict::Fail));
        assert_eq!(e.exit_code(), 1);
    }
}
