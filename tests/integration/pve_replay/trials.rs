//! Which cases are replayed, and with which expectation files: a fixture case of this
//! repository (always), and corpus cases chosen for what they exercise (skipped, with the
//! reason, when ../shared is absent).

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use super::replay::replay_case;
use crate::support::{corpus, entries, fixtures, skipped, trial};

/// Corpus cases and their expectation files (under tests/fixtures).
const CORPUS: &[(&str, &str, &[&str])] = &[
    // A service node cut off: fenced by its watchdog, its service recovered elsewhere.
    ("test-basic1", "fence and recovery", &["expect/basic1-pass.yaml", "expect/basic1-fail.yaml"]),
    // The master cut off: it loses its lock, another node becomes master and fences it.
    ("test-crs-dynamic1", "master loss", &["pve/replay/expect/test-crs-dynamic1.yaml"]),
    // A node rebooted: its sessions and journal stream die and come back after the cursor.
    ("test-reboot1", "reboot", &["pve/replay/expect/test-reboot1.yaml"]),
    // No node to recover to: error lines, operator commands, a service stopped in recovery.
    ("test-recovery4", "no recovery node", &["pve/replay/expect/safety.yaml"]),
];

/// Real replays hold both cores' worth of SSH work for seconds; one at a time keeps the
/// poll timing (and so the status tolerance) honest on a busy host.
fn one_replay_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static REPLAY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    REPLAY.lock().unwrap_or_else(|p| p.into_inner())
}

fn run(name: String, dir: PathBuf, expect: Vec<PathBuf>) -> Result<(), String> {
    let _one = one_replay_at_a_time();
    let files: Vec<&Path> = expect.iter().map(PathBuf::as_path).collect();
    let m = replay_case(&dir, &files)?;
    eprintln!(
        "pve_replay::{name}: {:.2} s wall, {:.1} ms per simulated second, {} journal and {} polled events, \
         status reads at most {:.1} simulated s apart",
        m.wall.as_secs_f64(),
        m.k * 1e3,
        m.journal_events,
        m.polled_events,
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
        out.push(trial(format!("pve_replay::fixture::{name}"), move || run(name, dir, expect)));
    }
    match corpus() {
        Ok(dir) => {
            for (case, what, expect) in CORPUS {
                let expect = expect.iter().map(|e| fixtures().join(e)).collect();
                let (name, dir) = (format!("{case} ({what})"), dir.join(case));
                out.push(trial(format!("pve_replay::corpus::{case}"), move || run(name, dir, expect)));
            }
        }
        Err(why) => out.push(skipped("pve_replay::corpus", why)),
    }
    out
}
