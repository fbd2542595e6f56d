//! The fencer's history: `stonith_admin --history '*' --output-as=xml` (Pacemaker 2.1.5).
//!
//! Each `<fence_event>` (`stonith_event_xml` in `lib/fencing/st_output.c`) has the action,
//! target, requesting client and origin node, a status (`success`, `failed`, `pending`), the
//! node that carried it out (`delegate`), and for finished ones the completion time as
//! `crm_time_as_string` writes it (`2026-11-22 12:00:00Z` or `2026-11-22 13:00:00 +01:00`).

use serde::Serialize;

use crate::timeline::{EventData, FencePhase};

use super::PacemakerError;
use super::xml::{self, attr, child, children};

/// How a fencing operation ended, or that it has not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FenceStatus {
    Success,
    Failed,
    Pending,
}

/// One fencing operation from the fencer's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FenceRecord {
    /// `reboot`, `off` or `on` (unfencing).
    pub action: String,
    pub target: String,
    /// Who asked, e.g. `pacemaker-controld.1234` or `stonith_admin.5678`.
    pub client: String,
    /// The node that asked.
    pub origin: String,
    /// The node that carried it out, when known.
    pub delegate: Option<String>,
    pub status: FenceStatus,
    /// The fencer's internal state number for a pending operation.
    pub extended_status: Option<String>,
    pub exit_reason: Option<String>,
    /// When it finished, as written.
    pub completed: Option<String>,
    /// The same instant in µs since the epoch, when it could be read.
    pub completed_us: Option<i64>,
}

impl FenceRecord {
    /// Whether the operation takes a node down (`reboot`, `off`); `on` is unfencing.
    pub fn is_fencing(&self) -> bool {
        self.action != "on"
    }

    /// The timeline event this record stands for: a pending fencing has started, a
    /// successful one is acknowledged, a failed one failed. None for unfencing.
    pub fn event(&self) -> Option<EventData> {
        if !self.is_fencing() {
            return None;
        }
        let phase = match self.status {
            FenceStatus::Success => FencePhase::Acknowledged,
            FenceStatus::Failed => FencePhase::Failed,
            FenceStatus::Pending => FencePhase::Started,
        };
        Some(EventData::Fence { node: self.target.clone(), phase })
    }
}

/// Read `stonith_admin --history '*' --output-as=xml` (also `crm_mon`'s `<fence_history>`
/// section, which has the same events). Records are in the order the tool lists them.
pub fn parse_fence_history(text: &str) -> Result<Vec<FenceRecord>, PacemakerError> {
    const WHAT: &str = "stonith_admin history";
    let doc = xml::parse(text, WHAT)?;
    let root = xml::envelope(&doc, WHAT, "<pacemaker-result> from `stonith_admin --history '*' --output-as=xml`")?;
    let Some(history) = child(root, "fence_history") else {
        // No fencing ever happened: stonith_admin prints no list at all.
        return Ok(Vec::new());
    };
    if let Some(code) = history.attribute("status") {
        // crm_mon writes `<fence_history status="…"/>` when it could not read the history.
        return Err(PacemakerError::CommandFailed {
            what: WHAT,
            code: code.to_owned(),
            message: "the fencer's history could not be read".to_owned(),
        });
    }
    children(history, "fence_event").map(record).collect()
}

fn record(e: roxmltree::Node) -> Result<FenceRecord, PacemakerError> {
    const E: &str = "fence_event";
    let status = match attr(e, E, "status")? {
        "success" => FenceStatus::Success,
        "failed" => FenceStatus::Failed,
        "pending" => FenceStatus::Pending,
        other => {
            return Err(PacemakerError::BadAttribute {
                element: E,
                attribute: "status",
                value: other.to_owned(),
                line: xml::line(e),
                expected: "`success`, `failed` or `pending`",
            });
        }
    };
    let completed = e.attribute("completed").map(str::to_owned);
    let completed_us = completed.as_deref().and_then(completed_us);
    let owned = |name| e.attribute(name).map(str::to_owned);
    Ok(FenceRecord {
        action: attr(e, E, "action")?.to_owned(),
        target: attr(e, E, "target")?.to_owned(),
        client: attr(e, E, "client")?.to_owned(),
        origin: attr(e, E, "origin")?.to_owned(),
        delegate: owned("delegate"),
        status,
        extended_status: owned("extended-status"),
        exit_reason: owned("exit-reason"),
        completed,
        completed_us,
    })
}

/// `2026-11-22 12:00:00Z` or `2026-11-22 13:00:00 +01:00` → µs since the epoch.
fn completed_us(s: &str) -> Option<i64> {
    let (date, rest) = s.split_once(' ')?;
    let iso = match rest.split_once(' ') {
        Some((time, offset)) => format!("{date}T{time}{offset}"),
        None => format!("{date}T{rest}"),
    };
    crate::stack::journal::parse_iso(iso.as_bytes()).filter(|(_, used)| *used == iso.len()).map(|(us, _)| us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_times_in_both_forms() {
        let utc = completed_us("2026-11-22 12:00:00Z").unwrap();
        assert_eq!(completed_us("2026-11-22 13:00:00 +01:00"), Some(utc));
        assert_eq!(utc, 1_795_348_800_000_000);
        assert_eq!(completed_us("yesterday"), None);
        assert_eq!(completed_us("2026-11-22 12:00:00Z trailing"), None);
    }
}
