//! Which cases are replayed, and with which expectation files: a fixture case of this
//! repository (always), and corpus cases chosen for what they exercise (skipped, with the
//! reason, when ../shared is absent).

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use super::replay::replay_case;
use crate::support::{corpus, entries, fixtures, skipped, trial};

/// A corpus case to replay.
struct Replayed {
    case: &'static str,
    what: &'static str,
    /// Expectation files, under tests/fixtures.
    expect: &'static [&'static str],
    /// The master dies and stays dead for longer than 30 s: the status polls must say so.
    master_dies: bool,
}

const CORPUS: &[Replayed] = &[
    // A service node cut off: fenced by its watchdog, its service recovered elsewhere.
    Replayed {
        case: "test-basic1",
        what: "fence and recovery",
        expect: &["expect/basic1-pass.yaml", "expect/basic1-fail.yaml"],
        master_dies: false,
    },
    // The master cut off: it loses its lock, another node becomes master and fences it.
    Replayed {
        case: "test-crs-dynamic1",
        what: "master loss",
        expect: &["pve/replay/expect/test-crs-dynamic1.yaml"],
        master_dies: true,
    },
    // A node rebooted: its sessions and journal stream die and come back after the cursor.
    Replayed {
        case: "test-reboot1",
        what: "reboot",
        expect: &["pve/replay/expect/test-reboot1.yaml"],
        master_dies: false,
    },
    // No node to recover to: error lines, operator commands, a service disabled in recovery.
    Replayed {
        case: "test-recovery4",
        what: "no recovery node",
        expect: &["pve/replay/expect/safety.yaml"],
        master_dies: false,
    },
];

/// Real replays hold both cores' worth of SSH work for seconds; one at a time keeps the
/// poll timing (and so the status tolerance) honest on a busy host.
fn one_replay_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static REPLAY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    REPLAY.lock().unwrap_or_else(|p| p.into_inner())
}

fn run(name: String, dir: PathBuf, expect: Vec<PathBuf>, master_dies: bool) -> Result<(), String> {
    let _one = one_replay_at_a_time();
    let files: Vec<&Path> = expect.iter().map(PathBuf::as_path).collect();
    let m = replay_case(&dir, &files)?;
    if master_dies && m.stale_masters == 0 {
        return Err(format!("{name}: the master died, and no status poll reported its status stale"));
    }
    eprintln!(
        "pve_replay::{name}: {:.2} s wall, {:.1} ms per simulated second, {} journal and {} polled events \
         ({} stale master), status reads at most {:.1} simulated s apart",
        m.wall.as_secs_f64(),
        m.k * 1e3,
        m.journal_events,
        m.polled_events,
        m.stale_masters,
        m.poll_gap
    );
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    let mut out = Vec::new();
    let own = fixtures().join("pve/replay/cases");
    for dir in entries(&own, |p| p.join("log.expect").is_file()) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let expect = vec![fixtures().join(format!("pve/replay/expect/{name}.yaml"))];
        // The fixture case is a master's power pull.
        let case = dir.clone();
        out.push(trial(format!("pve_replay::fixture::{name}"), move || run(name, dir, expect, true)));
        out.push(trial("pve_replay::driver::bootstrap_gate_and_observer", move || {
            let _one = one_replay_at_a_time();
            let said = super::driver::bootstrap_gate_and_observer(&case)?;
            eprintln!("pve_replay::driver: {said}");
            Ok(())
        }));
    }
    match corpus() {
        Ok(dir) => {
            for r in CORPUS {
                let expect = r.expect.iter().map(|e| fixtures().join(e)).collect();
                let (name, case_dir) = (format!("{} ({})", r.case, r.what), dir.join(r.case));
                let dies = r.master_dies;
                out.push(trial(format!("pve_replay::corpus::{}", r.case), move || run(name, case_dir, expect, dies)));
            }
        }
        Err(why) => out.push(skipped("pve_replay::corpus", why)),
    }
    out
}
