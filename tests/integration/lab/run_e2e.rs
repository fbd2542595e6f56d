//! `hadrill run` end to end on real VMs, gated by `HADRILL_E2E=1`: the binary runs the
//! Pacemaker power-pull scenario (image, lab, bootstrap, fault, checks, reports, teardown),
//! must pass, must leave a complete run directory, and must leave no VM or network behind.
//! Then the sensitivity runs: the same kind of run on a set-up broken on purpose
//! (`--sabotage`) must FAIL, and its summary must name the expectation that was not met.

use std::process::Command;
use std::time::Instant;

use crate::support::{ensure, repo};

const REPORTS: [&str; 5] = ["timeline.jsonl", "junit.xml", "report.html", "summary.md", "timeline.snap"];

fn virsh(args: &[&str]) -> String {
    let uri = std::env::var("HADRILL_LIBVIRT_URI").unwrap_or_else(|_| "qemu:///system".into());
    Command::new("virsh")
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Domains and networks of hadrill runs (`hd-RUN-...`), by name.
fn lab_objects() -> Vec<String> {
    let mut v: Vec<String> = virsh(&["list", "--all", "--name"])
        .lines()
        .chain(virsh(&["net-list", "--all", "--name"]).lines())
        .map(str::trim)
        .filter(|l| l.starts_with("hd-"))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// One `hadrill run` of `scenario` (with `extra` arguments) into `dir`: exit code, stdout and
/// stderr. Checks that nothing of the lab is left behind.
fn hadrill_run(scenario: &str, extra: &[&str], dir: &std::path::Path) -> Result<(i32, String, String), String> {
    // The HA service's binary, built like the workload tests build it (a fresh clone may not
    // have it beside the hadrill binary yet).
    let workload = crate::workload::workload_bin()?;
    let before = lab_objects();
    let t = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_hadrill"))
        .args(["run", scenario, "--out"])
        .arg(dir)
        .args(extra)
        .arg("--color=never")
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("HADRILL_WORKLOAD_BIN", &workload)
        .output()
        .map_err(|e| format!("hadrill runs: {e}"))?;
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    eprintln!("run-e2e {scenario} {extra:?}: {:.0} s\n{stdout}", t.elapsed().as_secs_f64());
    let after = lab_objects();
    let left: Vec<&String> = after.iter().filter(|o| !before.contains(o)).collect();
    ensure(left.is_empty(), || format!("left behind: {left:?}"))?;
    Ok((run.status.code().unwrap_or(-1), stdout, stderr))
}

pub fn power_pull_passes() -> Result<(), String> {
    let out = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = out.path().join("run");
    let (code, stdout, stderr) = hadrill_run("scenarios/pacemaker/power-pull.yaml", &[], &dir)?;
    ensure(code == 0, || format!("exit code {code}, not 0\n--- stdout\n{stdout}\n--- stderr\n{stderr}"))?;
    for f in REPORTS {
        let p = dir.join(f);
        ensure(p.metadata().is_ok_and(|m| m.len() > 0), || format!("{} is missing or empty", p.display()))?;
    }
    let art = dir.join("artefacts");
    for f in ["cib.xml", "corosync.conf", "workload-observer.log"] {
        ensure(art.join(f).is_file(), || format!("artefact {f} is missing"))?;
    }
    for sub in ["journal", "console", "domain"] {
        for n in ["node1", "node2", "node3"] {
            let ext = if sub == "journal" {
                "json"
            } else if sub == "console" {
                "log"
            } else {
                "xml"
            };
            let p = art.join(sub).join(format!("{n}.{ext}"));
            ensure(p.is_file(), || format!("artefact {} is missing", p.display()))?;
        }
    }
    // The timeline has what each source saw: the fault, the hypervisor, crm_mon, the
    // journals and the workload.
    let timeline = std::fs::read_to_string(dir.join("timeline.jsonl")).map_err(|e| e.to_string())?;
    for needle in [r#""kind":"fault""#, r#""by":"hypervisor""#, "/crm_mon\"", r#""kind":"workload""#, "/pacemaker-"] {
        ensure(timeline.contains(needle), || format!("the timeline has no {needle}"))?;
    }
    ensure(stdout.contains("verdict: PASS"), || format!("no PASS in the summary:\n{stdout}"))
}

/// A run on a set-up broken by `sabotage` must exit 1 (FAIL) and name each expectation in
/// `failed` as failed in its summary, and the run directory must say the set-up was broken.
pub fn sabotage_fails(scenario: &str, sabotage: &str, failed: &[&str]) -> Result<(), String> {
    let out = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = out.path().join("run");
    let (code, stdout, stderr) = hadrill_run(scenario, &["--sabotage", sabotage], &dir)?;
    ensure(code == 1, || format!("exit code {code}, not 1 (FAIL)\n--- stdout\n{stdout}\n--- stderr\n{stderr}"))?;
    ensure(stdout.contains("verdict: FAIL"), || format!("no FAIL in the summary:\n{stdout}"))?;
    ensure(stdout.contains(&format!("set-up:  broken on purpose ({sabotage})")), || {
        format!("the summary does not say the set-up was broken:\n{stdout}")
    })?;
    ensure(stdout.contains("caught as the matrix says"), || {
        format!("the summary does not say it was caught as the matrix says:\n{stdout}")
    })?;
    for name in failed {
        let line = stdout.lines().find(|l| l.contains(name));
        ensure(line.is_some_and(|l| l.trim_start().starts_with("fail ")), || {
            format!("`{name}` is not reported as FAIL:\n{stdout}")
        })?;
    }
    let md = std::fs::read_to_string(dir.join("summary.md")).map_err(|e| e.to_string())?;
    ensure(md.contains(&format!("({sabotage})")), || "summary.md does not say the set-up was broken".to_owned())
}
