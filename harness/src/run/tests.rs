//! The runner against a scripted cluster on a simulated clock: it reacts to faults with the
//! events a real HA stack would log, after the delays a test chooses.

use std::time::Duration;

use super::*;
use crate::check::Verdict;
use crate::scenario::{self, Action, Fault};
use crate::timeline::{Event, EventData, FencePhase, Seconds, ServiceOp, ServiceState};

/// Delays (seconds after the fault) of a cluster's answer to a power pull.
#[derive(Clone, Copy)]
struct Timing {
    lost: f64,
    fence: f64,
    fenced: f64,
    restarted: f64,
}

const FAST: Timing = Timing { lost: 20.0, fence: 40.0, fenced: 45.0, restarted: 60.0 };

struct Scripted {
    now: Seconds,
    queue: Vec<Event>,
    timing: Timing,
    faults: Vec<(String, bool, Seconds)>,
    actions: Vec<String>,
    broken_lab: bool,
}

impl Scripted {
    fn new(timing: Timing, service_starts: bool) -> Self {
        let mut s = Scripted {
            now: Seconds::ZERO,
            queue: Vec::new(),
            timing,
            faults: Vec::new(),
            actions: Vec::new(),
            broken_lab: false,
        };
        if service_starts {
            s.at(5.0, service("request_start", "started", "node1"));
            s.at(
                6.0,
                EventData::ServiceOp {
                    service: "ct:100".into(),
                    node: "node1".into(),
                    op: ServiceOp::Running,
                    target: None,
                },
            );
        }
        s
    }

    fn at(&mut self, t: f64, data: EventData) {
        // Power changes come from the (scripted) hypervisor, as a lab's do.
        let by = if matches!(data, EventData::Power { .. }) { "hypervisor" } else { "node2/crm" };
        self.queue.push(Event::new(Seconds(t), data).by(by));
    }
}

fn service(from: &str, to: &str, node: &str) -> EventData {
    EventData::Service {
        service: "ct:100".into(),
        from: from.into(),
        to: to.into(),
        from_state: crate::stack::pve::service_state(from),
        to_state: crate::stack::pve::service_state(to),
        node: Some(node.into()),
        target: None,
    }
}

fn node(name: &str, from: &str, to: &str) -> EventData {
    EventData::Node {
        node: name.into(),
        from: from.into(),
        to: to.into(),
        from_state: crate::stack::pve::node_state(from),
        to_state: crate::stack::pve::node_state(to),
    }
}

impl Driver for Scripted {
    fn now(&self) -> Seconds {
        self.now
    }

    fn pause(&mut self, d: Duration) {
        self.now = self.now + Seconds::from_millis(d.as_millis() as i64);
    }

    fn observe(&mut self) -> Result<Vec<Event>, DriverError> {
        let now = self.now;
        let (due, later): (Vec<Event>, Vec<Event>) = self.queue.drain(..).partition(|e| e.t <= now);
        self.queue = later;
        let mut due = due;
        due.sort_by_key(|e| e.t.millis());
        Ok(due)
    }

    fn nodes(&self) -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn fault(&mut self, fault: &Fault, n: &str, heal: bool) -> Result<Seconds, DriverError> {
        if self.broken_lab {
            let source = crate::lab::LabError::EventLoop { message: "connection lost".into() };
            return Err(DriverError::Lab { what: "libvirt".into(), source });
        }
        let t0 = self.now.as_f64();
        self.faults.push((n.to_owned(), heal, self.now));
        let tm = self.timing;
        match (fault, heal) {
            (Fault::PowerPull, false) => {
                self.at(
                    t0,
                    EventData::Power {
                        node: n.into(),
                        state: crate::timeline::PowerState::Off,
                        reason: Some("fault".into()),
                    },
                );
                self.at(t0 + tm.lost, node(n, "online", "unknown"));
                self.at(t0 + tm.fence, service("started", "fence", n));
                self.at(t0 + tm.fence, node(n, "unknown", "fence"));
                self.at(t0 + tm.fenced, EventData::Fence { node: n.into(), phase: FencePhase::Acknowledged });
                self.at(t0 + tm.fenced, node(n, "fence", "unknown"));
                self.at(t0 + tm.restarted, service("recovery", "started", "node2"));
                self.at(
                    t0 + tm.restarted + 1.0,
                    EventData::ServiceOp {
                        service: "ct:100".into(),
                        node: "node2".into(),
                        op: ServiceOp::Running,
                        target: None,
                    },
                );
            }
            (Fault::PowerPull, true) => self.at(t0 + 30.0, node(n, "unknown", "online")),
            _ => {}
        }
        Ok(self.now)
    }

    fn act(&mut self, action: &Action, n: Option<&str>, _timeout: Duration) -> Result<ActionOutput, DriverError> {
        self.actions.push(action_command(action));
        Ok(ActionOutput { node: n.unwrap_or("node1").to_owned(), stdout: String::new() })
    }
}

const POWER_PULL: &str = "
name: power-pull
stack: pve
cluster: { nodes: 3 }
resources: [{ id: ct:100 }]
steps:
  - await: { service: ct:100, state: started, within: 1m }
  - id: pull
    fault: { power-pull: { node: { runs: ct:100 } } }
  - expect:
      - { service: ct:100, state: fence, within: 60s }
      - { node: victim, state: fenced, within: 2m }
      - { service: ct:100, state: started, on: { not: victim }, within: 2m }
  - heal: pull
  - expect:
      - { node: victim, state: online, within: 5m }
  - action: { ha-manager: \"set ct:100 --state disabled\" }
invariants:
  - { service: ct:100, never: active-on-two-nodes }
  - { never: fenced, nodes: survivors }
";

fn run(yaml: &str, driver: &mut Scripted) -> (RunResult, Vec<Progress>) {
    let plan = scenario::parse("test.yaml", yaml, None).unwrap_or_else(|e| panic!("{e:?}"));
    let mut seen = Vec::new();
    let result = execute(&plan, driver, &RunOptions::default(), &mut |p| seen.push(p.clone()));
    (result, seen)
}

fn check<'a>(r: &'a RunResult, name: &str) -> &'a crate::check::CheckResult {
    r.evaluation
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#?}", r.evaluation.checks))
}

#[test]
fn a_cluster_that_recovers_in_time_passes() {
    let mut d = Scripted::new(FAST, true);
    let (r, progress) = run(POWER_PULL, &mut d);
    assert_eq!(r.stopped, None);
    assert_eq!(r.evaluation.verdict, Some(Verdict::Pass), "{:#?}", r.evaluation.checks);
    // The target was the node running the service when the step ran, and became the victim.
    assert_eq!(r.bindings.roles.get("victim").map(String::as_str), Some("node1"));
    let (faulted, heal, t_pull) = d.faults[0].clone();
    assert_eq!((faulted.as_str(), heal), ("node1", false));
    assert_eq!(check(&r, "service ct:100 fence within 1m after pull").measured, Some(Seconds(40.0)));
    assert_eq!(check(&r, "node victim fenced within 2m after pull").measured, Some(Seconds(45.0)));
    assert_eq!(check(&r, "service ct:100 started not on victim within 2m after pull").measured, Some(Seconds(60.0)));
    // The expect step waited for the restart before the heal was done.
    let (_, healed, t_heal) = d.faults[1].clone();
    assert!(healed && (t_heal - t_pull).as_f64() >= 60.0, "healed at {t_heal}, pulled at {t_pull}");
    assert_eq!(d.actions, vec!["ha-manager set ct:100 --state disabled".to_owned()]);
    // The fault is on the timeline with its step, and progress said what was awaited.
    assert!(
        r.timeline
            .events
            .iter()
            .any(|e| matches!(&e.data, EventData::Fault { node, step: Some(s), .. } if node == "node1" && s == "pull"))
    );
    assert!(progress.iter().any(|p| p.what.starts_with("await service ct:100 started")));
    assert!(r.timeline.events.iter().any(|e| matches!(&e.data, EventData::Service { to_state: Some(ServiceState::Started), node: Some(n), .. } if n == "node2")));
}

#[test]
fn a_slow_restart_fails_and_the_window_is_waited_out() {
    let mut d = Scripted::new(Timing { restarted: 200.0, ..FAST }, true);
    let (r, _) = run(POWER_PULL, &mut d);
    assert_eq!(r.evaluation.verdict, Some(Verdict::Fail));
    let c = check(&r, "service ct:100 started not on victim within 2m after pull");
    assert_eq!(c.verdict, Verdict::Fail, "{c:#?}");
    let (_, _, t_pull) = d.faults[0].clone();
    let (_, _, t_heal) = d.faults[1].clone();
    let waited = (t_heal - t_pull).as_f64();
    assert!((120.0..130.0).contains(&waited), "the heal came {waited}s after the pull; the window was 120s");
}

#[test]
fn an_unready_cluster_is_inconclusive_and_nothing_is_injected() {
    let mut d = Scripted::new(FAST, false);
    let (r, _) = run(POWER_PULL, &mut d);
    assert!(
        matches!(&r.stopped, Some(Stop::Inconclusive(why)) if why.contains("not reached within 1m")),
        "{:?}",
        r.stopped
    );
    assert_eq!(r.evaluation.verdict, Some(Verdict::Inconclusive));
    assert!(d.faults.is_empty());
    assert!(r.evaluation.checks.iter().all(|c| c.verdict != Verdict::Pass), "{:#?}", r.evaluation.checks);
}

#[test]
fn a_broken_lab_is_an_infrastructure_error() {
    let mut d = Scripted::new(FAST, true);
    d.broken_lab = true;
    let (r, _) = run(POWER_PULL, &mut d);
    assert!(matches!(&r.stopped, Some(Stop::InfraError(why)) if why.contains("connection lost")));
    assert_eq!(r.evaluation.verdict, Some(Verdict::InfraError));
}

#[test]
fn a_target_that_runs_nowhere_is_inconclusive() {
    let yaml = "
name: nowhere
stack: pve
cluster: { nodes: 3 }
resources: [{ id: ct:100 }]
steps:
  - fault: { power-pull: { node: { runs: ct:100 } } }
";
    let mut d = Scripted::new(FAST, false);
    let (r, _) = run(yaml, &mut d);
    assert!(matches!(&r.stopped, Some(Stop::Inconclusive(why)) if why.contains("runs nowhere")), "{:?}", r.stopped);
    assert!(d.faults.is_empty());
}

#[test]
fn a_run_that_never_began_is_never_a_pass() {
    let plan = scenario::parse("test.yaml", POWER_PULL, None).unwrap_or_else(|e| panic!("{e:?}"));
    let mut d = Scripted::new(FAST, true);
    d.pause(Duration::from_secs(10));
    let stop = Stop::Inconclusive("node2: the fencer has no `watchdog` device".into());
    let r = abandon(&plan, &mut d, &RunOptions::default(), "the cluster became ready", stop);
    assert_eq!(r.evaluation.verdict, Some(Verdict::Inconclusive), "{:#?}", r.evaluation.checks);
    let c = check(&r, "the cluster became ready");
    assert!(c.message.contains("watchdog"), "{c:#?}");
    // What was observed is kept, and nothing was injected.
    assert!(!r.timeline.events.is_empty());
    assert!(d.faults.is_empty());
    let r = abandon(&plan, &mut d, &RunOptions::default(), "the stack was set up", Stop::InfraError("ssh".into()));
    assert_eq!(r.evaluation.verdict, Some(Verdict::InfraError));
    assert!(matches!(r.stopped, Some(Stop::InfraError(_))));
    assert_eq!(r.evaluation.checks.iter().filter(|c| c.verdict == Verdict::InfraError).count(), 1);
}

/// Seen on real VMs: a starved host lost a node's token while the stack was still forming, the
/// stack fenced it, and the readiness gate gave up. The scenario's `never: fenced` must not
/// FAIL over what happened before its first step: it is not judged at all.
#[test]
fn an_abandoned_run_does_not_judge_the_scenario_over_its_set_up() {
    let yaml = "
name: reboot
stack: pve
cluster: { nodes: 3 }
resources: [{ id: ct:100 }]
steps:
  - fault: { reboot: { node: node1 } }
invariants:
  - { never: fenced, nodes: all }
";
    let plan = scenario::parse("test.yaml", yaml, None).unwrap_or_else(|e| panic!("{e:?}"));
    let mut d = Scripted::new(FAST, true);
    d.at(3.0, node("node2", "online", "fence"));
    d.at(5.0, node("node2", "fence", "unknown"));
    d.now = Seconds(10.0);
    let stop = Stop::Inconclusive("node1 is pending".into());
    let r = abandon(&plan, &mut d, &RunOptions::default(), "the cluster became ready", stop);
    assert_eq!(r.evaluation.verdict, Some(Verdict::Inconclusive), "{:#?}", r.evaluation.checks);
    let c = check(&r, "never: any node fenced");
    assert_eq!(c.verdict, Verdict::Inconclusive, "{c:#?}");
    assert!(c.message.contains("never began"), "{c:#?}");
}

#[test]
fn invariants_hold_from_the_first_step_not_during_the_set_up() {
    // The stack's set-up: the service is stopped at t=2 and started at t=5; the steps begin
    // at t=8, after the readiness gate.
    let mut d = Scripted::new(FAST, true);
    d.at(2.0, service("request_start", "stopped", "node1"));
    d.now = Seconds(8.0);
    let yaml = "
name: steady
stack: pve
cluster: { nodes: 3 }
resources: [{ id: ct:100 }]
steps:
  - await: { service: ct:100, state: started, within: 1m }
  - wait: 10s
invariants:
  - { service: ct:100, never: stopped }
";
    let (r, _) = run(yaml, &mut d);
    assert_eq!(r.bindings.from, Some(Seconds(8.0)));
    let c = check(&r, "never: ct:100 stopped");
    assert_eq!(c.verdict, Verdict::Pass, "{c:#?}");
    // Judged over the whole timeline (as `analyze` does), the set-up's stop counts.
    let plan = scenario::parse("test.yaml", yaml, None).unwrap();
    let whole = crate::check::Bindings { from: None, ..r.bindings.clone() };
    let all = crate::check::evaluate(&r.timeline, &plan, &whole);
    assert_eq!(all.checks.iter().find(|c| c.name == "never: ct:100 stopped").map(|c| c.verdict), Some(Verdict::Fail));
}
