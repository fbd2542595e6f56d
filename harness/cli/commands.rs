//! `hadrill validate`, `hadrill analyze` and `hadrill schema`: call the engine, print, choose
//! the exit code.

use std::path::Path;

use hadrill::analyze::analyze_file;
use hadrill::check::EXIT_INVALID_INPUT;
use hadrill::report::{ReportInput, summary_text, write_reports};
use hadrill::scenario;

use crate::render;

pub fn validate(files: &[std::path::PathBuf], color: bool) -> i32 {
    let mut bad = 0;
    for f in files {
        match scenario::load(f) {
            Ok(plan) => {
                let cluster = plan
                    .cluster
                    .as_ref()
                    .map(|c| format!(", {} nodes, {:?} storage", c.nodes.len(), c.storage).to_lowercase())
                    .unwrap_or_default();
                let steps = match &plan.chaos {
                    Some(c) => format!(
                        "chaos over {} from {} fault{}{}",
                        scenario::format_duration(c.duration),
                        c.faults.len(),
                        plural(c.faults.len()),
                        c.seed.map(|s| format!(" (seed {s})")).unwrap_or_default()
                    ),
                    None => format!("{} step{}", plan.steps.len(), plural(plan.steps.len())),
                };
                crate::outln!(
                    "ok    {}: {steps}, {} expectation{}, {} invariant{}{}{}",
                    f.display(),
                    plan.expectations.len(),
                    plural(plan.expectations.len()),
                    plan.invariants.len(),
                    plural(plan.invariants.len()),
                    plan.stack.map(|s| format!(", stack {}", s.as_str())).unwrap_or_default(),
                    cluster
                );
            }
            Err(e) => {
                bad += 1;
                let n = e.errors().len().max(1);
                crate::outln!("error {}: {n} problem{}", f.display(), plural(n));
                render::load_error(&e, color);
            }
        }
    }
    if files.len() > 1 {
        crate::outln!("{} valid, {} invalid", files.len() - bad, bad);
    }
    if bad > 0 { EXIT_INVALID_INPUT } else { 0 }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn analyze(log: &Path, expect: Option<&Path>, json: bool, report: Option<&Path>, color: bool) -> i32 {
    let plan = match expect.map(scenario::load) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            render::load_error(&e, color);
            return EXIT_INVALID_INPUT;
        }
    };
    let analysis = match analyze_file(log, plan.as_ref()) {
        Ok(a) => a,
        Err(e) => {
            eprint!("{}", render::diagnostic(&e, color));
            return EXIT_INVALID_INPUT;
        }
    };
    let input =
        ReportInput { timeline: &analysis.timeline, evaluation: &analysis.evaluation, snapshot: &analysis.snapshot };
    if let Some(dir) = report
        && let Err(e) = write_reports(dir, &input)
    {
        eprint!("{}", render::diagnostic(&e, color));
        // The reports are part of what was asked for; without them CI has nothing to show.
        return hadrill::check::Verdict::InfraError.exit_code();
    }
    if json {
        crate::out!("{}", analysis.timeline.to_jsonl());
    } else {
        crate::out!("{}", summary_text(&input));
    }
    match analysis.evaluation.verdict {
        Some(v) => {
            if json {
                eprintln!("verdict: {}", render::verdict(v, color));
            }
            analysis.evaluation.exit_code()
        }
        None => 0,
    }
}

/// `hadrill schema`.
pub fn schema() -> i32 {
    crate::out!("{}", scenario::schema_json());
    0
}
