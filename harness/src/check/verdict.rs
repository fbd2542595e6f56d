//! The four verdicts and their exit codes. A CI user must tell "the HA stack regressed"
//! (fail) from "the run could not decide" (inconclusive) and "the lab broke" (infra error).

use serde::{Deserialize, Serialize};

/// The outcome of one check, or of a whole run (the worst of its checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every expectation was met.
    Pass,
    /// The run could not decide: an anchor never happened, or observation ended too early.
    Inconclusive,
    /// The HA stack did not meet an expectation.
    Fail,
    /// The lab or the harness broke; nothing can be said about the HA stack.
    InfraError,
}

impl Verdict {
    /// The verdict's exit code, from the one table (`crate::exit`).
    pub fn exit_code(self) -> i32 {
        crate::exit::Outcome::from(self).code()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::InfraError => "infra-error",
        }
    }

    /// The verdict of a run: an infrastructure error outranks a failure, which outranks
    /// an undecided check. No checks at all is not a pass: nothing was verified.
    pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Option<Verdict> {
        verdicts.into_iter().max_by_key(|v| crate::exit::Outcome::from(*v).severity())
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exit code for input that could not be used at all (bad scenario, unreadable log, usage).
pub const EXIT_INVALID_INPUT: i32 = 4;
const _: () = assert!(EXIT_INVALID_INPUT == crate::exit::TABLE[4].code);
