//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  pass: every expectation was met (or there was nothing to check)
  1  fail: the HA stack did not meet an expectation
  2  inconclusive: the run or log could not decide an expectation
  3  infrastructure error: the lab or the harness broke
  4  invalid input: a bad scenario or expectation file, an unreadable log, bad usage";

/// Chaos and acceptance testing for VM high-availability clusters (Proxmox VE HA, Pacemaker).
///
/// hadrill checks what an HA cluster did against what it should have done: "fenced within
/// 60s", "restarted elsewhere within 120s", "never active on two nodes". It reads logs from
/// real clusters and the Proxmox HA simulator, and writes a timeline, a verdict and reports.
#[derive(Debug, Parser)]
#[command(name = "hadrill", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (when writing to a terminal), always or never. NO_COLOR is honoured.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario and expectation files without touching anything.
    ///
    /// Every problem is reported with its file, line and column, and what was expected.
    /// Unknown keys are errors.
    #[command(after_help = "Example:\n  hadrill validate scenarios/pve/*.yaml")]
    Validate {
        /// Scenario or expectation files (YAML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Turn an HA log into a timeline, and check it against expectations.
    ///
    /// The format is detected: the Proxmox HA simulator's log (log.expect), journal exports of
    /// pve-ha-crm, pve-ha-lrm, watchdog-mux and corosync (`journalctl -o short-iso-precise` or
    /// `-o json`), or a timeline.jsonl written by hadrill. The exit code follows the verdict.
    #[command(
        after_help = "Examples:\n  hadrill analyze log.expect\n  hadrill analyze journal.json --expect failover.yaml --report out/\n  hadrill analyze journal.txt --json | jq 'select(.kind == \"service\")'"
    )]
    Analyze {
        /// The log to read.
        #[arg(value_name = "LOG")]
        log: PathBuf,
        /// An expectation file: marks, expect, invariants, final (see `hadrill schema`).
        #[arg(long, value_name = "FILE")]
        expect: Option<PathBuf>,
        /// Print the timeline to stdout as JSON lines, one event per line, instead of a summary.
        #[arg(long)]
        json: bool,
        /// Write timeline.jsonl, junit.xml, report.html, summary.md and timeline.snap here.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Run scenarios on a lab of real VMs: build or reuse the image, bring the cluster up,
    /// inject the faults, check the timeline, write the reports, tear down.
    ///
    /// Each scenario gets a fresh lab and a run directory with timeline.jsonl, junit.xml,
    /// report.html, summary.md, timeline.snap and an artefact bundle (journals, console logs,
    /// domain XML, cluster configuration). The exit code is the worst verdict. Needs root,
    /// libvirtd (`sh ci/host-setup.sh`) and the hadrill-workload binary beside hadrill.
    #[command(
        after_help = "Examples:\n  hadrill run scenarios/pacemaker/power-pull.yaml\n  hadrill run scenarios/pacemaker/*.yaml --junit out/junit.xml --out out/runs"
    )]
    Run(crate::run_cmd::RunArgs),
    /// Build and list node images (cached qcow2 bases built from the recipes in images/).
    #[command(subcommand)]
    Image(crate::lab_cmds::ImageCommand),
    /// Bring a lab of real VMs up, show it, take it down.
    #[command(subcommand)]
    Lab(crate::lab_cmds::LabCommand),
    /// Remove what killed runs left behind (VMs, networks, overlays): only hadrill's own.
    Gc(crate::lab_cmds::GcArgs),
    /// Print the JSON Schema of scenario files, for editors.
    ///
    /// Point an editor at it with `# yaml-language-server: $schema=../../schema/scenario.json`.
    Schema,
}
