//! The message grammar shared by every framing: what pve-ha-crm, pve-ha-lrm, watchdog-mux,
//! corosync and the kernel's softdog write, turned into timeline events.
//!
//! The texts follow the messages in proxmox/pve-ha-manager (`Manager.pm`, `LRM.pm`, `CRM.pm`,
//! `NodeStatus.pm`, `Env/PVE2.pm`, `Sim/*.pm`, `watchdog-mux.c`) and corosync (`vsf_quorum.c`,
//! `votequorum.c`). Matching works on borrowed slices; only an event that is produced
//! allocates.
//!
//! Decisions worth knowing:
//! - Fencing starts when a node enters `fence` (`node 'X': state changed … => 'fence'`):
//!   the manager sets that state only in `fence_node`, and a journal has no other trace of
//!   it (the `FENCE:`/`SUCCEED:` subjects are notifications, seen only in the simulator). The
//!   e-mail lines make an event only when their fact was not already read, so each fencing
//!   gives one `Started` and one `Acknowledged`.
//! - A lock lost or released twice in a row (PVE2's `lost lock 'X - …` and the
//!   `status change … => lost_agent_lock` after it) is one event.
//! - Decisions the next line states again (`migrate service 'X' to node 'Y' (running)`,
//!   `relocate service …`) and the simulator's `killed by poweroff` (the power event is
//!   already there) are recognised and make no event.
//! - corosync: the quorum change makes a `Quorum` event and the `Members[N]:` line after it
//!   fills its members (corosync node ids as written); a membership change alone makes a
//!   `Quorum` event with the last known quorate flag. pmxcfs quorum lines are not used: they
//!   repeat corosync's.
//! - Unrecognised lines of the HA daemons at warning or worse become `Log`; the level is
//!   the syslog name (`warning`, `err`, …) in every framing. `short-iso-precise` carries no
//!   level, so it is guessed from the words (error/fail/unable/… → `err`). Lines of other
//!   programs in a whole-system export are counted as unrecognised and dropped.

use std::collections::HashMap;

use crate::stack::corosync::{self, QuorumLine, QuorumViews};
use crate::timeline::{Event, EventData, FaultKind, FencePhase, LockAction, PowerState, Seconds, ServiceOp};

use super::states::{node_state, service_state};

/// Severity of a line, in syslog's terms. The simulator writes the first four letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
    /// The simulator's e-mail notifications (`emai`); on a real cluster they go to the
    /// notification system, not the journal.
    Email,
    /// The framing does not say (`short-iso-precise`): guessed from the text when needed.
    Unknown,
}

impl Level {
    /// A syslog priority (0–7).
    pub(crate) fn from_priority(p: u8) -> Level {
        match p {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Crit,
            3 => Level::Err,
            4 => Level::Warning,
            5 => Level::Notice,
            6 => Level::Info,
            7 => Level::Debug,
            _ => Level::Unknown,
        }
    }

    /// The simulator's level column: `info`, `warn`, `err`, `noti`, `emai`, or an untruncated
    /// name from the simulated hardware (`warning`, `error`).
    pub(crate) fn from_simulator(s: &str) -> Level {
        let b = s.as_bytes();
        match b.get(..3) {
            Some(b"inf") => Level::Info,
            Some(b"war") => Level::Warning,
            Some(b"err") => Level::Err,
            Some(b"not") => Level::Notice,
            Some(b"ema") => Level::Email,
            Some(b"cri") => Level::Crit,
            Some(b"ale") => Level::Alert,
            Some(b"eme") => Level::Emerg,
            Some(b"deb") => Level::Debug,
            // Anything else is not `info`: treat it as worth showing.
            _ => Level::Warning,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Err => "err",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Email => "email",
            Level::Unknown => "unknown",
        }
    }

    fn is_warning_or_worse(self) -> bool {
        matches!(self, Level::Emerg | Level::Alert | Level::Crit | Level::Err | Level::Warning)
    }
}

/// Who wrote a line, for `Event::by`: as written (simulator) or `node/daemon` (journals).
#[derive(Clone, Copy, Debug)]
pub(crate) enum By<'a> {
    Raw(&'a str),
    Joined(&'a str, &'a str),
}

impl By<'_> {
    fn to_owned_string(self) -> String {
        match self {
            By::Raw(s) => s.to_owned(),
            By::Joined(node, daemon) => {
                let mut s = String::with_capacity(node.len() + 1 + daemon.len());
                s.push_str(node);
                s.push('/');
                s.push_str(daemon);
                s
            }
        }
    }
}

/// Where one line sits: its time, number, writer and level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub t: Seconds,
    pub line: u64,
    pub by: By<'a>,
    pub level: Level,
}

#[derive(Default)]
struct FenceSeen {
    started: bool,
    acknowledged: bool,
}

/// The events read so far, and the little state needed to tell a new fact from the same fact
/// written twice (a fence start and its e-mail, a lost lock and the state change after it).
#[derive(Default)]
pub(crate) struct Sink {
    pub events: Vec<Event>,
    fence: HashMap<String, FenceSeen>,
    /// (node, lock) → what was last said about it.
    locks: HashMap<(String, String), LockAction>,
    /// node → last known quorate, and the index of a quorum event still waiting for its
    /// `Members[…]` line (corosync writes the member list right after the quorum change).
    quorum: QuorumViews,
}

impl Sink {
    /// Where the events that may still change begin: a quorum event waiting for the member
    /// list that corosync writes right after it. Everything before is final.
    pub(crate) fn settled_len(&self) -> usize {
        self.quorum.pending().unwrap_or(self.events.len())
    }

    pub(crate) fn push(&mut self, at: &At, data: EventData) {
        self.events.push(Event { t: at.t, data, by: Some(at.by.to_owned_string()), line: Some(at.line) });
    }

    /// A message of daemon `daemon` (`crm`, `lrm`, `watchdog-mux`, `corosync`, `kernel`, or
    /// another syslog identifier) on `node`. Returns whether the line was recognised: an
    /// event was made, or the text is a known duplicate of one. Unrecognised lines of the HA
    /// daemons at warning or worse become `Log` events and count as recognised.
    pub(crate) fn daemon(&mut self, at: &At, node: &str, daemon: &str, msg: &str) -> bool {
        let known = match daemon {
            "crm" | "lrm" => self.ha(at, node, daemon, msg),
            "watchdog-mux" => self.watchdog_mux(at, node, msg),
            "corosync" => self.corosync(at, node, msg),
            "kernel" => self.kernel(at, node, msg),
            _ => false,
        };
        if known {
            return true;
        }
        match daemon {
            "crm" | "lrm" | "watchdog-mux" | "corosync" | "pmxcfs" => self.log_if_warning(at, msg),
            // Other programs of a whole-system export: not the HA stack's business.
            _ => false,
        }
    }

    /// `Log` for an unrecognised line at warning or worse; false (unrecognised) otherwise.
    pub(crate) fn log_if_warning(&mut self, at: &At, msg: &str) -> bool {
        let level = match at.level {
            Level::Unknown => guess_level(msg),
            l => l,
        };
        if !level.is_warning_or_worse() {
            return false;
        }
        self.push(at, EventData::Log { level: level.name().to_owned(), message: msg.to_owned() });
        true
    }

    /// pve-ha-crm and pve-ha-lrm (and the simulator's `nodeN/crm`, `nodeN/lrm`).
    fn ha(&mut self, at: &At, node: &str, daemon: &str, msg: &str) -> bool {
        let b = msg.as_bytes();
        let Some(&first) = b.first() else {
            return false;
        };
        // Dispatch on the first byte so a typical line is compared with a few prefixes only.
        match first {
            b's' => {
                if let Some(rest) = msg.strip_prefix("service ") {
                    return self.service_line(at, node, rest, msg);
                }
                if let Some(rest) = msg.strip_prefix("status change ") {
                    return self.status_change(at, node, daemon, rest);
                }
                if let Some(rest) = msg.strip_prefix("starting service ") {
                    if let Some((sid, on)) = rest.split_once(" on node ") {
                        // CRM: `starting service X on node 'N' failed, relocating service.`
                        if let Some((n, tail)) = quoted(on)
                            && tail.starts_with(" failed")
                        {
                            self.service_error(at, sid, Some(n), msg, None);
                            return true;
                        }
                        return false;
                    }
                    return self.op(at, node, rest, ServiceOp::Start, None);
                }
                if let Some(rest) = msg.strip_prefix("stopping service ") {
                    // Optional ` (relocate)` or ` (timeout=N)`.
                    let sid = rest.split_once(' ').map_or(rest, |(s, _)| s);
                    return self.op(at, node, sid, ServiceOp::Stop, None);
                }
                if let Some(rest) = msg.strip_prefix("successfully acquired lock ") {
                    return self.lock_named(at, node, rest, LockAction::Acquired);
                }
                false
            }
            b'n' => {
                if let Some(rest) = msg.strip_prefix("node ") {
                    if let Some((n, rest)) = quoted(rest)
                        && let Some(rest) = rest.strip_prefix(": state changed from ")
                        && let Some((from, rest)) = quoted(rest)
                        && let Some(rest) = rest.strip_prefix(" => ")
                        && let Some((to, _)) = quoted(rest)
                    {
                        self.push(
                            at,
                            EventData::Node {
                                node: n.to_owned(),
                                from: from.to_owned(),
                                to: to.to_owned(),
                                from_state: node_state(from),
                                to_state: node_state(to),
                            },
                        );
                        // The manager sets `fence` only when it starts fencing (NodeStatus::
                        // fence_node); the journal has no other trace of that instant.
                        if to == "fence" {
                            self.fence_started(at, n);
                        }
                        return true;
                    }
                    return false;
                }
                if let Some(rest) = msg.strip_prefix("node had no service configured for ")
                    && rest.contains("going idle")
                {
                    let lock = agent_lock(node);
                    return self.lock(at, node, &lock, LockAction::Released);
                }
                if msg.starts_with("node needs to be fenced") {
                    // Followed by `status change active => lost_agent_lock`.
                    return self.log_if_warning(at, msg);
                }
                if let Some(rest) = msg.strip_prefix("no fence commands for node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.push(at, EventData::Fence { node: n.to_owned(), phase: FencePhase::Failed });
                    return true;
                }
                false
            }
            b'g' => {
                if let Some(rest) = msg.strip_prefix("got lock ") {
                    return self.lock_named(at, node, rest, LockAction::Acquired);
                }
                if let Some(cmd) = msg.strip_prefix("got crm command: ") {
                    self.push(at, EventData::Command { command: cmd.to_owned(), node: command_node(cmd) });
                    return true;
                }
                false
            }
            b'F' => {
                // The simulator's e-mail subject; real clusters send it as a notification.
                if let Some(rest) = msg.strip_prefix("FENCE: Try to fence node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.fence_started(at, n);
                    return true;
                }
                false
            }
            b'S' => {
                if let Some(rest) = msg.strip_prefix("SUCCEED: fencing: acknowledged - got agent lock for node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.fence_acknowledged(at, n);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("Start fencing node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.fence_started(at, n);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("Start Error Recovery: Tried all available nodes for service ")
                    && let Some((sid, _)) = quoted(rest)
                {
                    self.service_error(at, sid, None, msg, None);
                    return true;
                }
                false
            }
            b'f' => {
                if let Some(rest) = msg.strip_prefix("fencing: acknowledged - got agent lock for node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.fence_acknowledged(at, n);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("fence job for node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    // One device failed; `tried all fence devices` follows if none is left.
                    let _ = n;
                    return self.log_if_warning(at, msg);
                }
                false
            }
            b't' => {
                if let Some(rest) = msg.strip_prefix("tried all fence devices for node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.push(at, EventData::Fence { node: n.to_owned(), phase: FencePhase::Failed });
                    return true;
                }
                false
            }
            b'r' => {
                if let Some(rest) = msg.strip_prefix("recover service ")
                    && let Some((sid, rest)) = quoted(rest)
                {
                    if let Some(rest) = rest.strip_prefix(" from fenced node ")
                        && let Some((from, rest)) = quoted(rest)
                        && let Some(rest) = rest.strip_prefix(" to node ")
                        && let Some((to, _)) = quoted(rest)
                    {
                        self.recovery(at, sid, from, Some(to));
                        return true;
                    }
                    if let Some(rest) = rest.strip_prefix(" to previous failed and fenced node ")
                        && let Some((from, _)) = quoted(rest)
                    {
                        self.recovery(at, sid, from, Some(from));
                        return true;
                    }
                    return false;
                }
                if let Some(rest) = msg.strip_prefix("recovering service ")
                    && let Some((sid, rest)) = quoted(rest)
                    && let Some(rest) = rest.strip_prefix(" from fenced node ")
                    && let Some((from, rest)) = quoted(rest)
                    && rest.contains("no recovery node found")
                {
                    self.recovery(at, sid, from, None);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("restart policy: retry number ")
                    && let Some((n, rest)) = rest.split_once(" for service ")
                    && let Some((sid, _)) = quoted(rest)
                {
                    self.service_error(at, sid, Some(node), msg, n.parse().ok());
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("recovery policy for service ")
                    && let Some((sid, _)) = rest.split_once(' ')
                {
                    self.service_error(at, sid, None, msg, None);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("resource agent ")
                    && let Some((sid, _)) = rest.split_once(" finished")
                {
                    self.service_error(at, sid, Some(node), msg, None);
                    return true;
                }
                // `removing stale service 'X' (no config)` / `(ignored state requested)`.
                if let Some(rest) = msg.strip_prefix("removing stale service ")
                    && let Some((sid, _)) = quoted(rest)
                {
                    self.tracking(at, sid, false, "removed", None);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("relocate service ") {
                    // The decision; the `state changed … to 'relocate'` line follows.
                    return quoted(rest).is_some();
                }
                false
            }
            b'm' => {
                if let Some(rest) = msg.strip_prefix("migrate service ") {
                    // The decision; the `state changed … to 'migrate'` line follows.
                    return quoted(rest).is_some();
                }
                false
            }
            b'a' => {
                // `adding new service 'X' on node 'N'`
                if let Some(rest) = msg.strip_prefix("adding new service ")
                    && let Some((sid, rest)) = quoted(rest)
                    && let Some(rest) = rest.strip_prefix(" on node ")
                    && let Some((n, _)) = quoted(rest)
                {
                    self.tracking(at, sid, true, "added", Some(n));
                    return true;
                }
                false
            }
            b'd' => {
                // `disarm: suspending HA tracking for service 'X'` (disarm-ha ignore)
                if let Some(rest) = msg.strip_prefix("disarm: suspending HA tracking for service ")
                    && let Some((sid, _)) = quoted(rest)
                {
                    self.tracking(at, sid, false, "disarmed", None);
                    return true;
                }
                false
            }
            b'u' => {
                if let Some(rest) = msg.strip_prefix("unable to start service ") {
                    if let Some((sid, tail)) = rest.split_once(' ') {
                        // `… on local node after N retries`: the LRM gives up.
                        if let Some(n) = tail.strip_prefix("on local node after ") {
                            let retries = n.split_once(' ').and_then(|(n, _)| n.parse().ok());
                            self.service_error(at, sid, Some(node), msg, retries);
                            return true;
                        }
                        return false;
                    }
                    self.op(at, node, rest, ServiceOp::Failed, None);
                    self.service_error(at, rest, Some(node), msg, None);
                    return true;
                }
                if let Some(rest) = msg.strip_prefix("unable to stop service ") {
                    let sid = rest.split_once(' ').map_or(rest, |(s, _)| s);
                    self.op(at, node, sid, ServiceOp::Failed, None);
                    self.service_error(at, sid, Some(node), msg, None);
                    return true;
                }
                false
            }
            b'l' => {
                if let Some(rest) = msg.strip_prefix("lost lock '") {
                    // PVE2 writes `lost lock 'NAME - reason` (no closing quote).
                    let end = rest.find(['\'', ' ']).unwrap_or(rest.len());
                    return self.lock(at, node, &rest[..end], LockAction::Lost);
                }
                false
            }
            b'v' => {
                if msg == "voluntary release CRM lock" {
                    return self.lock(at, node, "ha_manager_lock", LockAction::Released);
                }
                false
            }
            b'c' => {
                if let Some(rest) = msg.strip_prefix("cluster had no service configured for ")
                    && rest.contains("going idle")
                {
                    return self.lock(at, node, "ha_manager_lock", LockAction::Released);
                }
                false
            }
            b'H' => {
                if msg.starts_with("HA disarm requested") && msg.contains("releasing agent lock") {
                    let lock = agent_lock(node);
                    return self.lock(at, node, &lock, LockAction::Released);
                }
                false
            }
            b'k' => {
                // The simulator stops the daemons when a node loses power; the power event
                // (cmdlist fault, watchdog, reboot) is already on the timeline.
                msg == "killed by poweroff"
            }
            _ => false,
        }
    }

    /// After `service `: CRM state changes and errors, LRM results and migrations.
    fn service_line(&mut self, at: &At, node: &str, rest: &str, msg: &str) -> bool {
        if let Some((sid, rest)) = quoted(rest) {
            if let Some(rest) = rest.strip_prefix(": state changed from ") {
                return self.service_change(at, sid, rest);
            }
            if let Some(rest) = rest.strip_prefix(": updating node ")
                && let Some((_, rest)) = quoted(rest)
                && let Some(rest) = rest.strip_prefix(" => ")
                && let Some((to, _)) = quoted(rest)
            {
                self.tracking(at, sid, true, "moved-while-disarmed", Some(to));
                return true;
            }
            // `service 'X' - migration failed …`, `service 'X' stop failed …`,
            // `service 'X' got unrecoverable error …`, `service 'X' locked (…), unable to …`,
            // `service 'X' not on this node`.
            let lrm_side = rest.starts_with(" locked") || rest.starts_with(" not on this node");
            if rest.starts_with(" - migration failed")
                || rest.starts_with(" stop failed")
                || rest.starts_with(" got unrecoverable error")
                || lrm_side
            {
                self.service_error(at, sid, lrm_side.then_some(node), msg, None);
                return true;
            }
            return false;
        }
        // Unquoted: LRM messages.
        let Some((sid, tail)) = rest.split_once(' ') else {
            return false;
        };
        if let Some(rest) = tail.strip_prefix("- start ") {
            return self.move_line(at, node, sid, rest, ServiceOp::MoveBegin);
        }
        if let Some(rest) = tail.strip_prefix("- end ") {
            return self.move_line(at, node, sid, rest, ServiceOp::MoveEnd);
        }
        if tail.starts_with("is in an error state") || tail.starts_with("not moved") {
            self.service_error(at, sid, Some(node), msg, None);
            return true;
        }
        if sid == "status"
            && let Some((sid, what)) = tail.split_once(' ')
        {
            let op = match what {
                "started" => ServiceOp::Running,
                "stopped" => ServiceOp::Stopped,
                _ => return false,
            };
            return self.op(at, node, sid, op, None);
        }
        false
    }

    /// `'A' to 'B'[  (k = v, …)]`.
    fn service_change(&mut self, at: &At, sid: &str, rest: &str) -> bool {
        let Some((from, rest)) = quoted(rest) else {
            return false;
        };
        let Some(rest) = rest.strip_prefix(" to ") else {
            return false;
        };
        let Some((to, rest)) = quoted(rest) else {
            return false;
        };
        let (mut node, mut target) = (None, None);
        let rest = rest.trim();
        if let Some(params) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            for pair in params.split(", ") {
                match pair.split_once(" = ") {
                    Some(("node", v)) => node = Some(v.to_owned()),
                    Some(("target", v)) => target = Some(v.to_owned()),
                    _ => {}
                }
            }
        }
        self.push(
            at,
            EventData::Service {
                service: sid.to_owned(),
                from: from.to_owned(),
                to: to.to_owned(),
                from_state: service_state(from),
                to_state: service_state(to),
                node,
                target,
            },
        );
        true
    }

    /// After `- start ` / `- end `: `migrate to node 'Y'` or `relocate to node 'Y'`.
    fn move_line(&mut self, at: &At, node: &str, sid: &str, rest: &str, op: ServiceOp) -> bool {
        let rest = rest.strip_prefix("migrate").or_else(|| rest.strip_prefix("relocate"));
        if let Some(rest) = rest.and_then(|r| r.strip_prefix(" to node "))
            && let Some((target, _)) = quoted(rest)
        {
            return self.op(at, node, sid, op, Some(target));
        }
        false
    }

    fn status_change(&mut self, at: &At, node: &str, daemon: &str, rest: &str) -> bool {
        let Some((from, to)) = rest.split_once(" => ") else {
            return false;
        };
        self.push(
            at,
            EventData::Daemon {
                node: node.to_owned(),
                daemon: daemon.to_owned(),
                from: from.to_owned(),
                to: to.to_owned(),
            },
        );
        match to {
            "master" => self.push(at, EventData::Master { node: node.to_owned() }),
            "lost_agent_lock" => {
                let lock = agent_lock(node);
                self.lock(at, node, &lock, LockAction::Lost);
            }
            "lost_manager_lock" => {
                self.lock(at, node, "ha_manager_lock", LockAction::Lost);
            }
            _ => {}
        }
        true
    }

    fn op(&mut self, at: &At, node: &str, sid: &str, op: ServiceOp, target: Option<&str>) -> bool {
        if sid.is_empty() {
            return false;
        }
        self.push(
            at,
            EventData::ServiceOp {
                service: sid.to_owned(),
                node: node.to_owned(),
                op,
                target: target.map(str::to_owned),
            },
        );
        true
    }

    fn service_error(&mut self, at: &At, sid: &str, node: Option<&str>, msg: &str, retry: Option<u32>) {
        self.push(
            at,
            EventData::ServiceError {
                service: sid.to_owned(),
                node: node.map(str::to_owned),
                message: msg.to_owned(),
                retry,
            },
        );
    }

    fn tracking(&mut self, at: &At, sid: &str, tracked: bool, reason: &str, node: Option<&str>) {
        let data = EventData::Tracking {
            service: sid.to_owned(),
            tracked,
            reason: reason.to_owned(),
            node: node.map(str::to_owned),
        };
        self.push(at, data);
    }

    fn recovery(&mut self, at: &At, sid: &str, from: &str, to: Option<&str>) {
        self.push(
            at,
            EventData::Recovery { service: sid.to_owned(), from: from.to_owned(), to: to.map(str::to_owned) },
        );
    }

    fn fence_started(&mut self, at: &At, node: &str) {
        let seen = self.fence.entry(node.to_owned()).or_default();
        if seen.started {
            return;
        }
        *seen = FenceSeen { started: true, acknowledged: false };
        self.push(at, EventData::Fence { node: node.to_owned(), phase: FencePhase::Started });
    }

    fn fence_acknowledged(&mut self, at: &At, node: &str) {
        let seen = self.fence.entry(node.to_owned()).or_default();
        if seen.acknowledged {
            return;
        }
        *seen = FenceSeen { started: false, acknowledged: true };
        self.push(at, EventData::Fence { node: node.to_owned(), phase: FencePhase::Acknowledged });
    }

    /// `'NAME'…` after a lock verb.
    fn lock_named(&mut self, at: &At, node: &str, rest: &str, action: LockAction) -> bool {
        match quoted(rest) {
            Some((lock, _)) => self.lock(at, node, lock, action),
            None => false,
        }
    }

    /// A lock event, unless it repeats the last release or loss of the same lock.
    fn lock(&mut self, at: &At, node: &str, lock: &str, action: LockAction) -> bool {
        if lock.is_empty() {
            return false;
        }
        let key = (node.to_owned(), lock.to_owned());
        let last = self.locks.insert(key, action);
        let repeat = action != LockAction::Acquired && matches!(last, Some(LockAction::Lost | LockAction::Released));
        if !repeat {
            self.push(at, EventData::Lock { node: node.to_owned(), lock: lock.to_owned(), action });
        }
        true
    }

    /// watchdog-mux (`src/watchdog-mux.c`): one client's or the multiplexer's watchdog.
    /// Releases differ in whether they name the client's PID (`client (PID 1234) watchdog
    /// expired …` or `client watchdog expired …`); both are read.
    fn watchdog_mux(&mut self, at: &At, node: &str, msg: &str) -> bool {
        let action = if let Some(rest) = msg.strip_prefix("client ") {
            let tail = match rest.strip_prefix("(PID ") {
                Some(pid) => match pid.split_once(") ") {
                    Some((_, tail)) => tail,
                    None => return false,
                },
                None => rest,
            };
            if tail.starts_with("watchdog expired") || tail.starts_with("did not stop watchdog") {
                // Updates stop: the hardware watchdog resets the node.
                "expired"
            } else if tail.starts_with("watchdog is about to expire") {
                "expiring"
            } else if tail.starts_with("watchdog was updated before expiring") {
                "averted"
            } else if tail.starts_with("has disconnected cleanly") {
                "disarmed"
            } else {
                return false;
            }
        } else if msg.starts_with("added new client (PID ") {
            "armed"
        } else if msg.starts_with("all watchdog client connections to the multiplexer closed") {
            "closed"
        } else if msg.starts_with("exit watchdog-mux with active connections") {
            // The device stays open without updates: the node will be reset.
            "abandoned"
        } else {
            return false;
        };
        self.push(at, EventData::Watchdog { node: node.to_owned(), action: action.to_owned() });
        true
    }

    /// The kernel's softdog firing.
    fn kernel(&mut self, at: &At, node: &str, msg: &str) -> bool {
        if msg.starts_with("softdog: Initiating system reboot") {
            self.push(at, EventData::Watchdog { node: node.to_owned(), action: "reset".to_owned() });
            return true;
        }
        false
    }

    /// corosync: quorum changes and the member list that follows them. Member ids are
    /// corosync node ids, as written.
    fn corosync(&mut self, at: &At, node: &str, msg: &str) -> bool {
        match corosync::classify(msg) {
            Some(QuorumLine::Quorate(quorate)) => {
                if let Some(e) = self.quorum.change(node, quorate) {
                    self.quorum.pushed(node, &e, self.events.len());
                    self.push(at, e);
                }
                true
            }
            Some(QuorumLine::Members { ids, wraps }) => {
                if let Some(e) = self.quorum.members(&mut self.events, node, ids) {
                    self.quorum.pushed(node, &e, self.events.len());
                    self.push(at, e);
                }
                if !wraps {
                    self.quorum.settled(node);
                }
                true
            }
            Some(QuorumLine::Other(_)) | None => false,
        }
    }
}

/// The first `'…'` of `s` (which must start with the quote) and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.strip_prefix('\'')?;
    let end = s.find('\'')?;
    Some((&s[..end], &s[end + 1..]))
}

fn agent_lock(node: &str) -> String {
    format!("ha_agent_{node}_lock")
}

/// The node a command is about: the second word of a node command (`power node3 off`,
/// `reboot node1`, `crm node1 stop`); none for service and cluster-wide commands.
pub(crate) fn command_node(cmd: &str) -> Option<String> {
    let mut words = cmd.split_ascii_whitespace();
    match words.next()? {
        "power" | "network" | "reboot" | "shutdown" | "restart-lrm" | "cfs" | "crm" | "pve-manager-version" => {
            words.next().map(str::to_owned)
        }
        "enable-node-maintenance" | "disable-node-maintenance" => words.next().map(str::to_owned),
        _ => None,
    }
}

/// `power|network NODE on|off` as a fault.
pub(crate) fn fault(cmd: &str) -> Option<EventData> {
    let mut words = cmd.split_ascii_whitespace();
    let what = words.next()?;
    let node = words.next()?;
    let fault = match (what, words.next()?) {
        ("power", "on") => FaultKind::PowerOn,
        ("power", "off") => FaultKind::PowerOff,
        ("network", "on") => FaultKind::NetworkOn,
        ("network", "off") => FaultKind::NetworkOff,
        _ => return None,
    };
    if words.next().is_some() {
        return None;
    }
    Some(EventData::Fault { node: node.to_owned(), fault, step: None })
}

/// `power NODE on|off` as a power change with a reason.
pub(crate) fn power(cmd: &str, reason: &str) -> Option<EventData> {
    let mut words = cmd.split_ascii_whitespace();
    if words.next()? != "power" {
        return None;
    }
    let node = words.next()?;
    let state = match words.next()? {
        "on" => PowerState::Running,
        "off" => PowerState::Off,
        _ => return None,
    };
    Some(EventData::Power { node: node.to_owned(), state, reason: Some(reason.to_owned()) })
}

/// The level of a line whose framing does not give one (`short-iso-precise`), from its
/// words: an error or failure is `err`, a warning `warning`, anything else `info`.
fn guess_level(msg: &str) -> Level {
    const ERR: &[&str] = &["error", "fail", "unable", "cannot", "can't", "could not", "crit", "fatal"];
    if ERR.iter().any(|w| msg.contains(w)) {
        Level::Err
    } else if msg.contains("warn") {
        Level::Warning
    } else {
        Level::Info
    }
}
