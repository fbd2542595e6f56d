//! What a check found: its verdict, the numbers it measured, and the window it looked at,
//! so that reports can draw it and a person can see why.

use serde::{Deserialize, Serialize};

use super::Verdict;
use crate::timeline::Seconds;

/// Which family a check belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// B happens within T after A.
    Within,
    /// B happens at some point (after A, when given).
    Eventually,
    /// An invariant over the whole run.
    Never,
    /// The state at the end of the run.
    Final,
}

/// The lane a check belongs to in reports: a node or a service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "lane", content = "name", rename_all = "kebab-case")]
pub enum Subject {
    Node(String),
    Service(String),
    Cluster,
}

/// The result of one expectation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The expectation as a person would say it, e.g. `service vm:103 fence within 60s after cut`.
    pub name: String,
    pub kind: CheckKind,
    pub subject: Subject,
    pub verdict: Verdict,
    /// Why, in one sentence: what was seen, or what was missing.
    pub message: String,
    /// Start of the window (the anchor's time), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Seconds>,
    /// End of the window (anchor + bound), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Seconds>,
    /// When the awaited or forbidden thing was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seconds>,
    /// seen - from: the measured interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<Seconds>,
    /// Where the expectation is written: `file:line:column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// What the check stood on, e.g. `the storage server's record: 3 writer run(s), 412
    /// heartbeat(s)` or `the hypervisor's power events: 5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The scenario marks this check `expected: fail`: a known weakness shown on purpose.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expected_fail: bool,
}

impl CheckResult {
    /// The verdict as the scenario asks for it: a check marked `expected: fail` is met by
    /// failing, and not met by passing (the weakness no longer shows, or is no longer seen).
    pub fn as_expected(&self) -> Verdict {
        match (self.expected_fail, self.verdict) {
            (true, Verdict::Fail) => Verdict::Pass,
            (true, Verdict::Pass) => Verdict::Fail,
            (_, v) => v,
        }
    }
}
