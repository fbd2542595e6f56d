//! `chaos:` scenarios without VMs: the shipped example validates, draws the same schedule
//! for the same seed, and its rendered schedule loads back to the same steps (what
//! `schedule.yaml` replays); `hadrill run` draws before it touches libvirt, with `--seed`.

use libtest_mimic::Trial;

use crate::support::{ensure, hadrill, hadrill_with, repo, trial};

const SOAK: &str = "scenarios/pacemaker/chaos-soak.yaml";

fn bare(steps: &[hadrill::scenario::Step]) -> String {
    let v: Vec<_> = steps.iter().map(|s| (&s.id, &s.what)).collect();
    serde_json::to_string(&v).unwrap()
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial("chaos::example_validates_and_says_it_is_chaos", || {
            let r = hadrill(&["validate", SOAK]);
            ensure(r.code == 0, || format!("exit {}\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stdout.contains("chaos over 30m from 6 faults (seed 42)"), || r.stdout.clone())
        }),
        trial("chaos::example_replays_from_its_rendered_schedule", || {
            use hadrill::scenario::{self, StepKind, chaos};
            let path = repo().join(SOAK);
            let plan = scenario::load(&path).map_err(|e| format!("{e:?}"))?;
            let c = plan.chaos.ok_or("no chaos section")?;
            let kinds: std::collections::BTreeSet<&str> = c.faults.iter().map(|(f, _)| f.name()).collect();
            ensure(kinds.len() >= 5, || format!("only {kinds:?} on the menu"))?;
            let a = chaos::draw(&c, 42);
            ensure(bare(&a) == bare(&chaos::draw(&c, 42)), || "same seed, another schedule".into())?;
            ensure(bare(&a) != bare(&chaos::draw(&c, 43)), || "seeds 42 and 43 draw the same".into())?;
            let source = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let text = chaos::render(&source, 42, &a).map_err(|e| e.to_string())?;
            let replay =
                scenario::parse("schedule.yaml", &text, path.parent()).map_err(|e| format!("{e:?}\n{text}"))?;
            ensure(bare(&replay.steps) == bare(&a), || format!("the schedule does not load back:\n{text}"))?;
            ensure(replay.invariants.len() == plan.invariants.len(), || "invariants lost".into())?;
            let faults = a.iter().filter(|s| matches!(s.what, StepKind::Fault { .. })).count();
            ensure(faults >= 5, || format!("30 minutes of 30s..2m faults and 1m..3m gaps drew {faults}"))
        }),
        trial("chaos::run_draws_with_the_seed_before_libvirt", || {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let (out, state) = (dir.path().join("out"), dir.path().join("state"));
            let r = hadrill_with(
                &["run", "--seed", "7", "--out", out.to_str().unwrap(), "--state-dir", state.to_str().unwrap(), SOAK],
                &[("HADRILL_LIBVIRT_URI", "test:///nonexistent")],
            );
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("chaos seed 7,"), || format!("the seed is not said:\n{}", r.stderr))
        }),
        trial("chaos::seed_must_be_a_number", || {
            let r = hadrill(&["run", "--seed", "x", SOAK]);
            ensure(r.code == 4, || format!("exit {} not 4\n{}", r.code, r.stderr))
        }),
    ]
}
