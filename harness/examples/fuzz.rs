//! "Parsers never panic": the long fuzz run of every reader of outside input (see
//! `hadrill::fuzz`). Run it in the `fuzz` profile (release code with overflow checks and
//! debug assertions):
//!
//! ```text
//! cargo run --locked --profile fuzz --example fuzz -- --total 10000000 --jobs 2
//! cargo run --locked --profile fuzz --example fuzz -- --targets scenario,crm-mon --total 200000
//! cargo run --locked --profile fuzz --example fuzz -- --replay crm-mon:12345   # one input again
//! cargo run --locked --profile fuzz --example fuzz -- --check crm-mon:crash.bin  # one file
//! ```
//!
//! The total is split evenly over the targets. Each panic location is reported once with how
//! often it was hit; its smallest input is shrunk and written to `target/fuzz-crashes/`
//! (`TARGET-SEED-ITERATION.bin`, the panic in the `.txt` beside it). Prints per target the
//! inputs, seconds, inputs/s, MB/s, panics and the slowest input; exits 1 when anything
//! panicked, 2 on a usage error.
//!
//! An abort (a failed allocation, a stack overflow) cannot be caught and ends the process;
//! `target/fuzz-crashes/in-progress.txt` then names the chunk that was running, and the same
//! range again with `--jobs 1 --trace` prints each iteration before running it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hadrill::fuzz::{Fuzzer, Outcome, Seeds, Target, Watch, write_crash};

const USAGE: &str = "usage: fuzz [--total N] [--seed S] [--jobs J] [--targets a,b,…] [--start I] \
    [--chunk N] [--crashes DIR] [--corpus DIR|none] [--replay TARGET:ITERATION] [--check TARGET:FILE] [--trace]";

struct Args {
    total: u64,
    seed: u64,
    jobs: usize,
    targets: Vec<Target>,
    start: u64,
    chunk: u64,
    crashes: PathBuf,
    corpus: Option<PathBuf>,
    replay: Option<(Target, u64)>,
    check: Option<(Target, PathBuf)>,
    trace: bool,
}

fn number(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_args() -> Result<Args, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        total: 10_000_000,
        seed: 1,
        jobs: 1,
        targets: Target::ALL.to_vec(),
        start: 0,
        chunk: 20_000,
        crashes: repo.join("target/fuzz-crashes"),
        corpus: Some(repo.join("../shared/corpus/pve-ha-manager")),
        replay: None,
        check: None,
        trace: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |v: &str| format!("bad value `{v}` for {flag}");
        match flag.as_str() {
            "--total" => a.total = value().and_then(|v| number(&v).ok_or_else(|| bad(&v)))?,
            "--seed" => a.seed = value().and_then(|v| number(&v).ok_or_else(|| bad(&v)))?,
            "--start" => a.start = value().and_then(|v| number(&v).ok_or_else(|| bad(&v)))?,
            "--chunk" => a.chunk = value().and_then(|v| number(&v).filter(|&n| n > 0).ok_or_else(|| bad(&v)))?,
            "--jobs" => {
                a.jobs =
                    value().and_then(|v| number(&v).filter(|&n| (1..=64).contains(&n)).ok_or_else(|| bad(&v)))? as usize
            }
            "--targets" => {
                let v = value()?;
                a.targets = v
                    .split(',')
                    .map(|n| Target::from_name(n.trim()).ok_or_else(|| format!("unknown target `{n}`")))
                    .collect::<Result<_, _>>()?;
            }
            "--crashes" => a.crashes = PathBuf::from(value()?),
            "--corpus" => {
                let v = value()?;
                a.corpus = (v != "none").then(|| PathBuf::from(v));
            }
            "--replay" => {
                let v = value()?;
                let (t, i) = v.split_once(':').ok_or_else(|| bad(&v))?;
                let t = Target::from_name(t).ok_or_else(|| format!("unknown target `{t}`"))?;
                a.replay = Some((t, number(i).ok_or_else(|| bad(&v))?));
            }
            "--check" => {
                let v = value()?;
                let (t, path) = v.split_once(':').ok_or_else(|| bad(&v))?;
                let t = Target::from_name(t).ok_or_else(|| format!("unknown target `{t}`"))?;
                a.check = Some((t, PathBuf::from(path)));
            }
            "--trace" => a.trace = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("{why}");
            }
            eprintln!("{USAGE}\ntargets: {}", Target::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "));
            std::process::exit(2);
        }
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seeds = match Seeds::load(&repo, args.corpus.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match &seeds.corpus {
        Some(c) => eprintln!("seeds: fixtures, scenarios and the corpus at {}", c.display()),
        None => eprintln!("seeds: fixtures and scenarios (no corpus)"),
    }
    let fuzzer = Fuzzer::new(seeds);
    if let Some((target, iteration)) = args.replay {
        std::process::exit(replay(&fuzzer, &args, target, iteration));
    }
    if let Some((target, path)) = &args.check {
        let input = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                std::process::exit(2);
            }
        };
        std::process::exit(verdict(fuzzer.check(*target, &input)));
    }
    for &t in &args.targets {
        eprintln!("  {:<18} {} seeds", t.name(), fuzzer.seeds().of(t).len());
    }

    let n = args.targets.len() as u64;
    let mut results = Vec::new();
    let started = Instant::now();
    for (k, &target) in args.targets.iter().enumerate() {
        // An even split; the first targets take the remainder.
        let count = args.total / n + u64::from((k as u64) < args.total % n);
        let (outcome, took) = fuzz_target(&fuzzer, &args, target, count);
        results.push((target, outcome, took));
    }
    let wall = started.elapsed();

    println!();
    println!(
        "{:<18} {:>10} {:>9} {:>10} {:>8} {:>7} {:>9} {:>12}",
        "target", "inputs", "seconds", "inputs/s", "MB/s", "panics", "locations", "slowest"
    );
    let mut total = Outcome::default();
    for (target, outcome, took) in &results {
        let secs = took.as_secs_f64();
        println!(
            "{:<18} {:>10} {:>9.1} {:>10.0} {:>8.1} {:>7} {:>9} {:>12}",
            target.name(),
            outcome.inputs,
            secs,
            outcome.inputs as f64 / secs,
            outcome.bytes as f64 / 1e6 / secs,
            outcome.panics,
            outcome.crashes.len(),
            outcome.slowest.map_or("-".to_owned(), |(d, i)| format!("{:.0}ms@{i}", d.as_secs_f64() * 1000.0)),
        );
        total.merge(outcome.clone());
    }
    let secs = wall.as_secs_f64();
    println!(
        "{:<18} {:>10} {:>9.1} {:>10.0} {:>8.1} {:>7} {:>9}",
        "total",
        total.inputs,
        secs,
        total.inputs as f64 / secs,
        total.bytes as f64 / 1e6 / secs,
        total.panics,
        total.crashes.len()
    );
    println!("seed {:#x}, iterations {}.., {} jobs", args.seed, args.start, args.jobs);

    for (_, outcome, _) in &results {
        for crash in &outcome.crashes {
            let small = fuzzer.minimize(crash.target, &crash.input, &crash.panic.location, 4000);
            let crash = hadrill::fuzz::Crash { input: small, ..crash.clone() };
            match write_crash(&args.crashes, args.seed, &crash) {
                Ok(path) => println!(
                    "{} iteration {} ({} hits): {}\n  input ({} bytes): {}",
                    crash.target.name(),
                    crash.iteration,
                    crash.hits,
                    crash.panic,
                    crash.input.len(),
                    path.display()
                ),
                Err(e) => eprintln!("{e}"),
            }
        }
    }
    std::process::exit(if total.panics == 0 { 0 } else { 1 });
}

/// One target's share, in chunks so that progress shows; a watcher names an input that
/// runs for more than a minute (a hang is a finding too, and this is the only way to see it).
fn fuzz_target(fuzzer: &Fuzzer, args: &Args, target: Target, count: u64) -> (Outcome, Duration) {
    let watch = Watch::new(args.jobs);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let mut outcome = Outcome::default();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = watch.current();
            let mut since = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let now = watch.current();
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() > Duration::from_secs(60) {
                    eprintln!("{}: still on iterations {:?} after 60 s", target.name(), now);
                    since = Instant::now();
                }
            }
        });
        let end = args.start + count;
        let mut from = args.start;
        let marker = args.crashes.join("in-progress.txt");
        let _ = std::fs::create_dir_all(&args.crashes);
        while from < end {
            let to = (from + args.chunk).min(end);
            let range =
                format!("--targets {} --seed {:#x} --start {from} --total {}\n", target.name(), args.seed, to - from);
            let _ = std::fs::write(&marker, range);
            if args.trace {
                for i in from..to {
                    eprintln!("{} {i}", target.name());
                    if let Err(p) = fuzzer.check(target, &fuzzer.input(target, args.seed, i)) {
                        eprintln!("  {p}");
                    }
                }
            } else {
                outcome.merge(fuzzer.run(target, args.seed, from..to, args.jobs, &watch));
            }
            from = to;
            let secs = started.elapsed().as_secs_f64();
            eprint!(
                "\r  {:<18} {:>10}/{:<10} {:>8.0}/s  panics {}   ",
                target.name(),
                from - args.start,
                count,
                (from - args.start) as f64 / secs,
                outcome.panics
            );
        }
        eprintln!();
        let _ = std::fs::remove_file(&marker);
        done.store(true, Ordering::Relaxed);
    });
    (outcome, started.elapsed())
}

/// Make one input again, write it out, and run it (its panic is printed if it has one).
fn replay(fuzzer: &Fuzzer, args: &Args, target: Target, iteration: u64) -> i32 {
    let input = fuzzer.input(target, args.seed, iteration);
    let path = args.crashes.join(format!("{}-{:x}-{iteration}.replay.bin", target.name(), args.seed));
    if let Err(e) = std::fs::create_dir_all(&args.crashes).and_then(|()| std::fs::write(&path, &input)) {
        eprintln!("cannot write {}: {e}", path.display());
        return 2;
    }
    println!("{} bytes written to {}", input.len(), path.display());
    verdict(fuzzer.check(target, &input))
}

/// Print what one input did; the exit code.
fn verdict(result: Result<(), hadrill::fuzz::Panic>) -> i32 {
    match result {
        Ok(()) => {
            println!("no panic");
            0
        }
        Err(p) => {
            println!("{p}");
            1
        }
    }
}
