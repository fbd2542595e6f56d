//! How the observer's timeline is held against `hadrill analyze`'s for the same case, both
//! on simulated seconds.
//!
//! - Journal-derived events (`by` a node's `crm`, `lrm` or `watchdog-mux`) must be the very
//!   events analyze reads from the log's node lines (its `watchdog` expiry is the node's
//!   watchdog-mux line): for each writer the same events in the same order, each within
//!   `journal_tol` of analyze's time. Across writers, order is time order, so the tolerance
//!   covers it.
//! - Status-derived events (`NODE/pvesh`, `NODE/corosync-quorumtool`) must agree with what the
//!   log says: what a poll reports held at some instant between the answering node's previous
//!   read (as the fake node logged it) and the end of the call that made the event, plus the
//!   clock's resolution. Events are judged as states (a first reading, where everything is
//!   new, like any other); a fence's acknowledgement must also have been logged by then.

use std::collections::BTreeMap;

use hadrill::timeline::{Event, EventData, FaultKind, FencePhase, PowerState, ServiceOp};
use serde_json::Value;

use super::case::Case;

/// An event on simulated seconds.
pub type Timed = (f64, Event);

fn is_journal(by: &str) -> bool {
    by.ends_with("/crm") || by.ends_with("/lrm") || by.ends_with("/watchdog-mux")
}

/// The events of analyze's timeline that a node's journal carries, with the writer the
/// observer names (analyze names the simulated watchdog `watchdog`).
pub fn expected_journal(analyzed: &[Event]) -> Vec<Timed> {
    analyzed
        .iter()
        .filter_map(|e| {
            let by = e.by.as_deref()?;
            let by = match (&e.data, by) {
                (EventData::Watchdog { node, .. }, "watchdog") => format!("{node}/watchdog-mux"),
                (_, b) if is_journal(b) => b.to_owned(),
                _ => return None,
            };
            Some((e.t.as_f64(), Event { by: Some(by), line: None, ..e.clone() }))
        })
        .collect()
}

/// The events of analyze's timeline that come from the simulated hardware (the command list,
/// power, reboots): in a run, the fault catalogue and the hypervisor record those.
pub fn outside(analyzed: &[Event]) -> Vec<Event> {
    analyzed
        .iter()
        .filter(|e| matches!(e.by.as_deref(), Some("cmdlist" | "hardware" | "reboot" | "shutdown")))
        .cloned()
        .collect()
}

fn by_writer(events: &[Timed]) -> BTreeMap<String, Vec<&Timed>> {
    let mut out: BTreeMap<String, Vec<&Timed>> = BTreeMap::new();
    for e in events {
        out.entry(e.1.by.clone().unwrap_or_default()).or_default().push(e);
    }
    out
}

fn show(e: &Timed) -> String {
    format!("t={:.3} {}", e.0, serde_json::to_string(&e.1.data).unwrap_or_default())
}

/// The journal-derived events must be analyze's, writer by writer, in order and in time.
pub fn same_journal_events(expected: &[Timed], observed: &[Timed], tol: f64) -> Result<(), String> {
    let (want, got) = (by_writer(expected), by_writer(observed));
    for writer in want.keys().chain(got.keys()) {
        let (w, g) = (want.get(writer).cloned().unwrap_or_default(), got.get(writer).cloned().unwrap_or_default());
        for (i, pair) in w.iter().zip(g.iter()).enumerate() {
            let (a, b) = pair;
            if a.1.data != b.1.data {
                return Err(format!("{writer}: event {i} differs:\n  analyze:  {}\n  observer: {}", show(a), show(b)));
            }
            if (a.0 - b.0).abs() > tol {
                return Err(format!(
                    "{writer}: event {i} is {:.3} s off (tolerance {tol:.3} s):\n  analyze:  {}\n  observer: {}",
                    b.0 - a.0,
                    show(a),
                    show(b)
                ));
            }
        }
        if w.len() != g.len() {
            let (more, which) = if w.len() > g.len() { (&w, "missing from the observer") } else { (&g, "extra") };
            let first = more[w.len().min(g.len())];
            return Err(format!(
                "{writer}: analyze has {} events, the observer {}; first {which}: {}",
                w.len(),
                g.len(),
                show(first)
            ));
        }
    }
    Ok(())
}

/// What the log says about the cluster over time, for judging the polls.
pub struct Truth<'a> {
    case: &'a Case,
    /// analyze's events on simulated seconds.
    events: Vec<Timed>,
    initial: Value,
}

impl<'a> Truth<'a> {
    pub fn new(case: &'a Case, analyzed: &[Event]) -> Self {
        let events = analyzed.iter().map(|e| (e.t.as_f64(), e.clone())).collect();
        Truth { case, events, initial: case.initial_status() }
    }

    /// The instants of `[lo, hi]` at which anything can have changed: its ends and every
    /// event between.
    fn instants(&self, lo: f64, hi: f64) -> Vec<f64> {
        let mut v = vec![lo, hi];
        v.extend(self.events.iter().map(|e| e.0).filter(|t| *t >= lo && *t <= hi));
        v
    }

    /// The last value `pick` finds in the events up to `t`, else `initial`.
    fn latest<T>(&self, t: f64, initial: Option<T>, pick: impl Fn(&EventData) -> Option<T>) -> Option<T> {
        self.events.iter().take_while(|e| e.0 <= t).filter_map(|e| pick(&e.1.data)).last().or(initial)
    }

    fn initial_str(&self, path: &[&str]) -> Option<String> {
        let mut v = &self.initial;
        for p in path {
            v = v.get(p)?;
        }
        v.as_str().map(str::to_owned)
    }

    fn master_at(&self, t: f64) -> Option<String> {
        self.latest(t, self.initial_str(&["master_node"]), |d| match d {
            EventData::Master { node } => Some(node.clone()),
            _ => None,
        })
    }

    fn node_at(&self, n: &str, t: f64) -> Option<String> {
        self.latest(t, self.initial_str(&["node_status", n]), |d| match d {
            EventData::Node { node, to, .. } if node == n => Some(to.clone()),
            _ => None,
        })
    }

    fn service_at(&self, sid: &str, t: f64) -> (Option<String>, Option<String>) {
        // A service is added in the state its first change leaves (`adding new service` does
        // not name it).
        let added_as = self.events.iter().find_map(|e| match &e.1.data {
            EventData::Service { service, from, .. } if service == sid => Some(from.clone()),
            _ => None,
        });
        let initial = self.initial_str(&["service_status", sid, "state"]).or(added_as);
        let state = self.latest(t, initial, |d| match d {
            EventData::Service { service, to, .. } if service == sid => Some(to.clone()),
            _ => None,
        });
        let node = self.latest(t, self.initial_str(&["service_status", sid, "node"]), |d| match d {
            EventData::Service { service, node: Some(n), .. } | EventData::Tracking { service, node: Some(n), .. }
                if service == sid =>
            {
                Some(n.clone())
            }
            _ => None,
        });
        (state, node)
    }

    /// The LRM's state as the quorate side last saw it: as of when `n` left it.
    fn lrm_at(&self, n: &str, t: f64) -> Option<String> {
        let seen = self.case.last_quorate(n, t).unwrap_or(t);
        self.latest(seen, None, |d| match d {
            EventData::Daemon { node, daemon, to, .. } if node == n && daemon == "lrm" => Some(to.clone()),
            _ => None,
        })
    }

    /// The last thing an LRM said about running `sid`: (node, running or not).
    fn running_at(&self, sid: &str, t: f64) -> Option<(String, bool)> {
        self.latest(t, None, |d| match d {
            EventData::ServiceOp { service, node, op, .. } if service == sid => match op {
                ServiceOp::Running => Some((node.clone(), true)),
                ServiceOp::Stopped | ServiceOp::Stop | ServiceOp::Failed => Some((node.clone(), false)),
                _ => None,
            },
            _ => None,
        })
    }

    /// Whether `n` lost power or network, or its daemon `daemon` left its state, at least
    /// 30 s before `t`: a status writer that stops is stale 30 s later.
    fn stopped_before(&self, n: &str, daemon: &str, t: f64) -> bool {
        self.events.iter().take_while(|e| e.0 <= t - 30.0).any(|e| match &e.1.data {
            EventData::Fault { node, fault: FaultKind::PowerOff | FaultKind::NetworkOff, .. } => node == n,
            EventData::Power { node, state: PowerState::Off, .. } => node == n,
            EventData::Daemon { node, daemon: d, from, .. } => node == n && d == daemon && from == "master",
            _ => false,
        }) || self.case.last_quorate(n, t - 30.0).is_none_or(|left| left < t - 30.0)
    }

    fn happened(&self, lo: f64, hi: f64, want: impl Fn(&EventData) -> bool) -> bool {
        self.events.iter().any(|e| e.0 >= lo && e.0 <= hi && want(&e.1.data))
    }

    /// Whether a polled event agrees with the log somewhere in `[lo, hi]`: from the previous
    /// read of the node that answered to the end of the call that made the event.
    pub fn agrees(&self, d: &EventData, lo: f64, hi: f64) -> Result<(), String> {
        let held = |f: &dyn Fn(f64) -> bool| self.instants(lo, hi).into_iter().any(f);
        let ok = match d {
            EventData::Master { node } => held(&|x| self.master_at(x).as_deref() == Some(node)),
            EventData::Node { node, to, .. } => held(&|x| self.node_at(node, x).as_deref() == Some(to)),
            EventData::Service { service, to, node, .. } => held(&|x| {
                let (state, on) = self.service_at(service, x);
                state.as_deref() == Some(to) && (node.is_none() || on.is_none() || on == *node)
            }),
            // A node seen in `fence` for the first time is one whose fencing started.
            EventData::Fence { node, phase: FencePhase::Started } => {
                held(&|x| self.node_at(node, x).as_deref() == Some("fence"))
            }
            // Out of `fence` by the read, and the manager said it got the node's lock.
            EventData::Fence { node, phase } => {
                held(&|x| self.node_at(node, x).as_deref() != Some("fence"))
                    && self.happened(
                        0.0,
                        hi,
                        |e| matches!(e, EventData::Fence { node: n, phase: p } if n == node && p == phase),
                    )
            }
            EventData::ServiceOp { service, node, op: ServiceOp::Running, .. } => {
                held(&|x| self.running_at(service, x) == Some((node.clone(), true)))
            }
            // No longer running there by the read, as its LRM or the manager said.
            EventData::ServiceOp { service, node, op: ServiceOp::Stopped, .. } => held(&|x| {
                self.running_at(service, x) != Some((node.clone(), true))
                    || self.service_at(service, x).0.as_deref() == Some("stopped")
            }),
            EventData::Daemon { node, daemon, to, .. } if to == "stale" => self.stopped_before(node, daemon, hi),
            EventData::Daemon { node, daemon, to, .. } if daemon == "lrm" => {
                held(&|x| self.lrm_at(node, x).as_deref() == Some(to))
            }
            EventData::Quorum { node, quorate, members } => {
                let mut at = self.instants(lo, hi);
                at.extend(self.case.wire_times().filter(|w| *w >= lo && *w <= hi));
                at.into_iter().any(|x| {
                    let (q, m) = self.case.quorum_view(node, x);
                    q == *quorate && members.as_ref().is_none_or(|mm| *mm == m)
                })
            }
            other => return Err(format!("no rule to check a polled {} event: {other:?}", other.kind())),
        };
        if ok { Ok(()) } else { Err(format!("the log never says so between t={lo:.1} and t={hi:.1}")) }
    }
}
