//! The scenario files shipped in scenarios/ are valid, and the JSON Schema in the
//! repository matches the types it is generated from.

use libtest_mimic::Trial;

use crate::support::{ensure, entries, hadrill, refusing_key_url, repo, trial};

pub fn trials() -> Vec<Trial> {
    let mut out = Vec::new();
    for stack_dir in entries(&repo().join("scenarios"), |p| p.is_dir() && !p.ends_with("clusters")) {
        for file in entries(&stack_dir, |p| p.extension().is_some_and(|e| e == "yaml")) {
            let rel = file.strip_prefix(repo()).unwrap().display().to_string();
            out.push(trial(format!("scenarios::valid::{rel}"), move || {
                let run = hadrill(&["validate", &rel]);
                ensure(run.code == 0, || format!("{rel} does not validate:\n{}{}", run.stdout, run.stderr))
            }));
        }
    }
    out.push(trial("scenarios::schema_is_up_to_date", || {
        let path = repo().join("schema/scenario.json");
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = hadrill::scenario::schema_json();
        ensure(stored == generated, || "schema/scenario.json is out of date with the scenario types: run `cargo run -q -- schema > schema/scenario.json` and commit it".into())
    }));
    out.push(trial("scenarios::pve_run_without_proxmox_access_stops_early_and_says_what_is_missing", || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hadrill"))
            .args(["run", "scenarios/pve/power-pull.yaml", "--color=never"])
            .current_dir(repo())
            .env_remove("HADRILL_PVE_ISO")
            .env_remove("HADRILL_PVE_MIRROR")
            .env_remove("HADRILL_PVE_KEYRING")
            .env("HADRILL_PVE_KEY_URL", refusing_key_url())
            .env("HADRILL_LIBVIRT_URI", "test:///nonexistent")
            .output()
            .map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure(out.status.code() == Some(3), || format!("exit {:?}: {stderr}", out.status.code()))?;
        for needle in ["HADRILL_PVE_ISO=", "HADRILL_PVE_MIRROR=", "No lab was made."] {
            ensure(stderr.contains(needle), || format!("missing {needle:?} in:\n{stderr}"))?;
        }
        Ok(())
    }));
    out.push(trial("scenarios::usage_errors_exit_4_not_2", || {
        // 2 means "inconclusive"; clap's own exit code for misuse must not leak out.
        let run = hadrill(&["analyze"]);
        ensure(run.code == 4, || format!("exit {} for a missing argument", run.code))?;
        let run = hadrill(&["--help"]);
        ensure(run.code == 0 && run.stdout.contains("Exit codes:"), || {
            format!("--help: exit {}\n{}", run.code, run.stdout)
        })
    }));
    out
}
