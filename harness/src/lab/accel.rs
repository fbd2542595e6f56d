//! Which accelerator the lab gets, and how much slower that makes the guests.
//!
//! `/dev/kvm` can exist and even create VMs on hosts whose CPU has no virtualisation
//! extensions exposed (nested clouds); guests then hang in early boot. KVM counts as usable
//! only when the CPU advertises `vmx` or `svm` *and* `/dev/kvm` opens read-write.

use std::time::Duration;

use super::xml::Accel;

/// Whether KVM can really run guests here.
pub fn kvm_usable() -> bool {
    let cpu_ok = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| cpu_has_virt_flags(&c));
    cpu_ok && std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok()
}

fn cpu_has_virt_flags(cpuinfo: &str) -> bool {
    cpuinfo.lines().filter(|l| l.starts_with("flags")).any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// How much longer guest-speed work takes under this accelerator. Applies to boot and
/// package work, never to the HA timers under test.
pub fn slowdown(accel: Accel) -> f64 {
    match accel {
        Accel::Kvm => 1.0,
        Accel::Tcg => 6.0,
    }
}

/// A wait that depends on guest speed, scaled for the accelerator.
pub fn scaled(accel: Accel, base: Duration) -> Duration {
    base.mul_f64(slowdown(accel))
}

/// One line for the user saying what the lab runs on and what that means.
pub fn describe(accel: Accel) -> &'static str {
    match accel {
        Accel::Kvm => "KVM: hardware virtualisation",
        Accel::Tcg => "TCG: NO hardware virtualisation, guests are emulated (boot takes minutes, waits scaled x6)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_flags_are_found_only_on_flags_lines() {
        assert!(cpu_has_virt_flags("processor: 0\nflags\t\t: fpu vme vmx sse\n"));
        assert!(cpu_has_virt_flags("flags : fpu svm\n"));
        assert!(!cpu_has_virt_flags("flags : fpu vme sse\nmodel name: vmx-like\n"));
        assert!(!cpu_has_virt_flags("flags : fpu vmxnet\n"));
    }

    #[test]
    fn only_guest_speed_waits_scale() {
        assert_eq!(scaled(Accel::Kvm, Duration::from_secs(30)), Duration::from_secs(30));
        assert_eq!(scaled(Accel::Tcg, Duration::from_secs(30)), Duration::from_secs(180));
    }
}
