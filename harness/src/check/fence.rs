//! Fence truth: every fence the stack acknowledged, judged against the hypervisor's record.
//!
//! A stack acknowledges a fence by its own word (Pacemaker's fencer result, `OFFLINE` after
//! `UNCLEAN`, a watchdog fence *assumed* after stonith-watchdog-timeout; PVE's CRM moving a
//! node from `fence` to `unknown`). That word is a claim (rank 3). Each one is judged here:
//!
//! - **confirmed**: the hypervisor saw the node powered off or reset after it was last known
//!   in the cluster and at or before the acknowledgement;
//! - **refuted**: not confirmed, and the node showed a sign of life after the acknowledgement
//!   and before its next power-off or reset: a heartbeat on the storage server (its service's
//!   writer, or the liveness beacon every node of a run keeps), a line in its own journal, an
//!   answer to a poll, a libvirt `resumed`;
//! - **not refuted** (self-fencing stacks only): the reset came after the acknowledgement, with
//!   no sign of life in between; a power-fencing stack's acknowledgement without a prior
//!   power action is a lie;
//! - **unconfirmed**: the hypervisor never saw the node go down: nothing to stand on.
//!
//! Acknowledgements of one node with no new loss between them (several nodes' fencers logging
//! one result, crm_mon seeing it later) are one fence, judged at its earliest acknowledgement:
//! that is when the cluster acted on it.

use serde::{Deserialize, Serialize};

use crate::timeline::{Event, EventData, FaultKind, FencePhase, NodeState, PowerState, Seconds, Timeline};

/// Whether the hardware itself speaks: a power or watchdog event from hadrill's libvirt
/// watcher (`hypervisor`), or from the Proxmox HA simulator's simulated hardware (`hardware`,
/// and the `cmdlist`, `shutdown`, `reboot` and `watchdog` sources it executes power commands
/// for). A node's own report (`node1/...`) is never the hardware's word.
pub fn from_hypervisor(e: &Event) -> bool {
    matches!(e.data, EventData::Power { .. } | EventData::Watchdog { .. }) && !by_a_node(e)
}

/// What the hypervisor said of one fence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// Powered off or reset at `at`, at or before the acknowledgement.
    Confirmed { at: Seconds, what: String },
    /// Self-fencing: reset at `at`, after the acknowledgement, with no sign of life between.
    NotRefuted { at: Seconds, what: String },
    /// Alive at `at`, after the acknowledgement: `what` says how it was seen.
    Refuted { at: Seconds, what: String },
    /// The hypervisor never showed the node go down.
    Unconfirmed { why: String },
}

/// One acknowledged fence and its judgement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FenceAudit {
    pub node: String,
    /// The earliest acknowledgement of this fence.
    pub acked_at: Seconds,
    /// Who acknowledged it (every source that did, earliest first).
    pub by: Vec<String>,
    #[serde(flatten)]
    pub finding: Finding,
    /// When each acknowledgement of this fence came (the first is `acked_at`).
    #[serde(skip)]
    pub acks: Vec<Seconds>,
}

impl FenceAudit {
    /// One line for summaries and reports.
    pub fn describe(&self) -> String {
        let by = if self.by.is_empty() { "the stack".to_owned() } else { self.by.join(", ") };
        let head = format!("{} fenced at t={} (acknowledged by {by})", self.node, self.acked_at);
        match &self.finding {
            Finding::Confirmed { at, what } => {
                format!("{head}: confirmed, {what} at t={at}, {}s before", self.acked_at - *at)
            }
            Finding::NotRefuted { at, what } => format!(
                "{head}: not refuted, {what} at t={at}, {}s after, no sign of life in between",
                *at - self.acked_at
            ),
            Finding::Refuted { at, what } => {
                format!("{head}: REFUTED, {what} at t={at}, {}s after", *at - self.acked_at)
            }
            Finding::Unconfirmed { why } => format!("{head}: unconfirmed, {why}"),
        }
    }
}

/// A power event of the hypervisor that ends a node's run of life; also the power pull the
/// harness (or the simulator's command list) did itself, which is the hardware's act.
fn went_down<'a>(e: &'a Event, node: &str) -> Option<(PowerState, Option<&'a str>)> {
    match &e.data {
        EventData::Power { node: n, state: s @ (PowerState::Off | PowerState::Reset), reason }
            if n == node && from_hypervisor(e) =>
        {
            Some((*s, reason.as_deref()))
        }
        EventData::Fault { node: n, fault: FaultKind::PowerOff, .. } if n == node && !by_a_node(e) => {
            Some((PowerState::Off, Some("pulled (the fault)")))
        }
        _ => None,
    }
}

/// A new life of the node: powered on or started (not resumed: that is the same life).
fn came_up(e: &Event, node: &str) -> bool {
    match &e.data {
        EventData::Power { node: n, state: PowerState::Running, reason } => {
            n == node && from_hypervisor(e) && reason.as_deref() != Some("resumed")
        }
        EventData::Fault { node: n, fault: FaultKind::PowerOn, .. } => n == node && !by_a_node(e),
        _ => false,
    }
}

fn is_resume(e: &Event) -> bool {
    matches!(&e.data, EventData::Power { state: PowerState::Running, reason: Some(r), .. } if r == "resumed")
}

/// Whether the hypervisor's last word on `node` in `before` was that it paused.
fn was_paused(before: &[Event], node: &str) -> bool {
    before
        .iter()
        .rev()
        .find(|e| from_hypervisor(e) && matches!(&e.data, EventData::Power { node: n, .. } if n == node))
        .is_some_and(|e| matches!(e.data, EventData::Power { state: PowerState::Paused, .. }))
}

/// Whether a node reported this itself (`node1/crm`), rather than the hardware or the harness.
fn by_a_node(e: &Event) -> bool {
    e.by.as_deref().is_none_or(|b| b.contains('/'))
}

fn describe_down(state: PowerState, reason: Option<&str>) -> String {
    match (state, reason) {
        (PowerState::Reset, Some(r)) => format!("the hypervisor saw a reset ({r})"),
        (PowerState::Reset, None) => "the hypervisor saw a reset".into(),
        (_, Some(r)) => format!("the hypervisor saw it {r}"),
        (_, None) => "the hypervisor saw it powered off".into(),
    }
}

/// A sign that `node` was alive, from a source other than the stack's managers: its writer's
/// heartbeats on the storage server, its own journal or polls (`by: node/...`), libvirt
/// resuming it.
fn sign_of_life(e: &Event, node: &str) -> Option<String> {
    match &e.data {
        EventData::Workload { node: n, service, seq, .. } if n == node => Some(match seq {
            Some(s) => format!("the storage server got {service}'s heartbeat seq {s} from its writer"),
            None => format!("the storage server got {service}'s heartbeat from its writer"),
        }),
        EventData::Liveness { node: n, seq, .. } if n == node => Some(match seq {
            Some(s) => format!("its liveness beacon reached the storage server (seq {s})"),
            None => "its liveness beacon reached the storage server".into(),
        }),
        EventData::Power { node: n, state: PowerState::Running, reason: Some(r) }
            if n == node && from_hypervisor(e) && r == "resumed" =>
        {
            Some("the hypervisor saw it resumed".to_owned())
        }
        _ => {
            let by = e.by.as_deref()?;
            let (reporter, _) = by.split_once('/')?;
            (reporter == node).then(|| format!("it logged or answered itself ({by}: {})", e.data.kind()))
        }
    }
}

/// Whether the node left the cluster's good graces: a new loss, so the next acknowledgement
/// is a new fence.
fn lost(e: &Event, node: &str) -> bool {
    match &e.data {
        EventData::Node { node: n, to_state: Some(NodeState::Lost | NodeState::Fencing), .. } => n == node,
        EventData::Fence { node: n, phase: FencePhase::Started } => n == node,
        _ => false,
    }
}

fn online(e: &Event, node: &str) -> bool {
    matches!(&e.data, EventData::Node { node: n, to_state: Some(NodeState::Online), .. } if n == node)
}

/// Every fence acknowledged at or after `from`, judged. `self_fencing`: the stack fences by
/// watchdog (a reset after the acknowledgement may be the node keeping its word).
pub fn audit(timeline: &Timeline, from: Option<Seconds>, self_fencing: bool) -> Vec<FenceAudit> {
    let ev = &timeline.events;
    // Group acknowledgements into fences: (node, index of the earliest, every source, every time).
    let mut rounds: Vec<(String, usize, Vec<String>, Vec<Seconds>)> = Vec::new();
    // node → index into `rounds` of its open fence (no loss since its acknowledgement).
    let mut open: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, e) in ev.iter().enumerate() {
        if let EventData::Fence { node, phase: FencePhase::Acknowledged } = &e.data {
            let by = e.by.clone().unwrap_or_else(|| "the stack".into());
            match open.get(node) {
                Some(&r) => {
                    if !rounds[r].2.contains(&by) {
                        rounds[r].2.push(by);
                    }
                    rounds[r].3.push(e.t);
                }
                None => {
                    open.insert(node.clone(), rounds.len());
                    rounds.push((node.clone(), i, vec![by], vec![e.t]));
                }
            }
        } else if let Some(n) = e.data.node()
            && lost(e, n)
        {
            open.remove(n);
        }
    }
    let end = timeline.end();
    let mut out = Vec::new();
    for (k, (node, i, by, acks)) in rounds.iter().enumerate() {
        let ack = ev[*i].t;
        if from.is_some_and(|f| ack < f) {
            continue;
        }
        // Where this fence's story begins: the node's last arrival online, or the end of its
        // previous fence, whichever is later.
        let prev_ack = rounds[..k].iter().rev().find(|(n, ..)| n == node).map(|(_, j, ..)| *j);
        let start = ev[..*i]
            .iter()
            .rposition(|e| online(e, node))
            .into_iter()
            .chain(prev_ack)
            .max()
            .map(|j| j + 1)
            .unwrap_or(0);
        // Powered off or reset in the window; or powered on anew, which says the life the
        // cluster lost had ended (the simulator starts nodes that way).
        let confirmed = ev[start..=*i].iter().rev().find_map(|e| {
            went_down(e, node)
                .map(|(state, reason)| (e.t, describe_down(state, reason)))
                .or_else(|| came_up(e, node).then(|| (e.t, "it was powered on anew (a new life)".to_owned())))
        });
        let finding = if let Some((at, what)) = confirmed {
            Finding::Confirmed { at, what }
        } else {
            // After the acknowledgement, until the node next goes down (or comes up anew: a
            // life that began after it is not the one the fence was about).
            let after = &ev[*i + 1..];
            let down = after.iter().find_map(|e| went_down(e, node).map(|d| (e.t, d)));
            let until =
                after.iter().find(|e| went_down(e, node).is_some() || came_up(e, node)).map(|e| e.t).unwrap_or(end);
            let life = after
                .iter()
                .enumerate()
                .take_while(|(_, e)| e.t < until)
                .filter(|(_, e)| e.t > ack)
                // libvirt also says `resumed` when it starts a domain: only a resume from a
                // pause is the same life going on.
                .filter(|(j, e)| !is_resume(e) || was_paused(&ev[..*i + 1 + j], node))
                .find_map(|(_, e)| sign_of_life(e, node).map(|what| (e.t, what)));
            match (life, down) {
                (Some((at, what)), _) => Finding::Refuted { at, what },
                (None, Some((at, (state, reason)))) if self_fencing => {
                    Finding::NotRefuted { at, what: describe_down(state, reason) }
                }
                (None, Some((at, (state, reason)))) => Finding::Refuted {
                    at,
                    what: format!(
                        "{} only after the acknowledgement, so fencing did not power it off",
                        describe_down(state, reason)
                    ),
                },
                (None, None) => Finding::Unconfirmed {
                    why: format!("the hypervisor never saw {node} powered off or reset (observed until t={end})"),
                },
            }
        };
        out.push(FenceAudit { node: node.clone(), acked_at: ack, by: by.clone(), finding, acks: acks.clone() });
    }
    out
}

/// How many power events of the hardware (the hypervisor's, and the power faults the harness
/// or the simulator's command list applied) the timeline holds.
pub fn hypervisor_events(timeline: &Timeline) -> usize {
    let power_fault = |e: &Event| {
        matches!(e.data, EventData::Fault { fault: FaultKind::PowerOff | FaultKind::PowerOn, .. }) && !by_a_node(e)
    };
    timeline.events.iter().filter(|e| from_hypervisor(e) || power_fault(e)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Meta;

    fn at(t: f64, data: EventData, by: &str) -> Event {
        Event::new(Seconds::from_millis((t * 1000.0) as i64), data).by(by)
    }
    fn ack(t: f64, node: &str, by: &str) -> Event {
        at(t, EventData::Fence { node: node.into(), phase: FencePhase::Acknowledged }, by)
    }
    fn power(t: f64, node: &str, state: PowerState, reason: &str) -> Event {
        at(t, EventData::Power { node: node.into(), state, reason: Some(reason.into()) }, "hypervisor")
    }
    fn node(t: f64, node: &str, to: NodeState, by: &str) -> Event {
        at(
            t,
            EventData::Node {
                node: node.into(),
                from: String::new(),
                to: to.as_str().into(),
                from_state: None,
                to_state: Some(to),
            },
            by,
        )
    }
    fn beat(t: f64, node: &str, active: bool, seq: u64) -> Event {
        at(
            t,
            EventData::Workload { service: "svc".into(), node: node.into(), active, seq: Some(seq) },
            "workload-observer",
        )
    }
    fn timeline(events: Vec<Event>, end: f64) -> Timeline {
        Timeline::new(events, Meta { end: Seconds::from_millis((end * 1000.0) as i64), ..Meta::default() })
    }

    #[test]
    fn a_power_pull_before_the_acknowledgement_confirms_it() {
        let t = timeline(
            vec![
                node(-100.0, "node1", NodeState::Online, "node2/crm_mon"),
                power(1.9, "node1", PowerState::Off, "destroyed"),
                node(22.0, "node1", NodeState::Lost, "node2/crm_mon"),
                ack(45.0, "node1", "node2/pacemaker-fenced"),
                ack(46.0, "node1", "node3/pacemaker-fenced"),
                ack(47.5, "node1", "node2/crm_mon"),
            ],
            300.0,
        );
        let a = audit(&t, Some(Seconds::ZERO), true);
        assert_eq!(a.len(), 1, "one fence, acknowledged three times: {a:#?}");
        assert_eq!(a[0].acked_at, Seconds::from_millis(45_000));
        assert_eq!(a[0].by.len(), 3);
        assert!(matches!(&a[0].finding, Finding::Confirmed { at, .. } if *at == Seconds::from_millis(1900)), "{a:?}");
        assert!(a[0].describe().contains("confirmed, the hypervisor saw it destroyed at t=1.9"), "{}", a[0].describe());
    }

    /// The shape of the false PASS found on real VMs: node2's fencing assumed by watchdog
    /// while node2 was still running; its writer beat on, and the hypervisor reset it 11.7 s
    /// after the acknowledgement.
    #[test]
    fn a_writer_beating_after_the_acknowledgement_refutes_it() {
        let t = timeline(
            vec![
                node(-50.0, "node2", NodeState::Online, "node1/crm_mon"),
                beat(0.0, "node2", true, 1),
                node(22.0, "node2", NodeState::Lost, "node1/crm_mon"),
                ack(46.0, "node2", "node1/pacemaker-fenced"),
                beat(49.4, "node2", false, 80),
                power(57.7, "node2", PowerState::Reset, "reboot"),
            ],
            300.0,
        );
        let a = audit(&t, None, true);
        assert!(
            matches!(&a[0].finding, Finding::Refuted { at, what } if *at == Seconds::from_millis(49_400) && what.contains("seq 80")),
            "{a:?}"
        );
    }

    #[test]
    fn a_self_fence_that_came_after_the_acknowledgement_with_no_sign_of_life_is_not_refuted() {
        let t = timeline(
            vec![
                node(22.0, "node2", NodeState::Lost, "node1/crm_mon"),
                ack(46.0, "node2", "node1/pacemaker-fenced"),
                // Lines about node2 from others are no sign of node2's life.
                node(47.0, "node2", NodeState::Fenced, "node3/pacemaker-controld"),
                power(48.0, "node2", PowerState::Reset, "reboot"),
                // Its next boot is a new life.
                node(150.0, "node2", NodeState::Online, "node2/pacemaker-controld"),
            ],
            300.0,
        );
        assert!(matches!(audit(&t, None, true)[0].finding, Finding::NotRefuted { .. }));
        // A power-fencing stack must have powered it off first.
        assert!(matches!(audit(&t, None, false)[0].finding, Finding::Refuted { .. }));
    }

    #[test]
    fn a_paused_node_is_not_fenced_and_its_resume_refutes_the_acknowledgement() {
        let t = timeline(
            vec![
                power(0.0, "node1", PowerState::Paused, "suspended"),
                node(23.0, "node1", NodeState::Lost, "node2/crm_mon"),
                ack(48.0, "node1", "node2/pacemaker-fenced"),
                power(60.0, "node1", PowerState::Running, "resumed"),
                at(60.5, EventData::Log { level: "warning".into(), message: "x".into() }, "node1/sbd"),
            ],
            300.0,
        );
        let a = audit(&t, None, true);
        assert!(
            matches!(&a[0].finding, Finding::Refuted { at, what } if *at == Seconds::from_millis(60_000) && what.contains("resumed")),
            "{a:?}"
        );
    }

    /// A self-fence slower than the cluster assumes (sbd's real watchdog timeout longer than
    /// stonith-watchdog-timeout allows for): the node stopped its service in time, but its
    /// beacon still reached the storage server after the acknowledgement.
    #[test]
    fn a_liveness_beacon_after_the_acknowledgement_refutes_it() {
        let live = |t: f64, alive: bool, seq: u64| {
            at(t, EventData::Liveness { node: "node1".into(), alive, seq: Some(seq) }, "workload-observer")
        };
        let t = timeline(
            vec![
                live(-200.0, true, 1),
                node(22.0, "node1", NodeState::Lost, "node2/crm_mon"),
                ack(46.0, "node1", "node2/pacemaker-fenced"),
                live(99.0, false, 300),
                power(100.0, "node1", PowerState::Reset, "reboot"),
            ],
            300.0,
        );
        let a = audit(&t, None, true);
        assert!(
            matches!(&a[0].finding, Finding::Refuted { at, what } if *at == Seconds::from_millis(99_000) && what.contains("beacon")),
            "{a:?}"
        );
    }

    /// libvirt starts a domain with `resumed` and `started` a millisecond apart: that is a new
    /// life, not the old one going on.
    #[test]
    fn a_start_is_not_a_resume() {
        let t = timeline(
            vec![
                node(22.0, "node2", NodeState::Lost, "node1/crm_mon"),
                ack(46.0, "node2", "node1/pacemaker-fenced"),
                power(60.0, "node2", PowerState::Running, "resumed"),
                power(60.001, "node2", PowerState::Running, "started"),
            ],
            300.0,
        );
        assert!(matches!(audit(&t, None, true)[0].finding, Finding::Unconfirmed { .. }), "{:?}", audit(&t, None, true));
    }

    #[test]
    fn without_a_hypervisor_word_the_fence_is_unconfirmed() {
        let t = timeline(vec![node(22.0, "node2", NodeState::Lost, "node1/x"), ack(46.0, "node2", "node1/x")], 300.0);
        assert!(matches!(audit(&t, None, true)[0].finding, Finding::Unconfirmed { .. }));
    }

    #[test]
    fn a_second_loss_makes_a_second_fence_with_its_own_window() {
        let t = timeline(
            vec![
                power(1.0, "node1", PowerState::Off, "destroyed"),
                node(20.0, "node1", NodeState::Lost, "node2/crm_mon"),
                ack(45.0, "node1", "node2/crm_mon"),
                power(100.0, "node1", PowerState::Running, "started"),
                node(200.0, "node1", NodeState::Online, "node2/crm_mon"),
                node(300.0, "node1", NodeState::Lost, "node2/crm_mon"),
                ack(330.0, "node1", "node2/crm_mon"),
            ],
            400.0,
        );
        let a = audit(&t, None, true);
        assert_eq!(a.len(), 2);
        assert!(matches!(a[0].finding, Finding::Confirmed { .. }));
        // The power-off at t=1 belongs to the first fence, not to the second.
        assert!(matches!(a[1].finding, Finding::Unconfirmed { .. }), "{a:?}");
    }
}
