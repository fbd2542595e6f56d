//! Every mistake in tests/fixtures/scenarios/invalid/ gets its own diagnostic: file, line,
//! column, what was expected. The rendered message is snapshot-tested exactly as a user sees
//! it from `hadrill validate`, and the exit code is 4 (invalid input).

use libtest_mimic::Trial;

use crate::support::{ensure, entries, fixtures, hadrill, trial};

pub fn trials() -> Vec<Trial> {
    let dir = fixtures().join("scenarios/invalid");
    let files = entries(&dir, |p| p.extension().is_some_and(|e| e == "yaml"));
    let mut out: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            trial(format!("diagnostics::{stem}"), move || {
                let rel = format!("tests/fixtures/scenarios/invalid/{stem}.yaml");
                let run = hadrill(&["validate", &rel]);
                ensure(run.code == 4, || format!("exit code {} (want 4)\n{}{}", run.code, run.stdout, run.stderr))?;
                ensure(run.stderr.contains(&format!("{rel}:")), || {
                    format!("the diagnostic does not name the file with line and column:\n{}", run.stderr)
                })?;
                insta::with_settings!({ snapshot_suffix => "", omit_expression => true }, {
                    insta::assert_snapshot!(format!("diagnostic-{stem}"), format!("{}{}", run.stdout, run.stderr));
                });
                Ok(())
            })
        })
        .collect();
    out.push(trial("diagnostics::at_least_fifteen_mistakes", move || {
        let n = entries(&dir_again(), |p| p.extension().is_some_and(|e| e == "yaml")).len();
        ensure(n >= 15, || format!("only {n} invalid fixtures"))
    }));
    out.push(trial("diagnostics::every_problem_in_a_file_is_reported", || {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let f = dir.path().join("many.yaml");
        std::fs::write(&f, "name: many\nstack: pve\nmarks:\n  cut: { fault: network-off, node: node3 }\nexpect:\n  - { service: vm:1, state: fence, within: 60s, after: cut }\n  - { service: vm:103, state: runing, within: 1m, after: cutt }\n").map_err(|e| e.to_string())?;
        let run = hadrill(&["validate", f.to_str().unwrap()]);
        ensure(run.code == 4, || format!("exit {}", run.code))?;
        ensure(run.stdout.contains("3 problems"), || format!("want 3 problems:\n{}{}", run.stdout, run.stderr))?;
        for needle in ["`vm:1` is not a Proxmox VE HA resource id", "`runing` is not a service state", "did you mean `cut`?"] {
            ensure(run.stderr.contains(needle), || format!("missing {needle:?} in:\n{}", run.stderr))?;
        }
        Ok(())
    }));
    out.push(trial("diagnostics::a_problem_far_into_a_long_line", || {
        // miette pads up to a label's column with a format width, which panics past 65 535;
        // the fuzzer found it. Such a problem is reported without the excerpt, with where.
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let f = dir.path().join("long.yaml");
        std::fs::write(&f, format!("name: long\nstack: {}bogus\n", " ".repeat(70_000))).map_err(|e| e.to_string())?;
        let run = hadrill(&["validate", f.to_str().unwrap()]);
        ensure(run.code == 4, || format!("exit {}\n{}", run.code, run.stderr.chars().take(2000).collect::<String>()))?;
        // miette wraps the message at 100 columns, so only its start is matched.
        ensure(run.stderr.contains("(line 2, column 70008; the line is too"), || {
            format!("no location in:\n{}", run.stderr.chars().take(2000).collect::<String>())
        })
    }));
    out
}

fn dir_again() -> std::path::PathBuf {
    fixtures().join("scenarios/invalid")
}
