//! "Parsers never panic": a seeded, bounded, in-process mutation fuzzer for every reader of
//! outside input (scenario files, the PVE and Pacemaker journal exports, the HA simulator's
//! log, crm_mon and stonith_admin XML, the PVE status JSON, corosync-quorumtool, and
//! `analyze`'s format detection over all of them).
//!
//! Contract:
//! - Input `i` of target `T` under seed `S` is a pure function of (S, T, i) and the seed
//!   files: a finding is replayed by its three numbers (`Fuzzer::input`), and is also
//!   written out as the bytes that panicked.
//! - A panic in a reader is caught (`catch`), recorded with its location and the smallest
//!   input seen to hit that location, and the run goes on. A stack overflow or an abort (a
//!   failed allocation) is not catchable and ends the process; the long run's example binary
//!   leaves a note of the chunk it was in. `Watch` names an input that hangs.
//! - No coverage feedback, no nightly, no dependency: seeds are real inputs (`seeds`),
//!   mutations stay near them (`mutate`), and volume does the rest.
//! - Build it with `--profile fuzz` (release code with overflow checks and debug
//!   assertions): an overflow that wraps silently in a release build is a panic in a debug
//!   one, and is found here.

mod catch;
mod mutate;
mod rng;
mod seeds;
mod targets;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use catch::{Panic, catch};
pub use mutate::{MAX_INPUT, harvest_tokens, mutate};
pub use rng::Rng;
pub use seeds::Seeds;
pub use targets::Target;

/// Why a fuzz run could not start or could not write what it found.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no seed files for target `{target}`: run from the repository root (tests/fixtures, scenarios)")]
    NoSeeds { target: &'static str },
}

/// One panic location of one target: how often it was hit, and the smallest input that hit
/// it (with the iteration that made it).
#[derive(Clone, Debug)]
pub struct Crash {
    pub target: Target,
    pub iteration: u64,
    pub panic: Panic,
    pub input: Vec<u8>,
    pub hits: u64,
}

/// What a run of one target did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub inputs: u64,
    /// Bytes of input read, all inputs together.
    pub bytes: u64,
    pub panics: u64,
    /// One per panic location, in location order.
    pub crashes: Vec<Crash>,
    /// The slowest input: how long it took and its iteration.
    pub slowest: Option<(Duration, u64)>,
}

impl Outcome {
    fn record(&mut self, target: Target, iteration: u64, panic: Panic, input: Vec<u8>) {
        self.panics += 1;
        match self.crashes.iter_mut().find(|c| c.panic.location == panic.location) {
            Some(c) => {
                c.hits += 1;
                if input.len() < c.input.len() {
                    (c.iteration, c.panic, c.input) = (iteration, panic, input);
                }
            }
            None => self.crashes.push(Crash { target, iteration, panic, input, hits: 1 }),
        }
    }

    /// Both outcomes as one (the threads of one run, or the chunks of a long one).
    pub fn merge(&mut self, other: Outcome) {
        self.inputs += other.inputs;
        self.bytes += other.bytes;
        self.panics += other.panics;
        for c in other.crashes {
            match self.crashes.iter_mut().find(|m| m.panic.location == c.panic.location) {
                Some(m) => {
                    m.hits += c.hits;
                    if c.input.len() < m.input.len() {
                        (m.iteration, m.panic, m.input) = (c.iteration, c.panic, c.input);
                    }
                }
                None => self.crashes.push(c),
            }
        }
        self.crashes.sort_by(|a, b| a.panic.location.cmp(&b.panic.location));
        self.slowest = match (self.slowest, other.slowest) {
            (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
    }
}

/// Which input each thread is on, for a watcher that wants to name an input that hangs.
#[derive(Debug)]
pub struct Watch {
    current: Vec<AtomicU64>,
}

impl Watch {
    pub fn new(jobs: usize) -> Self {
        Watch { current: (0..jobs.max(1)).map(|_| AtomicU64::new(u64::MAX)).collect() }
    }

    /// The iteration each thread is on (`None` when idle).
    pub fn current(&self) -> Vec<Option<u64>> {
        self.current.iter().map(|c| Some(c.load(Ordering::Relaxed)).filter(|&i| i != u64::MAX)).collect()
    }
}

/// The seeds with what is made from them once: each target's tokens, and the healthy
/// statuses and expectation files the targets diff and check against.
pub struct Fuzzer {
    seeds: Seeds,
    tokens: Vec<Vec<Vec<u8>>>,
    bases: targets::Bases,
}

impl Fuzzer {
    pub fn new(seeds: Seeds) -> Self {
        let tokens = Target::ALL.iter().map(|&t| harvest_tokens(seeds.of(t), t.tokens())).collect();
        let bases = targets::Bases::new(&seeds);
        Fuzzer { seeds, tokens, bases }
    }

    /// Seeds from the repository at `repo`, with the corpus beside it when there is one.
    pub fn from_repo(repo: &Path) -> Result<Self, FuzzError> {
        let corpus = repo.join("../shared/corpus/pve-ha-manager");
        Ok(Fuzzer::new(Seeds::load(repo, Some(&corpus))?))
    }

    pub fn seeds(&self) -> &Seeds {
        &self.seeds
    }

    /// Input `iteration` of `target` under `seed`.
    pub fn input(&self, target: Target, seed: u64, iteration: u64) -> Vec<u8> {
        let mut rng = Rng::for_input(seed, target.index(), iteration);
        mutate::generate(
            &mut rng,
            self.seeds.of(target),
            self.seeds.groups(target),
            self.seeds.all(),
            &self.tokens[target.index()],
            target.windows(),
        )
    }

    /// Run the target's readers on one input.
    pub fn check(&self, target: Target, input: &[u8]) -> Result<(), Panic> {
        catch(|| targets::exercise(target, input, &self.bases))
    }

    /// Inputs `iterations` of `target` under `seed`, spread over `jobs` threads.
    pub fn run(&self, target: Target, seed: u64, iterations: Range<u64>, jobs: usize, watch: &Watch) -> Outcome {
        let jobs = jobs.clamp(1, watch.current.len()) as u64;
        let mut total = Outcome::default();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..jobs)
                .map(|j| {
                    let iterations = iterations.clone();
                    s.spawn(move || {
                        let slot = &watch.current[j as usize];
                        let mut out = Outcome::default();
                        let mut i = iterations.start + j;
                        while i < iterations.end {
                            slot.store(i, Ordering::Relaxed);
                            let input = self.input(target, seed, i);
                            let started = Instant::now();
                            let result = self.check(target, &input);
                            let took = started.elapsed();
                            if out.slowest.is_none_or(|(d, _)| took > d) {
                                out.slowest = Some((took, i));
                            }
                            out.inputs += 1;
                            out.bytes += input.len() as u64;
                            if let Err(p) = result {
                                out.record(target, i, p, input);
                            }
                            i += jobs;
                        }
                        slot.store(u64::MAX, Ordering::Relaxed);
                        out
                    })
                })
                .collect();
            for h in handles {
                // A thread ends only by finishing: every reader's panic is caught inside.
                if let Ok(out) = h.join() {
                    total.merge(out);
                }
            }
        });
        total
    }

    /// A smaller input that still panics at `location`: whole lines dropped, then byte runs,
    /// halving the cut each round (delta debugging, bounded by `attempts`).
    pub fn minimize(&self, target: Target, input: &[u8], location: &str, attempts: usize) -> Vec<u8> {
        let same = |b: &[u8]| self.check(target, b).err().is_some_and(|p| p.location == location);
        let mut best = input.to_vec();
        let mut tries = 0;
        for by_lines in [true, false] {
            let mut chunk = best.len().max(1) / 2;
            while chunk >= 1 && tries < attempts {
                let mut progress = false;
                let mut start = 0;
                while start < best.len() && tries < attempts {
                    let end = if by_lines { line_cut(&best, start, chunk) } else { (start + chunk).min(best.len()) };
                    let mut candidate = best[..start].to_vec();
                    candidate.extend_from_slice(&best[end..]);
                    tries += 1;
                    if same(&candidate) {
                        best = candidate;
                        progress = true;
                    } else {
                        start = if by_lines { end } else { start + chunk };
                    }
                }
                if !progress {
                    chunk /= 2;
                }
            }
        }
        best
    }
}

/// The end of `lines` whole lines from `start` (which is at a line's start).
fn line_cut(b: &[u8], start: usize, lines: usize) -> usize {
    memchr::memchr_iter(b'\n', &b[start..]).nth(lines.saturating_sub(1)).map_or(b.len(), |i| start + i + 1)
}

/// Write a crash's input to `dir` as `TARGET-SEED-ITERATION.bin`, with the panic beside it
/// (`.txt`). Returns the input's path.
pub fn write_crash(dir: &Path, seed: u64, crash: &Crash) -> Result<PathBuf, FuzzError> {
    std::fs::create_dir_all(dir).map_err(|source| FuzzError::Write { path: dir.to_path_buf(), source })?;
    let stem = format!("{}-{seed:x}-{}", crash.target.name(), crash.iteration);
    let bin = dir.join(format!("{stem}.bin"));
    std::fs::write(&bin, &crash.input).map_err(|source| FuzzError::Write { path: bin.clone(), source })?;
    let txt = dir.join(format!("{stem}.txt"));
    let about = format!(
        "target: {}\nseed: {seed:#x}\niteration: {}\nhits: {}\n{}\n",
        crash.target.name(),
        crash.iteration,
        crash.hits,
        crash.panic
    );
    std::fs::write(&txt, about).map_err(|source| FuzzError::Write { path: txt, source })?;
    Ok(bin)
}
