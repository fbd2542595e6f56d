//! `hadrill analyze`: read a log that someone hands us (a journal export from a real cluster,
//! the Proxmox HA simulator's log, or a timeline hadrill wrote itself), turn it into a
//! timeline, check it against an expectation file, and produce what the reports need.

use std::path::Path;

use crate::check::{Bindings, Evaluation, evaluate};
use crate::scenario::Plan;
use crate::scenario::StackKind;
use crate::stack::{pacemaker, pve};
use crate::timeline::{Roles, Timeline, snapshot};

/// Everything `analyze` found.
#[derive(Debug)]
pub struct Analysis {
    pub timeline: Timeline,
    /// The checks and the verdict; with no expectation file, no checks and no verdict.
    pub evaluation: Evaluation,
    /// Roles used in the snapshot and the reports: bound by marks, then inferred.
    pub roles: Roles,
    pub snapshot: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnalyzeError {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(hadrill::io))]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    #[diagnostic(
        code(hadrill::analyze::format),
        help(
            "hadrill reads the Proxmox HA simulator's log.expect, `journalctl -o short-iso-precise` and `journalctl -o json` exports of pve-ha-crm/pve-ha-lrm/watchdog-mux/corosync, and its own timeline.jsonl"
        )
    )]
    Format {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Read and analyse one log file.
pub fn analyze_file(path: &Path, plan: Option<&Plan>) -> Result<Analysis, AnalyzeError> {
    let bytes =
        std::fs::read(path).map_err(|source| AnalyzeError::Read { path: path.display().to_string(), source })?;
    let stack = plan.and_then(|p| p.stack);
    let mut timeline =
        read_any(&bytes, stack).map_err(|source| AnalyzeError::Format { path: path.display().to_string(), source })?;
    timeline.meta.source = Some(path.display().to_string());
    Ok(analyze_timeline(timeline, plan, path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()))
}

/// Detect the format and read it. Journal exports look alike for both stacks; `stack` (from
/// the expectation file) decides, or else the daemons the log names.
pub fn read_any(bytes: &[u8], stack: Option<StackKind>) -> Result<Timeline, Box<dyn std::error::Error + Send + Sync>> {
    if Timeline::looks_like_jsonl(bytes) {
        return Ok(Timeline::from_jsonl(bytes)?);
    }
    match stack.unwrap_or_else(|| sniff_stack(bytes)) {
        StackKind::Pve => Ok(pve::read_log(bytes)?),
        StackKind::Pacemaker => Ok(pacemaker::read_journal(bytes)?),
    }
}

/// Which stack's daemons a log names first: Pacemaker's (pacemaker-controld, pacemakerd,
/// sbd) or else Proxmox's. Only the head is looked at; a journal names its daemons early.
fn sniff_stack(bytes: &[u8]) -> StackKind {
    let head = &bytes[..bytes.len().min(256 * 1024)];
    let find = |needle: &[u8]| memchr::memmem::find(head, needle);
    let pacemaker = [&b"pacemaker-"[..], b"pacemakerd", b" sbd["].iter().filter_map(|n| find(n)).min();
    let pve = [&b"pve-ha-"[..], b"/crm: ", b"/lrm: ", b"watchdog-mux"].iter().filter_map(|n| find(n)).min();
    match (pacemaker, pve) {
        (Some(_), None) => StackKind::Pacemaker,
        (Some(a), Some(b)) if a < b => StackKind::Pacemaker,
        _ => StackKind::Pve,
    }
}

/// Check a timeline against a plan (or nothing) and build the snapshot.
pub fn analyze_timeline(timeline: Timeline, plan: Option<&Plan>, default_title: String) -> Analysis {
    let evaluation = match plan {
        Some(p) => evaluate(&timeline, p, &Bindings::default()),
        None => Evaluation {
            title: default_title,
            checks: Vec::new(),
            verdict: None,
            roles: Roles::default(),
            fences: Vec::new(),
        },
    };
    let roles = Roles::infer(&timeline, &evaluation.roles);
    let snapshot = snapshot(&timeline, &roles);
    let evaluation = Evaluation { roles: roles.clone(), ..evaluation };
    Analysis { timeline, evaluation, roles, snapshot }
}
