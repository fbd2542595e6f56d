//! The fuzz targets: each reader of outside input, called through the public API the way
//! hadrill calls it, with what is done with its result right after (the live pollers' diffs,
//! the scenario diagnostics rendered as the command line renders them, the analysis of a
//! timeline). Errors are fine, they are formatted and dropped; only a panic is a finding.

use std::borrow::Cow;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::analyze::{analyze_timeline, read_any};
use crate::node::{ClockMap, ClockOffset, Stall, parse_journal_line};
use crate::scenario::{self, Plan};
use crate::stack::{pacemaker, pve};
use crate::timeline::Seconds;

/// One reader (or a few that take the same input) under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `scenario::parse`, and every diagnostic rendered by miette.
    Scenario,
    /// The HA simulator's `log.expect`: `pve::parse(…, Simulator)`.
    Simulator,
    /// `pve::parse(…, JournalShort)`.
    PveJournalShort,
    /// `pve::parse(…, JournalJson)`, the live `JournalReader` line by line, and the node
    /// stream's `parse_journal_line`.
    PveJournalJson,
    /// `pacemaker::read_journal` (both framings), `journal_events`, and `ClockMap::map_export`.
    PacemakerJournal,
    /// `crm_mon --output-as=xml` through the live `StatusPoller` (parse and diff).
    CrmMon,
    /// `stonith_admin --history` XML: `parse_fence_history`.
    FenceHistory,
    /// The PVE status JSON (`manager_status` and `current`) through the live `StatusPoller`
    /// (parse, merge, diff).
    PveStatus,
    /// `corosync-quorumtool -s` through `QuorumWatch`.
    Quorum,
    /// `analyze::read_any` (format detection and every log reader, hadrill's own timeline
    /// included) and `analyze_timeline`, with and without an expectation file.
    Analyze,
}

impl Target {
    pub const ALL: &'static [Target] = &[
        Target::Scenario,
        Target::Simulator,
        Target::PveJournalShort,
        Target::PveJournalJson,
        Target::PacemakerJournal,
        Target::CrmMon,
        Target::FenceHistory,
        Target::PveStatus,
        Target::Quorum,
        Target::Analyze,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Scenario => "scenario",
            Target::Simulator => "pve-simulator",
            Target::PveJournalShort => "pve-journal-short",
            Target::PveJournalJson => "pve-journal-json",
            Target::PacemakerJournal => "pacemaker-journal",
            Target::CrmMon => "crm-mon",
            Target::FenceHistory => "fence-history",
            Target::PveStatus => "pve-status",
            Target::Quorum => "quorum",
            Target::Analyze => "analyze",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.iter().copied().find(|t| t.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Line-oriented readers also get windows of a seed's lines: a 64-line cut of a log is
    /// still a log, and a small input is a fast one. A cut XML, JSON or YAML document is
    /// mostly a syntax error, so those always start whole.
    pub(crate) fn windows(self) -> bool {
        matches!(
            self,
            Target::Simulator
                | Target::PveJournalShort
                | Target::PveJournalJson
                | Target::PacemakerJournal
                | Target::Quorum
                | Target::Analyze
        )
    }

    /// The format's own syntax, for token mutations (its words come from the seeds).
    pub(crate) fn tokens(self) -> &'static [&'static [u8]] {
        match self {
            Target::Scenario => &[
                b"---\n",
                b"...\n",
                b"- ",
                b"? ",
                b"&a ",
                b"*a",
                b"!!str ",
                b"!!int ",
                b"!!binary ",
                b"!!map ",
                b"<<: *a",
                b"|\n",
                b">-\n",
                b"~",
                b"{ ",
                b" }",
                b"[ ",
                b" ]",
                b"\t",
                b"%YAML 1.2\n",
                b"!tag ",
                b"0x",
                b"0o7",
                b".inf",
                b".nan",
                b"1_000",
                b"\"\\x00\"",
                b"'",
                b"\"\\u2028\"",
                b": |-\n  ",
                b"&x [*x, *x]",
                b"0s",
                b"1m30s",
                b"999999999999h",
                b"-1s",
                b"1ms",
                b"1.5s",
            ],
            Target::CrmMon | Target::FenceHistory => &[
                b"<?xml version=\"1.0\"?>",
                b"<!DOCTYPE r [<!ENTITY e \"x\">]>",
                b"&e;",
                b"&amp;",
                b"&lt;",
                b"&#0;",
                b"&#x10FFFF;",
                b"&#xD800;",
                b"&#999999999;",
                b"<![CDATA[",
                b"]]>",
                b"<!-- ",
                b" -->",
                b"</",
                b"/>",
                b" xmlns:a=\"u\"",
                b"a:",
                b"=\"INFINITY\"",
                b"=\"+INFINITY\"",
                b"=\"-INFINITY\"",
                b"=\"true\"",
                b"=\"false\"",
                b"=\"\"",
                b"=\"0\"",
                b"<?pi x?>",
            ],
            Target::PveStatus | Target::PveJournalJson => &[
                b"null",
                b"true",
                b"false",
                b"[]",
                b"{}",
                b"1e999",
                b"-0",
                b"\"\\u0000\"",
                b"\"\\ud800\"",
                b"\"\\udc00\\ud800\"",
                b"18446744073709551616",
                b"-9223372036854775809",
                b"[104,105]",
                b"[256]",
                b"[-1]",
                b"\"\"",
                b"\"x\":",
                b",\"\":1",
                b"{\"type\":\"service\"}",
                b"\"timestamp\":",
                b"\"__REALTIME_TIMESTAMP\":",
                b"\"MESSAGE\":",
                b"\"PRIORITY\":\"9\"",
            ],
            Target::Simulator => &[
                b"info ",
                b"err ",
                b"warn ",
                b"noticexyz ",
                b"99999999999999999999999.9 ",
                b"1.2.3 ",
                b"node1/crm: ",
                b"node1/lrm: ",
                b"cmdlist: execute ",
                b"hardware: server 'node1' stopped by poweroff ",
                b"watchdog: execute power node1 off",
                b"' => '",
                b"state changed from '",
                b"=> ",
            ],
            Target::PveJournalShort | Target::PacemakerJournal | Target::Analyze | Target::Quorum => &[
                b"2026-11-22T12:00:00.000001+00:00 ",
                b"9999-12-31T23:59:60.999999-23:99 ",
                b"0000-01-01T00:00:00Z ",
                b"2026-02-31T24:00:00.1234567890+0100 ",
                b"-- Boot 0123 --\n",
                b"[1234]: ",
                b"[]: ",
                b"\t",
                b"{\"__REALTIME_TIMESTAMP\":\"",
                b"{\"kind\":",
                b"0x",
                b" (local)",
                b"Quorate: ",
                b"Nodeid ",
                b"Votes ",
                b"Membership information",
                b"=> ",
                b"' => '",
            ],
        }
    }
}

/// Made once from the seeds: a healthy status for the pollers to diff against, and
/// expectation files for `analyze`.
#[derive(Default)]
pub(crate) struct Bases {
    crm_mon: Option<String>,
    manager_status: Option<String>,
    plans: Vec<Plan>,
}

impl Bases {
    pub(crate) fn new(seeds: &super::Seeds) -> Bases {
        let text = |b: &Vec<u8>| String::from_utf8(b.clone()).ok();
        let crm_mon = seeds
            .of(Target::CrmMon)
            .iter()
            .filter_map(text)
            .find(|t| pacemaker::parse_crm_mon(t).is_ok_and(|s| !s.resources.is_empty()));
        let manager_status = seeds
            .of(Target::PveStatus)
            .iter()
            .filter_map(text)
            .find(|t| pve::parse_manager_status(t).is_ok_and(|s| !s.services.is_empty()));
        // The scenario seeds with no steps and an expectation: the expectation files.
        let plans = seeds
            .of(Target::Scenario)
            .iter()
            .filter_map(text)
            .filter_map(|t| scenario::parse("expect.yaml", &t, None).ok())
            .filter(|p| p.steps.is_empty() && (!p.expectations.is_empty() || !p.invariants.is_empty()))
            .take(8)
            .collect();
        Bases { crm_mon, manager_status, plans }
    }
}

/// The run's start and a node's clock offset: the live readers' clock arithmetic.
const T0_MS: i64 = 1_795_305_600_000;
/// When a status poll happened (seconds since the epoch, the fixtures' era).
const POLL_AT: i64 = 1_700_000_100;

/// Bytes as the text a reader of `&str` gets: the command output hadrill reads goes through
/// a lossy conversion first.
fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Results are kept from the optimiser: a reader whose result is unused could be left out.
fn keep<T>(value: T) {
    std::hint::black_box(value);
}

/// Call the target's readers on one input.
pub(crate) fn exercise(target: Target, input: &[u8], bases: &Bases) {
    match target {
        Target::Scenario => scenario_target(input),
        Target::Simulator => keep(pve::parse(input, pve::LogFormat::Simulator)),
        Target::PveJournalShort => keep(pve::parse(input, pve::LogFormat::JournalShort)),
        Target::PveJournalJson => pve_journal_json(input),
        Target::PacemakerJournal => pacemaker_journal(input),
        Target::CrmMon => crm_mon(input, bases),
        Target::FenceHistory => match pacemaker::parse_fence_history(&text(input)) {
            Ok(records) => records.iter().for_each(|r| keep((r.is_fencing(), r.event()))),
            Err(e) => keep(e.to_string()),
        },
        Target::PveStatus => pve_status(input, bases),
        Target::Quorum => {
            let text = text(input);
            let mut watch = pve::QuorumWatch::default();
            keep(watch.update("node1", &text));
            keep(watch.update("node1", &text).map_err(|e| e.to_string()));
            if let Ok(view) = pve::parse_quorumtool(&text) {
                keep(view.local());
                keep(view.event("node1"));
            }
        }
        Target::Analyze => analyze(input, bases),
    }
}

fn scenario_target(input: &[u8]) {
    let text = text(input);
    let Err(e) = scenario::parse("fuzz.yaml", &text, None) else { return };
    // What `hadrill validate` prints: every diagnostic drawn over its source excerpt.
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    keep(handler.render_report(&mut out, &e));
    for err in e.errors() {
        keep(err.short());
    }
}

fn pve_journal_json(input: &[u8]) {
    if let Err(e) = pve::parse(input, pve::LogFormat::JournalJson) {
        keep(e.to_string());
    }
    // The observer's stream: one entry at a time, put on the run's clock with an offset.
    let mut reader = pve::JournalReader::default();
    let offset = ClockOffset { offset_secs: 0.25, ..ClockOffset::ZERO };
    for line in input.split(|b| *b == b'\n') {
        let to_run =
            |us: i64| Seconds::from_millis(((us as f64 / 1e6 - offset.offset_secs) * 1000.0).round() as i64 - T0_MS);
        keep(reader.line(line, to_run));
        keep(reader.take());
        keep(parse_journal_line("node1", &text(line), &offset));
    }
    keep(reader.finish());
}

fn pacemaker_journal(input: &[u8]) {
    if let Err(e) = pacemaker::read_journal(input) {
        keep(e.to_string());
    }
    keep(pacemaker::journal_events(input, 0.25, T0_MS));
    // A lab run maps each entry onto the host's clock across a pause first.
    let anchor = ClockOffset {
        offset_secs: 0.2,
        uncertainty_secs: 0.005,
        host_secs: 1_795_305_600.0,
        boot_id: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
        guest_mono_secs: Some(5.0),
    };
    let map = ClockMap::new(vec![anchor], vec![Stall { from: 1_795_305_700.0, to: 1_795_305_748.0 }]);
    let (mapped, _) = map.map_export(input);
    keep(pacemaker::journal_events(&mapped, 0.0, T0_MS));
}

fn crm_mon(input: &[u8], bases: &Bases) {
    let text = text(input);
    let mut poller = pacemaker::StatusPoller::default();
    // From nothing, from a healthy cluster, and back to it.
    if let Err(e) = poller.update(&text) {
        keep(e.to_string());
    }
    if let Some(base) = &bases.crm_mon {
        let mut poller = pacemaker::StatusPoller::default();
        keep(poller.update(base));
        keep(poller.update(&text));
        keep(poller.update(base));
    }
    if let Some(status) = poller.last() {
        for id in status.service_ids() {
            keep(status.service(id));
            keep(pacemaker::error_state(status, id));
        }
    }
}

fn pve_status(input: &[u8], bases: &Bases) {
    let text = text(input);
    // The input as `manager_status`, fresh and then read long after (stale).
    let mut poller = pve::StatusPoller::default();
    if let Err(e) = poller.update(&text, None, POLL_AT) {
        keep(e.to_string());
    }
    keep(poller.update(&text, None, POLL_AT + 100));
    // The input as `current` beside a real `manager_status`, between two plain readings.
    if let Some(base) = &bases.manager_status {
        let mut poller = pve::StatusPoller::default();
        keep(poller.update(base, None, POLL_AT));
        keep(poller.update(base, Some(&text), POLL_AT + 10));
        keep(poller.update(base, None, POLL_AT + 20));
    }
    if let Ok(s) = pve::parse_manager_status(&text) {
        keep(s.active_master(POLL_AT));
    }
    if let Ok(c) = pve::parse_current(&text) {
        keep(c.to_ha_status().active_master(POLL_AT));
    }
}

fn analyze(input: &[u8], bases: &Bases) {
    match read_any(input, None) {
        Ok(timeline) => {
            // The expectation is chosen by the input itself, so that a crash replays.
            let plan = match input.len() % (bases.plans.len() + 1) {
                0 => None,
                i => bases.plans.get(i - 1),
            };
            let analysis = analyze_timeline(timeline, plan, "fuzz".into());
            keep(analysis.timeline.to_jsonl());
        }
        Err(e) => keep(e.to_string()),
    }
}
