//! `hadrill run`: scenarios on a lab of real VMs with the Pacemaker stack, or with Proxmox VE
//! by its ISO route (when the host was given the Proxmox VE ISO) or its Debian route (a
//! mirror of the Proxmox repository and its key). For each scenario: validate (all of them first, and the Proxmox access before
//! anything is built), build or reuse the images, bring the lab up, bootstrap the stack, gate
//! on readiness, execute the steps, collect, judge, write the run directory, print the
//! summary, tear down (also on error and Ctrl-C, unless --keep). Exits with the verdict.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hadrill::check::{EXIT_INVALID_INPUT, Verdict};
use hadrill::image::{BuildOptions, BuiltImage, ImageCache, Recipe, default_recipes_dir};
use hadrill::lab::{self, Lab, LabConfig, NodeWatchdog};
use hadrill::node::Fleet;
use hadrill::report::{ReportInput, summary_text, write_reports};
use hadrill::run::{
    self, LabDriver, LabDriverOptions, PVE_MIN_MEMORY_MIB, Progress, PveDriverOptions, PveLabDriver, RunOptions,
    RunResult, Stop,
};
use hadrill::scenario::{self, Plan, StackKind, StepKind, Timing};
use hadrill::stack::pacemaker::{NodeAddr, Profile, Sabotage, bootstrap_plan};
use hadrill::stack::pve;
use hadrill::timeline::{Roles, snapshot};
use tracing::{info, warn};
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::lab_cmds::HostArgs;
use crate::render;

const EXIT_INTERRUPTED: i32 = 130;

/// The stack to run a scenario on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StackArg {
    Pacemaker,
    Pve,
}

/// A set-up broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SabotageArg {
    /// sbd disabled and stonith-enabled=false (the only way Pacemaker runs resources without
    /// sbd): nothing fences a lost node.
    NoSbd,
    /// No watchdog device or module (no i6300esb, softdog blacklisted, SBD_WATCHDOG_DEV=/dev/null):
    /// nothing resets a node whose sbd hangs.
    NoWatchdog,
    /// Once the service runs, its failure budget is used up on every other node: a fault
    /// leaves it nowhere to go.
    RelocateExhausted,
    /// sbd's watchdog timeout raised to 90 s in SBD_OPTS ("-1 90") while Pacemaker reads
    /// SBD_WATCHDOG_TIMEOUT=10: peers declare a node self-fenced long before it resets.
    ShortFenceTimeout,
    /// The watchdog never resets (i6300esb with libvirt action 'none', softdog
    /// soft_noboot=1): nothing resets a node whose sbd hangs.
    WatchdogNoReset,
    /// Once the service runs, a fence_watchdog device whose pcmk_host_list leaves out the node
    /// that runs it: nothing can fence that node.
    OneNodeUnfenceable,
    /// The service's resource has no monitor operation: nobody notices it hang.
    NoMonitor,
    /// stonith-watchdog-timeout left unset with sbd running: resources start, but nothing
    /// can fence.
    NoWatchdogTimeout,
    /// corosync and pacemaker started by hand, not enabled at boot: a node that restarts
    /// stays out of the cluster.
    NoAutostart,
    /// Once the service runs, permanent bans (crm_resource --ban) of it from every other
    /// node: a fault leaves it nowhere to go.
    LeftoverBans,
    /// The monitor operation has on-fail=ignore: a failed service is left where it is.
    MonitorIgnored,
}

impl From<SabotageArg> for Sabotage {
    fn from(a: SabotageArg) -> Sabotage {
        match a {
            SabotageArg::NoSbd => Sabotage::NoSbd,
            SabotageArg::NoWatchdog => Sabotage::NoWatchdog,
            SabotageArg::RelocateExhausted => Sabotage::RelocateExhausted,
            SabotageArg::ShortFenceTimeout => Sabotage::ShortFenceTimeout,
            SabotageArg::WatchdogNoReset => Sabotage::WatchdogNoReset,
            SabotageArg::OneNodeUnfenceable => Sabotage::OneNodeUnfenceable,
            SabotageArg::NoMonitor => Sabotage::NoMonitor,
            SabotageArg::NoWatchdogTimeout => Sabotage::NoWatchdogTimeout,
            SabotageArg::NoAutostart => Sabotage::NoAutostart,
            SabotageArg::LeftoverBans => Sabotage::LeftoverBans,
            SabotageArg::MonitorIgnored => Sabotage::MonitorIgnored,
        }
    }
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
    #[arg(long, value_enum, value_name = "KIND")]
    pub sabotage: Option<SabotageArg>,
    #[command(flatten)]
    pub host: HostArgs,
}

/// What one scenario's run produced.
struct Outcome {
    code: i32,
    junit: Option<String>,
}

pub fn run(args: RunArgs, color: bool) -> i32 {
    // 1. Every scenario valid, and runnable here, before anything is built or booted.
    let mut plans = Vec::new();
    let mut bad = false;
    for f in &args.scenarios {
        match scenario::load(f) {
            Ok(p) => plans.push((f.clone(), p)),
            Err(e) => {
                bad = true;
                crate::commands::print_load_error(&e, color);
            }
        }
    }
    if bad {
        return EXIT_INVALID_INPUT;
    }
    let mut stacks = Vec::new();
    let mut pve: Option<PveAccess> = None;
    for (f, p) in &plans {
        let file_stack = p.stack;
        let want = args.stack.map(|s| match s {
            StackArg::Pacemaker => StackKind::Pacemaker,
            StackArg::Pve => StackKind::Pve,
        });
        let stack = match (want, file_stack) {
            (Some(w), Some(s)) if w != s => {
                eprintln!("error: {} is written for the {} stack, not {}", f.display(), s.as_str(), w.as_str());
                return EXIT_INVALID_INPUT;
            }
            (w, s) => w.or(s),
        };
        match stack {
            Some(StackKind::Pacemaker) => stacks.push(StackKind::Pacemaker),
            Some(StackKind::Pve) => {
                // Say exactly what is missing (ISO, mirror, key, proxy) before anything is built.
                match pve_access(f) {
                    Ok(route) => {
                        if args.sabotage.is_some() {
                            eprintln!(
                                "error: {}: --sabotage breaks a Pacemaker set-up; it has no Proxmox VE form yet",
                                f.display()
                            );
                            return EXIT_INVALID_INPUT;
                        }
                        pve = Some(route);
                    }
                    Err(why) => {
                        eprintln!("error: {}: {why}\nNo lab was made.", f.display());
                        return Verdict::InfraError.exit_code();
                    }
                }
                stacks.push(StackKind::Pve);
            }
            None => {
                eprintln!("error: {}: no `stack:` in the file; pass --stack pacemaker", f.display());
                return EXIT_INVALID_INPUT;
            }
        }
        if p.cluster.is_none() {
            eprintln!("error: {}: a scenario for `hadrill run` needs a `cluster:`", f.display());
            return EXIT_INVALID_INPUT;
        }
    }

    // 2. The host: runtime, Ctrl-C, image, workload binary.
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Verdict::InfraError.exit_code();
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    crate::lab_cmds::watch_signals(&rt, cancel.clone());
    // Only the Pacemaker stack runs hadrill's own HA service.
    let workload = if stacks.contains(&StackKind::Pacemaker) {
        match workload_binary() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Verdict::InfraError.exit_code();
            }
        }
    } else {
        PathBuf::new()
    };
    let recipes = args.recipes.clone().unwrap_or_else(default_recipes_dir);
    let cache = ImageCache::new(&args.host.state_dir());
    // The Proxmox VE image first: what the user gave for it (an ISO, a mirror) is the likelier to
    // be wrong, and the base image is usually cached already.
    let pve_img = match &pve {
        None => None,
        Some(PveAccess::Debian(route)) => {
            let opts = BuildOptions { repositories: vec![route.repository()], ..BuildOptions::default() };
            match build_image(&recipes, route.release.image_recipe(), opts, &cache, &rt, &cancel, color) {
                Ok(img) => Some(img),
                Err(code) => return code,
            }
        }
        Some(PveAccess::Iso(route)) => match build_pve_iso(route, &args.host, &recipes, false, &rt, &cancel, color) {
            Ok(img) => Some(img),
            Err(code) => return code,
        },
    };
    let img = match build_image(&recipes, &args.image, BuildOptions::default(), &cache, &rt, &cancel, color) {
        Ok(img) => img,
        Err(code) => return code,
    };
    let images = Images { base: img, pve: pve_img.zip(pve) };

    // 3. One lab per scenario.
    let mut codes = Vec::new();
    let mut suites = Vec::new();
    for (f, plan) in &plans {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let out = run_one(f, plan, &args, &images, &workload, &rt, &cancel, plans.len() > 1, color);
        codes.push(out.code);
        suites.extend(out.junit);
    }
    if let Some(path) = &args.junit
        && let Err(e) = write_junit(path, &suites)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        codes.push(Verdict::InfraError.exit_code());
    }
    if cancel.load(Ordering::Relaxed) {
        return EXIT_INTERRUPTED;
    }
    // The worst verdict wins: infra error > fail > inconclusive > pass.
    let rank = |c: i32| match c {
        0 => 0,
        2 => 1,
        1 => 2,
        _ => 3,
    };
    codes.into_iter().max_by_key(|c| rank(*c)).unwrap_or(0)
}

/// What the Debian route needs from the access settings (checked: the key matches the
/// documented digest).
pub(crate) struct PveRoute {
    release: pve::Release,
    repository: String,
    keyring: PathBuf,
    apt_proxy: Option<String>,
}

impl PveRoute {
    pub(crate) fn repository(&self) -> hadrill::image::ExtraRepository {
        pve::image_repository(self.release, &self.repository, &self.keyring, self.apt_proxy.as_deref())
    }
}

/// The Proxmox VE release the access settings ask for.
pub(crate) fn pve_release() -> Result<pve::Release, String> {
    let env = |k: &str| std::env::var(k).ok();
    pve::AccessConfig::load(Path::new(pve::RECIPE), env).map(|c| c.release).map_err(|e| e.to_string())
}

/// The route `hadrill run` can take for a Proxmox VE scenario (`file`, for the log), or why
/// it cannot.
pub(crate) fn pve_route(file: &Path) -> Result<PveRoute, String> {
    let env = |k: &str| std::env::var(k).ok();
    let cfg = pve::AccessConfig::load(Path::new(pve::RECIPE), env).map_err(|e| e.to_string())?;
    match pve::check_access(&cfg, on_path).map_err(|e| e.to_string())? {
        pve::Install::Iso { .. } => Err(format!(
            "an ISO is configured ({}), so Proxmox VE nodes come from the ISO route's image \
             (`hadrill image build {}`), not from images/{}; for the Debian route, unset it and give \
             HADRILL_PVE_MIRROR and HADRILL_PVE_KEYRING",
            cfg.iso.as_ref().map(|i| i.from.as_str()).unwrap_or("?"),
            pve::iso::ISO_IMAGE,
            cfg.release.image_recipe()
        )),
        pve::Install::Debian { repository, keyring, apt_proxy } => {
            info!(scenario = %file.display(), repository, release = cfg.release.major(), "Proxmox VE by the Debian route");
            Ok(PveRoute { release: cfg.release, repository, keyring, apt_proxy })
        }
    }
}

/// How Proxmox VE nodes get their image: by the ISO route when an ISO is configured, else by
/// the Debian route ([`pve_route`]).
pub(crate) enum PveAccess {
    Debian(PveRoute),
    Iso(PveIsoRoute),
}

/// What the ISO route needs from the access settings (checked: an ISO 9660 image, and the
/// assistant unless it was prepared already).
pub(crate) struct PveIsoRoute {
    pub(crate) source: pve::iso::IsoSource,
    apt_proxy: Option<String>,
}

impl PveAccess {
    fn apt_proxy(&self) -> Option<&str> {
        match self {
            PveAccess::Debian(r) => r.apt_proxy.as_deref(),
            PveAccess::Iso(r) => r.apt_proxy.as_deref(),
        }
    }
}

/// The route `hadrill run` takes for a Proxmox VE scenario (`file`, for the log): the ISO
/// route when an ISO is configured, else [`pve_route`]'s; or why neither is possible.
pub(crate) fn pve_access(file: &Path) -> Result<PveAccess, String> {
    let env = |k: &str| std::env::var(k).ok();
    let cfg = pve::AccessConfig::load(Path::new(pve::RECIPE), env).map_err(|e| e.to_string())?;
    if let pve::Install::Iso { iso, prepare, apt_proxy } =
        pve::check_access(&cfg, on_path).map_err(|e| e.to_string())?
    {
        info!(scenario = %file.display(), iso = %iso.display(), "Proxmox VE by the ISO route");
        let source = pve::iso::IsoSource { release: cfg.release, iso, prepare };
        return Ok(PveAccess::Iso(PveIsoRoute { source, apt_proxy }));
    }
    pve_route(file).map(PveAccess::Debian)
}

/// Builds (or reuses) the ISO route's node image; `Err` is the exit code, the problem already
/// printed.
pub(crate) fn build_pve_iso(
    route: &PveIsoRoute,
    host: &HostArgs,
    recipes: &Path,
    force: bool,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    color: bool,
) -> Result<BuiltImage, i32> {
    let opts = pve::iso::IsoBuildOptions {
        uri: host.uri(),
        state_dir: host.state_dir(),
        recipes_dir: recipes.to_owned(),
        force,
    };
    let (c, source) = (cancel.clone(), route.source.clone());
    let built = rt.block_on(rt.spawn_blocking(move || pve::iso::build_iso_image(&source, &opts, &c)));
    build_outcome(built, |e| matches!(e, pve::iso::IsoImageError::Interrupted), color)
}

/// A finished image build as `build_image` returns it: the image, or the exit code with the
/// problem printed (interrupted: 130, no message).
fn build_outcome<E: miette::Diagnostic + Send + 'static>(
    built: Result<Result<BuiltImage, E>, tokio::task::JoinError>,
    interrupted: impl Fn(&E) -> bool,
    color: bool,
) -> Result<BuiltImage, i32> {
    match built {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(e)) if interrupted(&e) => Err(EXIT_INTERRUPTED),
        Ok(Err(e)) => {
            eprint!("{}", render::diagnostic(&e, color));
            Err(Verdict::InfraError.exit_code())
        }
        Err(e) => {
            eprintln!("error: image build: {e}");
            Err(Verdict::InfraError.exit_code())
        }
    }
}

/// The images the labs boot: `base` for Pacemaker nodes and every storage VM, and the
/// Proxmox VE node image with its route when a scenario needs it.
struct Images {
    base: BuiltImage,
    pve: Option<(BuiltImage, PveAccess)>,
}

/// Builds (or reuses) recipe `name`; `Err` is the exit code, the problem already printed.
fn build_image(
    recipes: &Path,
    name: &str,
    opts: BuildOptions,
    cache: &ImageCache,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    color: bool,
) -> Result<BuiltImage, i32> {
    let recipe = match Recipe::load(recipes, name) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", render::diagnostic(&e, color));
            return Err(EXIT_INVALID_INPUT);
        }
    };
    let (c, cache) = (cancel.clone(), cache.clone());
    let built = rt.block_on(rt.spawn_blocking(move || hadrill::image::build(&recipe, &cache, &opts, &c)));
    build_outcome(built, |e| matches!(e, hadrill::image::ImageError::Interrupted), color)
}

/// `hadrill-workload`, built beside `hadrill` (it is a default member of the workspace), or
/// `$HADRILL_WORKLOAD_BIN`. It is copied into the VMs at run time rather than baked into the
/// image: the image is cached by its recipe's hash, and the workload changes with hadrill.
fn workload_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("HADRILL_WORKLOAD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find the hadrill binary: {e}"))?;
    let beside = me.with_file_name("hadrill-workload");
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "{} not found: the HA service's binary is built with `cargo build --release -p hadrill-workload` \
             (or set HADRILL_WORKLOAD_BIN)",
            beside.display()
        ))
    }
}

/// The longest a plan can take if every wait runs out, for the remote loops' own limits.
fn plan_limit(plan: &Plan, options: &RunOptions) -> Duration {
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

/// Progress on one line (a bar on a terminal), and a log line whenever what is awaited
/// changes or every 30 s, so that a CI log says what the run waits for.
struct Bar {
    span: tracing::Span,
    last: String,
    logged: Instant,
}

impl Bar {
    fn new(name: &str) -> Bar {
        let span = tracing::info_span!("run", scenario = name);
        span.pb_set_style(
            &tracing_indicatif::style::ProgressStyle::with_template("{spinner} {span_name} [{elapsed}] {wide_msg}")
                .unwrap_or_else(|_| tracing_indicatif::style::ProgressStyle::default_spinner()),
        );
        let _ = span.enter();
        Bar { span, last: String::new(), logged: Instant::now() }
    }

    fn say(&mut self, what: &str, waited: Duration, limit: Option<Duration>) {
        let limit =
            limit.map(|l| format!(" of at most {}", scenario::format_duration(whole_secs(l)))).unwrap_or_default();
        let msg = format!("{what} (waited {}{limit})", scenario::format_duration(whole_secs(waited)));
        self.span.pb_set_message(&msg);
        if what != self.last || self.logged.elapsed() >= Duration::from_secs(30) {
            info!("{msg}");
            self.last = what.to_owned();
            self.logged = Instant::now();
        }
    }

    fn step(&mut self, p: &Progress) {
        self.say(&format!("step {}/{}: {}", p.step, p.steps, p.what), p.waited, p.limit);
    }
}

fn whole_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    file: &Path,
    plan: &Plan,
    args: &RunArgs,
    images: &Images,
    workload: &Path,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    several: bool,
    color: bool,
) -> Outcome {
    let wall = Instant::now();
    let cluster = plan.cluster.as_ref().expect("checked before");
    // Checked before: a Proxmox VE scenario runs only with its route and image.
    let pve = match args.stack.map(|s| s == StackArg::Pve).unwrap_or(plan.stack == Some(StackKind::Pve)) {
        true => images.pve.as_ref(),
        false => None,
    };
    info!("scenario {} ({}): {} nodes, {:?} storage", plan.name, file.display(), cluster.nodes.len(), cluster.storage);
    let sabotage = args.sabotage.map(Sabotage::from);
    if let Some(s) = sabotage {
        warn!("set-up broken on purpose ({s}): {}; this run must FAIL", s.about());
    }
    let mut cfg = LabConfig::new(&args.host.uri(), &args.host.state_dir(), cluster.nodes.len() as u32);
    cfg.node_memory_mib = cluster.memory_mib;
    cfg.watchdog = sabotage.map_or(NodeWatchdog::Reset, |s| s.node_watchdog());
    let im = match pve {
        Some((pve_img, _)) => {
            if cluster.memory_mib < PVE_MIN_MEMORY_MIB {
                info!(
                    "Proxmox VE nodes get {PVE_MIN_MEMORY_MIB} MiB (the cluster file asks for {} MiB): Proxmox VE's minimum",
                    cluster.memory_mib
                );
            }
            cfg.node_memory_mib = cluster.memory_mib.max(PVE_MIN_MEMORY_MIB);
            cfg.storage_image = Some(images.base.clone());
            pve_img.clone()
        }
        None => images.base.clone(),
    };
    let c = cancel.clone();
    let lab = match rt.block_on(rt.spawn_blocking(move || Lab::up(&cfg, &im, &c))) {
        Ok(Ok(lab)) => lab,
        Ok(Err(lab::LabError::Interrupted)) => return Outcome { code: EXIT_INTERRUPTED, junit: None },
        Ok(Err(e)) => {
            eprint!("{}", render::diagnostic(&e, color));
            return Outcome { code: Verdict::InfraError.exit_code(), junit: None };
        }
        Err(e) => {
            eprintln!("error: lab: {e}");
            return Outcome { code: Verdict::InfraError.exit_code(), junit: None };
        }
    };
    let run_id = lab.run().to_string();
    let name = match sabotage {
        Some(s) => format!("{}-{s}-{run_id}", plan.name),
        None => format!("{}-{run_id}", plan.name),
    };
    let dir = match (&args.out, several) {
        (Some(d), false) => d.clone(),
        (Some(d), true) => d.join(name),
        (None, _) => PathBuf::from("runs").join(name),
    };
    info!(run = run_id, "lab up ({}); run directory {}", lab::describe_accel(lab.record().accel), dir.display());
    let mut bar = Bar::new(&plan.name);
    let options = RunOptions::default();
    let artefacts = dir.join("artefacts");
    let bundle = |write: &mut dyn FnMut(&Path) -> std::io::Result<()>| {
        // The artefact bundle comes from the live lab, before the driver lets go of it.
        if !cancel.load(Ordering::Relaxed)
            && let Err(e) = write(&artefacts)
        {
            warn!("artefacts incomplete: {e}");
        }
    };
    let driven = match pve {
        Some((_, route)) => drive_pve(plan, route, &lab, rt, cancel, &options, &mut bar).map(|(r, mut d)| {
            bundle(&mut |p| d.write_artefacts(p));
            d.close();
            (r, d.t0())
        }),
        None => drive(plan, sabotage, &lab, workload, rt, cancel, &options, &mut bar).map(|(r, mut d)| {
            bundle(&mut |p| d.write_artefacts(p));
            d.close();
            (r, d.t0())
        }),
    };
    drop(bar);
    let (code, junit) = judge(file, sabotage, driven, &dir, cancel, color, wall);
    Outcome { code: finish_lab(lab, args.keep, code), junit }
}

/// Judges a driven run, writes the run directory and prints the summary; the exit code and
/// the JUnit suite. `driven` is the run's result and start, or why not even SSH came up.
#[allow(clippy::too_many_arguments)]
fn judge(
    file: &Path,
    sabotage: Option<Sabotage>,
    driven: Result<(RunResult, SystemTime), String>,
    dir: &Path,
    cancel: &Arc<AtomicBool>,
    color: bool,
    wall: Instant,
) -> (i32, Option<String>) {
    let (result, t0) = match driven {
        Ok(x) => x,
        Err(why) => {
            // Not even SSH: nothing observed, nothing judged beyond the lab itself.
            eprintln!("error: {why}");
            let code = if cancel.load(Ordering::Relaxed) { EXIT_INTERRUPTED } else { Verdict::InfraError.exit_code() };
            return (code, None);
        }
    };
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
    let mut code = evaluation.exit_code();
    let junit = Some(hadrill::report::junit_xml(&input));
    match write_reports(dir, &input) {
        Ok(_) => {}
        Err(e) => {
            eprint!("{}", render::diagnostic(&e, color));
            code = Verdict::InfraError.exit_code();
        }
    }
    print!("{}", summary_text(&input));
    if let Some(s) = &stopped {
        match s {
            Stop::Inconclusive(why) => println!("stopped early (inconclusive): {why}"),
            Stop::InfraError(why) => println!("stopped early (infrastructure error): {why}"),
        }
    }
    println!("run directory: {}", dir.display());
    println!("wall time: {:.0} s", wall.elapsed().as_secs_f64());
    if cancel.load(Ordering::Relaxed) {
        code = EXIT_INTERRUPTED;
    }
    (code, junit)
}

/// SSH to every VM of `lab`, waiting at most `base` (scaled to the accelerator).
fn ssh_fleet(
    lab: &Lab,
    base: Duration,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    bar: &mut Bar,
) -> Result<Fleet, String> {
    let t = Instant::now();
    let within = lab.scaled(base);
    bar.say("waiting for SSH on every VM", Duration::ZERO, Some(within));
    match crate::lab_cmds::connect_or_cancel(rt, lab, within, cancel) {
        None => Err("interrupted".into()),
        Some(Err(e)) => Err(format!("SSH did not come up (console logs are in the lab's run directory): {e}")),
        Some(Ok(f)) => {
            info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "SSH up on every VM");
            Ok(f)
        }
    }
}

/// Everything between a lab that is up and a judged run. `Err` only when the lab's VMs never
/// answered over SSH.
#[allow(clippy::too_many_arguments)]
fn drive<'a>(
    plan: &Plan,
    sabotage: Option<Sabotage>,
    lab: &'a Lab,
    workload: &Path,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    options: &RunOptions,
    bar: &mut Bar,
) -> Result<(RunResult, LabDriver<'a>), String> {
    let fleet = ssh_fleet(lab, Duration::from_secs(75), rt, cancel, bar)?;
    let services: Vec<String> = plan.resources.iter().map(|r| r.id.clone()).collect();
    let dopts = LabDriverOptions { run_limit: plan_limit(plan, options), sabotage, ..LabDriverOptions::default() };
    let mut driver = LabDriver::start(lab, fleet, rt.handle().clone(), cancel.clone(), services, dopts)
        .map_err(|e| e.to_string())?;

    // The stack: workload, files and commands, then the readiness gate.
    let setup = (|| {
        driver.prepare(workload)?;
        let nodes: Vec<NodeAddr> =
            lab.record().nodes().filter_map(|v| v.address().map(|ip| NodeAddr { name: v.node.clone(), ip })).collect();
        let key = random_bytes(128)?;
        let profile = if lab.record().accel.as_str() == "kvm" { Profile::kvm() } else { Profile::tcg() };
        let bp = bootstrap_plan(&format!("hadrill-{}", lab.run()), &nodes, &plan.resources, &profile, &key, sabotage);
        let t = Instant::now();
        driver.bootstrap(&bp, |what| bar.say(&format!("bootstrap: {what}"), t.elapsed(), None))
    })();
    if let Err(e) = setup {
        let stop = Stop::InfraError(e.to_string());
        return Ok((run::abandon(plan, &mut driver, options, "the Pacemaker stack was set up", stop), driver));
    }
    // Measured: the service ran 8-60 s after the stack was configured; a cluster that is not
    // ready after 10 min will not be.
    let ready_within = Duration::from_secs(600);
    if let Err(why) = driver.wait_ready(ready_within, |why, waited| {
        bar.say(&format!("waiting for a ready cluster: {why}"), waited, Some(ready_within))
    }) {
        let stop = if cancel.load(Ordering::Relaxed) {
            Stop::InfraError("interrupted".into())
        } else {
            Stop::Inconclusive(format!("not ready within {}: {why}", scenario::format_duration(ready_within)))
        };
        return Ok((run::abandon(plan, &mut driver, options, "the cluster became ready", stop), driver));
    }
    if let Err(e) = driver.sabotage(&plan.resources) {
        let stop = Stop::InfraError(e.to_string());
        return Ok((run::abandon(plan, &mut driver, options, "the set-up was broken as asked", stop), driver));
    }
    let mut progress = |p: &Progress| bar.step(p);
    let result = run::execute(plan, &mut driver, options, &mut progress);
    Ok((result, driver))
}

/// [`drive`] for Proxmox VE: SSH, the root password and container template, the bootstrap
/// plan for the version the nodes run, the readiness gate, the steps.
fn drive_pve<'a>(
    plan: &Plan,
    route: &PveAccess,
    lab: &'a Lab,
    rt: &tokio::runtime::Runtime,
    cancel: &Arc<AtomicBool>,
    options: &RunOptions,
    bar: &mut Bar,
) -> Result<(RunResult, PveLabDriver<'a>), String> {
    // A Proxmox VE node starts a dozen Perl daemons before sshd is of use to anyone.
    let fleet = ssh_fleet(lab, Duration::from_secs(150), rt, cancel, bar)?;
    let services: Vec<String> = plan.resources.iter().map(|r| r.id.clone()).collect();
    let mut driver =
        PveLabDriver::start(lab, fleet, rt.handle().clone(), cancel.clone(), services, PveDriverOptions::default())
            .map_err(|e| e.to_string())?;
    let setup = (|| {
        // The joins authenticate with root's password: one per run, never shown.
        let password: String = random_bytes(18)?.iter().map(|b| format!("{b:02x}")).collect();
        driver.prepare(&password, route.apt_proxy())?;
        // pvecm's cluster names are at most 15 characters: `hadrill` and the run id.
        let setup = driver.setup(&format!("hadrill{}", lab.run()))?;
        let t = Instant::now();
        let version = driver.bootstrap(&setup, &plan.resources, &password, &mut |what| {
            bar.say(&format!("bootstrap: {what}"), t.elapsed(), None)
        })?;
        info!(%version, "Proxmox VE cluster set up");
        Ok::<_, run::DriverError>(())
    })();
    if let Err(e) = setup {
        let stop = Stop::InfraError(e.to_string());
        return Ok((run::abandon(plan, &mut driver, options, "the Proxmox VE cluster was set up", stop), driver));
    }
    // The HA manager takes a while to elect a master and start the guests (10 s rounds).
    let ready_within = Duration::from_secs(900);
    if let Err(why) = driver.wait_ready(ready_within, &mut |why, waited| {
        bar.say(&format!("waiting for a ready cluster: {why}"), waited, Some(ready_within))
    }) {
        let stop = if cancel.load(Ordering::Relaxed) {
            Stop::InfraError("interrupted".into())
        } else {
            Stop::Inconclusive(format!("not ready within {}: {why}", scenario::format_duration(ready_within)))
        };
        return Ok((run::abandon(plan, &mut driver, options, "the cluster became ready", stop), driver));
    }
    let mut progress = |p: &Progress| bar.step(p);
    let result = run::execute(plan, &mut driver, options, &mut progress);
    Ok((result, driver))
}

fn random_bytes(n: usize) -> Result<Vec<u8>, run::DriverError> {
    let mut key = vec![0u8; n];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| run::DriverError::Infra(format!("/dev/urandom: {e}")))?,
        &mut key,
    )
    .map_err(|e| run::DriverError::Infra(format!("/dev/urandom: {e}")))?;
    Ok(key)
}

/// Tears the lab down (or leaves it with --keep); the run's code, or 3 when teardown failed.
fn finish_lab(lab: Lab, keep: bool, code: i32) -> i32 {
    let run = lab.run().clone();
    if keep {
        return match lab.keep() {
            Ok(_) => {
                println!("lab left up: `hadrill lab down {run}` removes it");
                code
            }
            Err(e) => {
                eprintln!("error: keeping run {run}: {e}");
                Verdict::InfraError.exit_code()
            }
        };
    }
    match lab.down() {
        Ok((removed, took)) => {
            info!(
                "run {run} torn down in {:.1} s ({} domains, {} networks)",
                took.as_secs_f64(),
                removed.domains.len(),
                removed.networks.len()
            );
            code
        }
        Err(e) => {
            eprintln!("error: teardown of run {run} incomplete (`hadrill gc` removes the rest): {e}");
            Verdict::InfraError.exit_code()
        }
    }
}

/// One JUnit document holding every scenario's suite.
fn write_junit(path: &Path, docs: &[String]) -> std::io::Result<()> {
    let mut suites = String::new();
    for d in docs {
        if let (Some(a), Some(b)) = (d.find("<testsuite "), d.rfind("</testsuite>")) {
            suites.push_str(&d[a..b + "</testsuite>".len()]);
            suites.push('\n');
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(
        path,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hadrill run\">\n{suites}</testsuites>\n"
        ),
    )
}

/// An executable on PATH, as `which` finds it.
fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p: &PathBuf| p.is_file())
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// `--sabotage` offers every kind, under the name the reports print.
    #[test]
    fn every_sabotage_is_offered_under_its_name() {
        let offered: Vec<Sabotage> = SabotageArg::value_variants().iter().map(|a| Sabotage::from(*a)).collect();
        assert_eq!(offered, Sabotage::ALL);
        for a in SabotageArg::value_variants() {
            assert_eq!(a.to_possible_value().unwrap().get_name(), Sabotage::from(*a).name());
        }
    }
}
