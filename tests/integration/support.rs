//! Paths, the hadrill binary, and trial helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Failed, Trial};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// The Proxmox HA manager's regression cases, when ../shared is beside the clone.
pub fn corpus() -> Result<PathBuf, String> {
    let dir = repo().join("../shared/corpus/pve-ha-manager");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!("{} not found: the corpus lives in ../shared beside the clone", dir.display()))
    }
}

/// What the hadrill binary printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the hadrill binary from the repository root, without colour.
pub fn hadrill(args: &[&str]) -> Run {
    hadrill_with(args, &[])
}

/// [`hadrill`] with these environment variables, and none of the caller's Proxmox access
/// settings (`HADRILL_PVE_*`). Unless `vars` say otherwise, the Proxmox repository key is
/// fetched from a loopback port that refuses: tests send nothing beyond this host.
pub fn hadrill_with(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let out = command(args, vars).output().expect("hadrill runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command [`hadrill_with`] runs, for a caller that sets its own stdio.
pub fn command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hadrill"));
    cmd.args(args).arg("--color=never").current_dir(repo()).env("NO_COLOR", "1").env_remove("HADRILL_LOG");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HADRILL_PVE_")) {
        cmd.env_remove(k);
    }
    cmd.env("HADRILL_PVE_KEY_URL", refusing_key_url());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// A loopback URL nothing listens on (a port just released): connecting to it is refused.
pub fn refusing_key_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind the loopback");
    format!("http://127.0.0.1:{port}/proxmox-release-bookworm.gpg")
}

/// A trial from a closure that returns `Result<(), String>`.
pub fn trial(name: impl Into<String>, f: impl FnOnce() -> Result<(), String> + Send + 'static) -> Trial {
    Trial::test(name, move || f().map_err(Failed::from))
}

/// A trial that is reported as ignored, with why, when its data is missing.
pub fn skipped(name: impl Into<String>, why: String) -> Trial {
    let name = name.into();
    eprintln!("skipping {name}: {why}");
    Trial::test(name, || Ok(())).with_ignored_flag(true)
}

/// Sorted entries of a directory matching a predicate.
pub fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| keep(p)).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Check a condition, with a message when it does not hold.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}
