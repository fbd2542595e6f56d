//! Evaluation of expectations against a timeline.

use serde::{Deserialize, Serialize};

use super::{CheckResult, Verdict};
use crate::timeline::{Roles, Timeline};

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
}

pub fn evaluate(_timeline: &Timeline) -> Evaluation {
    todo!()
}
