//! The ISO route's pieces that run without Proxmox: the answer disk made with the real tools
//! and read back as the installer would find it (skipped, with the reason, where dosfstools or
//! mtools are missing), and `hadrill image build pve-iso` stopping with what is wrong before
//! anything is installed.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use hadrill::image::pve::iso::answer_disk;
use hadrill::image::pve::{ANSWER_LABEL, InstallAnswer, Release, answer_file};
use libtest_mimic::Trial;

use crate::support::{ensure, hadrill_with, skipped, trial};

/// The first of `programs` missing from PATH (and the sbin directories, where mkfs lives).
fn missing(programs: &[&str]) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<_> = std::env::split_paths(&path).collect();
    dirs.extend(["/sbin", "/usr/sbin"].map(Into::into));
    programs.iter().find(|p| !dirs.iter().any(|d| d.join(p).is_file())).map(|p| p.to_string())
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn answer_disk_is_what_the_installer_reads() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let img = dir.path().join("answer.img");
    let mut a = InstallAnswer::template(Release::Pve8);
    a.root_password = "a build-time password with \"quotes\"".into();
    let answer = answer_file(&a);
    answer_disk(&img, &answer, &AtomicBool::new(false)).map_err(|e| e.to_string())?;
    ensure(!dir.path().join("answer.toml").exists(), || "the staged answer is removed".into())?;
    // The installer looks the label up under /dev/disk/by-label, which udev fills from blkid.
    let label = Command::new("blkid").args(["-p", "-o", "value", "-s", "LABEL"]).arg(&img).output();
    let label = match label {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Err(_) => {
            let o =
                Command::new("mlabel").arg("-s").arg("-i").arg(&img).arg("::").output().map_err(|e| e.to_string())?;
            String::from_utf8_lossy(&o.stdout).trim().trim_start_matches("Volume label is").trim().to_owned()
        }
    };
    ensure(label == ANSWER_LABEL, || format!("label `{label}`, not {ANSWER_LABEL}"))?;
    let fs = Command::new("blkid").args(["-p", "-o", "value", "-s", "TYPE"]).arg(&img).output();
    if let Ok(o) = fs {
        let t = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        ensure(t == "vfat", || format!("file system `{t}`, not vfat"))?;
    }
    let o = Command::new("mtype").arg("-i").arg(&img).arg("::answer.toml").output().map_err(|e| e.to_string())?;
    ensure(o.status.success(), || String::from_utf8_lossy(&o.stderr).into_owned())?;
    let back = String::from_utf8_lossy(&o.stdout);
    ensure(back == answer, || format!("read back:\n{back}\nwritten:\n{answer}"))
}

/// A stand-in assistant that fails as the real one does without xorriso.
fn failing_assistant(dir: &Path) -> Result<std::path::PathBuf, String> {
    let p = dir.join("proxmox-auto-install-assistant");
    std::fs::write(&p, "#!/bin/sh\necho 'Error: Could not find the xorriso binary. Please install it.' >&2\nexit 1\n")
        .map_err(|e| e.to_string())?;
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).map_err(|e| e.to_string())?;
    Ok(p)
}

/// An ISO 9660 image as far as hadrill's access check looks.
fn fake_iso(dir: &Path) -> Result<std::path::PathBuf, String> {
    let iso = dir.join("proxmox-ve_8.4-1.iso");
    let mut bytes = vec![0u8; 40_000];
    bytes[32768] = 1;
    bytes[32769..32774].copy_from_slice(b"CD001");
    std::fs::write(&iso, &bytes).map_err(|e| e.to_string())?;
    Ok(iso)
}

/// `hadrill ARGS --state-dir STATE` with an ISO and an assistant that fails.
fn with_failing_assistant(args: &[&str], state: &Path) -> Result<crate::support::Run, String> {
    let files = tempfile::tempdir().map_err(|e| e.to_string())?;
    let iso = fake_iso(files.path())?;
    let assistant = failing_assistant(files.path())?;
    let mut all = args.to_vec();
    all.extend(["--state-dir", state.to_str().unwrap_or_default()]);
    Ok(hadrill_with(
        &all,
        &[("HADRILL_PVE_ISO", &iso.to_string_lossy()), ("HADRILL_PVE_ASSISTANT", &assistant.to_string_lossy())],
    ))
}

pub fn trials() -> Vec<Trial> {
    let disk = match missing(&["mkfs.vfat", "mcopy", "mtype"]) {
        None => trial("pve_iso::answer_disk_is_what_the_installer_reads", answer_disk_is_what_the_installer_reads),
        Some(p) => skipped(
            "pve_iso::answer_disk_is_what_the_installer_reads",
            format!("`{p}` is not installed (apt-get install dosfstools mtools)"),
        ),
    };
    vec![
        disk,
        trial("pve_iso::image_build_reports_the_assistant_failure", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let r = with_failing_assistant(&["image", "build", "pve-iso"], state.path())?;
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(
                r.stderr.contains("preparing the ISO") && r.stderr.contains("Could not find the xorriso binary"),
                || format!("the assistant's stderr is not in the error:\n{}", r.stderr),
            )?;
            let left = files_under(state.path());
            ensure(left.is_empty(), || format!("files left behind: {left:?}"))?;
            ensure(!state.path().join("runs").exists(), || "a run was made".into())
        }),
        trial("pve_iso::run_fails_on_the_iso_before_building_anything_else", || {
            // `run` makes the Proxmox VE image first: a bad ISO or assistant is reported before
            // the base image (mmdebstrap, minutes) is built.
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            // A temporary --out: the default would leave an empty runs/ in the repository.
            let out = tempfile::tempdir().map_err(|e| e.to_string())?;
            let o = out.path().to_str().unwrap_or_default();
            let r = with_failing_assistant(&["run", "scenarios/pve/power-pull.yaml", "--out", o], state.path())?;
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("Could not find the xorriso binary"), || r.stderr.clone())?;
            let left = files_under(state.path());
            ensure(left.is_empty(), || format!("files left behind (the base image was started?): {left:?}"))
        }),
        trial("pve_iso::image_build_without_an_iso_says_how_to_give_one", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let r = hadrill_with(&["image", "build", "pve-iso", "--state-dir", s], &[]);
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("HADRILL_PVE_ISO"), || r.stderr.clone())?;
            let left = files_under(state.path());
            ensure(left.is_empty(), || format!("files left behind: {left:?}"))
        }),
    ]
}
