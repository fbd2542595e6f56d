//! The engine of `hadrill run`, as `analyze` is the engine of `hadrill analyze`: the CLI
//! hands it a [`SessionConfig`] and renders what it reports through a [`SessionObserver`].
//!
//! 1. [`prepare`]: every scenario loads and is runnable here (its stack, its cluster, the
//!    Proxmox VE access when it needs it, the workload binary, the image recipes, the run
//!    directory and the JUnit path) before anything is built.
//! 2. [`run`]: the images (built or reused), then one fresh lab per scenario: up, SSH, the
//!    stack's set-up, the readiness gate, the steps, collect, the artefact bundle, the
//!    judgement, the run directory, teardown (also on error and Ctrl-C, unless `keep`).
//! 3. One JUnit report of every scenario's suite, and the worst outcome as the exit code.
//!
//! Cancellation is the engine's: `run` sets the token on Ctrl-C and SIGTERM, and every wait
//! checks it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use super::cancel::{Cancel, connect_or_cancel};
use super::driver::Unready;
use super::error::RunError;
use super::execute::{Progress, RunOptions, RunResult, Stop, abandon, execute};
use super::lab_driver::LabDriver;
use super::pve_route::{PveAccess, pve_access};
use super::stacks::{self, PVE_MIN_MEMORY_MIB, StackConfig};
use crate::exit::Outcome;
use crate::image::pve;
use crate::image::{BuildOptions, BuiltImage, ImageCache, ImageError, Recipe};
use crate::lab::{self, Lab, LabConfig, NodeWatchdog, RunId};
use crate::report::{ReportInput, junit_suite, summary_text, write_reports};
use crate::scenario::{self, Plan, StackKind, StepKind, Timing};
use crate::stack::pacemaker::Sabotage;
use crate::timeline::{Roles, snapshot};

/// What the user asked `hadrill run` for.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub scenarios: Vec<PathBuf>,
    /// Overrides the scenarios' `stack:`.
    pub stack: Option<StackKind>,
    /// One JUnit file with every scenario's suite.
    pub junit: Option<PathBuf>,
    /// Leave each lab up after its run.
    pub keep: bool,
    /// The run directory (with several scenarios: the one that holds one per run).
    pub out: Option<PathBuf>,
    /// The recipe of the Pacemaker nodes and of every storage VM.
    pub image: String,
    pub recipes: PathBuf,
    pub sabotage: Option<Sabotage>,
    pub uri: String,
    pub state_dir: PathBuf,
    /// Overrides the seed of `chaos:` scenarios (`--seed`).
    pub seed: Option<u64>,
}

/// What a session reports as it goes.
pub trait SessionObserver {
    /// A scenario's lab is about to come up.
    fn started(&mut self, _scenario: &str) {}
    /// What the session is doing or waiting for, how long it has waited, and for at most how
    /// long.
    fn progress(&mut self, what: &str, waited: Duration, limit: Option<Duration>);
    /// A scenario's run is over.
    fn finished(&mut self, run: &ScenarioRun);
}

/// One scenario, validated and bound to its stack.
#[derive(Debug)]
pub struct Prepared {
    runs: Vec<(PathBuf, Plan, StackKind)>,
    /// The drawn schedule of each `chaos:` scenario (by its index in `runs`), written into
    /// its run directory as `schedule.yaml`.
    schedules: Vec<Option<String>>,
    pve: Option<PveAccess>,
    workload: Option<PathBuf>,
}

/// What one scenario's run came to.
#[derive(Debug)]
pub struct ScenarioRun {
    pub file: PathBuf,
    pub name: String,
    pub outcome: Outcome,
    /// The run directory, once the lab was up.
    pub dir: Option<PathBuf>,
    /// The summary, when the run was judged.
    pub summary: Option<String>,
    pub stopped: Option<Stop>,
    pub wall: Duration,
    /// What broke on the way (the lab, the reports, teardown).
    pub errors: Vec<RunError>,
    /// Left up with `keep`.
    pub kept: Option<RunId>,
    suite: Option<quick_junit::TestSuite>,
}

/// Everything a session did.
#[derive(Debug, Default)]
pub struct SessionReport {
    pub runs: Vec<ScenarioRun>,
    /// The JUnit file could not be written.
    pub junit: Option<RunError>,
    pub interrupted: bool,
}

impl SessionReport {
    /// The worst outcome of the session: its exit code.
    pub fn outcome(&self) -> Outcome {
        let mut all: Vec<Outcome> = self.runs.iter().map(|r| r.outcome).collect();
        all.extend(self.junit.as_ref().map(RunError::outcome));
        if self.interrupted {
            all.push(Outcome::Interrupted);
        }
        Outcome::worst(all)
    }
}

/// Checks every scenario before anything is built: it loads, names its stack (or `stack`
/// does) and a cluster, and what its stack needs here is there. Every problem found.
pub fn prepare(cfg: &SessionConfig) -> Result<Prepared, Vec<RunError>> {
    let mut errors = Vec::new();
    let mut runs = Vec::new();
    let mut schedules = Vec::new();
    let mut pve = None;
    for f in &cfg.scenarios {
        let plan = match scenario::load(f) {
            Ok(p) => p,
            Err(source) => {
                errors.push(RunError::Scenario { file: f.clone(), source: Box::new(source) });
                continue;
            }
        };
        let (plan, schedule) = match draw_schedule(f, plan, cfg.seed) {
            Ok(x) => x,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let stack = match (cfg.stack, plan.stack) {
            (Some(w), Some(s)) if w != s => {
                errors.push(RunError::StackMismatch { file: f.clone(), written: s.as_str(), asked: w.as_str() });
                continue;
            }
            (w, s) => match w.or(s) {
                Some(k) => k,
                None => {
                    errors.push(RunError::NoStack { file: f.clone() });
                    continue;
                }
            },
        };
        if plan.cluster.is_none() {
            errors.push(RunError::NoCluster { file: f.clone() });
            continue;
        }
        if stack == StackKind::Pve {
            if cfg.sabotage.is_some() {
                errors.push(RunError::SabotageNeedsPacemaker { file: f.clone() });
                continue;
            }
            // Say exactly what is missing (ISO, mirror, key, proxy) before anything is built.
            if pve.is_none() {
                match pve_access(f, &cfg.state_dir) {
                    Ok(route) => pve = Some(route),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
        }
        runs.push((f.clone(), plan, stack));
        schedules.push(schedule);
    }
    // Only the Pacemaker stack runs hadrill's own HA service.
    let workload = match runs.iter().any(|(_, _, s)| *s == StackKind::Pacemaker) {
        true => match workload_binary() {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        false => None,
    };
    // The recipes the labs boot must load before libvirt is asked or anything is built: a
    // misspelt --image is bad input on a host with libvirtd or without.
    let mut recipes = vec![cfg.image.clone()];
    if let Some(PveAccess::Debian(route)) = &pve {
        recipes.push(route.release.image_recipe().to_owned());
    }
    for name in recipes {
        if let Err(source) = Recipe::load(&cfg.recipes, &name) {
            errors.push(RunError::Recipe { name, source });
        }
    }
    // Where the results go must take them, before hours are spent on what fills them.
    let runs_dir = cfg.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    if errors.is_empty()
        && let Err(source) = probe_dir(&runs_dir)
    {
        errors.push(RunError::RunDir { path: runs_dir, source });
    }
    if errors.is_empty()
        && let Some(junit) = &cfg.junit
        && let Err(source) = probe_file(junit)
    {
        errors.push(RunError::Junit { path: junit.clone(), source });
    }
    if errors.is_empty() { Ok(Prepared { runs, schedules, pve, workload }) } else { Err(errors) }
}

/// A `chaos:` scenario's schedule drawn (seed: `--seed`, else the file's, else the clock's),
/// written as a plain scenario file, and loaded back: the run executes what that file says,
/// so running `schedule.yaml` replays it exactly. Other scenarios pass through.
fn draw_schedule(file: &Path, plan: Plan, seed: Option<u64>) -> Result<(Plan, Option<String>), RunError> {
    let Some(chaos) = &plan.chaos else {
        if seed.is_some() {
            warn!("{}: --seed is ignored: the scenario has no `chaos:` section", file.display());
        }
        return Ok((plan, None));
    };
    let seed = match seed.or(chaos.seed) {
        Some(s) => s,
        None => {
            let s = scenario::chaos::clock_seed();
            info!("{}: no seed given; drawn with seed {s} (replay: --seed {s})", file.display());
            s
        }
    };
    let steps = scenario::chaos::draw(chaos, seed);
    let invalid = |source| RunError::Scenario { file: file.to_owned(), source: Box::new(source) };
    let source = std::fs::read_to_string(file)
        .map_err(|source| invalid(scenario::LoadError::Read { path: file.display().to_string(), source }))?;
    let text = scenario::chaos::render(&source, seed, &steps)
        .map_err(|source| RunError::Schedule { file: file.to_owned(), source })?;
    let drawn = scenario::parse(&format!("{} (seed {seed})", file.display()), &text, file.parent()).map_err(invalid)?;
    info!("{}: chaos seed {seed}, {} steps drawn", file.display(), drawn.steps.len());
    Ok((drawn, Some(text)))
}

/// `dir` exists (made if need be) and takes a file.
fn probe_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".hadrill-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

/// `file` can be written (its directory made if need be): an existing one opens for
/// appending; a new one takes a byte, and is removed again.
fn probe_file(file: &Path) -> std::io::Result<()> {
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if file.exists() {
        return std::fs::OpenOptions::new().append(true).open(file).map(|_| ());
    }
    std::fs::write(file, b"-")?;
    std::fs::remove_file(file)
}

/// `hadrill-workload`, built beside `hadrill` (it is a default member of the workspace), or
/// `$HADRILL_WORKLOAD_BIN`. It is copied into the VMs at run time rather than baked into the
/// image: the image is cached by its recipe's hash, and the workload changes with hadrill.
fn workload_binary() -> Result<PathBuf, RunError> {
    if let Some(p) = std::env::var_os("HADRILL_WORKLOAD_BIN") {
        let path = PathBuf::from(p);
        return if path.is_file() { Ok(path) } else { Err(RunError::NoWorkload { path }) };
    }
    let me = std::env::current_exe().map_err(RunError::Runtime)?;
    let beside = me.with_file_name("hadrill-workload");
    if beside.is_file() { Ok(beside) } else { Err(RunError::NoWorkload { path: beside }) }
}

/// The images the labs boot: `base` for Pacemaker nodes and every storage VM, and the
/// Proxmox VE node image when a scenario needs it.
struct Images {
    base: BuiltImage,
    pve: Option<BuiltImage>,
}

/// Runs every prepared scenario, one lab each. `Err` only when nothing could run (the
/// runtime, an image); each scenario's own troubles are in its [`ScenarioRun`].
pub fn run(
    cfg: &SessionConfig,
    prepared: Prepared,
    cancel: &Cancel,
    observer: &mut dyn SessionObserver,
) -> Result<SessionReport, RunError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    cancel.on_signals(&rt);
    // libvirt first: without it nothing below is of use, and an image build would be wasted.
    crate::lab::Hypervisor::open(&cfg.uri).map_err(|source| RunError::Libvirt { uri: cfg.uri.clone(), source })?;
    let cache = ImageCache::new(&cfg.state_dir);
    // The Proxmox VE image first: what the user gave for it (an ISO, a mirror) is the likelier to
    // be wrong, and the base image is usually cached already.
    let pve_img = match &prepared.pve {
        None => None,
        Some(PveAccess::Debian(route)) => {
            let opts = BuildOptions { repositories: vec![route.repository()], ..BuildOptions::default() };
            Some(build_image(cfg, route.release.image_recipe(), opts, &cache, &rt, cancel)?)
        }
        Some(PveAccess::Iso(route)) => {
            let opts = pve::iso::IsoBuildOptions {
                uri: cfg.uri.clone(),
                state_dir: cfg.state_dir.clone(),
                recipes_dir: cfg.recipes.clone(),
                force: false,
            };
            let (c, source) = (cancel.flag().clone(), route.source.clone());
            let built = rt
                .block_on(rt.spawn_blocking(move || pve::iso::build_iso_image(&source, &opts, &c)))
                .map_err(|e| RunError::Runtime(std::io::Error::other(e)))?;
            Some(built.map_err(RunError::IsoImage)?)
        }
    };
    let base = build_image(cfg, &cfg.image, BuildOptions::default(), &cache, &rt, cancel)?;
    let images = Images { base, pve: pve_img };

    let several = prepared.runs.len() > 1;
    let mut report = SessionReport::default();
    for (i, (file, plan, stack)) in prepared.runs.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        observer.started(&plan.name);
        let ctx = OneRun { cfg, prepared: &prepared, images: &images, rt: &rt, cancel, several };
        let schedule = prepared.schedules.get(i).and_then(Option::as_deref);
        let done = ctx.run(file, plan, schedule, *stack, observer);
        observer.finished(&done);
        report.runs.push(done);
    }
    if let Some(path) = &cfg.junit {
        let mut junit = quick_junit::Report::new("hadrill run");
        for r in &report.runs {
            if let Some(s) = &r.suite {
                junit.add_test_suite(s.clone());
            }
        }
        if let Err(source) = write_junit(path, &junit) {
            report.junit = Some(RunError::Junit { path: path.clone(), source });
        }
    }
    report.interrupted = cancel.is_cancelled();
    Ok(report)
}

fn write_junit(path: &Path, junit: &quick_junit::Report) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let xml = junit.to_string().map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}

/// Builds (or reuses) recipe `name`.
fn build_image(
    cfg: &SessionConfig,
    name: &str,
    opts: BuildOptions,
    cache: &ImageCache,
    rt: &tokio::runtime::Runtime,
    cancel: &Cancel,
) -> Result<BuiltImage, RunError> {
    let recipe =
        Recipe::load(&cfg.recipes, name).map_err(|source| RunError::Recipe { name: name.to_owned(), source })?;
    let (c, cache) = (cancel.flag().clone(), cache.clone());
    let built = rt
        .block_on(rt.spawn_blocking(move || crate::image::build(&recipe, &cache, &opts, &c)))
        .map_err(|e| RunError::Runtime(std::io::Error::other(e)))?;
    built.map_err(|source| match source {
        ImageError::Interrupted => RunError::Interrupted,
        source => RunError::Image { name: name.to_owned(), source },
    })
}

/// The longest a plan can take if every wait runs out, for the remote loops' own limits.
pub fn plan_limit(plan: &Plan, options: &RunOptions) -> Duration {
    let mut total = Duration::from_secs(600);
    for s in &plan.steps {
        total += match &s.what {
            StepKind::Await { timeout, .. } => *timeout,
            StepKind::Wait(d) => *d,
            StepKind::Action { timeout, .. } => *timeout,
            StepKind::Expect(ix) => ix
                .iter()
                .map(|i| match &plan.expectations[*i].timing {
                    Timing::Within { bound, .. } => *bound,
                    Timing::Eventually { .. } => options.eventually_cap,
                    Timing::Final => Duration::ZERO,
                })
                .max()
                .unwrap_or_default(),
            // A fault waits for readiness first.
            StepKind::Fault { .. } => Duration::from_secs(240),
            StepKind::Heal { .. } => Duration::from_secs(60),
        };
    }
    total
}

/// What every scenario's run shares.
struct OneRun<'a> {
    cfg: &'a SessionConfig,
    prepared: &'a Prepared,
    images: &'a Images,
    rt: &'a tokio::runtime::Runtime,
    cancel: &'a Cancel,
    several: bool,
}

impl OneRun<'_> {
    fn run(
        &self,
        file: &Path,
        plan: &Plan,
        schedule: Option<&str>,
        stack: StackKind,
        observer: &mut dyn SessionObserver,
    ) -> ScenarioRun {
        let wall = Instant::now();
        let mut done = ScenarioRun {
            file: file.to_owned(),
            name: plan.name.clone(),
            outcome: Outcome::InfraError,
            dir: None,
            summary: None,
            stopped: None,
            wall: Duration::ZERO,
            errors: Vec::new(),
            kept: None,
            suite: None,
        };
        let Some(cluster) = plan.cluster.as_ref() else {
            done.errors.push(RunError::NoCluster { file: file.to_owned() });
            done.outcome = Outcome::InvalidInput;
            return done;
        };
        info!(
            "scenario {} ({}): {} nodes, {:?} storage",
            plan.name,
            file.display(),
            cluster.nodes.len(),
            cluster.storage
        );
        let sabotage = self.cfg.sabotage;
        if let Some(s) = sabotage {
            warn!("set-up broken on purpose ({s}): {}; this run must FAIL", s.about());
        }
        let mut lab_cfg = LabConfig::new(&self.cfg.uri, &self.cfg.state_dir, cluster.nodes.len() as u32);
        lab_cfg.node_memory_mib = cluster.memory_mib;
        lab_cfg.watchdog = sabotage.map_or(NodeWatchdog::Reset, |s| s.node_watchdog());
        let image = match (stack, &self.images.pve) {
            (StackKind::Pve, Some(pve_img)) => {
                if cluster.memory_mib < PVE_MIN_MEMORY_MIB {
                    info!(
                        "Proxmox VE nodes get {PVE_MIN_MEMORY_MIB} MiB (the cluster file asks for {} MiB): Proxmox VE's minimum",
                        cluster.memory_mib
                    );
                }
                lab_cfg.node_memory_mib = cluster.memory_mib.max(PVE_MIN_MEMORY_MIB);
                lab_cfg.storage_image = Some(self.images.base.clone());
                pve_img.clone()
            }
            _ => self.images.base.clone(),
        };
        let c = self.cancel.flag().clone();
        let lab = match self.rt.block_on(self.rt.spawn_blocking(move || Lab::up(&lab_cfg, &image, &c))) {
            Ok(Ok(lab)) => lab,
            Ok(Err(e)) => {
                let e = RunError::Lab(e);
                done.outcome = e.outcome();
                done.errors.push(e);
                done.wall = wall.elapsed();
                return done;
            }
            Err(e) => {
                done.errors.push(RunError::Runtime(std::io::Error::other(e)));
                done.wall = wall.elapsed();
                return done;
            }
        };
        let run_id = lab.run().to_string();
        let name = match sabotage {
            Some(s) => format!("{}-{s}-{run_id}", plan.name),
            None => format!("{}-{run_id}", plan.name),
        };
        let dir = match (&self.cfg.out, self.several) {
            (Some(d), false) => d.clone(),
            (Some(d), true) => d.join(name),
            (None, _) => PathBuf::from("runs").join(name),
        };
        info!(run = run_id, "lab up ({}); run directory {}", lab::describe_accel(lab.record().accel), dir.display());
        done.dir = Some(dir.clone());
        // Before the lab work, so that a run that breaks can still be replayed.
        if let Some(text) = schedule {
            let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("schedule.yaml"), text));
            if let Err(e) = written {
                warn!("{}: schedule.yaml not written: {e}", dir.display());
            }
        }
        let options = RunOptions::default();
        let config = StackConfig {
            sabotage,
            workload: self.prepared.workload.clone().unwrap_or_default(),
            apt_proxy: self.prepared.pve.as_ref().and_then(|p| p.apt_proxy().map(str::to_owned)),
            run_limit: plan_limit(plan, &options),
        };
        let driven = self.drive(plan, stack, &lab, &config, &options, &dir, observer);
        match driven {
            Ok((result, t0)) => self.judge(file, sabotage, result, t0, &dir, &mut done),
            Err(e) => {
                done.outcome = e.outcome();
                done.errors.push(e);
            }
        }
        if self.cancel.is_cancelled() {
            done.outcome = Outcome::Interrupted;
        }
        self.finish_lab(lab, &mut done);
        done.wall = wall.elapsed();
        done
    }

    /// Everything between a lab that is up and a run to judge, with the artefact bundle
    /// written. `Err` only when the lab's VMs never answered or the driver could not start.
    #[allow(clippy::too_many_arguments)]
    fn drive(
        &self,
        plan: &Plan,
        stack: StackKind,
        lab: &Lab,
        config: &StackConfig,
        options: &RunOptions,
        dir: &Path,
        observer: &mut dyn SessionObserver,
    ) -> Result<(RunResult, SystemTime), RunError> {
        let t = Instant::now();
        let within = lab.scaled(stacks::ssh_within(stack));
        observer.progress("waiting for SSH on every VM", Duration::ZERO, Some(within));
        let fleet = match connect_or_cancel(self.rt, lab, within, self.cancel) {
            None => return Err(RunError::Interrupted),
            Some(Err(source)) => return Err(RunError::Ssh { consoles: lab.run_dir().consoles(), source }),
            Some(Ok(f)) => f,
        };
        info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "SSH up on every VM");
        let side = stacks::side(stack, config);
        let mut driver = LabDriver::start(lab, fleet, self.rt.handle().clone(), self.cancel.flag().clone(), side)
            .map_err(RunError::Driver)?;
        let result = self.steps(plan, stack, &mut driver, options, observer);
        // The artefact bundle comes from the live lab, before the driver lets go of it.
        if !self.cancel.is_cancelled()
            && let Err(e) = driver.write_artefacts(&dir.join("artefacts"))
        {
            warn!("artefacts incomplete: {e}");
        }
        driver.close();
        Ok((result, driver.t0()))
    }

    /// The stack's set-up, the readiness gate, the set-up's last touch, then the plan's steps.
    fn steps(
        &self,
        plan: &Plan,
        stack: StackKind,
        driver: &mut LabDriver,
        options: &RunOptions,
        observer: &mut dyn SessionObserver,
    ) -> RunResult {
        let t = Instant::now();
        let setup = driver.setup(plan, &mut |what| observer.progress(&format!("bootstrap: {what}"), t.elapsed(), None));
        if let Err(e) = setup {
            return abandon(plan, driver, options, set_up_label(stack), stop_of(&e));
        }
        let ready_within = stacks::ready_within(stack);
        if let Err(why) = driver.wait_ready(ready_within, &mut |why, waited| {
            observer.progress(&format!("waiting for a ready cluster: {why}"), waited, Some(ready_within))
        }) {
            let stop = match why {
                Unready::Interrupted => Stop::InfraError("interrupted".into()),
                Unready::Missing(why) => {
                    Stop::Inconclusive(format!("not ready within {}: {why}", scenario::format_duration(ready_within)))
                }
            };
            return abandon(plan, driver, options, "the cluster became ready", stop);
        }
        if let Err(e) = driver.after_ready(plan) {
            return abandon(plan, driver, options, "the set-up was broken as asked", stop_of(&e));
        }
        let mut progress =
            |p: &Progress| observer.progress(&format!("step {}/{}: {}", p.step, p.steps, p.what), p.waited, p.limit);
        execute(plan, driver, options, &mut progress)
    }

    /// Judges a driven run and writes the run directory.
    fn judge(
        &self,
        file: &Path,
        sabotage: Option<Sabotage>,
        result: RunResult,
        t0: SystemTime,
        dir: &Path,
        done: &mut ScenarioRun,
    ) {
        let RunResult { mut timeline, mut evaluation, stopped, .. } = result;
        timeline.meta.source = Some(file.display().to_string());
        timeline.meta.start = jiff::Timestamp::try_from(t0).ok().map(|t| t.to_string());
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        timeline.meta.setup = sabotage.map(|s| s.setup_note(stem, &evaluation.checks));
        let roles = Roles::infer(&timeline, &evaluation.roles);
        let snap = snapshot(&timeline, &roles);
        evaluation.roles = roles;
        let input = ReportInput { timeline: &timeline, evaluation: &evaluation, snapshot: &snap };
        // Checks marked `expected: fail` are met by failing.
        done.outcome = Outcome::from(evaluation.judged().unwrap_or(crate::check::Verdict::Inconclusive));
        done.suite = Some(junit_suite(&input));
        if let Err(e) = write_reports(dir, &input) {
            done.outcome = Outcome::InfraError;
            done.errors.push(RunError::Reports(e));
        }
        done.summary = Some(summary_text(&input));
        done.stopped = stopped;
    }

    /// Tears the lab down, or leaves it with `keep`.
    fn finish_lab(&self, lab: Lab, done: &mut ScenarioRun) {
        let run = lab.run().clone();
        if self.cfg.keep {
            match lab.keep() {
                Ok(_) => done.kept = Some(run),
                Err(source) => {
                    done.outcome = Outcome::worst([done.outcome, Outcome::InfraError]);
                    done.errors.push(RunError::Keep { run, source });
                }
            }
            return;
        }
        match lab.down() {
            Ok((removed, took)) => info!(
                "run {run} torn down in {:.1} s ({} domains, {} networks)",
                took.as_secs_f64(),
                removed.domains.len(),
                removed.networks.len()
            ),
            Err(source) => {
                done.outcome = Outcome::worst([done.outcome, Outcome::InfraError]);
                done.errors.push(RunError::Teardown { run, source });
            }
        }
    }
}

/// The name of the check a run whose set-up broke fails.
fn set_up_label(stack: StackKind) -> &'static str {
    match stack {
        StackKind::Pacemaker => "the Pacemaker stack was set up",
        StackKind::Pve => "the Proxmox VE cluster was set up",
    }
}

/// A set-up error as the reason a run stopped.
fn stop_of(e: &super::driver::DriverError) -> Stop {
    Stop::InfraError(e.to_string())
}
