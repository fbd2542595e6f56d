//! `hadrill analyze` as a user runs it: verdicts and exit codes, the JSON-lines contract and
//! the report directory (its bad input is in the table of bad_input.rs). Own fixtures always
//! run; the test-basic1 checks need the corpus in ../shared.

use hadrill::analyze::analyze_file;
use hadrill::check::{CheckResult, Verdict};
use hadrill::scenario;
use libtest_mimic::Trial;
use serde_json::Value;

use crate::support::{corpus, ensure, fixtures, hadrill, skipped, trial};

const OWN_LOG: &str = "tests/fixtures/logs/sim-power-pull.log";

pub fn trials() -> Vec<Trial> {
    let mut out = vec![
        trial("analyze::own_fixture_passes_with_exit_0", || {
            let run = hadrill(&["analyze", OWN_LOG, "--expect", "tests/fixtures/expect/power-pull-pass.yaml"]);
            ensure(run.code == 0, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))
        }),
        trial("analyze::own_fixture_fails_with_exit_1_naming_the_expectation", || {
            let run = hadrill(&["analyze", OWN_LOG, "--expect", "tests/fixtures/expect/power-pull-fail.yaml"]);
            ensure(run.code == 1, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            for needle in [
                "service ct:100 fence within 30s after pull",
                "service ct:100 started on node3 within 1m30s after pull",
                "service ct:100 started on node1 at the end",
            ] {
                ensure(run.stdout.contains(needle), || {
                    format!("the summary does not name {needle:?}:\n{}", run.stdout)
                })?;
            }
            Ok(())
        }),
        trial("analyze::own_fixture_measures_intervals", || {
            let checks = evaluate(OWN_LOG, "power-pull-pass.yaml")?;
            measured(&checks, "service ct:100 fence within 1m after pull", 60.0)?;
            measured(&checks, "node victim fenced within 2m after pull", 120.0)?;
            measured(&checks, "service ct:100 started not on victim within 2m after pull", 120.0)?;
            let verdicts: Vec<Verdict> = checks.iter().map(|c| c.verdict).collect();
            ensure(verdicts.iter().all(|v| *v == Verdict::Pass), || format!("{checks:#?}"))
        }),
        trial("analyze::split_brain_and_early_recovery_fail", || {
            let run = hadrill(&[
                "analyze",
                "tests/fixtures/logs/sim-split-brain.log",
                "--expect",
                "tests/fixtures/expect/split-brain.yaml",
            ]);
            ensure(run.code == 1, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            for needle in [
                "ct:100 was active on node1 and node3 at t=151",
                "ct:100 was put into recovery from node1 at t=150 before node1 was fenced",
            ] {
                ensure(run.stdout.contains(needle), || format!("missing {needle:?}:\n{}", run.stdout))?;
            }
            Ok(())
        }),
        trial("analyze::journal_export_measures_from_the_lost_node", || {
            let log = "tests/fixtures/logs/pve-journal-power-pull.log";
            let run = hadrill(&["analyze", log, "--expect", "tests/fixtures/expect/journal-power-pull.yaml"]);
            ensure(run.code == 0, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            let checks = evaluate(log, "journal-power-pull.yaml")?;
            measured(&checks, "service vm:102 fence within 1m10s after lost", 60.0)?;
            measured(&checks, "node victim fenced within 2m30s after lost", 130.18)
        }),
        trial("analyze::pacemaker_journal_is_read_and_checked", || {
            let log = "tests/fixtures/pacemaker/journal/power-pull.log";
            let run = hadrill(&["analyze", log, "--expect", "tests/fixtures/expect/pacemaker-journal-power-pull.yaml"]);
            ensure(run.code == 0, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            let checks = evaluate(log, "pacemaker-journal-power-pull.yaml")?;
            measured(&checks, "node victim fenced within 30s after lost", 26.58)?;
            measured(&checks, "service writer started not on victim within 1m after lost", 30.58)
        }),
        trial("analyze::json_lines_contract", || {
            let run = hadrill(&["analyze", OWN_LOG, "--json"]);
            ensure(run.code == 0, || format!("exit {}: {}", run.code, run.stderr))?;
            let events = json_lines(&run.stdout)?;
            has(
                &events,
                &[("kind", "fault".into()), ("t", 120.into()), ("node", "node1".into()), ("fault", "power-off".into())],
            )?;
            has(
                &events,
                &[
                    ("kind", "node".into()),
                    ("t", 140.into()),
                    ("node", "node1".into()),
                    ("from", "online".into()),
                    ("to", "unknown".into()),
                ],
            )?;
            has(
                &events,
                &[
                    ("kind", "service".into()),
                    ("t", 180.into()),
                    ("service", "ct:100".into()),
                    ("from", "started".into()),
                    ("to", "fence".into()),
                ],
            )?;
            // Seconds as written: an integer stays an integer, and kind and t come first.
            ensure(
                run.stdout.contains(r#"{"kind":"service","t":180,"service":"ct:100","from":"started","to":"fence""#),
                || format!("wire form differs:\n{}", run.stdout),
            )
        }),
        trial("analyze::timeline_jsonl_reads_back_identically", || {
            let first = hadrill(&["analyze", OWN_LOG, "--json"]);
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let path = dir.path().join("timeline.jsonl");
            std::fs::write(&path, &first.stdout).map_err(|e| e.to_string())?;
            let again = hadrill(&["analyze", path.to_str().unwrap(), "--json"]);
            ensure(again.code == 0 && again.stdout == first.stdout, || {
                format!("round trip differs (exit {}):\n{}", again.code, again.stderr)
            })
        }),
        trial("analyze::report_directory_has_the_five_files", || {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let out = dir.path().join("report");
            let run = hadrill(&[
                "analyze",
                OWN_LOG,
                "--expect",
                "tests/fixtures/expect/power-pull-pass.yaml",
                "--report",
                out.to_str().unwrap(),
            ]);
            ensure(run.code == 0, || format!("exit {}: {}{}", run.code, run.stdout, run.stderr))?;
            for f in ["timeline.jsonl", "junit.xml", "report.html", "summary.md", "timeline.snap"] {
                let p = out.join(f);
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                ensure(len > 0, || format!("{f} missing or empty"))?;
            }
            let junit = std::fs::read_to_string(out.join("junit.xml")).map_err(|e| e.to_string())?;
            let cases = junit.matches("<testcase").count();
            ensure(cases == 8, || {
                format!("want one test case per check (3 expect + 4 invariants + 1 final), got {cases}:\n{junit}")
            })
        }),
    ];
    out.extend(basic1());
    out
}

/// The interval and verdict checks of issue #2 on the corpus' test-basic1.
fn basic1() -> Vec<Trial> {
    let log = match corpus() {
        Ok(dir) => dir.join("test-basic1/log.expect"),
        Err(why) => return vec![skipped("basic1::corpus", why)],
    };
    let l = log.display().to_string();
    let (l1, l2, l3, l4, l5) = (l.clone(), l.clone(), l.clone(), l.clone(), l);
    vec![
        trial("basic1::network_off_to_fence_is_40s_and_to_started_on_node2_is_120s", move || {
            let checks = evaluate(&l1, "basic1-pass.yaml")?;
            measured(&checks, "service vm:103 fence within 1m after cut", 40.0)?;
            measured(&checks, "service vm:103 started on node2 within 2m after cut", 120.0)?;
            measured(&checks, "node victim fenced within 2m after cut", 120.0)
        }),
        trial("basic1::passing_expectations_exit_0", move || {
            let run = hadrill(&["analyze", &l2, "--expect", "tests/fixtures/expect/basic1-pass.yaml"]);
            ensure(run.code == 0, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))
        }),
        trial("basic1::failing_expectations_exit_1", move || {
            let run = hadrill(&["analyze", &l3, "--expect", "tests/fixtures/expect/basic1-fail.yaml"]);
            ensure(run.code == 1, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            let checks = evaluate(&l3, "basic1-fail.yaml")?;
            let v = |name: &str| checks.iter().find(|c| c.name == name).map(|c| c.verdict);
            ensure(v("service vm:103 fence within 30s after cut") == Some(Verdict::Fail), || format!("{checks:#?}"))?;
            ensure(v("service vm:103 started on node2 within 1m40s after cut") == Some(Verdict::Fail), || {
                format!("{checks:#?}")
            })?;
            // node3 is powered off by its watchdog and never comes back in this case.
            ensure(v("node victim online eventually after cut") == Some(Verdict::Fail), || format!("{checks:#?}"))?;
            ensure(v("never: any service active on two nodes") == Some(Verdict::Pass), || format!("{checks:#?}"))
        }),
        trial("basic1::undecidable_expectations_exit_2", move || {
            let run = hadrill(&["analyze", &l4, "--expect", "tests/fixtures/expect/basic1-inconclusive.yaml"]);
            ensure(run.code == 2, || format!("exit {}\n{}{}", run.code, run.stdout, run.stderr))?;
            let checks = evaluate(&l4, "basic1-inconclusive.yaml")?;
            let verdicts: Vec<Verdict> = checks.iter().map(|c| c.verdict).collect();
            ensure(verdicts == [Verdict::Inconclusive, Verdict::Inconclusive, Verdict::Pass], || format!("{checks:#?}"))
        }),
        trial("basic1::json_lines_contract", move || {
            let run = hadrill(&["analyze", &l5, "--json"]);
            let events = json_lines(&run.stdout)?;
            has(
                &events,
                &[
                    ("kind", "service".into()),
                    ("t", 160.into()),
                    ("service", "vm:103".into()),
                    ("from", "started".into()),
                    ("to", "fence".into()),
                ],
            )?;
            has(
                &events,
                &[
                    ("kind", "node".into()),
                    ("t", 120.into()),
                    ("node", "node3".into()),
                    ("from", "online".into()),
                    ("to", "unknown".into()),
                ],
            )?;
            has(
                &events,
                &[
                    ("kind", "fault".into()),
                    ("t", 120.into()),
                    ("node", "node3".into()),
                    ("fault", "network-off".into()),
                ],
            )?;
            has(
                &events,
                &[
                    ("kind", "service".into()),
                    ("t", 240.into()),
                    ("service", "vm:103".into()),
                    ("from", "recovery".into()),
                    ("to", "started".into()),
                    ("node", "node2".into()),
                ],
            )
        }),
    ]
}

fn evaluate(log: &str, expect: &str) -> Result<Vec<CheckResult>, String> {
    let plan = scenario::load(&fixtures().join("expect").join(expect)).map_err(|e| format!("{e:?}"))?;
    let a = analyze_file(std::path::Path::new(&crate::support::repo().join(log)), Some(&plan))
        .map_err(|e| e.to_string())?;
    Ok(a.evaluation.checks)
}

fn measured(checks: &[CheckResult], name: &str, secs: f64) -> Result<(), String> {
    let c = checks
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no check {name:?} in {:?}", checks.iter().map(|c| &c.name).collect::<Vec<_>>()))?;
    ensure(c.measured.map(|m| m.as_f64()) == Some(secs), || {
        format!("{name}: measured {:?}, want {secs}s", c.measured)
    })?;
    ensure(c.verdict == Verdict::Pass, || format!("{name}: {:?} ({})", c.verdict, c.message))
}

fn json_lines(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("line {}: {e}: {l}", i + 1))?;
            ensure(v.get("kind").is_some_and(Value::is_string) && v.get("t").is_some_and(Value::is_number), || {
                format!("line {}: no kind or t: {l}", i + 1)
            })?;
            Ok(v)
        })
        .collect()
}

fn has(events: &[Value], fields: &[(&str, Value)]) -> Result<(), String> {
    ensure(events.iter().any(|e| fields.iter().all(|(k, v)| e.get(*k) == Some(v))), || {
        format!("no event with {fields:?}")
    })
}
