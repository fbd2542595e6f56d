//! "Parsers never panic", in the test suite: every fuzz target on a bounded number of
//! generated inputs under a fixed seed, and every crasher the fuzzer ever found
//! (`tests/fixtures/fuzz/TARGET/*.bin`) read again without a panic. The long run (ten
//! million inputs) is `cargo run --profile fuzz --example fuzz`; see the README.

use std::sync::{Arc, OnceLock};

use hadrill::fuzz::{Fuzzer, Target, Watch};
use libtest_mimic::Trial;

use crate::support::{ensure, entries, fixtures, repo, trial};

/// Inputs per target: enough to cross every mutation on every seed kind, few enough for an
/// unoptimised build.
const INPUTS: u64 = 5_000;
/// Not the long run's seed: these inputs are new ones.
const SEED: u64 = 0x5eed_7e57;

/// The seeds are read once, by the first trial that needs them.
fn fuzzer() -> Result<&'static Fuzzer, String> {
    static FUZZER: OnceLock<Result<Fuzzer, String>> = OnceLock::new();
    FUZZER.get_or_init(|| Fuzzer::from_repo(&repo()).map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

pub fn trials() -> Vec<Trial> {
    let mut out: Vec<Trial> =
        Target::ALL.iter().map(|&t| trial(format!("fuzz::{}", t.name()), move || bounded(t))).collect();
    for &t in Target::ALL {
        for path in entries(&fixtures().join("fuzz").join(t.name()), |p| p.extension().is_some_and(|e| e == "bin")) {
            let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let path = Arc::new(path);
            out.push(trial(format!("fuzz::regression::{}::{name}", t.name()), move || {
                let input = std::fs::read(&*path).map_err(|e| format!("{}: {e}", path.display()))?;
                fuzzer()?.check(t, &input).map_err(|p| format!("{}: {p}", path.display()))
            }));
        }
    }
    out
}

fn bounded(target: Target) -> Result<(), String> {
    let fuzzer = fuzzer()?;
    let out = fuzzer.run(target, SEED, 0..INPUTS, 1, &Watch::new(1));
    ensure(out.inputs == INPUTS, || format!("{} inputs run, not {INPUTS}", out.inputs))?;
    ensure(out.panics == 0, || {
        let found: Vec<String> = out
            .crashes
            .iter()
            .map(|c| {
                format!(
                    "iteration {} ({} hits): {}\n  replay: cargo run --profile fuzz --example fuzz -- --seed {SEED:#x} --replay {}:{}",
                    c.iteration,
                    c.hits,
                    c.panic,
                    target.name(),
                    c.iteration
                )
            })
            .collect();
        format!("{} of {INPUTS} inputs panicked:\n{}", out.panics, found.join("\n"))
    })
}
