//! A safe wrapper over libvirt's raw domain-event API, which the `virt` crate does not wrap.
//!
//! libvirt delivers events through an event loop that must be registered once per process
//! *before* a connection is opened and then run forever; [`ensure_event_loop`] does both on a
//! thread of its own. [`DomainEvents`] registers lifecycle, reboot and watchdog callbacks on a
//! connection and turns each call into a [`HvEvent`] stamped with the host clock the moment
//! libvirt hands it over; callbacks never block (they only send on a channel).
//!
//! One guest reset reaches libvirt as a burst of QEMU `RESET` events (three within 70 ms after
//! a watchdog reset, seen with `virsh qemu-monitor-event`: the firmware resets again while it
//! starts). [`ResetBursts`] keeps the first of each burst, so the timeline shows one reset.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use virt::connect::Connect;
use virt::sys;

use super::LabError;
use crate::timeline::{EventData, PowerState};

/// Registers libvirt's default event implementation and runs it on a dedicated thread. Call
/// before opening any connection whose events or keepalives you want. Idempotent.
pub fn ensure_event_loop() -> Result<(), LabError> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            // SAFETY: called once per process (OnceLock), before the loop thread runs.
            if unsafe { sys::virEventRegisterDefaultImpl() } < 0 {
                return Err(virt::error::Error::last_error().to_string());
            }
            std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| {
                    loop {
                        // SAFETY: the default implementation was registered above.
                        if unsafe { sys::virEventRunDefaultImpl() } < 0 {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|message| LabError::EventLoop { message })
}

/// Why a domain's lifecycle changed, as libvirt reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lifecycle {
    Defined,
    Undefined,
    Started,
    Suspended,
    Resumed,
    /// Stopped after a guest shutdown.
    Shutdown,
    /// Stopped by `destroy` (power pulled).
    Destroyed,
    /// Stopped because the guest crashed.
    Crashed,
    /// Stopped for another reason (migration, save, failure).
    Stopped,
    /// The guest began or finished shutting down (`Shutdown` follows when it stops).
    ShuttingDown,
    PmSuspended,
}

impl Lifecycle {
    fn from_raw(event: c_int, detail: c_int) -> Self {
        let (event, detail) = (event as u32, detail as u32);
        match event {
            sys::VIR_DOMAIN_EVENT_DEFINED => Lifecycle::Defined,
            sys::VIR_DOMAIN_EVENT_UNDEFINED => Lifecycle::Undefined,
            sys::VIR_DOMAIN_EVENT_STARTED => Lifecycle::Started,
            sys::VIR_DOMAIN_EVENT_SUSPENDED => Lifecycle::Suspended,
            sys::VIR_DOMAIN_EVENT_RESUMED => Lifecycle::Resumed,
            sys::VIR_DOMAIN_EVENT_STOPPED => match detail {
                sys::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN => Lifecycle::Shutdown,
                sys::VIR_DOMAIN_EVENT_STOPPED_DESTROYED => Lifecycle::Destroyed,
                sys::VIR_DOMAIN_EVENT_STOPPED_CRASHED => Lifecycle::Crashed,
                _ => Lifecycle::Stopped,
            },
            sys::VIR_DOMAIN_EVENT_SHUTDOWN => Lifecycle::ShuttingDown,
            sys::VIR_DOMAIN_EVENT_PMSUSPENDED => Lifecycle::PmSuspended,
            sys::VIR_DOMAIN_EVENT_CRASHED => Lifecycle::Crashed,
            _ => Lifecycle::Stopped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Defined => "defined",
            Lifecycle::Undefined => "undefined",
            Lifecycle::Started => "started",
            Lifecycle::Suspended => "suspended",
            Lifecycle::Resumed => "resumed",
            Lifecycle::Shutdown => "shutdown",
            Lifecycle::Destroyed => "destroyed",
            Lifecycle::Crashed => "crashed",
            Lifecycle::Stopped => "stopped",
            Lifecycle::ShuttingDown => "shutting-down",
            Lifecycle::PmSuspended => "pm-suspended",
        }
    }
}

/// What the emulated watchdog did when it expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchdogAction {
    None,
    Pause,
    Reset,
    Poweroff,
    Shutdown,
    Debug,
    InjectNmi,
}

impl WatchdogAction {
    fn from_raw(action: c_int) -> Self {
        match action as u32 {
            sys::VIR_DOMAIN_EVENT_WATCHDOG_PAUSE => WatchdogAction::Pause,
            sys::VIR_DOMAIN_EVENT_WATCHDOG_RESET => WatchdogAction::Reset,
            sys::VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF => WatchdogAction::Poweroff,
            sys::VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN => WatchdogAction::Shutdown,
            sys::VIR_DOMAIN_EVENT_WATCHDOG_DEBUG => WatchdogAction::Debug,
            sys::VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI => WatchdogAction::InjectNmi,
            _ => WatchdogAction::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WatchdogAction::None => "none",
            WatchdogAction::Pause => "pause",
            WatchdogAction::Reset => "reset",
            WatchdogAction::Poweroff => "poweroff",
            WatchdogAction::Shutdown => "shutdown",
            WatchdogAction::Debug => "debug",
            WatchdogAction::InjectNmi => "inject-nmi",
        }
    }
}

/// The kind of a hypervisor event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum HvEventKind {
    Lifecycle {
        lifecycle: Lifecycle,
    },
    /// The guest reset itself (reboot, softdog, triple fault): the domain keeps running.
    Reboot,
    Watchdog {
        action: WatchdogAction,
    },
}

/// One event from the hypervisor, stamped with the host's clock when libvirt delivered it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HvEvent {
    pub at: SystemTime,
    /// libvirt's domain name.
    pub domain: String,
    #[serde(flatten)]
    pub kind: HvEventKind,
}

impl HvEvent {
    /// The timeline's view of this event for lab node `node`, or `None` for events that say
    /// nothing about power (define, undefine).
    pub fn to_event_data(&self, node: &str) -> Option<EventData> {
        let power = |state, reason: &str| {
            Some(EventData::Power { node: node.to_owned(), state, reason: Some(reason.to_owned()) })
        };
        match self.kind {
            HvEventKind::Lifecycle { lifecycle } => match lifecycle {
                Lifecycle::Started | Lifecycle::Resumed => power(PowerState::Running, lifecycle.as_str()),
                Lifecycle::Shutdown | Lifecycle::Destroyed | Lifecycle::Crashed | Lifecycle::Stopped => {
                    power(PowerState::Off, lifecycle.as_str())
                }
                // Frozen, not off: it resumes with everything it ran (and has not been fenced).
                Lifecycle::Suspended | Lifecycle::PmSuspended => power(PowerState::Paused, lifecycle.as_str()),
                Lifecycle::Defined | Lifecycle::Undefined | Lifecycle::ShuttingDown => None,
            },
            HvEventKind::Reboot => power(PowerState::Reset, "reboot"),
            HvEventKind::Watchdog { action } => {
                Some(EventData::Watchdog { node: node.to_owned(), action: action.as_str().to_owned() })
            }
        }
    }
}

/// Resets of one domain closer together than this are one reset seen several times.
pub const RESET_BURST: Duration = Duration::from_secs(2);

/// Drops the repeats of a reset burst: a `Reboot` event of a domain within [`RESET_BURST`] of
/// the last one admitted for that domain.
#[derive(Debug, Default)]
pub struct ResetBursts {
    last: HashMap<String, SystemTime>,
}

impl ResetBursts {
    /// Whether `e` says something new (every event but a reset's repeat does).
    pub fn admit(&mut self, e: &HvEvent) -> bool {
        if e.kind != HvEventKind::Reboot {
            return true;
        }
        if let Some(prev) = self.last.get(&e.domain)
            && e.at.duration_since(*prev).is_ok_and(|gap| gap < RESET_BURST)
        {
            return false;
        }
        self.last.insert(e.domain.clone(), e.at);
        true
    }
}

/// A subscription to lifecycle, reboot and watchdog events of every domain on a connection.
/// Events arrive on the libvirt event thread and are queued here; dropping the subscription
/// deregisters the callbacks.
pub struct DomainEvents {
    conn: Connect,
    callback_ids: Vec<c_int>,
    rx: Receiver<HvEvent>,
    bursts: Mutex<ResetBursts>,
}

/// What a callback owns: boxed, handed to libvirt as `opaque`, freed by libvirt through
/// [`free_sender`] when the callback is deregistered.
type Opaque = Sender<HvEvent>;

fn domain_name(dom: sys::virDomainPtr) -> String {
    // SAFETY: libvirt passes a valid domain for the duration of the callback; the returned
    // string belongs to the domain object and is copied before we return.
    unsafe {
        let p = sys::virDomainGetName(dom);
        if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

fn send(opaque: *mut c_void, domain: String, kind: HvEventKind) {
    // SAFETY: `opaque` is the Box<Opaque> leaked in `register`, alive until `free_sender`.
    let tx = unsafe { &*(opaque as *const Opaque) };
    // A closed receiver only means nobody listens any more.
    let _ = tx.send(HvEvent { at: SystemTime::now(), domain, kind });
}

unsafe extern "C" fn on_lifecycle(
    _c: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    send(opaque, domain_name(dom), HvEventKind::Lifecycle { lifecycle: Lifecycle::from_raw(event, detail) });
    0
}

unsafe extern "C" fn on_reboot(_c: sys::virConnectPtr, dom: sys::virDomainPtr, opaque: *mut c_void) {
    send(opaque, domain_name(dom), HvEventKind::Reboot);
}

unsafe extern "C" fn on_watchdog(_c: sys::virConnectPtr, dom: sys::virDomainPtr, action: c_int, opaque: *mut c_void) {
    send(opaque, domain_name(dom), HvEventKind::Watchdog { action: WatchdogAction::from_raw(action) });
}

unsafe extern "C" fn free_sender(opaque: *mut c_void) {
    // SAFETY: libvirt calls this exactly once per registration with the pointer we gave it.
    drop(unsafe { Box::from_raw(opaque as *mut Opaque) });
}

impl DomainEvents {
    /// Subscribes to every domain's events on `conn`. The event loop must be running
    /// ([`ensure_event_loop`]) before `conn` was opened.
    pub fn subscribe(conn: &Connect) -> Result<Self, LabError> {
        ensure_event_loop()?;
        let (tx, rx) = mpsc::channel();
        let mut this = DomainEvents {
            conn: conn.clone(),
            callback_ids: Vec::new(),
            rx,
            bursts: Mutex::new(ResetBursts::default()),
        };
        // SAFETY: each callback is cast to the generic type as libvirt's API requires; libvirt
        // calls it back with the signature matching its event id.
        let callbacks: [(u32, sys::virConnectDomainEventGenericCallback); 3] = unsafe {
            [
                (
                    sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                    std::mem::transmute::<
                        unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void) -> c_int,
                        sys::virConnectDomainEventGenericCallback,
                    >(on_lifecycle),
                ),
                (
                    sys::VIR_DOMAIN_EVENT_ID_REBOOT,
                    Some(on_reboot as unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void)),
                ),
                (
                    sys::VIR_DOMAIN_EVENT_ID_WATCHDOG,
                    std::mem::transmute::<
                        unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, *mut c_void),
                        sys::virConnectDomainEventGenericCallback,
                    >(on_watchdog),
                ),
            ]
        };
        for (id, cb) in callbacks {
            let opaque = Box::into_raw(Box::new(tx.clone())) as *mut c_void;
            // SAFETY: the connection is valid (we hold a reference); `opaque` stays valid until
            // libvirt calls `free_sender` on it.
            let rc = unsafe {
                sys::virConnectDomainEventRegisterAny(
                    this.conn.as_ptr(),
                    std::ptr::null_mut(),
                    id as c_int,
                    cb,
                    opaque,
                    Some(free_sender),
                )
            };
            if rc < 0 {
                // libvirt did not take ownership of `opaque` on failure.
                // SAFETY: we leaked it just above and nobody else saw it.
                drop(unsafe { Box::from_raw(opaque as *mut Opaque) });
                return Err(LabError::libvirt("register domain event callback", virt::error::Error::last_error()));
            }
            this.callback_ids.push(rc);
        }
        Ok(this)
    }

    fn admit(&self, e: &HvEvent) -> bool {
        self.bursts.lock().unwrap_or_else(|p| p.into_inner()).admit(e)
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<HvEvent> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) if self.admit(&e) => return Some(e),
                Ok(_) if !left.is_zero() => continue,
                _ => return None,
            }
        }
    }

    /// Every event queued so far, without waiting.
    pub fn drain(&self) -> Vec<HvEvent> {
        self.rx.try_iter().filter(|e| self.admit(e)).collect()
    }

    /// Waits until an event matching `pred` arrives, or `timeout` passes; events that do not
    /// match are returned too, so nothing is lost.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&HvEvent) -> bool,
    ) -> (Option<HvEvent>, Vec<HvEvent>) {
        let deadline = std::time::Instant::now() + timeout;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return (None, skipped);
            }
            match self.rx.recv_timeout(left) {
                Ok(e) if !self.admit(&e) => {}
                Ok(e) if pred(&e) => return (Some(e), skipped),
                Ok(e) => skipped.push(e),
                Err(_) => return (None, skipped),
            }
        }
    }
}

impl Drop for DomainEvents {
    fn drop(&mut self) {
        for id in self.callback_ids.drain(..) {
            // SAFETY: `id` came from a successful registration on this connection.
            unsafe {
                sys::virConnectDomainEventDeregisterAny(self.conn.as_ptr(), id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_codes_map_to_lifecycle() {
        let ev = |e, d| Lifecycle::from_raw(e as c_int, d as c_int);
        assert_eq!(ev(sys::VIR_DOMAIN_EVENT_STARTED, sys::VIR_DOMAIN_EVENT_STARTED_BOOTED), Lifecycle::Started);
        assert_eq!(ev(sys::VIR_DOMAIN_EVENT_STOPPED, sys::VIR_DOMAIN_EVENT_STOPPED_DESTROYED), Lifecycle::Destroyed);
        assert_eq!(ev(sys::VIR_DOMAIN_EVENT_STOPPED, sys::VIR_DOMAIN_EVENT_STOPPED_CRASHED), Lifecycle::Crashed);
        assert_eq!(ev(sys::VIR_DOMAIN_EVENT_STOPPED, sys::VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN), Lifecycle::Shutdown);
        assert_eq!(ev(sys::VIR_DOMAIN_EVENT_CRASHED, 0), Lifecycle::Crashed);
        assert_eq!(WatchdogAction::from_raw(sys::VIR_DOMAIN_EVENT_WATCHDOG_RESET as c_int), WatchdogAction::Reset);
    }

    #[test]
    fn events_become_timeline_data() {
        let at = SystemTime::now();
        let e = |kind| HvEvent { at, domain: "hd-0badcafe-node1".into(), kind };
        assert_eq!(
            e(HvEventKind::Lifecycle { lifecycle: Lifecycle::Destroyed }).to_event_data("node1"),
            Some(EventData::Power { node: "node1".into(), state: PowerState::Off, reason: Some("destroyed".into()) })
        );
        assert_eq!(
            e(HvEventKind::Reboot).to_event_data("node1"),
            Some(EventData::Power { node: "node1".into(), state: PowerState::Reset, reason: Some("reboot".into()) })
        );
        assert_eq!(
            e(HvEventKind::Watchdog { action: WatchdogAction::Reset }).to_event_data("node1"),
            Some(EventData::Watchdog { node: "node1".into(), action: "reset".into() })
        );
        assert_eq!(e(HvEventKind::Lifecycle { lifecycle: Lifecycle::Defined }).to_event_data("node1"), None);
    }

    #[test]
    fn a_reset_burst_is_one_reset() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ev =
            |ms: u64, domain: &str, kind| HvEvent { at: t0 + Duration::from_millis(ms), domain: domain.into(), kind };
        let mut b = ResetBursts::default();
        let watchdog = HvEventKind::Watchdog { action: WatchdogAction::Reset };
        // What QEMU sent after a watchdog reset: the watchdog event, then three RESETs.
        assert!(b.admit(&ev(0, "n1", watchdog)));
        assert!(b.admit(&ev(13, "n1", HvEventKind::Reboot)));
        assert!(!b.admit(&ev(61, "n1", HvEventKind::Reboot)));
        assert!(!b.admit(&ev(68, "n1", HvEventKind::Reboot)));
        // Another domain's reset in the same instant is its own.
        assert!(b.admit(&ev(70, "n2", HvEventKind::Reboot)));
        // A later reset of the same domain counts again; other kinds always pass.
        assert!(b.admit(&ev(2_013, "n1", HvEventKind::Reboot)));
        assert!(b.admit(&ev(2_014, "n1", HvEventKind::Lifecycle { lifecycle: Lifecycle::Destroyed })));
        assert!(b.admit(&ev(2_015, "n1", watchdog)));
    }
}
