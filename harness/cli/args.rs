//! Command-line arguments: every command's, and nothing else (the command files import
//! these and the rendering, never each other).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hadrill::lab::{RunId, default_state_dir};
use hadrill::scenario::StackKind;
use hadrill::stack::pacemaker::Sabotage;

/// Chaos and acceptance testing for VM high-availability clusters (Proxmox VE HA, Pacemaker).
///
/// hadrill checks what an HA cluster did against what it should have done: "fenced within
/// 60s", "restarted elsewhere within 120s", "never active on two nodes". It reads logs from
/// real clusters and the Proxmox HA simulator, and writes a timeline, a verdict and reports.
#[derive(Debug, Parser)]
#[command(name = "hadrill", version, after_long_help = hadrill::exit::help_text(), after_help = hadrill::exit::help_text())]
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
    Run(RunArgs),
    /// Build and list node images (cached qcow2 bases built from the recipes in images/).
    #[command(subcommand)]
    Image(ImageCommand),
    /// Bring a lab of real VMs up, show it, take it down.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Remove what killed runs left behind (VMs, networks, overlays): only hadrill's own.
    Gc(GcArgs),
    /// Print the JSON Schema of scenario files, for editors.
    ///
    /// Point an editor at it with `# yaml-language-server: $schema=../../schema/scenario.json`.
    Schema,
}

/// Where the lab lives: libvirt and the state directory.
#[derive(Clone, Debug, clap::Args)]
pub struct HostArgs {
    /// libvirt URI [default: $HADRILL_LIBVIRT_URI, else qemu:///system].
    #[arg(long, value_name = "URI")]
    pub connect: Option<String>,
    /// Images, runs, keys and console logs [default: $HADRILL_STATE_DIR, else
    /// /var/lib/hadrill for root, else ~/.local/share/hadrill].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl HostArgs {
    pub fn uri(&self) -> String {
        self.connect
            .clone()
            .or_else(|| std::env::var("HADRILL_LIBVIRT_URI").ok())
            .unwrap_or_else(|| "qemu:///system".into())
    }
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(default_state_dir)
    }
}

/// `hadrill image ...`
#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Build a node image from its recipe into a cached qcow2 base (skipped when the recipe's
    /// hash is already built).
    #[command(after_help = "Example:\n  hadrill image build debian-ha")]
    Build {
        /// Recipe name: a directory under the recipes directory.
        #[arg(value_name = "NAME")]
        name: String,
        /// Rebuild even if an image with this recipe hash exists.
        #[arg(long)]
        force: bool,
        /// Recipes directory [default: $HADRILL_IMAGES_DIR, else ./images].
        #[arg(long, value_name = "DIR")]
        recipes: Option<PathBuf>,
        #[command(flatten)]
        host: HostArgs,
    },
    /// List recipes, their current hash, and the images built from them.
    List {
        /// Recipes directory [default: $HADRILL_IMAGES_DIR, else ./images].
        #[arg(long, value_name = "DIR")]
        recipes: Option<PathBuf>,
        #[command(flatten)]
        host: HostArgs,
    },
}

/// `hadrill lab ...`
#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Bring up an isolated lab (storage VM + N nodes) and wait until SSH answers on every VM.
    ///
    /// Without --keep, hadrill holds the lab, prints hypervisor events as they happen, and
    /// tears everything down on Ctrl-C. With --keep it returns once the lab is up and leaves
    /// it for `hadrill lab down RUN`.
    #[command(after_help = "Examples:\n  hadrill lab up --nodes 3\n  hadrill lab up --keep && hadrill lab status")]
    Up {
        /// Number of cluster nodes (1 to 16).
        #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
        nodes: u32,
        /// Image recipe to boot (built first if needed).
        #[arg(long, default_value = "debian-ha", value_name = "NAME")]
        image: String,
        /// Memory per node, MiB.
        #[arg(long, default_value_t = 768, value_name = "MIB")]
        memory: u32,
        /// Leave the lab up and return once SSH answers everywhere.
        #[arg(long)]
        keep: bool,
        /// Recipes directory [default: $HADRILL_IMAGES_DIR, else ./images].
        #[arg(long, value_name = "DIR")]
        recipes: Option<PathBuf>,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Show the runs on this host, or one run's VMs.
    Status {
        /// A run id (8 hex digits); without it, every run.
        #[arg(value_name = "RUN", value_parser = run_id)]
        run: Option<RunId>,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Tear a run down: its domains, networks, overlays, keys and console logs.
    Down {
        #[arg(value_name = "RUN", value_parser = run_id)]
        run: RunId,
        #[command(flatten)]
        host: HostArgs,
    },
}

/// `hadrill gc`: remove what killed runs left behind.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Also remove labs left up on purpose with `lab up --keep`, and runs whose directory is
    /// not in this state directory (another state directory's, perhaps kept there).
    #[arg(long)]
    pub all: bool,
    /// Only this run.
    #[arg(long, value_name = "RUN", value_parser = run_id)]
    pub run: Option<RunId>,
    /// Remove nothing: list what is left behind (one line per item, then `N left`).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub host: HostArgs,
}

/// A run id as `lab status`, `lab down` and `gc --run` take it: refused by the parser, like
/// any other bad argument (exit 4), before libvirt or the state directory is touched.
fn run_id(s: &str) -> Result<RunId, String> {
    RunId::parse(s).ok_or_else(|| "not a run id (8 hex digits, see `hadrill lab status`)".to_owned())
}

/// The stack to run a scenario on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StackArg {
    Pacemaker,
    Pve,
}

/// `--sabotage KIND`: the engine's kinds, offered under their names with what each breaks.
fn sabotage_kind() -> impl clap::builder::TypedValueParser<Value = Sabotage> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(Sabotage::ALL.map(|s| PossibleValue::new(s.name()).help(s.about())))
        .map(|name| Sabotage::ALL.into_iter().find(|s| s.name() == name).unwrap_or(Sabotage::ALL[0]))
}

/// `hadrill run ...`
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files (YAML); each runs on a fresh lab, one after the other.
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// Also write one JUnit XML file with every scenario's checks here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Leave each lab up after its run (`hadrill lab down RUN` removes it).
    #[arg(long)]
    pub keep: bool,
    /// The HA stack [default: the scenario's `stack:`].
    #[arg(long, value_enum)]
    pub stack: Option<StackArg>,
    /// The run directory (with several scenarios: the directory that holds one per run)
    /// [default: runs/<scenario>-<run id>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Image recipe to boot: the Pacemaker nodes', and the storage VM's of every lab (Proxmox
    /// VE nodes boot `pve-iso`, installed from the ISO, or `pve-debian`, built with the Proxmox
    /// repository, as the access settings allow).
    #[arg(long, default_value = "debian-ha", value_name = "NAME")]
    pub image: String,
    /// Recipes directory [default: $HADRILL_IMAGES_DIR, else ./images].
    #[arg(long, value_name = "DIR")]
    pub recipes: Option<PathBuf>,
    /// Break the cluster's set-up on purpose, to show that the scenario catches it: the run
    /// must then FAIL (exit 1), naming the expectation that was not met.
    #[arg(long, value_parser = sabotage_kind(), value_name = "KIND")]
    pub sabotage: Option<Sabotage>,
    /// The seed of `chaos:` scenarios' schedules (overrides the file's; without either, one
    /// from the clock). The drawn schedule is written as `schedule.yaml` in the run directory.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub host: HostArgs,
}

impl From<StackArg> for StackKind {
    fn from(a: StackArg) -> StackKind {
        match a {
            StackArg::Pacemaker => StackKind::Pacemaker,
            StackArg::Pve => StackKind::Pve,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// `--sabotage` offers every kind, under the name the reports print.
    #[test]
    fn every_sabotage_is_offered_under_its_name() {
        let cmd = Cli::command();
        let run = cmd.find_subcommand("run").expect("run");
        let arg = run.get_arguments().find(|a| a.get_id() == "sabotage").expect("--sabotage");
        let offered: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_owned()).collect();
        let names: Vec<String> = Sabotage::ALL.iter().map(|s| s.name().to_owned()).collect();
        assert_eq!(offered, names);
        for s in Sabotage::ALL {
            let parsed = Cli::try_parse_from(["hadrill", "run", "x.yaml", "--sabotage", s.name()])
                .unwrap_or_else(|e| panic!("{}: {e}", s.name()));
            match parsed.command {
                Command::Run(a) => assert_eq!(a.sabotage, Some(s)),
                _ => unreachable!(),
            }
        }
    }
}
