//! The seeds: real inputs of each reader, read at run time from the repository's fixtures
//! and scenario files and, when it is beside the clone, the Proxmox HA manager's regression
//! corpus (`../shared/corpus/pve-ha-manager`, never copied into the repository).
//!
//! The corpus's simulator logs are also re-framed as journal exports (short-iso-precise and
//! JSON, the lines a real node's journal has for the same messages), and a few logs as
//! hadrill's own timeline: the journal readers then start from every message the HA
//! manager writes, not only from the few exports in the fixtures.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::FuzzError;
use super::targets::Target;
use crate::stack::pve;

/// One target's seeds, and their groups (ranges of `flat`).
#[derive(Clone, Debug, Default)]
struct TargetSeeds {
    flat: Vec<Vec<u8>>,
    groups: Vec<Range<usize>>,
}

/// The seeds of every target, in groups by kind of input.
#[derive(Clone, Debug, Default)]
pub struct Seeds {
    by_target: Vec<TargetSeeds>,
    /// Every seed of every target, for splicing across formats.
    all: Vec<Vec<u8>>,
    /// Whether the corpus was found and used.
    pub corpus: Option<PathBuf>,
}

impl Seeds {
    /// The seeds of every target: `repo` is the repository root, `corpus` the HA manager's
    /// regression cases (skipped when `None` or not a directory).
    pub fn load(repo: &Path, corpus: Option<&Path>) -> Result<Seeds, FuzzError> {
        let fixtures = repo.join("tests/fixtures");
        let corpus = corpus.filter(|c| c.is_dir());
        let cases: Vec<PathBuf> = match corpus {
            Some(c) => files(c, &|p| p.file_name().is_some_and(|n| n == "log.expect" || n == "manager_status"))?,
            None => Vec::new(),
        };
        let of_name = |name: &'static str| {
            cases.iter().filter(move |p| p.file_name().is_some_and(|n| n == name)).cloned().collect::<Vec<_>>()
        };
        let own_sim: Vec<PathBuf> = files(&fixtures.join("logs"), &|p| name_starts(p, &["sim-", "pve-simulator"]))?
            .into_iter()
            .chain(files(&fixtures.join("pve/replay/cases"), &|p| p.ends_with("log.expect"))?)
            .collect();
        let own_sim = read_all(&own_sim)?;
        let corpus_sim = read_all(&of_name("log.expect"))?;
        let pve_short = read_all(&files(&fixtures.join("logs"), &|p| name_starts(p, &["pve-journal"]))?)?;
        let pcmk_short = read_all(&files(&fixtures.join("pacemaker/journal"), &|p| ext(p, "log"))?)?;
        let pcmk_json = read_all(&files(&fixtures.join("pacemaker/journal"), &|p| ext(p, "json"))?)?;
        // The simulator's lines as a node's journal would have them.
        let simulator = cat(&[&own_sim, &corpus_sim]);
        let corpus_short: Vec<Vec<u8>> =
            simulator.iter().map(|s| reframe(s, Frame::Short)).filter(|s| !s.is_empty()).collect();
        let corpus_json: Vec<Vec<u8>> = simulator
            .iter()
            .map(|s| reframe(s, Frame::Json))
            .chain(pve_short.iter().map(|s| short_to_json(s)))
            .filter(|s| !s.is_empty())
            .collect();
        // hadrill's own timeline, as `analyze` reads it back: of every kind of log.
        let timelines: Vec<Vec<u8>> = own_sim
            .iter()
            .chain(corpus_sim.iter().step_by(4))
            .chain(&pve_short)
            .chain(&pcmk_short)
            .chain(&pcmk_json)
            .filter_map(|s| crate::analyze::read_any(s, None).ok())
            .map(|t| t.to_jsonl().into_bytes())
            .filter(|s| !s.is_empty())
            .collect();
        let xml = |dir: &str| -> Result<Vec<Vec<u8>>, FuzzError> {
            read_all(&files(&fixtures.join(dir), &|p| ext(p, "xml"))?)
        };
        let yaml = |dir: &Path| -> Result<Vec<Vec<u8>>, FuzzError> { read_all(&files(dir, &|p| ext(p, "yaml"))?) };

        let mut by_target = Vec::new();
        for &t in Target::ALL {
            // Groups: a seed is drawn from a group drawn evenly, so that a kind of input with
            // few files (one fixture beside a hundred corpus cases) is not starved.
            let groups: Vec<Vec<Vec<u8>>> = match t {
                Target::Scenario => vec![
                    yaml(&repo.join("scenarios"))?,
                    yaml(&fixtures.join("scenarios"))?,
                    cat(&[&yaml(&fixtures.join("expect"))?, &yaml(&fixtures.join("pve/replay/expect"))?]),
                ],
                Target::Simulator => vec![own_sim.clone(), corpus_sim.clone()],
                Target::PveJournalShort => vec![pve_short.clone(), pcmk_short.clone(), corpus_short.clone()],
                Target::PveJournalJson => vec![pcmk_json.clone(), corpus_json.clone()],
                Target::PacemakerJournal => vec![pcmk_short.clone(), pcmk_json.clone(), pve_short.clone()],
                Target::CrmMon => vec![xml("pacemaker/crm_mon")?],
                Target::FenceHistory => vec![xml("pacemaker/stonith_admin")?, xml("pacemaker/crm_mon")?],
                Target::PveStatus => {
                    let own = files(&fixtures.join("pve/status"), &|p| ext(p, "json"))?
                        .into_iter()
                        .chain(files(&fixtures.join("pve/replay/cases"), &|p| p.ends_with("manager_status"))?)
                        .collect::<Vec<_>>();
                    vec![read_all(&own)?, read_all(&of_name("manager_status"))?]
                }
                Target::Quorum => vec![read_all(&files(&fixtures.join("pve/quorum"), &|p| ext(p, "txt"))?)?],
                Target::Analyze => vec![
                    own_sim.clone(),
                    corpus_sim.clone(),
                    pve_short.clone(),
                    pcmk_short.clone(),
                    pcmk_json.clone(),
                    corpus_short.clone(),
                    corpus_json.clone(),
                    timelines.clone(),
                ],
            };
            let mut flat = Vec::new();
            let mut ranges = Vec::new();
            for g in groups.into_iter().filter(|g| !g.is_empty()) {
                ranges.push(flat.len()..flat.len() + g.len());
                flat.extend(g);
            }
            if flat.is_empty() {
                return Err(FuzzError::NoSeeds { target: t.name() });
            }
            by_target.push(TargetSeeds { flat, groups: ranges });
        }
        let all = by_target.iter().flat_map(|t| t.flat.iter().cloned()).collect();
        Ok(Seeds { by_target, all, corpus: corpus.map(Path::to_path_buf) })
    }

    /// Every seed of `target`.
    pub fn of(&self, target: Target) -> &[Vec<u8>] {
        &self.by_target[target.index()].flat
    }

    /// The groups of `target`'s seeds (ranges of `of`), none empty.
    pub fn groups(&self, target: Target) -> &[Range<usize>] {
        &self.by_target[target.index()].groups
    }

    pub fn all(&self) -> &[Vec<u8>] {
        &self.all
    }
}

fn cat(parts: &[&Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn ext(p: &Path, e: &str) -> bool {
    p.extension().is_some_and(|x| x == e)
}

fn name_starts(p: &Path, prefixes: &[&str]) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| prefixes.iter().any(|pre| n.starts_with(pre)))
}

/// Files under `dir` (recursively) that `keep` accepts, sorted: the same seeds in the same
/// order on every run, so that an iteration number names one input. A missing directory
/// has none.
fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, FuzzError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|source| FuzzError::Read { path: d.clone(), source })?;
        for entry in rd {
            let path = entry.map_err(|source| FuzzError::Read { path: d.clone(), source })?.path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, FuzzError> {
    paths.iter().map(|p| std::fs::read(p).map_err(|source| FuzzError::Read { path: p.clone(), source })).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Short,
    Json,
}

/// 2026-11-22T00:00:00Z, the day the fixtures' exports were made up on.
const BASE_US: i64 = 1_795_305_600_000_000;

/// A simulator log as a journal export of the same messages (lines not framed as the
/// simulator's are left out).
fn reframe(log: &[u8], to: Frame) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, raw) in crate::stack::journal::lines(log) {
        let text = String::from_utf8_lossy(raw);
        let Some(l) = pve::simulator_line(&text) else { continue };
        let (host, ident) = match l.source.split_once('/') {
            Some((node, daemon)) => (node, format!("pve-ha-{daemon}")),
            None => ("node1", l.source.to_owned()),
        };
        let priority = match l.level {
            "err" => 3,
            "warn" | "warning" => 4,
            "notice" => 5,
            _ => 6,
        };
        let us = BASE_US + l.t.millis() * 1000;
        match to {
            Frame::Short => {
                let ts = jiff::Timestamp::from_microsecond(us).unwrap_or_default();
                out.extend_from_slice(ts.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string().as_bytes());
                out.extend_from_slice(format!(" {host} {ident}[{}]: {}\n", 1000 + host.len(), l.msg).as_bytes());
            }
            Frame::Json => json_entry(&mut out, n, us, host, &ident, priority, l.msg),
        }
    }
    out
}

/// A short-iso-precise export as `journalctl -o json` would have written it.
fn short_to_json(log: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::stack::journal::read_short(log, |l| {
        json_entry(&mut out, l.line, l.us, l.host, l.ident, 6, l.message);
        true
    });
    out
}

fn json_entry(out: &mut Vec<u8>, n: u64, us: i64, host: &str, ident: &str, priority: u8, msg: &str) {
    let entry = serde_json::json!({
        "__CURSOR": format!("s=0;i={n:x}"),
        "__REALTIME_TIMESTAMP": us.to_string(),
        "__MONOTONIC_TIMESTAMP": (us - BASE_US + 5_000_000).to_string(),
        "_BOOT_ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "PRIORITY": priority.to_string(),
        "_HOSTNAME": host,
        "SYSLOG_IDENTIFIER": ident,
        "_PID": "1000",
        "MESSAGE": msg,
    });
    out.extend_from_slice(entry.to_string().as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::pve::LogFormat;

    #[test]
    fn a_simulator_log_reframed_reads_as_the_same_messages() {
        let sim = b"info      0     hardware: starting simulation\n\
            info     20    node1/crm: got lock 'ha_manager_lock'\n\
            info     20    node1/crm: status change wait_for_quorum => master\n";
        let short = reframe(sim, Frame::Short);
        let json = reframe(sim, Frame::Json);
        let s = pve::parse(&short, LogFormat::JournalShort).unwrap();
        let j = pve::parse(&json, LogFormat::JournalJson).unwrap();
        let m = pve::parse(sim, LogFormat::Simulator).unwrap();
        assert_eq!(s.meta.lines, 3);
        assert_eq!(j.meta.lines, 3);
        let kinds = |t: &crate::timeline::Timeline| t.events.iter().map(|e| e.data.kind()).collect::<Vec<_>>();
        assert_eq!(kinds(&s), kinds(&j));
        assert!(!kinds(&m).is_empty());
        assert!(String::from_utf8_lossy(&short).starts_with("2026-11-22T00:00:00.000000+00:00 node1 hardware["));
    }
}
