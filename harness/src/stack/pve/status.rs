//! The HA manager's status as the API gives it, read into one typed view.
//!
//! Two sources, both from `pvesh … --output-format json` (formats in pve-ha-manager's
//! `PVE::API2::HA::Status`):
//! - `/cluster/ha/status/manager_status`: `{ manager_status, quorum, lrm_status }`, where
//!   `manager_status` is the CRM's own file (`master_node`, `node_status`, `service_status`,
//!   `timestamp`); the bare file (as in the regression corpus) is read the same way;
//! - `/cluster/ha/status/current`: a list of `quorum`, `master`, `lrm:NODE` and
//!   `service:SID` entries; services carry `crm_state` (the manager's state) beside `state`
//!   (a display state made for people, e.g. `starting` for a started service whose LRM has
//!   not reported it running yet).
//!
//! hadrill uses the manager's own service state (`crm_state`), never the display state: the
//! checks speak the manager's state machine. A timestamp more than 30 s old means the
//! writer is dead or cut off (the API says "old timestamp - dead?"), so such a master or LRM
//! is stale, not active.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::StatusError;
use super::states::{node_state, service_state};
use crate::timeline::{NodeState, ServiceState};

/// Older than this (seconds) and a status writer is presumed dead, as in the API.
pub const STALE_AFTER_S: i64 = 30;
/// Newer than `now` by more than this and the clocks disagree, as in the API.
const DRIFT_S: i64 = 2;

/// How current a timestamped part of the status is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Active,
    /// Written `age` seconds ago, more than `STALE_AFTER_S`.
    Stale {
        age: i64,
    },
    /// From the future: the node's clock is ahead by `ahead` seconds.
    Drift {
        ahead: i64,
    },
    /// No timestamp at all.
    Unknown,
}

impl Freshness {
    pub fn of(timestamp: Option<i64>, now: i64) -> Self {
        // Saturating: the timestamp is whatever integer the status file holds.
        match timestamp.map(|t| now.saturating_sub(t)) {
            None => Freshness::Unknown,
            Some(age) if age > STALE_AFTER_S => Freshness::Stale { age },
            Some(age) if age < -DRIFT_S => Freshness::Drift { ahead: age.saturating_neg() },
            Some(_) => Freshness::Active,
        }
    }
}

/// A node as the manager sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeEntry {
    pub raw: String,
    pub state: Option<NodeState>,
}

/// A service as the manager sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceEntry {
    /// The manager's state (`crm_state`), raw.
    pub raw: String,
    pub state: Option<ServiceState>,
    pub node: Option<String>,
    /// Where a `migrate`/`relocate` goes.
    pub target: Option<String>,
    /// The manager's note that the LRM reported it running.
    pub running: Option<bool>,
}

/// A node's local resource manager, from its own status file.
#[derive(Clone, Debug, PartialEq)]
pub struct LrmEntry {
    /// `wait_for_agent_lock`, `active`, `lost_agent_lock`, `maintenance`.
    pub state: Option<String>,
    /// `active`, `restart`, `shutdown`, `maintenance`.
    pub mode: Option<String>,
    pub timestamp: Option<i64>,
}

/// One reading of the HA manager's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HaStatus {
    /// The node that answered, and whether it was quorate (API form only).
    pub quorum: Option<(String, bool)>,
    pub master: Option<String>,
    /// When the master last wrote the status (its clock, seconds since the epoch; the
    /// simulator's corpus uses its own seconds).
    pub timestamp: Option<i64>,
    pub nodes: BTreeMap<String, NodeEntry>,
    pub services: BTreeMap<String, ServiceEntry>,
    pub lrms: BTreeMap<String, LrmEntry>,
}

impl HaStatus {
    /// How current the master's status is at `now`.
    pub fn freshness(&self, now: i64) -> Freshness {
        Freshness::of(self.timestamp, now)
    }

    /// The master, if its status is active at `now`: a master whose writes stopped is no
    /// master any more, whatever the stale file still says.
    pub fn active_master(&self, now: i64) -> Option<&str> {
        match self.freshness(now) {
            Freshness::Active => self.master.as_deref(),
            _ => None,
        }
    }
}

const MANAGER: &str = "manager status";
const CURRENT: &str = "HA status (current)";

fn shape(what: &'static str, message: impl Into<String>) -> StatusError {
    StatusError::Shape { what, message: message.into() }
}

/// Perl's JSON gives booleans as `1`/`0`, `true`/`false` or `""`.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Integers sometimes arrive as strings from Perl.
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn opt_str(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// `/cluster/ha/status/manager_status`, or the manager's status file itself.
pub fn parse_manager_status(json: &str) -> Result<HaStatus, StatusError> {
    let v: Value = serde_json::from_str(json).map_err(|source| StatusError::Json { what: MANAGER, source })?;
    let top = v.as_object().ok_or_else(|| shape(MANAGER, "expected a JSON object"))?;
    let mut out = HaStatus::default();
    // The API wraps the file; the corpus has the bare file.
    let ms = match top.get("manager_status") {
        Some(inner) => inner.as_object().ok_or_else(|| shape(MANAGER, "`manager_status` is not an object"))?,
        None => top,
    };
    if let Some(q) = top.get("quorum") {
        let node = opt_str(q.get("node")).ok_or_else(|| shape(MANAGER, "`quorum` has no `node`"))?;
        let quorate = q.get("quorate").and_then(as_bool).unwrap_or(false);
        out.quorum = Some((node, quorate));
    }
    out.master = opt_str(ms.get("master_node"));
    out.timestamp = ms.get("timestamp").and_then(as_int);
    if let Some(ns) = ms.get("node_status") {
        let ns = ns.as_object().ok_or_else(|| shape(MANAGER, "`node_status` is not an object"))?;
        for (name, raw) in ns {
            let raw = raw.as_str().ok_or_else(|| shape(MANAGER, format!("node `{name}`: state is not a string")))?;
            out.nodes.insert(name.clone(), NodeEntry { raw: raw.to_owned(), state: node_state(raw) });
        }
    }
    if let Some(ss) = ms.get("service_status") {
        let ss = ss.as_object().ok_or_else(|| shape(MANAGER, "`service_status` is not an object"))?;
        for (sid, s) in ss {
            let raw =
                opt_str(s.get("state")).ok_or_else(|| shape(MANAGER, format!("service `{sid}` has no `state`")))?;
            out.services.insert(
                sid.clone(),
                ServiceEntry {
                    state: service_state(&raw),
                    raw,
                    node: opt_str(s.get("node")),
                    target: opt_str(s.get("target")),
                    running: s.get("running").and_then(as_bool),
                },
            );
        }
    }
    if let Some(ls) = top.get("lrm_status").and_then(Value::as_object) {
        for (node, l) in ls {
            out.lrms.insert(
                node.clone(),
                LrmEntry {
                    state: opt_str(l.get("state")),
                    mode: opt_str(l.get("mode")),
                    timestamp: l.get("timestamp").and_then(as_int),
                },
            );
        }
    }
    Ok(out)
}

/// A service entry of `/cluster/ha/status/current`.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentService {
    pub sid: String,
    pub node: Option<String>,
    /// The manager's state; absent while the CRM has not processed the service yet.
    pub crm_state: Option<String>,
    /// The display state (`starting`, `queued`, `ignored`, …), for people only.
    pub display_state: Option<String>,
    /// The configured state (`started`, `stopped`, `disabled`, `ignored`).
    pub request_state: Option<String>,
    pub max_restart: Option<i64>,
    pub max_relocate: Option<i64>,
    pub failback: Option<bool>,
}

/// `/cluster/ha/status/current`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurrentStatus {
    pub quorum: Option<(String, bool)>,
    pub master: Option<(String, Option<i64>)>,
    /// Node, display text, timestamp.
    pub lrms: Vec<(String, String, Option<i64>)>,
    pub services: Vec<CurrentService>,
}

/// `/cluster/ha/status/current`.
pub fn parse_current(json: &str) -> Result<CurrentStatus, StatusError> {
    let v: Value = serde_json::from_str(json).map_err(|source| StatusError::Json { what: CURRENT, source })?;
    let list = v.as_array().ok_or_else(|| shape(CURRENT, "expected a JSON array"))?;
    let mut out = CurrentStatus::default();
    for (i, e) in list.iter().enumerate() {
        let ty = opt_str(e.get("type")).ok_or_else(|| shape(CURRENT, format!("entry {i} has no `type`")))?;
        let node = opt_str(e.get("node"));
        match ty.as_str() {
            "quorum" => {
                let node = node.ok_or_else(|| shape(CURRENT, "the quorum entry has no `node`"))?;
                out.quorum = Some((node, e.get("quorate").and_then(as_bool).unwrap_or(false)));
            }
            "master" => {
                let node = node.ok_or_else(|| shape(CURRENT, "the master entry has no `node`"))?;
                out.master = Some((node, e.get("timestamp").and_then(as_int)));
            }
            "lrm" => {
                let node = node.ok_or_else(|| shape(CURRENT, format!("lrm entry {i} has no `node`")))?;
                out.lrms.push((
                    node,
                    opt_str(e.get("status")).unwrap_or_default(),
                    e.get("timestamp").and_then(as_int),
                ));
            }
            "service" => {
                let sid =
                    opt_str(e.get("sid")).ok_or_else(|| shape(CURRENT, format!("service entry {i} has no `sid`")))?;
                out.services.push(CurrentService {
                    sid,
                    node,
                    crm_state: opt_str(e.get("crm_state")),
                    display_state: opt_str(e.get("state")),
                    request_state: opt_str(e.get("request_state")),
                    max_restart: e.get("max_restart").and_then(as_int),
                    max_relocate: e.get("max_relocate").and_then(as_int),
                    failback: e.get("failback").and_then(as_bool),
                });
            }
            // Newer releases may add entry types; they carry nothing hadrill checks.
            _ => {}
        }
    }
    Ok(out)
}

impl CurrentStatus {
    /// The manager's view as far as `current` shows it: no node states (only the
    /// manager status has them), services by their `crm_state`; services the CRM has not
    /// processed yet are left out.
    pub fn to_ha_status(&self) -> HaStatus {
        let mut out = HaStatus {
            quorum: self.quorum.clone(),
            master: self.master.as_ref().map(|m| m.0.clone()),
            timestamp: self.master.as_ref().and_then(|m| m.1),
            ..HaStatus::default()
        };
        for s in &self.services {
            let Some(raw) = &s.crm_state else { continue };
            out.services.insert(
                s.sid.clone(),
                ServiceEntry {
                    raw: raw.clone(),
                    state: service_state(raw),
                    node: s.node.clone(),
                    target: None,
                    running: None,
                },
            );
        }
        for (node, _, ts) in &self.lrms {
            out.lrms.insert(node.clone(), LrmEntry { state: None, mode: None, timestamp: *ts });
        }
        out
    }
}
