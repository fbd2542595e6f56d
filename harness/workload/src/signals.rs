//! Termination signals turned into a flag the loops poll, plus the process-level calls std does
//! not offer (setsid, parent-death signal, boot-time clock).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: two atomic stores.
    SIGNAL.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// Route SIGTERM, SIGINT and SIGHUP to the stop flag.
pub fn install() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a plain handler and an empty mask is valid; the
        // handler only touches atomics. No SA_RESTART: a sleeping loop should wake up early.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Ask the loops to stop (used for end of stdin and parent death as well as signals).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The signal that asked to stop, if one did.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Leave the caller's session and process group, so a signal to the OCF agent's process group
/// or a closing terminal does not reach the service.
pub fn setsid() {
    // SAFETY: plain syscall; fails only when already a group leader, which is harmless.
    unsafe {
        libc::setsid();
    }
}

/// Be sent SIGTERM when the parent dies (Linux), so an observer started over SSH does not
/// outlive its session.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG and a valid signal number has no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
    }
}

/// Seconds since boot on CLOCK_BOOTTIME, the clock of `/proc/uptime`: the OCF monitor reads
/// both with shell builtins to age the progress stamp without forking `date` or `stat`.
pub fn boottime() -> (i64, u32) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer for clock_gettime.
    unsafe {
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts);
    }
    (ts.tv_sec, (ts.tv_nsec / 10_000_000) as u32)
}
