//! The lab against libvirt's `test:///default` driver (always) and real QEMU (behind
//! `HADRILL_E2E=1`).

mod e2e;
mod image_repo;
mod kill_e2e;
mod pve_identity;
mod run_e2e;
mod testdriver;

use hadrill::stack::pacemaker::Sabotage;
use libtest_mimic::Trial;

use crate::support::{skipped, trial};

/// Sensitivity runs, the whole sabotage matrix: (trial, scenario, sabotage, expectations that
/// must be reported FAIL), from `Sabotage::caught_by`.
fn sensitivity() -> Vec<(String, String, &'static str, &'static [&'static str])> {
    Sabotage::ALL
        .iter()
        .map(|s| {
            let (scenario, failed) = s.caught_by();
            (
                format!("sabotage_{}_fails_{}", s.name().replace('-', "_"), scenario.replace('-', "_")),
                format!("scenarios/pacemaker/{scenario}.yaml"),
                s.name(),
                failed,
            )
        })
        .collect()
}

/// Killed runs on real VMs: where each is killed, and how.
type Kill = fn() -> Result<(), String>;
const KILLS: [(&str, Kill); 3] = [
    ("kill_9_during_image_build_then_gc", kill_e2e::kill_9_during_image_build_then_gc),
    ("kill_9_during_lab_up_then_gc", kill_e2e::kill_9_during_lab_up_then_gc),
    ("sigterm_during_bootstrap_without_gc", kill_e2e::sigterm_during_bootstrap_without_gc),
];

/// Real-VM trials take the host's CPUs for minutes; two labs at once would starve both.
fn one_lab_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LAB.lock().unwrap_or_else(|p| p.into_inner())
}

/// A trial from a test that fails by panicking.
fn panicking(name: &str, f: fn()) -> Trial {
    Trial::test(name, move || {
        f();
        Ok(())
    })
}

pub fn trials() -> Vec<Trial> {
    let mut out = vec![
        panicking(
            "lab::testdriver::comes_up_reacts_to_faults_and_leaves_nothing",
            testdriver::lab_comes_up_reacts_to_faults_and_leaves_nothing,
        ),
        panicking("lab::testdriver::foreign_objects_are_never_touched", testdriver::foreign_objects_are_never_touched),
        panicking(
            "lab::testdriver::interrupted_bring_up_leaves_nothing",
            testdriver::interrupted_bring_up_leaves_nothing,
        ),
        panicking(
            "lab::testdriver::gc_removes_what_a_dead_run_left_and_spares_live_ones",
            testdriver::gc_removes_what_a_dead_run_left_and_spares_live_ones,
        ),
        panicking("lab::testdriver::inventory_lists_what_gc_removes", testdriver::inventory_lists_what_gc_removes),
    ];
    if e2e::enabled() {
        out.push(panicking("lab::e2e::real_vms_power_pull_and_link_down", || {
            let _one = one_lab_at_a_time();
            e2e::real_vms_power_pull_and_link_down()
        }));
        out.push(trial("lab::e2e::image_extra_repository_signed_and_kept", || {
            let _one = one_lab_at_a_time();
            image_repo::extra_repository_build(image_repo::BOOKWORM)
        }));
        // Proxmox VE 9's image is Debian 13: the same mechanism on trixie, its key where 9 keeps it.
        out.push(trial("lab::e2e::image_extra_repository_on_trixie", || {
            let _one = one_lab_at_a_time();
            image_repo::extra_repository_build(image_repo::TRIXIE)
        }));
        // The Proxmox VE images' lab side on the Debian of each release (12: PVE 8, 13: PVE 9).
        for suite in ["bookworm", "trixie"] {
            out.push(trial(format!("lab::e2e::pve_node_identity_on_{suite}"), move || {
                let _one = one_lab_at_a_time();
                pve_identity::lab_identity_on(suite)
            }));
        }
        for (name, f) in KILLS {
            out.push(trial(format!("lab::kill_e2e::{name}"), move || {
                let _one = one_lab_at_a_time();
                f()
            }));
        }
        out.push(trial("lab::run_e2e::hadrill_run_power_pull_passes", || {
            let _one = one_lab_at_a_time();
            run_e2e::power_pull_passes()
        }));
        for (name, scenario, sabotage, failed) in sensitivity() {
            out.push(trial(format!("lab::run_e2e::{name}"), move || {
                let _one = one_lab_at_a_time();
                run_e2e::sabotage_fails(&scenario, sabotage, failed)
            }));
        }
    } else {
        out.push(skipped(
            "lab::e2e::real_vms_power_pull_and_link_down",
            "set HADRILL_E2E=1 to run the lab on real VMs".into(),
        ));
        for name in ["lab::e2e::image_extra_repository_signed_and_kept", "lab::e2e::image_extra_repository_on_trixie"] {
            out.push(skipped(
                name,
                "set HADRILL_E2E=1 to build an image with an extra signed repository (mmdebstrap, network)".into(),
            ));
        }
        for suite in ["bookworm", "trixie"] {
            out.push(skipped(
                format!("lab::e2e::pve_node_identity_on_{suite}"),
                "set HADRILL_E2E=1 to boot the Proxmox VE images' lab side on real VMs".into(),
            ));
        }
        for (name, _) in KILLS {
            out.push(skipped(
                format!("lab::kill_e2e::{name}"),
                "set HADRILL_E2E=1 to kill `hadrill run` on real VMs and count what is left".into(),
            ));
        }
        out.push(skipped(
            "lab::run_e2e::hadrill_run_power_pull_passes",
            "set HADRILL_E2E=1 to run `hadrill run` on real VMs".into(),
        ));
        for (name, ..) in sensitivity() {
            out.push(skipped(
                format!("lab::run_e2e::{name}"),
                "set HADRILL_E2E=1 to run `hadrill run` on real VMs".into(),
            ));
        }
    }
    out
}
