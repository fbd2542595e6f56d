//! hadrill's integration tests: one binary, data-driven from fixture files and from the
//! Proxmox HA manager's regression corpus in ../shared (skipped, with the reason, when a
//! clone has no ../shared beside it).

mod analyze_cli;
mod bad_input;
mod chaos;
mod corpus;
mod diagnostics;
mod fuzz;
mod lab;
mod pacemaker_cib;
mod pve;
mod pve_iso;
mod pve_replay;
mod readme;
mod run_cli;
mod scenarios;
mod support;
mod workload;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(diagnostics::trials());
    trials.extend(fuzz::trials());
    trials.extend(scenarios::trials());
    trials.extend(chaos::trials());
    trials.extend(corpus::trials());
    trials.extend(analyze_cli::trials());
    trials.extend(readme::trials());
    trials.extend(run_cli::trials());
    trials.extend(bad_input::trials());
    trials.extend(pacemaker_cib::trials());
    trials.extend(pve::trials());
    trials.extend(pve_iso::trials());
    trials.extend(pve_replay::trials());
    trials.extend(workload::trials());
    trials.extend(lab::trials());
    libtest_mimic::run(&args, trials).exit();
}
