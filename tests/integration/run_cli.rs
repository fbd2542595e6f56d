//! `hadrill run` before any lab is made: bad input is refused with exit 4, and the Proxmox VE
//! stack (whose image this host cannot build) with exit 3, both without touching libvirt.

use libtest_mimic::Trial;

use crate::support::{ensure, hadrill, trial};

pub fn trials() -> Vec<Trial> {
    vec![
        trial("run_cli::invalid_scenario_is_refused_first", || {
            let r = hadrill(&[
                "run",
                "scenarios/pacemaker/power-pull.yaml",
                "tests/fixtures/scenarios/invalid/unknown-anchor.yaml",
            ]);
            ensure(r.code == 4, || format!("exit {} not 4\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("unknown anchor"), || format!("no diagnostic:\n{}", r.stderr))
        }),
        trial("run_cli::pve_is_refused_without_a_lab", || {
            let r = hadrill(&["run", "scenarios/pve/power-pull.yaml"]);
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("Proxmox") && r.stderr.contains("No lab was made"), || r.stderr.clone())
        }),
        trial("run_cli::stack_flag_must_agree_with_the_scenario", || {
            let r = hadrill(&["run", "--stack", "pacemaker", "scenarios/pve/power-pull.yaml"]);
            ensure(r.code == 4, || format!("exit {} not 4\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("written for the pve stack"), || r.stderr.clone())
        }),
    ]
}
