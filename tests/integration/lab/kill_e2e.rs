//! Killed runs leave nothing behind, on real VMs (gated by `HADRILL_E2E=1`): `hadrill run` is
//! killed at a point its log names, then what is left is counted with `hadrill gc --dry-run`
//! and, independently, with virsh, the state directory, the host's mounts and the run's own
//! TMPDIR. SIGKILL is followed by `hadrill gc`; SIGTERM must clean up without it. Each run
//! has a state directory of its own (the image hard-linked from the host's cache, or built
//! from nothing for the image-build point) so the counts are of this run only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{ensure, repo};

/// Where a run is killed: after the first log line containing `trigger`, plus `delay`.
struct Point {
    trigger: &'static str,
    delay: Duration,
    signal: &'static str,
    /// Start from a state directory without the image, so a build really happens.
    build: bool,
}

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        // Never under a mount: a killed build's /dev would go with it (the test asserts there
        // is none; this is for when it failed).
        if hadrill::lab::mounts_under(&self.0).is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The host's cached image of `debian-ha`, hard-linked into `state` (none cached: the run
/// builds it).
fn link_image(state: &Path) {
    let cache = std::env::var_os("HADRILL_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(hadrill::lab::default_state_dir)
        .join("images/debian-ha");
    let Ok(rd) = std::fs::read_dir(&cache) else { return };
    for e in rd.flatten() {
        if e.path().join("image.json").is_file() && !e.file_name().to_string_lossy().starts_with('.') {
            let to = state.join("images/debian-ha");
            let _ = std::fs::create_dir_all(&to);
            let _ = Command::new("cp").arg("-al").arg(e.path()).arg(&to).status();
            return;
        }
    }
}

fn hadrill(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hadrill"));
    c.env("HADRILL_STATE_DIR", state).env("NO_COLOR", "1").current_dir(repo());
    c
}

/// Runs power-pull, kills it at `point`, runs `gc` after SIGKILL, and returns what is left:
/// hadrill's own count and the independent one, with what was seen.
fn kill_at(point: &Point) -> Result<(usize, Vec<String>), String> {
    let workload = crate::workload::workload_bin()?;
    let root = TempDir(std::env::temp_dir().join(format!("hadrill-kill-e2e-{}", hadrill::lab::RunId::generate())));
    let (state, tmp, out) = (root.0.join("state"), root.0.join("tmp"), root.0.join("out"));
    for d in [&state, &tmp] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    if !point.build {
        link_image(&state);
    }
    let mut child: Child = hadrill(&state)
        .args(["--color=never", "run", "scenarios/pacemaker/power-pull.yaml", "--out"])
        .arg(&out)
        .env("HADRILL_WORKLOAD_BIN", &workload)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("hadrill runs: {e}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().ok_or("no stderr")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let t = Instant::now();
    let mut run = None;
    let mut log = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(1200)).map_err(|_| {
            let _ = child.kill();
            format!("no `{}` in the log within 20 min:\n{}", point.trigger, log.join("\n"))
        })?;
        if run.is_none()
            && let Some(i) = line.find("run=")
        {
            let id: String = line[i + 4..].trim_start_matches('"').chars().take(8).collect();
            run = hadrill::lab::RunId::parse(&id);
        }
        let hit = line.contains(point.trigger);
        log.push(line);
        if hit {
            break;
        }
    }
    std::thread::sleep(point.delay);
    let at = t.elapsed().as_secs_f64();
    let status = Command::new("kill").arg(format!("-{}", point.signal)).arg(child.id().to_string()).status();
    ensure(status.is_ok_and(|s| s.success()), || "kill failed".into())?;
    // After SIGTERM hadrill tears down by itself; give it what a teardown takes under TCG.
    let deadline = Instant::now() + Duration::from_secs(180);
    let code = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("hadrill still running 180 s after SIG{}", point.signal));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("kill-e2e: SIG{} at {at:.1} s into the run (run {run:?}), exit {code}", point.signal);
    if point.signal == "KILL" {
        let gc = hadrill(&state).arg("gc").output().map_err(|e| e.to_string())?;
        ensure(gc.status.success(), || format!("gc failed: {}", String::from_utf8_lossy(&gc.stderr)))?;
    }
    let dry = hadrill(&state).args(["gc", "--dry-run"]).output().map_err(|e| e.to_string())?;
    let dry = String::from_utf8_lossy(&dry.stdout).into_owned();
    let counted: usize = dry
        .lines()
        .find_map(|l| l.strip_suffix(" left"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no count in gc --dry-run:\n{dry}"))?;
    // One line per leftover; the summary lines about spared and foreign runs are not.
    let mut seen: Vec<String> = dry
        .lines()
        .filter(|l| !l.ends_with(" left") && !l.starts_with("spared ") && !l.contains("`--all` removes them"))
        .map(String::from)
        .collect();
    // Independently of hadrill's inventory.
    if let Some(run) = &run {
        let prefix = format!("hd-{run}-");
        for args in [["list", "--all", "--name"], ["net-list", "--all", "--name"]] {
            let o = Command::new("virsh").args(args).output().map_err(|e| e.to_string())?;
            seen.extend(
                String::from_utf8_lossy(&o.stdout).lines().filter(|l| l.starts_with(&prefix)).map(String::from),
            );
        }
        if let Ok(rd) = std::fs::read_dir(hadrill::lab::QEMU_LOG_DIR) {
            seen.extend(
                rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(&prefix)),
            );
        }
    }
    let entries = |d: &Path| {
        std::fs::read_dir(d)
            .map(|r| r.flatten().map(|e| e.path().display().to_string()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    seen.extend(entries(&state.join("runs")));
    seen.extend(entries(&tmp));
    if let Ok(rd) = std::fs::read_dir(state.join("images")) {
        for n in rd.flatten() {
            seen.extend(
                entries(&n.path()).into_iter().filter(|p| p.rsplit('/').next().is_some_and(|f| f.starts_with('.'))),
            );
        }
    }
    seen.extend(hadrill::lab::mounts_under(&root.0).iter().map(|m| format!("mount {}", m.display())));
    seen.sort();
    seen.dedup();
    Ok((counted, seen))
}

fn nothing_left(point: Point) -> Result<(), String> {
    let (counted, seen) = kill_at(&point)?;
    ensure(counted == 0 && seen.is_empty(), || format!("left behind ({counted} by the inventory): {seen:#?}"))
}

/// `kill -9` while the lab comes up (the storage VM started, the nodes not yet), then `gc`.
pub fn kill_9_during_lab_up_then_gc() -> Result<(), String> {
    nothing_left(Point { trigger: "node=\"storage\"", delay: Duration::ZERO, signal: "KILL", build: false })
}

/// `kill -9` 30 s into mmdebstrap of an image build from nothing, then `gc`: no scratch
/// directory, mount, process or temporary file of the build is left.
pub fn kill_9_during_image_build_then_gc() -> Result<(), String> {
    nothing_left(Point { trigger: "step=\"1/4\"", delay: Duration::from_secs(30), signal: "KILL", build: true })
}

/// SIGTERM during the bootstrap, no `gc`: hadrill tears everything down by itself.
pub fn sigterm_during_bootstrap_without_gc() -> Result<(), String> {
    nothing_left(Point { trigger: "bootstrap: writing", delay: Duration::from_secs(2), signal: "TERM", build: false })
}
