//! The lab against libvirt's `test:///default` driver (always) and real QEMU (behind
//! `HADRILL_E2E=1`).

mod e2e;
mod testdriver;
