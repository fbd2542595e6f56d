//! `hadrill image`, `hadrill lab` and `hadrill gc`: argument definitions and dispatch into
//! the engine (`hadrill::{image, lab, node}`). Returns exit codes: 0 success, 3 the lab or
//! host broke (infrastructure error), 4 bad usage; 130 after Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hadrill::image::{BuildOptions, ImageCache, Recipe, default_recipes_dir};
use hadrill::lab::{self, Hypervisor, Lab, LabConfig, RunId, default_state_dir};
use hadrill::node::{Fleet, SshError, connect_fleet};
use miette::{IntoDiagnostic, Result};

const EXIT_OK: i32 = 0;
const EXIT_INFRA: i32 = 3;
const EXIT_USAGE: i32 = 4;
const EXIT_INTERRUPTED: i32 = 130;

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
    pub(crate) fn uri(&self) -> String {
        self.connect
            .clone()
            .or_else(|| std::env::var("HADRILL_LIBVIRT_URI").ok())
            .unwrap_or_else(|| "qemu:///system".into())
    }
    pub(crate) fn state_dir(&self) -> PathBuf {
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
        /// Number of cluster nodes.
        #[arg(long, default_value_t = 3, value_name = "N")]
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
        #[arg(value_name = "RUN")]
        run: Option<String>,
        #[command(flatten)]
        host: HostArgs,
    },
    /// Tear a run down: its domains, networks, overlays, keys and console logs.
    Down {
        #[arg(value_name = "RUN")]
        run: String,
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
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Remove nothing: list what is left behind (one line per item, then `N left`).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub host: HostArgs,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().into_diagnostic()
}

/// Sets `cancel` on Ctrl-C or SIGTERM.
pub(crate) fn watch_signals(rt: &tokio::runtime::Runtime, cancel: Arc<AtomicBool>) {
    rt.spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("\ninterrupted: tearing down");
        cancel.store(true, Ordering::Relaxed);
    });
}

/// SSH to every VM of the lab, giving up (`None`) as soon as Ctrl-C sets `cancel`.
pub(crate) fn connect_or_cancel(
    rt: &tokio::runtime::Runtime,
    lab: &Lab,
    within: Duration,
    cancel: &AtomicBool,
) -> Option<std::result::Result<Fleet, SshError>> {
    rt.block_on(async {
        let connect = connect_fleet(lab.record(), lab.run_dir(), within);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                r = &mut connect => break Some(r),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if cancel.load(Ordering::Relaxed) { break None; }
                }
            }
        }
    })
}

/// How to build `recipe`: the Proxmox repository, when it asks for it, comes from the access
/// settings, as for `hadrill run`; without them, what is missing.
fn build_options(recipe: &Recipe, force: bool) -> std::result::Result<BuildOptions, String> {
    let mut opts = BuildOptions { force, ..BuildOptions::default() };
    if recipe.file.repositories.iter().any(|r| r == hadrill::stack::pve::IMAGE_REPOSITORY) {
        let name = recipe.name();
        // The repository's suite comes from the release in the access settings; a recipe on
        // another Debian release would mix the two. Said before what access is missing.
        let release = crate::run_cmd::pve_release().map_err(|why| format!("recipe {name}: {why}"))?;
        if release.suite() != recipe.file.suite {
            let mut why = format!(
                "recipe {name} is Debian {}, but the access settings ask for Proxmox VE {} (HADRILL_PVE_RELEASE or \
                 `release:` in {})",
                recipe.file.suite,
                release.label(),
                hadrill::stack::pve::RECIPE
            );
            let hint = match hadrill::stack::pve::Release::of_suite(&recipe.file.suite) {
                Some(r) => format!(
                    "build {} for Proxmox VE {}, or set HADRILL_PVE_RELEASE={} for this recipe",
                    release.image_recipe(),
                    release.major(),
                    r.major()
                ),
                None => format!("build {} for Proxmox VE {}", release.image_recipe(), release.major()),
            };
            why.push_str(&format!("\n  hint: {hint}"));
            return Err(why);
        }
        let route = crate::run_cmd::pve_route(Path::new(name))
            .map_err(|why| format!("recipe {name} needs the Proxmox repository: {why}"))?;
        opts.repositories.push(route.repository());
    }
    Ok(opts)
}

fn parse_run(s: &str) -> Result<RunId> {
    RunId::parse(s).ok_or_else(|| miette::miette!("`{s}` is not a run id (8 hex digits, see `hadrill lab status`)"))
}

/// `hadrill image build pve-iso`: the Proxmox VE node image by the ISO route, from the access
/// settings (it has no recipe directory: the ISO is the recipe).
fn build_pve_iso(force: bool, recipes: Option<PathBuf>, host: &HostArgs) -> Result<i32> {
    let name = hadrill::stack::pve::iso::ISO_IMAGE;
    let route = match crate::run_cmd::pve_access(Path::new(name)) {
        Ok(crate::run_cmd::PveAccess::Iso(route)) => route,
        Ok(crate::run_cmd::PveAccess::Debian(_)) => {
            eprintln!(
                "error: image {name} is installed from the Proxmox VE ISO, and none is configured: set \
                 HADRILL_PVE_ISO=/path/to/proxmox-ve_8.x.iso (or `iso:` in {})",
                hadrill::stack::pve::RECIPE
            );
            return Ok(EXIT_INFRA);
        }
        Err(why) => {
            eprintln!("error: image {name} needs the Proxmox VE ISO: {why}");
            return Ok(EXIT_INFRA);
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let rt = runtime()?;
    watch_signals(&rt, cancel.clone());
    let opts = hadrill::stack::pve::iso::IsoBuildOptions {
        uri: host.uri(),
        state_dir: host.state_dir(),
        recipes_dir: recipes.unwrap_or_else(default_recipes_dir),
        force,
    };
    let t = Instant::now();
    let c = cancel.clone();
    let built = rt
        .block_on(rt.spawn_blocking(move || hadrill::stack::pve::iso::build_iso_image(&route.source, &opts, &c)))
        .into_diagnostic()?;
    let img = match built {
        Ok(img) => img,
        Err(hadrill::stack::pve::iso::IsoImageError::Interrupted) => return Ok(EXIT_INTERRUPTED),
        Err(e) => return Err(e.into()),
    };
    // Reusing an ISO image still reads the whole ISO for its digest.
    print_built(&img, t.elapsed() < Duration::from_secs(30));
    Ok(EXIT_OK)
}

/// What `image build` made or found.
fn print_built(img: &hadrill::image::BuiltImage, cached: bool) {
    println!(
        "{} {} built in {:.0} s ({} this time): {:.0} MiB qcow2, kernel {}, root {}\n  {}",
        img.name,
        img.hash,
        img.build_secs,
        if cached { "cached" } else { "built" },
        img.base_bytes as f64 / (1 << 20) as f64,
        img.kernel_version,
        img.root,
        img.dir.display()
    );
}

pub fn run_image(cmd: ImageCommand) -> Result<i32> {
    match cmd {
        ImageCommand::Build { name, force, recipes, host } if name == hadrill::stack::pve::iso::ISO_IMAGE => {
            build_pve_iso(force, recipes, &host)
        }
        ImageCommand::Build { name, force, recipes, host } => {
            let recipes = recipes.unwrap_or_else(default_recipes_dir);
            let recipe = Recipe::load(&recipes, &name)?;
            let opts = match build_options(&recipe, force) {
                Ok(o) => o,
                Err(why) => {
                    eprintln!("error: {why}");
                    return Ok(EXIT_INFRA);
                }
            };
            let cache = ImageCache::new(&host.state_dir());
            let cancel = Arc::new(AtomicBool::new(false));
            let rt = runtime()?;
            watch_signals(&rt, cancel.clone());
            let t = Instant::now();
            let c = cancel.clone();
            let img = rt
                .block_on(rt.spawn_blocking(move || hadrill::image::build(&recipe, &cache, &opts, &c)))
                .into_diagnostic()?;
            let img = match img {
                Ok(img) => img,
                Err(hadrill::image::ImageError::Interrupted) => return Ok(EXIT_INTERRUPTED),
                Err(e) => return Err(e.into()),
            };
            print_built(&img, t.elapsed() < Duration::from_secs(2));
            Ok(EXIT_OK)
        }
        ImageCommand::List { recipes, host } => {
            let recipes = recipes.unwrap_or_else(default_recipes_dir);
            let cache = ImageCache::new(&host.state_dir());
            let built = cache.list();
            println!("{:<16} {:<18} {:<8} {:>9} {:>8}  ABOUT", "RECIPE", "HASH", "STATE", "SIZE", "BUILD");
            for r in Recipe::all(&recipes)? {
                let hash = r.hash()?;
                let img = built.iter().find(|i| i.name == r.name() && i.hash == hash);
                println!(
                    "{:<16} {:<18} {:<8} {:>9} {:>8}  {}",
                    r.name(),
                    hash,
                    if img.is_some() { "built" } else { "stale" },
                    img.map(|i| format!("{:.0} MiB", i.base_bytes as f64 / (1 << 20) as f64))
                        .unwrap_or_else(|| "-".into()),
                    img.map(|i| format!("{:.0} s", i.build_secs)).unwrap_or_else(|| "-".into()),
                    r.file.about
                );
            }
            for i in built
                .iter()
                .filter(|i| Recipe::load(&recipes, &i.name).and_then(|r| r.hash()).ok().as_deref() != Some(&i.hash))
            {
                // Not every image is its recipe's plain hash: the Proxmox images are keyed by
                // the repository or ISO they were built from, which only the access settings know.
                let (state, what) = match Recipe::load(&recipes, &i.name) {
                    Err(_) if i.name == hadrill::stack::pve::iso::ISO_IMAGE => ("built", "from a Proxmox VE ISO"),
                    Err(_) => ("orphan", "no recipe of that name"),
                    Ok(r) if !r.file.repositories.is_empty() => ("built", "with the repositories it was given"),
                    Ok(_) => ("old", "older build, superseded"),
                };
                println!(
                    "{:<16} {:<18} {:<8} {:>9}  ({what})",
                    i.name,
                    i.hash,
                    state,
                    format!("{:.0} MiB", i.base_bytes as f64 / (1 << 20) as f64)
                );
            }
            Ok(EXIT_OK)
        }
    }
}

pub fn run_lab(cmd: LabCommand) -> Result<i32> {
    match cmd {
        LabCommand::Up { nodes, image, memory, keep, recipes, host } => {
            lab_up(nodes, &image, memory, keep, recipes, &host)
        }
        LabCommand::Status { run: None, host } => {
            let runs = lab::list_runs(&host.uri(), &host.state_dir())?;
            if runs.is_empty() {
                println!("no runs");
            }
            println!("{:<9} {:<8} {:<6} {:>7} {:>8}  IMAGE", "RUN", "HOLDER", "KEPT", "DOMAINS", "NETWORKS");
            for s in runs {
                println!(
                    "{:<9} {:<8} {:<6} {:>7} {:>8}  {}",
                    s.run,
                    if s.owner_alive { "alive" } else { "gone" },
                    if s.record.as_ref().is_some_and(|r| r.kept) { "yes" } else { "no" },
                    s.domains.len(),
                    s.networks.len(),
                    s.record.as_ref().map(|r| r.image.as_str()).unwrap_or("-")
                );
            }
            Ok(EXIT_OK)
        }
        LabCommand::Status { run: Some(run), host } => {
            let lab = Lab::attach(&host.state_dir(), &parse_run(&run)?)?;
            print_status(&lab);
            Ok(EXIT_OK)
        }
        LabCommand::Down { run, host } => {
            let lab = Lab::attach(&host.state_dir(), &parse_run(&run)?)?;
            let (removed, took) = lab.down()?;
            println!(
                "run {run} down in {:.1} s: {} domains, {} networks removed",
                took.as_secs_f64(),
                removed.domains.len(),
                removed.networks.len()
            );
            Ok(EXIT_OK)
        }
    }
}

pub fn run_gc(args: GcArgs) -> Result<i32> {
    let only = args.run.as_deref().map(parse_run).transpose()?;
    if args.dry_run {
        let inv = lab::inventory(&args.host.uri(), &args.host.state_dir())?;
        let mine = |l: &&lab::Leftover| only.is_none() || l.run.as_ref() == only.as_ref();
        let left: Vec<&lab::Leftover> = inv.leftovers.iter().filter(mine).collect();
        for l in &left {
            println!("{:<13} {:<8} {}", l.kind.as_str(), l.run.as_ref().map(|r| r.as_str()).unwrap_or("-"), l.what);
        }
        for (run, why) in &inv.spared {
            println!("spared run {run}: {}", serde_json::to_string(why).unwrap_or_default().trim_matches('"'));
        }
        if !inv.foreign.is_empty() {
            println!("{} items of runs with no directory here (`--all` removes them)", inv.foreign.len());
        }
        println!("{} left", left.len());
        return Ok(EXIT_OK);
    }
    let report = lab::gc(&args.host.uri(), &args.host.state_dir(), args.all, only.as_ref())?;
    for r in &report.runs {
        println!("removed run {r}");
    }
    for d in &report.domains {
        println!("  domain  {d}");
    }
    for n in &report.networks {
        println!("  network {n}");
    }
    for f in report.files.iter().chain(&report.images).chain(&report.unmounted) {
        println!("  removed {}", f.display());
    }
    for p in &report.killed {
        println!("  killed  {} {}", p.pid, p.command);
    }
    for r in &report.skipped {
        println!("kept run {r} (held by a live hadrill, or left up with --keep; `--all` removes kept runs)");
    }
    if !report.foreign.is_empty() {
        println!(
            "left {} runs alone whose directory is not in this state directory (`--all` removes them)",
            report.foreign.len()
        );
    }
    if report.runs.is_empty() && report.images.is_empty() && report.killed.is_empty() {
        println!("nothing to collect");
    }
    Ok(EXIT_OK)
}

fn print_status(lab: &Lab) {
    let r = lab.record();
    println!("run {}  image {} ({})  accel {}  uri {}", r.run, r.image, r.image_hash, r.accel.as_str(), r.uri);
    println!("{:<8} {:<22} {:<10} {:<14} {:>9}", "NODE", "DOMAIN", "STATE", "ADDRESS", "QEMU RSS");
    for v in lab.status() {
        println!(
            "{:<8} {:<22} {:<10} {:<14} {:>9}",
            v.node,
            v.domain,
            v.state.map(|s| s.as_str()).unwrap_or("missing"),
            v.address.map(|a| a.to_string()).unwrap_or_default(),
            v.rss_bytes.map(|b| format!("{} MiB", b >> 20)).unwrap_or_else(|| "-".into())
        );
    }
    println!("console logs: {}", lab.run_dir().consoles().display());
}

fn lab_up(nodes: u32, image: &str, memory: u32, keep: bool, recipes: Option<PathBuf>, host: &HostArgs) -> Result<i32> {
    if nodes == 0 || nodes > 16 {
        eprintln!("--nodes must be between 1 and 16");
        return Ok(EXIT_USAGE);
    }
    let rt = runtime()?;
    let cancel = Arc::new(AtomicBool::new(false));
    watch_signals(&rt, cancel.clone());
    let state_dir = host.state_dir();
    let uri = host.uri();

    // The image, built if this recipe hash is not cached yet.
    let recipe = Recipe::load(&recipes.unwrap_or_else(default_recipes_dir), image)?;
    let opts = match build_options(&recipe, false) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(EXIT_INFRA);
        }
    };
    let cache = ImageCache::new(&state_dir);
    let c = cancel.clone();
    let img = match rt
        .block_on(rt.spawn_blocking(move || hadrill::image::build(&recipe, &cache, &opts, &c)))
        .into_diagnostic()?
    {
        Ok(img) => img,
        Err(hadrill::image::ImageError::Interrupted) => return Ok(EXIT_INTERRUPTED),
        Err(e) => return Err(e.into()),
    };

    // Events of every domain from before the first start.
    let watcher = Hypervisor::open(&uri)?;
    let events = watcher.subscribe()?;
    let accel = watcher.detect_accel();
    eprintln!("accelerator: {}", lab::describe_accel(accel));

    let mut cfg = LabConfig::new(&uri, &state_dir, nodes);
    cfg.node_memory_mib = memory;
    let t0 = Instant::now();
    let c = cancel.clone();
    let lab = match rt.block_on(rt.spawn_blocking(move || Lab::up(&cfg, &img, &c))).into_diagnostic()? {
        Ok(lab) => lab,
        Err(lab::LabError::Interrupted) => return Ok(EXIT_INTERRUPTED),
        Err(e) => return Err(e.into()),
    };
    eprintln!(
        "run {}: {} VMs started in {:.1} s; waiting for SSH",
        lab.run(),
        lab.record().vms.len(),
        t0.elapsed().as_secs_f64()
    );

    // SSH on every VM, racing Ctrl-C.
    let within = lab.scaled(Duration::from_secs(75));
    let fleet = connect_or_cancel(&rt, &lab, within, &cancel);
    let fleet = match fleet {
        None => return Ok(teardown(lab, EXIT_INTERRUPTED)),
        Some(Err(e)) => {
            eprintln!(
                "{:?}",
                miette::Report::new(e).wrap_err("SSH did not come up; console logs are in the run directory")
            );
            return Ok(teardown(lab, EXIT_INFRA));
        }
        Some(Ok(f)) => f,
    };
    let cold = t0.elapsed();
    for (node, off) in &fleet.offsets {
        eprintln!("  {node:<8} SSH ok, clock offset {:+.3} s (±{:.3})", off.offset_secs, off.uncertainty_secs);
    }
    eprintln!("cold start to SSH on all VMs: {:.1} s", cold.as_secs_f64());
    print_status(&lab);
    rt.block_on(fleet.close());

    if keep {
        let rec = lab.keep()?;
        println!("left up: `hadrill lab down {}` removes it", rec.run);
        return Ok(EXIT_OK);
    }
    eprintln!("holding run {}; hypervisor events follow; Ctrl-C tears the lab down", lab.run());
    let started = std::time::SystemTime::now();
    while !cancel.load(Ordering::Relaxed) {
        if let Some(e) = events.recv_timeout(Duration::from_millis(250))
            && let Some(node) = lab.node_of_domain(&e.domain)
        {
            let t = e.at.duration_since(started).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            println!("{t:>9.3}  {node:<8} {}", serde_json::to_string(&e.kind).unwrap_or_default());
        }
    }
    Ok(teardown(lab, EXIT_OK))
}

fn teardown(lab: Lab, code: i32) -> i32 {
    let run = lab.run().clone();
    match lab.down() {
        Ok((removed, took)) => {
            eprintln!(
                "run {run} torn down in {:.1} s ({} domains, {} networks)",
                took.as_secs_f64(),
                removed.domains.len(),
                removed.networks.len()
            );
            code
        }
        Err(e) => {
            eprintln!(
                "{:?}",
                miette::Report::new(e)
                    .wrap_err(format!("teardown of run {run} incomplete; `hadrill gc` removes the rest"))
            );
            EXIT_INFRA
        }
    }
}
