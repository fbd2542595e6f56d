//! A regression case of the Proxmox HA manager (the corpus layout: `log.expect`, `cmdlist`,
//! `hardware_status`, `manager_status`, `service_config`) as a cluster to play back: each
//! node's journal, its power and network over simulated time, its view of quorum, and the HA
//! status its API would give at any simulated second.
//!
//! The corpus records no status over time, only the initial `manager_status` and what the CRM
//! and LRM logged; the status is rebuilt from the log: the master from `status change … =>
//! master`, node and service states from the manager's `state changed` lines, `running` from
//! the LRM's `service status X started`, each LRM's state from its own `status change` lines.
//! A writer's timestamp (the master's, each LRM's) advances while its daemon runs and its node
//! is on the network, and stops when it dies, is powered off or is cut off. A node cut off from
//! the quorate partition sees the status as it was when it left, without quorum.
//!
//! Power and network come from the simulated hardware's lines (`cmdlist`, `watchdog`, `reboot`,
//! `shutdown`); powering a node on brings its network up, as in the simulator.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

/// One line of `log.expect`.
#[derive(Clone, Debug)]
struct Line {
    t: f64,
    level: String,
    source: String,
    msg: String,
}

/// One journal entry a node wrote, at a simulated second.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub t: f64,
    pub unit: &'static str,
    pub ident: &'static str,
    pub priority: u8,
    pub message: String,
}

/// A change of a node's power or network.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wire {
    Power(bool),
    Network(bool),
}

pub struct Case {
    pub name: String,
    pub nodes: Vec<String>,
    /// The time of the log's last line: the simulation's end.
    pub end: f64,
    /// Sorted by time; lines of the same second keep the file's order.
    lines: Vec<Line>,
    initial: Map<String, Value>,
    config: Map<String, Value>,
    /// Power and network changes, sorted by time (file order within a second).
    wires: Vec<(f64, String, Wire)>,
    /// Initial power of each node.
    powered_at_start: BTreeMap<String, bool>,
}

fn read_json(dir: &Path, file: &str) -> Result<Map<String, Value>, String> {
    let path = dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{}: not a JSON object", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// `info    120    node1/crm: message` → its parts.
fn split(text: &str) -> Option<Line> {
    let (level, rest) = text.split_once(char::is_whitespace)?;
    let (t, rest) = rest.trim_start().split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (source, msg) = rest.split_once(": ").or_else(|| Some((rest.trim_end().strip_suffix(':')?, "")))?;
    Some(Line { t: t.parse().ok()?, level: level.to_owned(), source: source.to_owned(), msg: msg.to_owned() })
}

/// `power node3 off` → (node, change).
fn wire(cmd: &str) -> Option<(String, Wire)> {
    let w: Vec<&str> = cmd.split_whitespace().collect();
    let on = match w.get(2) {
        Some(&"on") => true,
        Some(&"off") => false,
        _ => return None,
    };
    match (w.len(), w[0]) {
        (3, "power") => Some((w[1].to_owned(), Wire::Power(on))),
        (3, "network") => Some((w[1].to_owned(), Wire::Network(on))),
        _ => None,
    }
}

/// A power or network change of the simulated hardware.
fn hardware_wire(l: &Line) -> Option<(String, Wire)> {
    if !matches!(l.source.as_str(), "cmdlist" | "watchdog" | "reboot" | "shutdown") {
        return None;
    }
    l.msg.strip_prefix("execute ").and_then(wire)
}

/// The display state of `/cluster/ha/status/current` (PVE's `get_verbose_service_state`): made
/// for people, and off the manager's state wherever feedback is given early.
fn verbose_state(cur: Option<&Service>, request: Option<&str>) -> String {
    let Some(request) = request else { return "deleting".into() };
    if request == "ignored" {
        return "ignored".into();
    }
    let Some(cur) = cur else { return "queued".into() };
    match (cur.state.as_str(), request) {
        ("stopped", "started") => "starting".into(),
        ("stopped", "disabled") => "disabled".into(),
        ("started", _) if !cur.running => "starting".into(),
        ("started", "stopped" | "disabled") => "stopping".into(),
        (other, _) => other.to_owned(),
    }
}

/// The syslog priority of a simulator level.
fn priority(level: &str) -> u8 {
    match level {
        "crit" => 2,
        "err" => 3,
        "warn" => 4,
        "noti" => 5,
        _ => 6,
    }
}

/// The state of one daemon that writes a status file.
#[derive(Clone, Debug, Default)]
struct Writer {
    running: bool,
    /// When its writes were last seen by the quorate partition.
    written: f64,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub state: String,
    pub node: String,
    pub target: Option<String>,
    pub running: bool,
}

/// The HA manager's status as the quorate partition sees it.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub master: Option<String>,
    master_writer: Writer,
    pub nodes: BTreeMap<String, String>,
    pub services: BTreeMap<String, Service>,
    /// Each LRM's state as the quorate side sees it, and its writer.
    lrms: BTreeMap<String, (String, Writer)>,
    /// Each LRM's own state, written to its node's copy of the file even while cut off.
    lrm_own: BTreeMap<String, String>,
    connected: BTreeMap<String, bool>,
}

impl Status {
    /// Timestamps move on while the writer runs on a connected node.
    fn touch(&mut self, t: f64) {
        if let Some(m) = &self.master
            && self.master_writer.running
            && self.connected.get(m) == Some(&true)
        {
            self.master_writer.written = t;
        }
        for (node, (_, w)) in &mut self.lrms {
            if w.running && self.connected.get(node) == Some(&true) {
                w.written = t;
            }
        }
    }

    fn stop_crm(&mut self, node: &str) {
        if self.master.as_deref() == Some(node) {
            self.master_writer.running = false;
        }
    }

    fn stop_lrm(&mut self, node: &str) {
        if let Some((_, w)) = self.lrms.get_mut(node) {
            w.running = false;
        }
    }

    /// One line of the manager or an LRM.
    fn apply(&mut self, node: &str, daemon: &str, msg: &str, added: &BTreeMap<String, String>) {
        let quoted = |s: &str| -> Option<(String, String)> {
            let s = s.strip_prefix('\'')?;
            let (a, b) = s.split_once('\'')?;
            Some((a.to_owned(), b.to_owned()))
        };
        if msg == "killed by poweroff" || msg.starts_with("exit (loop end)") {
            match daemon {
                "crm" => self.stop_crm(node),
                _ => self.stop_lrm(node),
            }
            return;
        }
        if let Some((from, to)) = msg.strip_prefix("status change ").and_then(|r| r.split_once(" => ")) {
            if daemon == "crm" {
                if to == "master" {
                    self.master = Some(node.to_owned());
                    self.master_writer.running = true;
                } else if from == "master" {
                    self.stop_crm(node);
                }
            } else {
                self.lrm_own.insert(node.to_owned(), to.to_owned());
                let seen = self.connected.get(node) == Some(&true);
                let e = self.lrms.entry(node.to_owned()).or_default();
                if seen || e.0.is_empty() {
                    e.0 = to.to_owned();
                }
                e.1.running = true;
            }
            return;
        }
        if daemon == "crm" {
            if let Some((n, rest)) = msg.strip_prefix("node ").and_then(quoted)
                && let Some((_, rest)) = rest.strip_prefix(": state changed from ").and_then(quoted)
                && let Some((to, _)) = rest.strip_prefix(" => ").and_then(quoted)
            {
                self.nodes.insert(n, to);
            } else if let Some((sid, rest)) = msg.strip_prefix("adding new service ").and_then(quoted)
                && let Some((on, _)) = rest.strip_prefix(" on node ").and_then(quoted)
            {
                let state = added.get(&sid).cloned().unwrap_or_else(|| "request_start".into());
                self.services.insert(sid, Service { state, node: on, target: None, running: false });
            } else if let Some((sid, rest)) = msg.strip_prefix("service ").and_then(quoted)
                && let Some((_, rest)) = rest.strip_prefix(": state changed from ").and_then(quoted)
                && let Some((to, rest)) = rest.strip_prefix(" to ").and_then(quoted)
            {
                let mut params = BTreeMap::new();
                if let Some(p) = rest.trim().strip_prefix('(').and_then(|p| p.strip_suffix(')')) {
                    for kv in p.split(", ") {
                        if let Some((k, v)) = kv.split_once(" = ") {
                            params.insert(k.to_owned(), v.to_owned());
                        }
                    }
                }
                let s = self.services.entry(sid).or_insert_with(|| Service {
                    state: String::new(),
                    node: String::new(),
                    target: None,
                    running: false,
                });
                s.state = to.clone();
                s.target = params.get("target").cloned();
                if let Some(n) = params.get("node")
                    && *n != s.node
                {
                    s.node = n.clone();
                    s.running = false;
                }
                if matches!(to.as_str(), "stopped" | "fence" | "recovery" | "error") {
                    s.running = false;
                }
            }
            return;
        }
        // LRM: `service status vm:101 started|stopped`.
        if let Some(rest) = msg.strip_prefix("service status ")
            && let Some((sid, what)) = rest.split_once(' ')
            && let Some(s) = self.services.get_mut(sid)
            && s.node == node
        {
            s.running = what == "started";
        }
    }

    fn wire(&mut self, node: &str, w: Wire) {
        match w {
            Wire::Power(on) => {
                self.connected.insert(node.to_owned(), on);
                if !on {
                    self.stop_crm(node);
                    self.stop_lrm(node);
                }
            }
            Wire::Network(on) => {
                self.connected.insert(node.to_owned(), on);
                // Back in the partition, the LRM's next write says where it is now.
                if on && let (Some(own), Some(e)) = (self.lrm_own.get(node), self.lrms.get_mut(node)) {
                    e.0 = own.clone();
                }
            }
        }
    }
}

impl Case {
    pub fn load(dir: &Path) -> Result<Case, String> {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(dir.join("log.expect")).map_err(|e| format!("{name}: log.expect: {e}"))?;
        let mut lines: Vec<Line> = text.lines().filter(|l| !l.trim().is_empty()).filter_map(split).collect();
        lines.sort_by(|a, b| a.t.total_cmp(&b.t));
        let end = lines.last().map_or(0.0, |l| l.t);
        let hardware = read_json(dir, "hardware_status")?;
        let nodes: Vec<String> = hardware.keys().cloned().collect();
        if nodes.is_empty() {
            return Err(format!("{name}: hardware_status names no node"));
        }
        let powered_at_start =
            hardware.iter().map(|(n, h)| (n.clone(), h.get("power").and_then(Value::as_str) == Some("on"))).collect();
        let wires = lines.iter().filter_map(|l| hardware_wire(l).map(|(n, w)| (l.t, n, w))).collect();
        Ok(Case {
            name,
            nodes,
            end,
            lines,
            initial: read_json(dir, "manager_status")?,
            config: read_json(dir, "service_config")?,
            wires,
            powered_at_start,
        })
    }

    /// What `node`'s journal holds of the stack's units, in time order. The simulator's
    /// e-mail lines are left out (a real cluster sends them as notifications, not to the
    /// journal); the simulated watchdog's expiry is written as watchdog-mux writes it.
    pub fn journal(&self, node: &str) -> Vec<Record> {
        let mut out = Vec::new();
        for l in &self.lines {
            let (unit, ident, message) = match l.source.split_once('/') {
                Some((n, "crm")) if n == node => ("pve-ha-crm.service", "pve-ha-crm", l.msg.clone()),
                Some((n, "lrm")) if n == node => ("pve-ha-lrm.service", "pve-ha-lrm", l.msg.clone()),
                None if l.source == "watchdog" && l.msg == format!("execute power {node} off") => (
                    "watchdog-mux.service",
                    "watchdog-mux",
                    "client watchdog expired - disable watchdog updates".to_owned(),
                ),
                _ => continue,
            };
            if l.level == "emai" {
                continue;
            }
            out.push(Record { t: l.t, unit, ident, priority: priority(&l.level), message });
        }
        out
    }

    /// (powered, on the network) at `t`, changes at `t` included.
    fn wires_at(&self, node: &str, t: f64, inclusive: bool) -> (bool, bool) {
        let mut powered = self.powered_at_start.get(node).copied().unwrap_or(false);
        let mut net = powered;
        for (wt, n, w) in &self.wires {
            if *wt > t || (!inclusive && *wt == t) {
                break;
            }
            if n != node {
                continue;
            }
            match *w {
                Wire::Power(on) => {
                    powered = on;
                    net = on;
                }
                Wire::Network(on) => net = on,
            }
        }
        (powered, net)
    }

    pub fn powered(&self, node: &str, t: f64) -> bool {
        self.wires_at(node, t, true).0
    }

    /// The instants at which any node's power or network changes.
    pub fn wire_times(&self) -> impl Iterator<Item = f64> + '_ {
        self.wires.iter().map(|w| w.0)
    }

    /// The manager status the case starts from.
    pub fn initial_status(&self) -> Value {
        Value::Object(self.initial.clone())
    }

    /// The instants `node` loses power: each ends one boot.
    pub fn power_offs(&self, node: &str) -> Vec<f64> {
        self.wires.iter().filter(|(_, n, w)| n == node && *w == Wire::Power(false)).map(|(t, _, _)| *t).collect()
    }

    /// How many times `node` lost power up to `t`.
    pub fn boot(&self, node: &str, t: f64) -> usize {
        self.power_offs(node).iter().filter(|off| **off <= t).count()
    }

    /// The nodes of the quorate partition at `t` (empty when there is none).
    fn quorate_partition(&self, t: f64, inclusive: bool) -> Vec<String> {
        let up: Vec<String> =
            self.nodes.iter().filter(|n| self.wires_at(n, t, inclusive) == (true, true)).cloned().collect();
        if up.len() * 2 > self.nodes.len() { up } else { Vec::new() }
    }

    /// `node`'s view of quorum at `t`: quorate, and the members it sees.
    pub fn quorum_view(&self, node: &str, t: f64) -> (bool, Vec<String>) {
        let (powered, net) = self.wires_at(node, t, true);
        if !powered {
            return (false, Vec::new());
        }
        if !net {
            return (false, vec![node.to_owned()]);
        }
        let part = self.quorate_partition(t, true);
        if part.iter().any(|n| n == node) {
            return (true, part);
        }
        let up = self.nodes.iter().filter(|n| self.wires_at(n, t, true) == (true, true)).cloned().collect();
        (false, up)
    }

    /// The last instant up to `t` at which `node` was in the quorate partition.
    pub fn last_quorate(&self, node: &str, t: f64) -> Option<f64> {
        if self.quorate_partition(t, true).iter().any(|n| n == node) {
            return Some(t);
        }
        let mut times: Vec<f64> = self.wires.iter().map(|w| w.0).filter(|wt| *wt <= t).collect();
        times.dedup();
        times.into_iter().rev().find(|wt| self.quorate_partition(*wt, false).iter().any(|n| n == node))
    }

    /// The state each service is added in: the `from` of its first state change.
    fn added_states(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for l in &self.lines {
            if let Some(rest) = l.msg.strip_prefix("service '")
                && let Some((sid, rest)) = rest.split_once('\'')
                && let Some(rest) = rest.strip_prefix(": state changed from '")
                && let Some((from, _)) = rest.split_once('\'')
            {
                out.entry(sid.to_owned()).or_insert_with(|| from.to_owned());
            }
        }
        out
    }

    /// The status as the quorate partition sees it at `t`.
    pub fn status_at(&self, t: f64) -> Status {
        let mut s = Status::default();
        let ms = &self.initial;
        s.master = ms.get("master_node").and_then(Value::as_str).map(str::to_owned);
        for (n, st) in ms.get("node_status").and_then(Value::as_object).into_iter().flatten() {
            s.nodes.insert(n.clone(), st.as_str().unwrap_or_default().to_owned());
        }
        for (sid, v) in ms.get("service_status").and_then(Value::as_object).into_iter().flatten() {
            let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            s.services.insert(
                sid.clone(),
                Service {
                    state: get("state").unwrap_or_default(),
                    node: get("node").unwrap_or_default(),
                    target: get("target"),
                    running: v.get("running").and_then(Value::as_i64) == Some(1),
                },
            );
        }
        for n in &self.nodes {
            s.connected.insert(n.clone(), self.powered_at_start[n]);
        }
        let added = self.added_states();
        for l in self.lines.iter().take_while(|l| l.t <= t) {
            s.touch(l.t);
            match l.source.split_once('/') {
                Some((node, daemon)) => s.apply(node, daemon, &l.msg, &added),
                None => {
                    if let Some((node, w)) = hardware_wire(l) {
                        s.wire(&node, w);
                    }
                }
            }
        }
        s.touch(t);
        s
    }

    /// What `node`'s API answers at `t`: the status as its cluster file system holds it, and
    /// whether it is quorate. A node outside the quorate partition holds what it last saw.
    fn view(&self, node: &str, t: f64) -> (Status, bool) {
        match self.last_quorate(node, t) {
            Some(left) if left == t => (self.status_at(t), true),
            Some(left) => (self.status_at(left), false),
            None => (self.status_at(0.0), false),
        }
    }

    /// `pvesh get /cluster/ha/status/manager_status --output-format json` on `node` at `t`;
    /// `clock(writer, sim_seconds)` is a node's clock (seconds since the epoch).
    pub fn manager_status(&self, node: &str, t: f64, clock: &dyn Fn(&str, f64) -> i64) -> String {
        let (s, quorate) = self.view(node, t);
        let mut ms = Map::new();
        if let Some(m) = &s.master {
            ms.insert("master_node".into(), json!(m));
            ms.insert("timestamp".into(), json!(clock(m, s.master_writer.written)));
        }
        if !s.nodes.is_empty() {
            ms.insert("node_status".into(), json!(s.nodes));
        }
        let mut services = Map::new();
        for (sid, v) in &s.services {
            let mut e = Map::new();
            e.insert("node".into(), json!(v.node));
            e.insert("state".into(), json!(v.state));
            if let Some(t) = &v.target {
                e.insert("target".into(), json!(t));
            }
            if v.running {
                e.insert("running".into(), json!(1));
            }
            services.insert(sid.clone(), Value::Object(e));
        }
        if !services.is_empty() {
            ms.insert("service_status".into(), Value::Object(services));
        }
        let mut lrm = Map::new();
        for n in s.nodes.keys() {
            let e = match s.lrms.get(n) {
                Some((state, w)) => {
                    json!({"mode": "active", "state": state, "timestamp": clock(n, w.written), "results": {}})
                }
                None => json!({}),
            };
            lrm.insert(n.clone(), e);
        }
        json!({"manager_status": ms, "quorum": {"node": node, "quorate": u8::from(quorate)}, "lrm_status": lrm})
            .to_string()
    }

    /// `pvesh get /cluster/ha/status/current --output-format json` on `node` at `t`. The
    /// display `state` is PVE's verbose one, which the observer must not use: `starting` for
    /// a started service whose LRM has not reported it running, `queued` for a configured
    /// service the manager has not processed.
    pub fn current(&self, node: &str, t: f64, clock: &dyn Fn(&str, f64) -> i64) -> String {
        let (s, quorate) = self.view(node, t);
        let now = clock(node, t);
        let judged = |ts: i64| if now - ts > 30 { "old timestamp - dead?" } else { "active" };
        let mut out = vec![json!({"id": "quorum", "type": "quorum", "node": node, "quorate": u8::from(quorate),
            "status": if quorate { "OK".to_owned() } else { format!("No quorum on node '{node}'!") }})];
        if let Some(m) = &s.master {
            let ts = clock(m, s.master_writer.written);
            out.push(json!({"id": "master", "type": "master", "node": m, "timestamp": ts,
                "status": format!("{m} ({}, {ts})", judged(ts))}));
        }
        for n in s.nodes.keys() {
            out.push(match s.lrms.get(n) {
                Some((state, w)) => {
                    let ts = clock(n, w.written);
                    let word = if judged(ts) == "active" { state.as_str() } else { judged(ts) };
                    json!({"id": format!("lrm:{n}"), "type": "lrm", "node": n, "timestamp": ts,
                        "status": format!("{n} ({word}, {ts})")})
                }
                None => json!({"id": format!("lrm:{n}"), "type": "lrm", "node": n,
                    "status": format!("{n} (unable to read lrm status)")}),
            });
        }
        for (sid, v) in &s.services {
            let request = self.requested(sid, t);
            let display = verbose_state(Some(v), request.as_deref());
            out.push(json!({"id": format!("service:{sid}"), "type": "service", "sid": sid, "node": v.node,
                "crm_state": v.state, "state": display, "request_state": request,
                "status": format!("{sid} ({}, {display})", v.node)}));
        }
        for (sid, c) in self.config.iter().filter(|(sid, _)| !s.services.contains_key(*sid)) {
            let on = c.get("node").and_then(Value::as_str).unwrap_or("---");
            let request = self.requested(sid, t);
            let display = verbose_state(None, request.as_deref());
            out.push(json!({"id": format!("service:{sid}"), "type": "service", "sid": sid, "node": on,
                "state": display, "request_state": request, "status": format!("{sid} ({on}, {display})")}));
        }
        Value::Array(out).to_string()
    }

    /// The state `sid` is configured to have at `t`: `service_config`, changed by the command
    /// list's `service SID started|stopped|disabled|ignored`. The simulator's `enabled` is
    /// `started`; no state is `stopped` (test-basic1's vm:102 has none and is requested to
    /// stop when added).
    fn requested(&self, sid: &str, t: f64) -> Option<String> {
        let conf = self.config.get(sid)?;
        let initial = match conf.get("state").and_then(Value::as_str) {
            Some("enabled") => "started",
            Some(other) => other,
            None => "stopped",
        };
        let set = self.lines.iter().take_while(|l| l.t <= t).filter(|l| l.source == "cmdlist").filter_map(|l| {
            let w: Vec<&str> = l.msg.split_whitespace().collect();
            match w.as_slice() {
                ["execute", "service", s, state @ ("started" | "stopped" | "disabled" | "ignored")] if *s == sid => {
                    Some(*state)
                }
                _ => None,
            }
        });
        Some(set.last().unwrap_or(initial).to_owned())
    }

    /// `corosync-quorumtool -s` on `node` at `t`, and its exit code (1 when quorate, 0 when
    /// not, as the tool does).
    pub fn quorumtool(&self, node: &str, t: f64) -> (String, u32) {
        let (quorate, members) = self.quorum_view(node, t);
        let id = |n: &str| self.nodes.iter().position(|x| x == n).map_or(0, |i| i + 1);
        let mut text = format!(
            "Quorum information\n------------------\nQuorum provider:  corosync_votequorum\nNodes:            {}\n\
             Node ID:          {}\nRing ID:          1.{}\nQuorate:          {}\n\nVotequorum information\n\
             ----------------------\nExpected votes:   {n}\nHighest expected: {n}\nTotal votes:      {}\n\
             Quorum:           {}\nFlags:            {}\n\nMembership information\n----------------------\n\
             \x20   Nodeid      Votes Name\n",
            members.len(),
            id(node),
            self.boot(node, t) + 1,
            if quorate { "Yes" } else { "No" },
            members.len(),
            self.nodes.len() / 2 + 1,
            if quorate { "Quorate" } else { "" },
            n = self.nodes.len(),
        );
        for m in &members {
            let local = if m == node { " (local)" } else { "" };
            text.push_str(&format!("{:>10} {:>10} {m}{local}\n", id(m), 1));
        }
        (text, u32::from(quorate))
    }
}
