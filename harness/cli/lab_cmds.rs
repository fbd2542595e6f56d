//! `hadrill image`, `hadrill lab` and `hadrill gc`: dispatch into the engine
//! (`hadrill::{image, lab, run}`) and print what it did. Exit codes from the one table
//! (`hadrill::exit`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hadrill::exit::Outcome;
use hadrill::image::{ImageCache, Recipe, default_recipes_dir};
use hadrill::lab::{self, Hypervisor, Lab, LabConfig};
use hadrill::run::{Cancel, PveAccess, RunError, connect_or_cancel, image_build_options, pve_access};
use miette::{IntoDiagnostic, Result};

use crate::args::{GcArgs, HostArgs, ImageCommand, LabCommand};
use crate::render;

const EXIT_OK: i32 = 0;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().into_diagnostic()
}

/// `hadrill image build pve-iso`: the Proxmox VE node image by the ISO route, from the access
/// settings (it has no recipe directory: the ISO is the recipe).
fn build_pve_iso(force: bool, recipes: Option<PathBuf>, host: &HostArgs, color: bool) -> Result<i32> {
    let name = hadrill::image::pve::iso::ISO_IMAGE;
    let route = match pve_access(Path::new(name), &host.state_dir()) {
        Ok(PveAccess::Iso(route)) => route,
        Ok(PveAccess::Debian(_)) => {
            let e = RunError::NoIso { image: name, settings: hadrill::image::pve::RECIPE };
            eprint!("{}", render::diagnostic(&e, color));
            return Ok(e.outcome().code());
        }
        Err(e) => {
            eprint!("{}", render::diagnostic(&e, color));
            return Ok(e.outcome().code());
        }
    };
    let cancel = Cancel::new();
    let rt = runtime()?;
    cancel.on_signals(&rt);
    let opts = hadrill::image::pve::iso::IsoBuildOptions {
        uri: host.uri(),
        state_dir: host.state_dir(),
        recipes_dir: recipes.unwrap_or_else(default_recipes_dir),
        force,
    };
    let t = Instant::now();
    let c = cancel.flag().clone();
    let built = rt
        .block_on(rt.spawn_blocking(move || hadrill::image::pve::iso::build_iso_image(&route.source, &opts, &c)))
        .into_diagnostic()?;
    let img = match built {
        Ok(img) => img,
        Err(hadrill::image::pve::iso::IsoImageError::Interrupted) => return Ok(Outcome::Interrupted.code()),
        Err(e) => return Err(e.into()),
    };
    // Reusing an ISO image still reads the whole ISO for its digest.
    print_built(&img, t.elapsed() < Duration::from_secs(30));
    Ok(EXIT_OK)
}

/// What `image build` made or found.
fn print_built(img: &hadrill::image::BuiltImage, cached: bool) {
    crate::outln!(
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

pub fn run_image(cmd: ImageCommand, color: bool) -> Result<i32> {
    match cmd {
        ImageCommand::Build { name, force, recipes, host } if name == hadrill::image::pve::iso::ISO_IMAGE => {
            build_pve_iso(force, recipes, &host, color)
        }
        ImageCommand::Build { name, force, recipes, host } => {
            let recipes = recipes.unwrap_or_else(default_recipes_dir);
            let recipe = Recipe::load(&recipes, &name)?;
            let opts = match image_build_options(&recipe, force, &host.state_dir()) {
                Ok(o) => o,
                Err(e) => {
                    eprint!("{}", render::diagnostic(&e, color));
                    return Ok(e.outcome().code());
                }
            };
            let cache = ImageCache::new(&host.state_dir());
            let cancel = Cancel::new();
            let rt = runtime()?;
            cancel.on_signals(&rt);
            let t = Instant::now();
            let c = cancel.flag().clone();
            let img = rt
                .block_on(rt.spawn_blocking(move || hadrill::image::build(&recipe, &cache, &opts, &c)))
                .into_diagnostic()?;
            let img = match img {
                Ok(img) => img,
                Err(hadrill::image::ImageError::Interrupted) => return Ok(Outcome::Interrupted.code()),
                Err(e) => return Err(e.into()),
            };
            print_built(&img, t.elapsed() < Duration::from_secs(2));
            Ok(EXIT_OK)
        }
        ImageCommand::List { recipes, host } => {
            let recipes = recipes.unwrap_or_else(default_recipes_dir);
            let cache = ImageCache::new(&host.state_dir());
            let built = cache.list();
            // Read before the header: a bad recipes directory prints nothing but the error.
            let all = Recipe::all(&recipes)?;
            crate::outln!("{:<16} {:<18} {:<8} {:>9} {:>8}  ABOUT", "RECIPE", "HASH", "STATE", "SIZE", "BUILD");
            for r in all {
                let hash = r.hash()?;
                let img = built.iter().find(|i| i.name == r.name() && i.hash == hash);
                crate::outln!(
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
                    Err(_) if i.name == hadrill::image::pve::iso::ISO_IMAGE => ("built", "from a Proxmox VE ISO"),
                    Err(_) => ("orphan", "no recipe of that name"),
                    Ok(r) if !r.file.repositories.is_empty() => ("built", "with the repositories it was given"),
                    Ok(_) => ("old", "older build, superseded"),
                };
                crate::outln!(
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

pub fn run_lab(cmd: LabCommand, color: bool) -> Result<i32> {
    match cmd {
        LabCommand::Up { nodes, image, memory, keep, recipes, host } => {
            lab_up(nodes, &image, memory, keep, recipes, &host, color)
        }
        LabCommand::Status { run: None, host } => {
            let runs = lab::list_runs(&host.uri(), &host.state_dir())?;
            if runs.is_empty() {
                crate::outln!("no runs");
            }
            crate::outln!("{:<9} {:<8} {:<6} {:>7} {:>8}  IMAGE", "RUN", "HOLDER", "KEPT", "DOMAINS", "NETWORKS");
            for s in runs {
                crate::outln!(
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
            let lab = Lab::attach(&host.state_dir(), &run)?;
            print_status(&lab);
            Ok(EXIT_OK)
        }
        LabCommand::Down { run, host } => {
            let lab = Lab::attach(&host.state_dir(), &run)?;
            let (removed, took) = lab.down()?;
            crate::outln!(
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
    let only = args.run.as_ref();
    if args.dry_run {
        let inv = lab::inventory(&args.host.uri(), &args.host.state_dir())?;
        let mine = |l: &&lab::Leftover| only.is_none() || l.run.as_ref() == only;
        let left: Vec<&lab::Leftover> = inv.leftovers.iter().filter(mine).collect();
        for l in &left {
            crate::outln!(
                "{:<13} {:<8} {}",
                l.kind.as_str(),
                l.run.as_ref().map(|r| r.as_str()).unwrap_or("-"),
                l.what
            );
        }
        for (run, why) in &inv.spared {
            crate::outln!("spared run {run}: {}", serde_json::to_string(why).unwrap_or_default().trim_matches('"'));
        }
        if !inv.foreign.is_empty() {
            crate::outln!("{} items of runs with no directory here (`--all` removes them)", inv.foreign.len());
        }
        crate::outln!("{} left", left.len());
        return Ok(EXIT_OK);
    }
    let report = lab::gc(&args.host.uri(), &args.host.state_dir(), args.all, only)?;
    for r in &report.runs {
        crate::outln!("removed run {r}");
    }
    for d in &report.domains {
        crate::outln!("  domain  {d}");
    }
    for n in &report.networks {
        crate::outln!("  network {n}");
    }
    for f in report.files.iter().chain(&report.images).chain(&report.unmounted) {
        crate::outln!("  removed {}", f.display());
    }
    for p in &report.killed {
        crate::outln!("  killed  {} {}", p.pid, p.command);
    }
    for r in &report.skipped {
        crate::outln!("kept run {r} (held by a live hadrill, or left up with --keep; `--all` removes kept runs)");
    }
    if !report.foreign.is_empty() {
        crate::outln!(
            "left {} runs alone whose directory is not in this state directory (`--all` removes them)",
            report.foreign.len()
        );
    }
    if report.runs.is_empty() && report.images.is_empty() && report.killed.is_empty() {
        crate::outln!("nothing to collect");
    }
    Ok(EXIT_OK)
}

fn print_status(lab: &Lab) {
    let r = lab.record();
    crate::outln!("run {}  image {} ({})  accel {}  uri {}", r.run, r.image, r.image_hash, r.accel.as_str(), r.uri);
    crate::outln!("{:<8} {:<22} {:<10} {:<14} {:>9}", "NODE", "DOMAIN", "STATE", "ADDRESS", "QEMU RSS");
    for v in lab.status() {
        crate::outln!(
            "{:<8} {:<22} {:<10} {:<14} {:>9}",
            v.node,
            v.domain,
            v.state.map(|s| s.as_str()).unwrap_or("missing"),
            v.address.map(|a| a.to_string()).unwrap_or_default(),
            v.rss_bytes.map(|b| format!("{} MiB", b >> 20)).unwrap_or_else(|| "-".into())
        );
    }
    crate::outln!("console logs: {}", lab.run_dir().consoles().display());
}

fn lab_up(
    nodes: u32,
    image: &str,
    memory: u32,
    keep: bool,
    recipes: Option<PathBuf>,
    host: &HostArgs,
    color: bool,
) -> Result<i32> {
    let rt = runtime()?;
    let cancel = Cancel::new();
    cancel.on_signals(&rt);
    let state_dir = host.state_dir();
    let uri = host.uri();

    // The image, built if this recipe hash is not cached yet.
    let recipe = Recipe::load(&recipes.unwrap_or_else(default_recipes_dir), image)?;
    let opts = match image_build_options(&recipe, false, &state_dir) {
        Ok(o) => o,
        Err(e) => {
            eprint!("{}", render::diagnostic(&e, color));
            return Ok(e.outcome().code());
        }
    };
    let cache = ImageCache::new(&state_dir);
    let c = cancel.flag().clone();
    let img = match rt
        .block_on(rt.spawn_blocking(move || hadrill::image::build(&recipe, &cache, &opts, &c)))
        .into_diagnostic()?
    {
        Ok(img) => img,
        Err(hadrill::image::ImageError::Interrupted) => return Ok(Outcome::Interrupted.code()),
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
    let c = cancel.flag().clone();
    let lab = match rt.block_on(rt.spawn_blocking(move || Lab::up(&cfg, &img, &c))).into_diagnostic()? {
        Ok(lab) => lab,
        Err(lab::LabError::Interrupted) => return Ok(Outcome::Interrupted.code()),
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
        None => return Ok(teardown(lab, Outcome::Interrupted.code())),
        Some(Err(e)) => {
            eprintln!(
                "{:?}",
                miette::Report::new(e).wrap_err("SSH did not come up; console logs are in the run directory")
            );
            return Ok(teardown(lab, Outcome::InfraError.code()));
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
        crate::outln!("left up: `hadrill lab down {}` removes it", rec.run);
        return Ok(EXIT_OK);
    }
    eprintln!("holding run {}; hypervisor events follow; Ctrl-C tears the lab down", lab.run());
    let started = std::time::SystemTime::now();
    while !cancel.is_cancelled() {
        if let Some(e) = events.recv_timeout(Duration::from_millis(250))
            && let Some(node) = lab.node_of_domain(&e.domain)
        {
            let t = e.at.duration_since(started).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            crate::outln!("{t:>9.3}  {node:<8} {}", serde_json::to_string(&e.kind).unwrap_or_default());
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
            Outcome::InfraError.code()
        }
    }
}
