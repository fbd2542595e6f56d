//! The connection to libvirt, restricted to what hadrill owns.
//!
//! Every call that changes something looks the object up, reads its ownership mark and
//! refuses with [`LabError::NotOurs`] unless the mark names the expected run. All calls are
//! blocking FFI: async callers use `spawn_blocking`.

use std::net::Ipv4Addr;
use std::os::raw::c_int;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::LabError;
use super::events::{DomainEvents, ensure_event_loop};
use super::owner::{self, DomainOwner, NetRole, RunId};
use super::xml::{self, Accel, BuildDomainSpec, DomainSpec, NetworkSpec, NicSpec};

/// libvirt prints every error to stderr by default (`libvirt: XML-RPC error : …`), beside the
/// diagnostic hadrill makes of the same error; its own line goes to the debug log instead
/// (`HADRILL_LOG=debug`). Every failing call still returns its error. Idempotent.
fn quiet_libvirt() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the handler only reads the error libvirt passes it, for the duration of the call.
    ONCE.call_once(|| unsafe { sys::virSetErrorFunc(std::ptr::null_mut(), Some(log_libvirt_error)) });
}

unsafe extern "C" fn log_libvirt_error(_data: *mut std::ffi::c_void, error: sys::virErrorPtr) {
    // SAFETY: libvirt passes a valid error (or null) whose message is a C string (or null).
    let message = unsafe { error.as_ref() }
        .filter(|e| !e.message.is_null())
        .map(|e| unsafe { std::ffi::CStr::from_ptr(e.message) }.to_string_lossy().into_owned());
    if let Some(m) = message {
        tracing::debug!(target: "libvirt", "{m}");
    }
}

/// A domain's run state, from `virDomainGetState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Running,
    Paused,
    ShuttingDown,
    Off,
    Crashed,
    Other,
}

impl RunState {
    fn from_raw(state: c_int) -> Self {
        match state as u32 {
            sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED => RunState::Running,
            sys::VIR_DOMAIN_PAUSED | sys::VIR_DOMAIN_PMSUSPENDED => RunState::Paused,
            sys::VIR_DOMAIN_SHUTDOWN => RunState::ShuttingDown,
            sys::VIR_DOMAIN_SHUTOFF => RunState::Off,
            sys::VIR_DOMAIN_CRASHED => RunState::Crashed,
            _ => RunState::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::ShuttingDown => "shutting-down",
            RunState::Off => "off",
            RunState::Crashed => "crashed",
            RunState::Other => "other",
        }
    }
}

/// A domain hadrill owns, as found on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedDomain {
    pub name: String,
    pub owner: DomainOwner,
    pub state: RunState,
}

/// A network hadrill owns, as found on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedNetwork {
    pub name: String,
    pub run: RunId,
    pub role: NetRole,
    pub active: bool,
}

/// What [`Hypervisor::remove_run`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub domains: Vec<String>,
    pub networks: Vec<String>,
    /// libvirt's files about the run (QEMU's domain logs), removed after the domains.
    pub files: Vec<std::path::PathBuf>,
}

/// A libvirt connection that only touches hadrill's objects.
pub struct Hypervisor {
    conn: Connect,
    uri: String,
}

// VIR_DOMAIN_METADATA_ELEMENT
const METADATA_ELEMENT: i32 = 2;

impl Hypervisor {
    /// Opens `uri` (`qemu:///system`, `test:///default`), with the event loop running and
    /// keepalives on (where the driver has them) so a dead libvirtd is noticed.
    pub fn open(uri: &str) -> Result<Self, LabError> {
        quiet_libvirt();
        ensure_event_loop()?;
        let conn = Connect::open(Some(uri)).map_err(|e| LabError::libvirt(format!("connect to {uri}"), e))?;
        // Remote drivers honour keepalives; local ones (test://) refuse, which is fine.
        let _ = conn.set_keep_alive(5, 3);
        Ok(Hypervisor { conn, uri: uri.to_owned() })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn connect(&self) -> &Connect {
        &self.conn
    }

    /// Subscribes to lifecycle, reboot and watchdog events of all domains.
    pub fn subscribe(&self) -> Result<DomainEvents, LabError> {
        DomainEvents::subscribe(&self.conn)
    }

    /// KVM when libvirt offers it and `/dev/kvm` can really create a VM; TCG otherwise.
    /// `HADRILL_ACCEL=tcg|kvm` overrides the probe.
    pub fn detect_accel(&self) -> Accel {
        match std::env::var("HADRILL_ACCEL").as_deref() {
            Ok("tcg") => return Accel::Tcg,
            Ok("kvm") => return Accel::Kvm,
            _ => {}
        }
        let caps = self.conn.capabilities().unwrap_or_default();
        if xml::element_attrs(&caps, "domain", "type").iter().any(|t| t == "kvm") && super::accel::kvm_usable() {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    /// Addresses in use by any libvirt network on this host (ours or not).
    pub fn used_addresses(&self) -> Result<Vec<Ipv4Addr>, LabError> {
        let nets = self.conn.list_all_networks(0).map_err(|e| LabError::libvirt("list networks", e))?;
        let mut out = Vec::new();
        for n in nets {
            if let Ok(x) = n.xml_desc(0) {
                out.extend(xml::element_attrs(&x, "ip", "address").iter().filter_map(|a| a.parse::<Ipv4Addr>().ok()));
            }
        }
        Ok(out)
    }

    /// Defines and starts an isolated network. If it cannot start, it is undefined again.
    pub fn create_network(&self, spec: &NetworkSpec) -> Result<(), LabError> {
        let net = self
            .conn
            .define_network_xml(&spec.to_xml())
            .map_err(|e| LabError::libvirt(format!("define network {}", spec.name()), e))?;
        if let Err(e) = net.create() {
            let _ = net.undefine();
            return Err(LabError::libvirt(format!("start network {}", spec.name()), e));
        }
        Ok(())
    }

    /// Defines a domain (not started).
    pub fn define_domain(&self, spec: &DomainSpec) -> Result<(), LabError> {
        self.define_marked(&spec.run, &spec.name(), &spec.to_xml())
    }

    /// Defines an image build's domain (not started).
    pub fn define_build_domain(&self, spec: &BuildDomainSpec) -> Result<(), LabError> {
        self.define_marked(&spec.run, &spec.name(), &spec.to_xml())
    }

    fn define_marked(&self, run: &RunId, name: &str, xml: &str) -> Result<(), LabError> {
        let dom =
            self.conn.define_domain_xml(xml).map_err(|e| LabError::libvirt(format!("define domain {name}"), e))?;
        // Read the mark back: a domain we cannot recognise later must not exist.
        let ok = read_owner(&dom).is_some_and(|o| &o.run == run);
        if !ok {
            let _ = dom.undefine();
            return Err(LabError::NotOurs { kind: "domain", name: name.to_owned(), run: run.to_string() });
        }
        Ok(())
    }

    /// The domain `name`, if it carries the mark of `run`.
    fn owned(&self, run: &RunId, name: &str) -> Result<Domain, LabError> {
        let dom = self.conn.lookup_domain_by_name(name).map_err(|_| LabError::NotFound {
            kind: "domain",
            name: name.to_owned(),
            run: run.to_string(),
        })?;
        match read_owner(&dom) {
            Some(o) if &o.run == run => Ok(dom),
            _ => Err(LabError::NotOurs { kind: "domain", name: name.to_owned(), run: run.to_string() }),
        }
    }

    /// Starts (powers on) a defined domain of `run`.
    pub fn start(&self, run: &RunId, name: &str) -> Result<(), LabError> {
        self.owned(run, name)?.create().map(|_| ()).map_err(|e| LabError::libvirt(format!("start {name}"), e))
    }

    /// Pulls the power of a running domain of `run` (`virsh destroy`).
    pub fn destroy(&self, run: &RunId, name: &str) -> Result<(), LabError> {
        self.owned(run, name)?.destroy().map_err(|e| LabError::libvirt(format!("destroy {name}"), e))
    }

    /// Freezes a domain's vCPUs (`virsh suspend`), or thaws them.
    pub fn set_paused(&self, run: &RunId, name: &str, paused: bool) -> Result<(), LabError> {
        let dom = self.owned(run, name)?;
        if paused { dom.suspend() } else { dom.resume() }
            .map(|_| ())
            .map_err(|e| LabError::libvirt(format!("{} {name}", if paused { "suspend" } else { "resume" }), e))
    }

    /// Sets one NIC's link up or down on the running domain (`virsh domif-setlink`).
    pub fn set_link(&self, run: &RunId, name: &str, nic: &NicSpec, up: bool) -> Result<(), LabError> {
        let dom = self.owned(run, name)?;
        dom.update_device_flags(&xml::link_state_xml(run, nic, up), sys::VIR_DOMAIN_AFFECT_LIVE).map_err(|e| {
            LabError::libvirt(format!("set link {} of {name} {}", nic.net, if up { "up" } else { "down" }), e)
        })
    }

    /// The live link state of the NIC with `mac`.
    pub fn link_is_up(&self, run: &RunId, name: &str, mac: &str) -> Result<Option<bool>, LabError> {
        let dom = self.owned(run, name)?;
        let x = dom.xml_desc(0).map_err(|e| LabError::libvirt(format!("read XML of {name}"), e))?;
        Ok(xml::link_is_up(&x, mac))
    }

    /// The run state of a domain of `run`.
    pub fn state(&self, run: &RunId, name: &str) -> Result<RunState, LabError> {
        let dom = self.owned(run, name)?;
        domain_state(&dom).map_err(|e| LabError::libvirt(format!("state of {name}"), e))
    }

    /// The live XML of a domain of `run`, for the artefact bundle.
    pub fn domain_xml(&self, run: &RunId, name: &str) -> Result<String, LabError> {
        self.owned(run, name)?.xml_desc(0).map_err(|e| LabError::libvirt(format!("read XML of {name}"), e))
    }

    /// Every domain on the host that carries a hadrill mark.
    pub fn owned_domains(&self) -> Result<Vec<OwnedDomain>, LabError> {
        let doms = self.conn.list_all_domains(0).map_err(|e| LabError::libvirt("list domains", e))?;
        let mut out = Vec::new();
        for d in doms {
            let Some(owner) = read_owner(&d) else { continue };
            let name = d.name().map_err(|e| LabError::libvirt("domain name", e))?;
            let state = domain_state(&d).unwrap_or(RunState::Other);
            out.push(OwnedDomain { name, owner, state });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every network on the host that carries a hadrill mark.
    pub fn owned_networks(&self) -> Result<Vec<OwnedNetwork>, LabError> {
        let nets = self.conn.list_all_networks(0).map_err(|e| LabError::libvirt("list networks", e))?;
        let mut out = Vec::new();
        for n in nets {
            let Ok(name) = n.name() else { continue };
            let Ok(x) = n.xml_desc(0) else { continue };
            if let Some((run, role)) = owner::network_owner(&name, &x) {
                out.push(OwnedNetwork { active: n.is_active().unwrap_or(false), name, run, role });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Powers off and undefines every domain of `run`, then stops and undefines its networks.
    /// Objects without the run's mark are never touched. Keeps going past errors and
    /// reports the first one after trying everything.
    pub fn remove_run(&self, run: &RunId) -> Result<Removed, LabError> {
        let mut removed = Removed::default();
        let mut first_err = None;
        // Domains in parallel: a destroy waits for QEMU to exit, which takes seconds under TCG.
        let doms: Vec<_> = self.owned_domains()?.into_iter().filter(|d| &d.owner.run == run).collect();
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> =
                doms.iter().map(|d| s.spawn(move || (d.name.clone(), self.remove_domain(run, &d.name)))).collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (name, r) in results {
            match r {
                Ok(()) => removed.domains.push(name),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        removed.domains.sort();
        for n in self.owned_networks()?.into_iter().filter(|n| &n.run == run) {
            match self.remove_network(run, &n.name) {
                Ok(()) => removed.networks.push(n.name),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    fn remove_domain(&self, run: &RunId, name: &str) -> Result<(), LabError> {
        let dom = self.owned(run, name)?;
        if dom.is_active().unwrap_or(false) {
            dom.destroy()
                .or_else(|e| if dom.is_active().unwrap_or(true) { Err(e) } else { Ok(()) })
                .map_err(|e| LabError::libvirt(format!("destroy {name}"), e))?;
        }
        if dom.is_persistent().unwrap_or(false) {
            dom.undefine().map_err(|e| LabError::libvirt(format!("undefine {name}"), e))?;
        }
        Ok(())
    }

    fn remove_network(&self, run: &RunId, name: &str) -> Result<(), LabError> {
        let net = self.conn.lookup_network_by_name(name).map_err(|_| LabError::NotFound {
            kind: "network",
            name: name.to_owned(),
            run: run.to_string(),
        })?;
        let x = net.xml_desc(0).map_err(|e| LabError::libvirt(format!("read XML of {name}"), e))?;
        if owner::network_owner(name, &x).map(|(r, _)| r).as_ref() != Some(run) {
            return Err(LabError::NotOurs { kind: "network", name: name.to_owned(), run: run.to_string() });
        }
        if net.is_active().unwrap_or(false) {
            net.destroy().map_err(|e| LabError::libvirt(format!("stop network {name}"), e))?;
        }
        if net.is_persistent().unwrap_or(false) {
            net.undefine().map_err(|e| LabError::libvirt(format!("undefine network {name}"), e))?;
        }
        Ok(())
    }
}

fn read_owner(dom: &Domain) -> Option<DomainOwner> {
    dom.metadata(METADATA_ELEMENT, Some(owner::NAMESPACE), 0).ok().and_then(|x| owner::parse_domain_metadata(&x))
}

fn domain_state(dom: &Domain) -> Result<RunState, virt::error::Error> {
    let mut state: c_int = -1;
    let mut reason: c_int = -1;
    // SAFETY: the domain pointer is valid for the lifetime of `dom`; out-params are locals.
    let rc = unsafe { sys::virDomainGetState(dom.as_ptr(), &mut state, &mut reason, 0) };
    if rc < 0 {
        return Err(virt::error::Error::last_error());
    }
    Ok(RunState::from_raw(state))
}
