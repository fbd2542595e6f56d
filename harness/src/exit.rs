//! The one table from a command's outcome to its exit code. Verdicts, invalid input and an
//! interrupted run all map here; the CLI's `--help`, the README's table and the ranking of
//! several runs' outcomes (the worst wins) are all read from [`TABLE`].

use crate::check::Verdict;

/// How a command ended, as its exit code says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Pass,
    Inconclusive,
    Fail,
    InfraError,
    InvalidInput,
    Interrupted,
}

/// One row of the exit-code table.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub outcome: Outcome,
    pub code: i32,
    /// The name the README and the summary use.
    pub name: &'static str,
    pub meaning: &'static str,
}

/// Every outcome, from the least to the most severe: of several runs' outcomes, the one
/// furthest down this table is the session's.
pub const TABLE: [Row; 6] = [
    Row {
        outcome: Outcome::Pass,
        code: 0,
        name: "pass",
        meaning: "every expectation was met (or there was nothing to check)",
    },
    Row {
        outcome: Outcome::Inconclusive,
        code: 2,
        name: "inconclusive",
        meaning: "an expectation could not be decided: its anchor never happened, a role was never bound, or the log ends before the window closes",
    },
    Row { outcome: Outcome::Fail, code: 1, name: "fail", meaning: "the HA stack did not meet an expectation" },
    Row {
        outcome: Outcome::InfraError,
        code: 3,
        name: "infrastructure error",
        meaning: "the lab or the harness broke (e.g. a VM never answered, the report directory could not be written)",
    },
    Row {
        outcome: Outcome::InvalidInput,
        code: 4,
        name: "invalid input",
        meaning: "a bad scenario or expectation file, an unreadable or unknown log, bad usage",
    },
    Row {
        outcome: Outcome::Interrupted,
        code: 130,
        name: "interrupted",
        meaning: "Ctrl-C or SIGTERM: the run stopped and tore its lab down",
    },
];

impl Outcome {
    fn row(self) -> &'static Row {
        // Every outcome has its row (a unit test walks them).
        TABLE.iter().find(|r| r.outcome == self).unwrap_or(&TABLE[3])
    }

    pub fn code(self) -> i32 {
        self.row().code
    }

    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Position in [`TABLE`]: higher is worse.
    pub fn severity(self) -> usize {
        TABLE.iter().position(|r| r.outcome == self).unwrap_or(TABLE.len())
    }

    /// The worst of `outcomes`; none at all is a pass (nothing ran that could fail).
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes.into_iter().max_by_key(|o| o.severity()).unwrap_or(Outcome::Pass)
    }
}

impl From<Verdict> for Outcome {
    fn from(v: Verdict) -> Outcome {
        match v {
            Verdict::Pass => Outcome::Pass,
            Verdict::Inconclusive => Outcome::Inconclusive,
            Verdict::Fail => Outcome::Fail,
            Verdict::InfraError => Outcome::InfraError,
        }
    }
}

/// The table as `--help` prints it.
pub fn help_text() -> String {
    let mut rows: Vec<&Row> = TABLE.iter().collect();
    rows.sort_by_key(|r| r.code);
    let mut s = String::from("Exit codes:\n");
    for r in rows {
        s.push_str(&format!("  {:<3}  {}: {}\n", r.code, r.name, r.meaning));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_one_row_and_codes_are_distinct() {
        let all = [
            Outcome::Pass,
            Outcome::Inconclusive,
            Outcome::Fail,
            Outcome::InfraError,
            Outcome::InvalidInput,
            Outcome::Interrupted,
        ];
        for o in all {
            assert_eq!(TABLE.iter().filter(|r| r.outcome == o).count(), 1, "{o:?}");
        }
        let mut codes: Vec<i32> = TABLE.iter().map(|r| r.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len());
    }

    /// infra error > fail > inconclusive > pass, as verdicts combine.
    #[test]
    fn the_worst_outcome_wins() {
        assert_eq!(Outcome::worst([Outcome::Pass, Outcome::Fail, Outcome::Inconclusive]), Outcome::Fail);
        assert_eq!(Outcome::worst([Outcome::Fail, Outcome::InfraError]), Outcome::InfraError);
        assert_eq!(Outcome::worst([Outcome::InfraError, Outcome::Interrupted]), Outcome::Interrupted);
        assert_eq!(Outcome::worst([]), Outcome::Pass);
        for v in [Verdict::Pass, Verdict::Inconclusive, Verdict::Fail, Verdict::InfraError] {
            assert_eq!(Outcome::from(v).code(), v.exit_code());
        }
    }
}
