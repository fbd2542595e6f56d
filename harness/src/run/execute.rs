//! Running a plan's steps against a driver, in order, and judging the result.
//!
//! - `await` gates on a steady state; not reaching it stops the run as inconclusive (an
//!   unready cluster must never turn into a pass or a fail);
//! - a fault's target is resolved when the step runs (`{ runs: ct:100 }` is the node running
//!   it at that moment) and bound to its role; its instant anchors the expectations after it;
//! - an `expect` step waits until each of its expectations is decided (seen, or its window
//!   closed), so that a heal after it does not cut the measurement short;
//! - the lab breaking stops the run as an infrastructure error.

use std::collections::BTreeMap;
use std::time::Duration;

use super::driver::{Driver, DriverError, action_command};
use crate::check::{
    Bindings, CheckKind, CheckResult, ClusterModel, Evaluation, Holds, Subject, Verdict, evaluate, holds,
};
use crate::scenario::{Fault, NodeRef, Plan, Step, StepKind, Target, Timing, describe_pattern, format_duration};
use crate::timeline::{Event, EventData, FaultKind, Meta, Seconds, Timeline};

/// How the runner paces itself.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How often to look at the cluster while waiting.
    pub poll: Duration,
    /// How long an `expect` step waits for an `eventually` expectation.
    pub eventually_cap: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { poll: Duration::from_secs(2), eventually_cap: Duration::from_secs(600) }
    }
}

/// What the runner is doing, for a progress display.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// 1-based step number and the number of steps.
    pub step: usize,
    pub steps: usize,
    /// What it is doing or waiting for.
    pub what: String,
    pub waited: Duration,
    pub limit: Option<Duration>,
}

/// Why a run stopped before its last step.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    Inconclusive(String),
    InfraError(String),
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunResult {
    pub timeline: Timeline,
    pub bindings: Bindings,
    pub evaluation: Evaluation,
    pub stopped: Option<Stop>,
}

/// Run `plan` against `driver`.
pub fn execute(
    plan: &Plan,
    driver: &mut dyn Driver,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> RunResult {
    let watched = driver.watched();
    let mut run = Runner {
        plan,
        driver,
        options,
        progress,
        events: Vec::new(),
        model: ClusterModel::default(),
        bindings: Bindings { watched, ..Bindings::default() },
        gates: Vec::new(),
        faults: BTreeMap::new(),
    };
    let stopped = run.steps().err();
    // One last look, so that what happened during the last step is on the timeline.
    let stopped = match (stopped, run.observe()) {
        (None, Err(e)) => Some(e),
        (s, _) => s,
    };
    let late = run.driver.collect();
    run.events.extend(late);
    run.finish(stopped)
}

/// A run whose steps could not begin (the stack did not form, the cluster never became
/// ready): what was observed, judged against the plan, with `stop` as a check of its own
/// named `what`. Nothing in it can pass.
pub fn abandon(plan: &Plan, driver: &mut dyn Driver, options: &RunOptions, what: &str, stop: Stop) -> RunResult {
    let mut progress = |_: &Progress| {};
    let watched = driver.watched();
    let mut run = Runner {
        plan,
        driver,
        options,
        progress: &mut progress,
        events: Vec::new(),
        model: ClusterModel::default(),
        bindings: Bindings { watched, ..Bindings::default() },
        gates: Vec::new(),
        faults: BTreeMap::new(),
    };
    let _ = run.observe();
    let late = run.driver.collect();
    run.events.extend(late);
    let (verdict, why) = match &stop {
        Stop::Inconclusive(why) => (Verdict::Inconclusive, why.clone()),
        Stop::InfraError(why) => (Verdict::InfraError, why.clone()),
    };
    let now = run.driver.now();
    run.gates.push(CheckResult {
        name: what.to_owned(),
        kind: CheckKind::Eventually,
        subject: Subject::Cluster,
        verdict,
        message: why,
        from: Some(Seconds::ZERO),
        until: Some(now),
        seen: None,
        measured: None,
        location: None,
        evidence: None,
        expected_fail: false,
    });
    // An infrastructure stop adds its own check in `finish`; this one already says it.
    let stopped = match stop {
        Stop::InfraError(_) => None,
        s => Some(s),
    };
    let mut r = run.finish(stopped);
    // The scenario's own checks are about the scenario, which never began: what the stack did
    // while it was being set up (a fence on a starved host, say) is no verdict on them. Fence
    // truth stays judged: a claim the hypervisor refutes is false whenever it was made.
    for c in r.evaluation.checks.iter_mut().skip(1) {
        if c.name != crate::scenario::UNCONFIRMED_FENCE && matches!(c.verdict, Verdict::Pass | Verdict::Fail) {
            c.message = format!("not judged: the scenario's steps never began ({what} did not happen); {}", c.message);
            c.verdict = Verdict::Inconclusive;
        }
    }
    r.evaluation.verdict = Verdict::combine(r.evaluation.checks.iter().map(|c| c.verdict));
    if r.stopped.is_none() {
        r.stopped = Some(Stop::InfraError(r.evaluation.checks[0].message.clone()));
    }
    r
}

struct Runner<'a> {
    plan: &'a Plan,
    driver: &'a mut dyn Driver,
    options: &'a RunOptions,
    progress: &'a mut dyn FnMut(&Progress),
    events: Vec<Event>,
    model: ClusterModel,
    bindings: Bindings,
    /// The `await` steps, as checks.
    gates: Vec<CheckResult>,
    /// fault step key → (fault, nodes it was done to)
    faults: BTreeMap<String, (Fault, Vec<String>)>,
}

impl Runner<'_> {
    fn steps(&mut self) -> Result<(), Stop> {
        let total = self.plan.steps.len();
        // Invariants hold for the scenario, not for the stack's set-up before it.
        self.bindings.from = Some(self.driver.now());
        for (i, step) in self.plan.steps.iter().enumerate() {
            let key = step.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            self.step(i + 1, total, &key, step)?;
        }
        Ok(())
    }

    fn observe(&mut self) -> Result<(), Stop> {
        let new = self.driver.observe().map_err(infra)?;
        for e in new {
            self.model.apply(&e);
            self.events.push(e);
        }
        Ok(())
    }

    fn report(&mut self, step: usize, steps: usize, what: &str, since: Seconds, limit: Option<Duration>) {
        let waited = Duration::from_millis((self.driver.now() - since).millis().max(0) as u64);
        (self.progress)(&Progress { step, steps, what: what.to_owned(), waited, limit });
    }

    fn step(&mut self, n: usize, total: usize, key: &str, step: &Step) -> Result<(), Stop> {
        self.observe()?;
        match &step.what {
            StepKind::Await { condition, timeout } => {
                let what = format!("await {}", describe_pattern(condition));
                let start = self.driver.now();
                loop {
                    let state = holds(condition, &self.model, &self.bindings.roles);
                    let waited = self.driver.now() - start;
                    if let Holds::Yes(now) = &state {
                        self.gates.push(gate(
                            &what,
                            step,
                            start,
                            Some(self.driver.now()),
                            Verdict::Pass,
                            format!("after {waited}s: {now}"),
                        ));
                        return Ok(());
                    }
                    if waited.millis() >= timeout.as_millis() as i64 {
                        let now = match state {
                            Holds::Yes(s) | Holds::No(s) | Holds::Undecided(s) => s,
                        };
                        let msg = format!("not reached within {}: {now}", format_duration(*timeout));
                        self.gates.push(gate(&what, step, start, None, Verdict::Inconclusive, msg.clone()));
                        return Err(Stop::Inconclusive(format!("{what}: {msg}")));
                    }
                    self.report(n, total, &what, start, Some(*timeout));
                    self.driver.pause(self.options.poll);
                    self.observe()?;
                }
            }
            StepKind::Wait(d) => {
                let what = format!("wait {}", format_duration(*d));
                let start = self.driver.now();
                let end = start + secs(*d);
                while self.driver.now() < end {
                    self.report(n, total, &what, start, Some(*d));
                    let left = Duration::from_millis((end - self.driver.now()).millis().max(0) as u64);
                    self.driver.pause(left.min(self.options.poll));
                    self.observe()?;
                }
                Ok(())
            }
            StepKind::Fault { fault, target, role } => {
                let nodes = self.resolve(target, key)?;
                if nodes.len() == 1 {
                    self.bindings.roles.insert(role.clone(), nodes[0].clone());
                }
                let mut first = None;
                for node in &nodes {
                    self.report(n, total, &format!("{} on {node}", fault.name()), self.driver.now(), None);
                    let t = self.driver.fault(fault, node, false).map_err(infra)?;
                    self.record(t, node, fault_kind(fault, false), key);
                    first.get_or_insert(t);
                }
                self.bindings.steps.insert(key.to_owned(), first.unwrap_or_else(|| self.driver.now()));
                self.faults.insert(key.to_owned(), (fault.clone(), nodes));
                Ok(())
            }
            StepKind::Heal { step: fault_step } => {
                let Some((fault, nodes)) = self.faults.get(fault_step).cloned() else {
                    return Err(Stop::Inconclusive(format!("cannot heal `{fault_step}`: that fault was not done")));
                };
                let mut first = None;
                for node in &nodes {
                    self.report(n, total, &format!("heal {} on {node}", fault.name()), self.driver.now(), None);
                    let t = self.driver.fault(&fault, node, true).map_err(infra)?;
                    self.record(t, node, fault_kind(&fault, true), key);
                    first.get_or_insert(t);
                }
                self.bindings.steps.insert(key.to_owned(), first.unwrap_or_else(|| self.driver.now()));
                Ok(())
            }
            StepKind::Action { action, on, timeout } => {
                let node = match on {
                    Target::Any => None,
                    t => Some(self.resolve(t, key)?.into_iter().next().unwrap_or_default()),
                };
                let command = action_command(action);
                self.report(n, total, &format!("run `{command}`"), self.driver.now(), Some(*timeout));
                let t = self.driver.now();
                self.bindings.steps.insert(key.to_owned(), t);
                let out = self.driver.act(action, node.as_deref(), *timeout);
                let node = match &out {
                    Ok(o) => Some(o.node.clone()),
                    Err(_) => node,
                };
                self.events.push(Event::new(t, EventData::Command { command: command.clone(), node }).by("hadrill"));
                match out {
                    Ok(_) => Ok(()),
                    // The scenario needs the action's effect; without it nothing after can be judged.
                    Err(e @ DriverError::ActionFailed { .. }) => {
                        Err(Stop::Inconclusive(format!("operator action failed: {e}")))
                    }
                    Err(e) => Err(infra(e)),
                }
            }
            StepKind::Expect(indexes) => self.expect(n, total, indexes),
        }
    }

    /// Wait until each expectation of the step is decided, or its window has closed.
    fn expect(&mut self, n: usize, total: usize, indexes: &[usize]) -> Result<(), Stop> {
        let sub = Plan {
            expectations: indexes.iter().map(|i| self.plan.expectations[*i].clone()).collect(),
            invariants: Vec::new(),
            ..self.plan.clone()
        };
        let start = self.driver.now();
        // The latest instant by which every window has closed.
        let mut limit = Seconds::ZERO;
        for x in &sub.expectations {
            let end = match &x.timing {
                Timing::Within { bound, after: crate::scenario::Anchor::Step(s) } => {
                    self.bindings.steps.get(s).map(|t| *t + secs(*bound))
                }
                Timing::Within { bound, .. } => Some(start + secs(*bound)),
                Timing::Eventually { .. } => Some(start + secs(self.options.eventually_cap)),
                Timing::Final => None,
            };
            if let Some(end) = end {
                limit = if end > limit { end } else { limit };
            }
        }
        let what =
            format!("expect {}", sub.expectations.iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join("; "));
        loop {
            let timeline = self.timeline_so_far();
            let eval = evaluate(&timeline, &sub, &self.bindings);
            let open = eval.checks.iter().any(|c| c.verdict == Verdict::Inconclusive);
            if !open || self.driver.now() >= limit {
                return Ok(());
            }
            let left = Duration::from_millis((limit - start).millis().max(0) as u64);
            self.report(n, total, &what, start, Some(left));
            self.driver.pause(self.options.poll);
            self.observe()?;
        }
    }

    /// The nodes a target means now.
    fn resolve(&self, target: &Target, step: &str) -> Result<Vec<String>, Stop> {
        let step = step.trim_start_matches('#');
        match target {
            Target::Node(NodeRef::Name(n)) => Ok(vec![n.clone()]),
            Target::Node(NodeRef::Role(r)) => match self.bindings.roles.get(r) {
                Some(n) => Ok(vec![n.clone()]),
                None => Err(Stop::Inconclusive(format!("step {step}: role `{r}` is not bound to a node yet"))),
            },
            Target::All => Ok(self.driver.nodes()),
            Target::Runs(svc) => {
                let v = self.model.services.get(svc);
                // What the nodes report outranks where the manager means to put it.
                let active: Vec<String> = v.map(|v| v.active().into_iter().cloned().collect()).unwrap_or_default();
                match (active.as_slice(), v.and_then(|v| v.node.clone())) {
                    ([one], _) => Ok(vec![one.clone()]),
                    ([], Some(node)) => Ok(vec![node]),
                    ([], None) => Err(Stop::Inconclusive(format!(
                        "step {step}: {svc} runs nowhere, so there is no node that runs it"
                    ))),
                    (many, _) => Err(Stop::Inconclusive(format!(
                        "step {step}: {svc} is active on {} at once",
                        many.join(" and ")
                    ))),
                }
            }
            Target::Master => match &self.model.master {
                Some(m) => Ok(vec![m.clone()]),
                None => Err(Stop::Inconclusive(format!("step {step}: the HA master is not known"))),
            },
            Target::Any => Ok(self.driver.nodes().into_iter().take(1).collect()),
        }
    }

    fn record(&mut self, t: Seconds, node: &str, fault: FaultKind, step: &str) {
        let e = Event::new(
            t,
            EventData::Fault { node: node.to_owned(), fault, step: Some(step.trim_start_matches('#').to_owned()) },
        )
        .by("hadrill");
        self.model.apply(&e);
        self.events.push(e);
    }

    fn timeline_so_far(&self) -> Timeline {
        Timeline::new(
            self.events.clone(),
            Meta { format: Some("hadrill-run".into()), end: self.driver.now(), ..Meta::default() },
        )
    }

    fn finish(mut self, stopped: Option<Stop>) -> RunResult {
        let timeline = self.timeline_so_far();
        // Every fence the stack acknowledged is judged against the hypervisor in every run.
        self.bindings.fence_truth = true;
        let mut evaluation = evaluate(&timeline, self.plan, &self.bindings);
        let mut checks = self.gates;
        checks.append(&mut evaluation.checks);
        if let Some(Stop::InfraError(why)) = &stopped {
            checks.push(CheckResult {
                name: "the lab stayed healthy".into(),
                kind: CheckKind::Eventually,
                subject: Subject::Cluster,
                verdict: Verdict::InfraError,
                message: why.clone(),
                from: None,
                until: None,
                seen: Some(timeline.end()),
                measured: None,
                location: None,
                evidence: None,
                expected_fail: false,
            });
        }
        evaluation.verdict = Verdict::combine(checks.iter().map(|c| c.verdict));
        evaluation.checks = checks;
        RunResult { timeline, bindings: self.bindings, evaluation, stopped }
    }
}

fn gate(
    what: &str,
    step: &Step,
    from: Seconds,
    seen: Option<Seconds>,
    verdict: Verdict,
    message: String,
) -> CheckResult {
    CheckResult {
        name: what.to_owned(),
        kind: CheckKind::Within,
        subject: Subject::Cluster,
        verdict,
        message,
        from: Some(from),
        until: None,
        seen,
        measured: seen.map(|s| s - from),
        location: Some(step.loc.to_string()),
        evidence: None,
        expected_fail: false,
    }
}

fn infra(e: DriverError) -> Stop {
    Stop::InfraError(e.to_string())
}

fn secs(d: Duration) -> Seconds {
    Seconds::from_millis(d.as_millis() as i64)
}

/// How the timeline records a fault's inject, or with `heal` its heal (the catalogue's word).
pub fn fault_kind(fault: &Fault, heal: bool) -> FaultKind {
    crate::fault::entry(fault).kind(heal)
}
