//! The message grammar of a Pacemaker cluster's journal: corosync, pacemakerd, the
//! pacemaker-* daemons, sbd and the kernel's softdog, turned into timeline events.
//!
//! The texts follow Pacemaker 2.1.5 (`lib/pengine/unpack.c` `pe_fence_node`,
//! `daemons/controld/controld_fencing.c`, `controld_execd.c`, `controld_fsa.c`,
//! `controld_utils.c`, `lib/cluster/membership.c`, `daemons/fenced/fenced_remote.c`,
//! `lib/pacemaker/pcmk_output.c` `rsc_action_item`, `pcmk_sched_resource.c`,
//! `daemons/pacemakerd/pcmkd_subdaemons.c`), sbd 1.5 (`sbd-inquisitor.c`, `sbd-common.c`) and
//! corosync 3.1 (`totemsrp.c`, `vsf_quorum.c`, `votequorum.c`).
//!
//! Framing: Pacemaker's syslog format is `%g %p: %b`, so a message starts with its priority
//! (`notice: …`, `warning: …`); sbd's is `%g %-7p: %n: %b` (tag, padded priority, function).
//! Both are stripped, and the priority read from there when the framing has none
//! (`short-iso-precise`). The detail after ` | ` (`CRM_XS`) is kept in `Log` messages but not
//! matched on.
//!
//! Decisions worth knowing:
//! - Fencing starts at the first of: the scheduler's "will be fenced" or `Fence (reboot)`
//!   action, the controller's "Requesting fencing", the fencer's "Requesting peer fencing" or
//!   "Waiting Ns for X to self-fence". It is acknowledged at the first of: the fencer's
//!   "Self-fencing … assumed complete" or "Operation 'reboot' targeting X …: OK", the
//!   controller's "Peer X was terminated … OK". Every node logs the outcome: each fencing
//!   gives one `started` and one `acknowledged` (or `failed`).
//! - The DC (`master`): the controller that goes `S_ELECTION -> S_INTEGRATION` won the
//!   election; the others log "Set DC to X". One event per change.
//! - Peer state (`Node X state is now lost|member`) is logged by every node: one `node` event
//!   per change.
//! - Resource operations: the node that runs one logs "Requesting local execution of start
//!   operation for R on N" (`service-op start`/`stop`) and "Result of start operation for R on
//!   N: ok" (`running`/`stopped`, or `failed` with a `service-error`). A failed monitor is a
//!   `service-error`. The DC's "Initiating …" lines repeat the same and make no event.
//! - The scheduler's `Recover R ( N1 -> N2 )` is a `recovery`; `Move R ( N1 -> N2 )` is one
//!   only while N1 is being fenced (otherwise it is an operator's or a stickiness move).
//! - pacemakerd: "is unresponsive to ipc" and "Respawning" are kept as `log` at their own
//!   level (notice): a starved node is not ready for a fault.
//! - sbd: "No liveness" is `watchdog expiring` (sbd is about to stop feeding the watchdog);
//!   "Rebooting system" is `watchdog reset`; "Using watchdog device" is `watchdog armed`;
//!   "health check: UNHEALTHY" stays a `log` warning (the cause, not the watchdog's act).
//! - corosync: as for Proxmox, the quorum change makes a `quorum` event and the `Members[N]:`
//!   line after it fills its members; "A processor failed", "Token has not been received" and
//!   knet link loss become `log` at their own level (notice), since they time the fault.
//! - Unrecognised lines of these daemons at warning or worse become `log`; other programs'
//!   lines are counted as unrecognised.

use std::collections::HashMap;

use crate::stack::corosync::{self, QuorumLine, QuorumViews};
use crate::timeline::{Event, EventData, FencePhase, Seconds, ServiceOp};

/// Severity of a line, in syslog's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Level {
    pub(crate) fn from_priority(p: u8) -> Option<Level> {
        Some(match p {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Crit,
            3 => Level::Err,
            4 => Level::Warning,
            5 => Level::Notice,
            6 => Level::Info,
            7 => Level::Debug,
            _ => return None,
        })
    }

    /// A priority word as libqb writes it (`%p`).
    fn from_word(w: &str) -> Option<Level> {
        Some(match w {
            "emerg" => Level::Emerg,
            "alert" => Level::Alert,
            "crit" => Level::Crit,
            "error" | "err" => Level::Err,
            "warning" => Level::Warning,
            "notice" => Level::Notice,
            "info" => Level::Info,
            "debug" | "trace" => Level::Debug,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Err => "err",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// Where one line sits: its time (raw µs while reading), number, writer and level.
pub(crate) struct At<'a> {
    pub us: i64,
    pub line: u64,
    pub node: &'a str,
    pub ident: &'a str,
    pub level: Option<Level>,
}

/// Fencing of one node, so that each node's copy of the outcome makes one event.
#[derive(Default, Clone, Copy)]
struct FenceRound {
    started: bool,
    done: bool,
}

/// The events read so far, and what is needed to tell a new fact from the same fact logged
/// again by another node or another daemon.
#[derive(Default)]
pub(crate) struct Sink {
    pub events: Vec<Event>,
    fence: HashMap<String, FenceRound>,
    master: Option<String>,
    /// node → last peer state logged for it.
    peers: HashMap<String, String>,
    /// node → last known quorate, and the index of a quorum event waiting for its members.
    quorum: QuorumViews,
}

/// The message without its priority (and sbd's tag and function), and the priority.
fn strip_prefix<'m>(ident: &str, msg: &'m str) -> (Option<Level>, &'m str) {
    let mut rest = msg.trim_start();
    let mut level = None;
    // At most two `word:` prefixes before the priority (sbd's servant tag, e.g. `pcmk:`).
    for _ in 0..2 {
        let Some((word, tail)) = rest.split_once(':') else { break };
        if let Some(l) = Level::from_word(word.trim()) {
            level = Some(l);
            rest = tail.trim_start();
            break;
        }
        if word.is_empty() || word.len() > 16 || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            break;
        }
        rest = tail.trim_start();
    }
    if level.is_none() {
        return (None, msg.trim_start());
    }
    if ident == "sbd"
        && let Some((func, tail)) = rest.split_once(": ")
        && !func.is_empty()
        && func.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        rest = tail;
    }
    (level, rest)
}

/// The text before Pacemaker's ` | key=value` detail.
fn head(msg: &str) -> &str {
    msg.split_once(" | ").map_or(msg, |(h, _)| h).trim_end()
}

fn is_ha_daemon(ident: &str) -> bool {
    ident.starts_with("pacemaker") || matches!(ident, "corosync" | "sbd" | "crmd" | "stonith-ng" | "pengine")
}

impl Sink {
    fn push(&mut self, at: &At, data: EventData) {
        let mut by = String::with_capacity(at.node.len() + 1 + at.ident.len());
        by.push_str(at.node);
        by.push('/');
        by.push_str(at.ident);
        self.events.push(Event { t: Seconds(at.us as f64), data, by: Some(by), line: Some(at.line) });
    }

    /// One journal message. Returns whether it was recognised (an event was made, or it is a
    /// known repeat of one).
    pub(crate) fn message(&mut self, at: &mut At, msg: &str) -> bool {
        let (word_level, text) = strip_prefix(at.ident, msg);
        if at.level.is_none() {
            at.level = word_level;
        }
        let at = &*at;
        let known = match at.ident {
            "pacemaker-schedulerd" | "pengine" => self.scheduler(at, text),
            "pacemaker-controld" | "crmd" => self.controller(at, text),
            "pacemaker-fenced" | "stonith-ng" => self.fencer(at, text),
            "corosync" => self.corosync(at, text),
            "sbd" => self.sbd(at, text),
            "kernel" => self.kernel(at, text),
            "pacemakerd" => self.pacemakerd(at, text),
            // pacemaker-attrd, -based, -execd, pacemakerd: only their copy of peer changes.
            other if other.starts_with("pacemaker") => self.peer(at, text),
            _ => false,
        };
        if known {
            return true;
        }
        if is_ha_daemon(at.ident) { self.log_if_warning(at, text) } else { false }
    }

    fn log_if_warning(&mut self, at: &At, text: &str) -> bool {
        let level = at.level.unwrap_or_else(|| guess_level(text));
        if level > Level::Warning {
            return false;
        }
        self.log(at, level, text);
        true
    }

    fn log(&mut self, at: &At, level: Level, text: &str) {
        self.push(at, EventData::Log { level: level.name().to_owned(), message: text.to_owned() });
    }

    fn fence(&mut self, at: &At, node: &str, phase: FencePhase) -> bool {
        let round = self.fence.entry(node.to_owned()).or_default();
        let new = match phase {
            FencePhase::Started => {
                if round.started && !round.done {
                    false
                } else {
                    *round = FenceRound { started: true, done: false };
                    true
                }
            }
            FencePhase::Acknowledged | FencePhase::Failed => {
                if round.done {
                    false
                } else {
                    round.done = true;
                    true
                }
            }
        };
        if new {
            self.push(at, EventData::Fence { node: node.to_owned(), phase });
        }
        true
    }

    /// Fencing of `node` was started and has not ended yet.
    fn being_fenced(&self, node: &str) -> bool {
        self.fence.get(node).is_some_and(|r| r.started && !r.done)
    }

    fn master(&mut self, at: &At, node: &str) -> bool {
        if self.master.as_deref() != Some(node) {
            self.master = Some(node.to_owned());
            self.push(at, EventData::Master { node: node.to_owned() });
        }
        true
    }

    // -------------------------------------------------------------------------------------
    // pacemaker-schedulerd

    fn scheduler(&mut self, at: &At, text: &str) -> bool {
        let h = head(text);
        for prefix in ["Cluster node ", "Remote node ", "Guest node "] {
            if let Some(rest) = h.strip_prefix(prefix)
                && let Some((node, _)) = rest.split_once(" will be fenced")
            {
                return self.fence(at, node, FencePhase::Started);
            }
        }
        if let Some(item) = h.strip_prefix("Actions: ") {
            return self.action(at, item.trim());
        }
        if let Some((rsc, rest)) = h.split_once(" cannot run on ")
            && let Some((node, _)) = rest.split_once(" due to reaching migration threshold")
        {
            self.push(
                at,
                EventData::ServiceError {
                    service: rsc.to_owned(),
                    node: Some(node.to_owned()),
                    message: text.to_owned(),
                    retry: None,
                },
            );
            return true;
        }
        if let Some(rest) = h.strip_prefix("Unexpected result (")
            && let Some((_, what)) = rest.split_once(") was recorded for ")
        {
            // `monitor of writer on node1 at Nov 22 12:00:00 2026`
            let what = what.split_once(" at ").map_or(what, |(w, _)| w);
            if let Some((_, rsc_on)) = what.split_once(" of ")
                && let Some((rsc, node)) = rsc_on.split_once(" on ")
            {
                self.push(
                    at,
                    EventData::ServiceError {
                        service: rsc.to_owned(),
                        node: Some(node.to_owned()),
                        message: text.to_owned(),
                        retry: None,
                    },
                );
                return true;
            }
        }
        false
    }

    /// One `Actions:` item: `Fence (reboot) node1 'reason'`, `Recover writer ( node1 -> node2 )`,
    /// `Move writer ( node1 -> node2 )`, `Start vip ( node2 )`, …
    fn action(&mut self, at: &At, item: &str) -> bool {
        if let Some(rest) = item.strip_prefix("Fence (") {
            let Some((_, rest)) = rest.split_once(") ") else { return false };
            let node = rest.split_whitespace().next().unwrap_or_default();
            return !node.is_empty() && self.fence(at, node, FencePhase::Started);
        }
        let mut words = item.split_whitespace();
        let (Some(verb), Some(rsc)) = (words.next(), words.next()) else { return false };
        let Some(details) = item.split_once('(').and_then(|(_, d)| d.split_once(')')).map(|(d, _)| d.trim()) else {
            return false;
        };
        // A clone instance `state:0`: the resource is `state`.
        let rsc = rsc.split_once(':').map_or(rsc, |(r, _)| r);
        match verb {
            "Recover" | "Move" => {
                let (from, to) = match details.split_once(" -> ") {
                    Some((f, t)) => (last_word(f), first_word(t)),
                    None => (last_word(details), last_word(details)),
                };
                if verb == "Recover" || self.being_fenced(from) {
                    self.push(
                        at,
                        EventData::Recovery { service: rsc.to_owned(), from: from.to_owned(), to: Some(to.to_owned()) },
                    );
                }
                true
            }
            "Start" | "Stop" | "Restart" | "Promote" | "Demote" | "Migrate" | "Re-promote" | "Reload" => true,
            _ => false,
        }
    }

    // -------------------------------------------------------------------------------------
    // pacemaker-controld

    fn controller(&mut self, at: &At, text: &str) -> bool {
        let h = head(text);
        if let Some(rest) = h.strip_prefix("Requesting fencing (")
            && let Some((_, rest)) = rest.split_once(") of node ")
        {
            return self.fence(at, first_word(rest), FencePhase::Started);
        }
        if let Some(rest) = h.strip_prefix("Peer ") {
            if let Some((node, tail)) = rest.split_once(" was terminated (") {
                let phase = if tail.ends_with(": OK") { FencePhase::Acknowledged } else { FencePhase::Failed };
                return self.fence(at, node, phase);
            }
            if let Some((node, _)) = rest.split_once(" was not terminated (") {
                return self.fence(at, node, FencePhase::Failed);
            }
        }
        if let Some(rest) = h.strip_prefix("Fence operation ")
            && let Some((_, rest)) = rest.split_once(" for ")
        {
            if let Some((node, _)) = rest.split_once(" failed") {
                return self.fence(at, node, FencePhase::Failed);
            }
            if let Some(node) = rest.strip_suffix(" succeeded") {
                return self.fence(at, node, FencePhase::Acknowledged);
            }
        }
        if let Some(rest) = h.strip_prefix("State transition ") {
            let Some((from, to)) = rest.split_once(" -> ") else { return false };
            if from == "S_ELECTION" && first_word(to) == "S_INTEGRATION" {
                return self.master(at, at.node);
            }
            return true;
        }
        if let Some(rest) = h.strip_prefix("Set DC to ") {
            return self.master(at, first_word(rest));
        }
        if let Some(quorate) = match h.split_once(" | ").map_or(h, |(q, _)| q) {
            "Quorum lost" => Some(false),
            "Quorum acquired" => Some(true),
            _ => None,
        } {
            return self.quorate(at, quorate);
        }
        if self.peer(at, text) {
            return true;
        }
        if let Some(rest) = h.strip_prefix("Requesting local execution of ") {
            return self.local_execution(at, rest);
        }
        if let Some(rest) = h.strip_prefix("Result of ") {
            return self.result(at, rest, text);
        }
        h.starts_with("Initiating ")
    }

    /// `Node node1 state is now lost | nodeid=1 previous=member …`, written by every
    /// Pacemaker daemon of every node (`lib/cluster/membership.c`): one event per change.
    fn peer(&mut self, at: &At, text: &str) -> bool {
        let h = head(text);
        let Some(rest) = h.strip_prefix("Node ") else { return false };
        let Some((node, state)) = rest.split_once(" state is now ") else { return false };
        let state = first_word(state);
        let prev = self.peers.insert(node.to_owned(), state.to_owned());
        if prev.as_deref() != Some(state) {
            // `previous=` in the detail names the state before, for the first sighting.
            let from = prev.or_else(|| detail(text, "previous")).unwrap_or_default();
            self.push(
                at,
                EventData::Node {
                    node: node.to_owned(),
                    from_state: super::node_state(&from),
                    from,
                    to: state.to_owned(),
                    to_state: super::node_state(state),
                },
            );
        }
        true
    }

    /// `start operation for writer on node2`
    fn local_execution(&mut self, at: &At, rest: &str) -> bool {
        let Some((op, rest)) = rest.split_once(" operation for ") else { return false };
        let Some((rsc, node)) = rest.split_once(" on ") else { return false };
        let op = match op {
            "start" => ServiceOp::Start,
            "stop" => ServiceOp::Stop,
            _ => return true,
        };
        self.push(
            at,
            EventData::ServiceOp { service: rsc.to_owned(), node: first_word(node).to_owned(), op, target: None },
        );
        true
    }

    /// `start operation for writer on node2: ok`, `monitor operation for writer on node1: not
    /// running`, `stop operation for fs on node1: Timed Out after 1m`.
    fn result(&mut self, at: &At, rest: &str, text: &str) -> bool {
        let Some((op, rest)) = rest.split_once(" operation for ") else { return false };
        let Some((rsc, rest)) = rest.split_once(" on ") else { return false };
        let Some((node, outcome)) = rest.split_once(": ") else { return false };
        let ok = outcome == "ok" || outcome.starts_with("ok ");
        let (service, node) = (rsc.to_owned(), node.to_owned());
        match (op, ok) {
            ("start", true) => {
                self.push(at, EventData::ServiceOp { service, node, op: ServiceOp::Running, target: None });
            }
            ("stop", true) => {
                self.push(at, EventData::ServiceOp { service, node, op: ServiceOp::Stopped, target: None });
            }
            ("start" | "stop", false) => {
                self.push(
                    at,
                    EventData::ServiceOp {
                        service: service.clone(),
                        node: node.clone(),
                        op: ServiceOp::Failed,
                        target: None,
                    },
                );
                self.push(
                    at,
                    EventData::ServiceError { service, node: Some(node), message: text.to_owned(), retry: None },
                );
            }
            ("monitor", false) => {
                self.push(
                    at,
                    EventData::ServiceError { service, node: Some(node), message: text.to_owned(), retry: None },
                );
            }
            // Probes find what runs where; a passing monitor, promote, demote: nothing new.
            _ => {}
        }
        true
    }

    // -------------------------------------------------------------------------------------
    // pacemaker-fenced

    fn fencer(&mut self, at: &At, text: &str) -> bool {
        let h = head(text);
        if let Some(rest) = h.strip_prefix("Requesting peer fencing (")
            && let Some((_, rest)) = rest.split_once(") targeting ")
        {
            return self.fence(at, first_word(rest), FencePhase::Started);
        }
        if let Some(rest) = h.strip_prefix("Waiting ")
            && let Some((_, rest)) = rest.split_once(" for ")
            && let Some((node, _)) = rest.split_once(" to self-fence")
        {
            return self.fence(at, node, FencePhase::Started);
        }
        if let Some(rest) = h.strip_prefix("Self-fencing (")
            && h.ends_with("assumed complete")
            && let Some((_, rest)) = rest.split_once(") by ")
        {
            return self.fence(at, first_word(rest), FencePhase::Acknowledged);
        }
        if let Some(rest) = h.strip_prefix("Operation '")
            && let Some((action, rest)) = rest.split_once('\'')
            && let Some(rest) = rest.strip_prefix(" targeting ")
        {
            if action == "on" || h.ends_with("Result arrived too late") {
                return true;
            }
            let node = first_word(rest);
            let outcome = rest.rsplit_once(": ").map_or("", |(_, o)| o);
            let phase = if outcome.starts_with("OK") { FencePhase::Acknowledged } else { FencePhase::Failed };
            return self.fence(at, node, phase);
        }
        false
    }

    // -------------------------------------------------------------------------------------
    // pacemakerd, sbd, kernel

    /// A starved or crashed subdaemon (`pcmkd_subdaemons.c`): logged at notice, but a node
    /// that shows it is not ready for a fault (see tcg-lab.md), so it is kept as `log`.
    fn pacemakerd(&mut self, at: &At, text: &str) -> bool {
        let h = head(text);
        if h.contains(" is unresponsive to ipc after ") || h.starts_with("Respawning ") {
            self.log(at, at.level.unwrap_or(Level::Notice), h);
            return true;
        }
        self.peer(at, text)
    }

    fn sbd(&mut self, at: &At, text: &str) -> bool {
        let action = if text.contains("No liveness for") {
            "expiring"
        } else if text.starts_with("Rebooting system") {
            "reset"
        } else if text.starts_with("Using watchdog device") {
            "armed"
        } else {
            return false;
        };
        self.push(at, EventData::Watchdog { node: at.node.to_owned(), action: action.to_owned() });
        true
    }

    fn kernel(&mut self, at: &At, text: &str) -> bool {
        if text.starts_with("softdog: Initiating system reboot") {
            self.push(at, EventData::Watchdog { node: at.node.to_owned(), action: "reset".to_owned() });
            return true;
        }
        false
    }

    // -------------------------------------------------------------------------------------
    // corosync

    fn corosync(&mut self, at: &At, text: &str) -> bool {
        let m = match corosync::classify(text) {
            Some(QuorumLine::Quorate(quorate)) => return self.quorate(at, quorate),
            Some(QuorumLine::Members { ids, wraps }) => {
                if let Some(e) = self.quorum.members(&mut self.events, at.node, ids) {
                    self.quorum.pushed(at.node, &e, self.events.len());
                    self.push(at, e);
                }
                if !wraps {
                    self.quorum.settled(at.node);
                }
                return true;
            }
            Some(QuorumLine::Other(m)) => m,
            None => return false,
        };
        if m.starts_with("A processor failed")
            || m.starts_with("Token has not been received")
            || m.contains("has no active links")
            || (m.starts_with("link: host:") && m.ends_with("is down"))
        {
            self.log(at, at.level.unwrap_or(Level::Notice), m);
            return true;
        }
        // Membership news the quorum lines state again.
        m.starts_with("A new membership (") || m.starts_with("Failed to receive the leave message")
    }

    /// A node's view of quorum, from corosync or the controller: one event per change.
    fn quorate(&mut self, at: &At, quorate: bool) -> bool {
        if let Some(e) = self.quorum.change(at.node, quorate) {
            self.quorum.pushed(at.node, &e, self.events.len());
            self.push(at, e);
        }
        true
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or_default()
}

fn last_word(s: &str) -> &str {
    s.split_whitespace().last().unwrap_or_default()
}

/// `key=value` from Pacemaker's ` | …` detail.
fn detail(text: &str, key: &str) -> Option<String> {
    let (_, d) = text.split_once(" | ")?;
    d.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')).map(str::to_owned)
}

/// A level for a line whose framing and text both lack one.
fn guess_level(msg: &str) -> Level {
    const ERR: &[&str] = &["error", "fail", "unable", "cannot", "could not", "crit", "fatal"];
    let lower = msg.to_ascii_lowercase();
    if ERR.iter().any(|w| lower.contains(w)) {
        Level::Err
    } else if lower.contains("warn") {
        Level::Warning
    } else {
        Level::Info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_prefixes_of_pacemaker_and_sbd() {
        assert_eq!(
            strip_prefix("pacemaker-fenced", " notice: Operation 'reboot' targeting node1"),
            (Some(Level::Notice), "Operation 'reboot' targeting node1")
        );
        assert_eq!(
            strip_prefix("sbd", "warning: inquisitor_child: pcmk health check: UNHEALTHY"),
            (Some(Level::Warning), "pcmk health check: UNHEALTHY")
        );
        assert_eq!(
            strip_prefix("sbd", "   pcmk:  warning: set_servant_health: Connected to corosync"),
            (Some(Level::Warning), "Connected to corosync")
        );
        assert_eq!(
            strip_prefix("sbd", "notice : main: Using watchdog device '/dev/watchdog'").1,
            "Using watchdog device '/dev/watchdog'"
        );
        // corosync has no priority word; its `[TOTEM ]` tag is not one.
        assert_eq!(
            strip_prefix("corosync", "  [TOTEM ] Token has not been received in 7500 ms"),
            (None, "[TOTEM ] Token has not been received in 7500 ms")
        );
        // A message that merely contains a colon keeps it.
        assert_eq!(strip_prefix("pacemakerd", "Node node1: lost").1, "Node node1: lost");
    }

    #[test]
    fn detail_keys() {
        let t = "Node node1 state is now lost | nodeid=1 previous=member source=crm_update_peer_proc";
        assert_eq!(head(t), "Node node1 state is now lost");
        assert_eq!(detail(t, "previous").as_deref(), Some("member"));
        assert_eq!(detail(t, "missing"), None);
    }
}
