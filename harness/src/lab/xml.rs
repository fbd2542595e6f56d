//! The libvirt XML hadrill writes (domains, networks, device updates) and the little it
//! reads back (attributes). Built with `format!` from typed specs; every value is escaped.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::owner::{self, NetRole, RunId, VmRole};

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The value of attribute `name` in the first tag of `xml` that has it, with either quoting.
pub fn attr(xml: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = xml[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at == 0 || xml.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = xml[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let quote = rest.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let end = rest[1..].find(quote)?;
        return Some(unescape(&rest[1..1 + end]));
    }
    None
}

/// The value of attribute `name` of the first `<element ...>` tag in `xml`.
pub fn element_attr(xml: &str, element: &str, name: &str) -> Option<String> {
    let open = format!("<{element}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let at = from + i + open.len();
        from = at;
        let next = xml[at..].chars().next()?;
        if !(next.is_ascii_whitespace() || next == '/' || next == '>') {
            continue;
        }
        let end = xml[at..].find('>')? + at;
        return attr(&xml[at..end], name);
    }
    None
}

/// Every value of attribute `name` on `<element>` tags in `xml`.
pub fn element_attrs(xml: &str, element: &str, name: &str) -> Vec<String> {
    let open = format!("<{element}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let at = from + i + open.len();
        from = at;
        let Some(end) = xml[at..].find('>').map(|e| e + at) else { break };
        let next = xml[at..].chars().next();
        if matches!(next, Some(c) if c.is_ascii_whitespace() || c == '/')
            && let Some(v) = attr(&xml[at..end], name)
        {
            out.push(v);
        }
    }
    out
}

/// An isolated network of one run: no `<forward>`, so libvirt neither routes nor NATs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    pub run: RunId,
    pub role: NetRole,
    /// The host's address on the bridge (`x.y.z.1`); the subnet is its /24.
    pub host_ip: Ipv4Addr,
    /// Fixed DHCP leases (MAC, address), and no others: for a guest that asks for an address
    /// before it reads its own (an installer). Lab nodes take theirs from the command line.
    pub dhcp_hosts: Vec<(String, Ipv4Addr)>,
}

impl NetworkSpec {
    pub fn name(&self) -> String {
        self.run.network_name(self.role)
    }

    pub fn to_xml(&self) -> String {
        let ip = if self.dhcp_hosts.is_empty() {
            format!("  <ip address='{}' netmask='255.255.255.0'/>\n", self.host_ip)
        } else {
            let hosts: String = self
                .dhcp_hosts
                .iter()
                .map(|(mac, ip)| format!("      <host mac='{}' ip='{ip}'/>\n", escape(mac)))
                .collect();
            format!(
                "  <ip address='{}' netmask='255.255.255.0'>\n    <dhcp>\n{hosts}    </dhcp>\n  </ip>\n",
                self.host_ip
            )
        };
        format!(
            "<network>\n  <name>{name}</name>\n  <bridge name='{bridge}' stp='off' delay='0'/>\n  <domain name='{marker}' localOnly='yes'/>\n  <dns enable='no'/>\n{ip}</network>\n",
            name = escape(&self.name()),
            bridge = escape(&self.run.bridge_name(self.role)),
            marker = escape(&self.run.marker_domain()),
        )
    }
}

/// Which accelerator a domain runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    /// The libvirt domain type.
    pub fn domain_type(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "qemu",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// One NIC of a VM.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NicSpec {
    pub net: NetRole,
    pub mac: String,
    pub ip: Ipv4Addr,
}

/// The emulated watchdog of a node VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeWatchdog {
    /// None.
    Absent,
    /// An i6300esb that resets the VM when it expires.
    Reset,
    /// An i6300esb whose expiry libvirt only reports (action `none`): the VM runs on. Only to
    /// break a set-up on purpose.
    ReportOnly,
}

/// Everything needed to write one VM's domain XML.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainSpec {
    pub run: RunId,
    pub role: VmRole,
    /// Node name inside the lab, also the guest hostname: `node1`, `storage`.
    pub node: String,
    pub accel: Accel,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Extra kernel command line (identity, key, role).
    pub cmdline: String,
    pub nics: Vec<NicSpec>,
    pub console_log: PathBuf,
    /// `PID:START` of the creating process, recorded in the ownership mark.
    pub holder: String,
    pub watchdog: NodeWatchdog,
}

/// A domain's opening up to its boot settings: name, title, ownership mark, memory, CPUs and
/// the `<os>` element's type (the caller writes how it boots).
fn head(x: &mut String, accel: Accel, name: &str, title: &str, metadata: &str, memory_mib: u32, vcpus: u32) {
    let _ = writeln!(x, "<domain type='{}'>", accel.domain_type());
    let _ = writeln!(x, "  <name>{}</name>", escape(name));
    let _ = writeln!(x, "  <title>{}</title>", escape(title));
    let _ = writeln!(x, "  <metadata>{metadata}</metadata>");
    let _ = writeln!(x, "  <memory unit='MiB'>{memory_mib}</memory>");
    let _ = writeln!(x, "  <vcpu>{vcpus}</vcpu>");
    let _ = writeln!(x, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>");
}

/// From the end of `<os>` to the lifecycle actions: the machine's features (a larger
/// translation cache under TCG, the host's CPU under KVM), UTC clock, and what a reboot does.
fn machine(x: &mut String, accel: Accel, on_reboot: &str) {
    x.push_str("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n");
    if accel == Accel::Tcg {
        x.push_str("    <tcg>\n      <tb-cache unit='MiB'>128</tb-cache>\n    </tcg>\n");
    }
    x.push_str("  </features>\n");
    if accel == Accel::Kvm {
        x.push_str("  <cpu mode='host-passthrough'/>\n");
    }
    x.push_str("  <clock offset='utc'/>\n");
    let _ = writeln!(
        x,
        "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>{on_reboot}</on_reboot>\n  <on_crash>destroy</on_crash>"
    );
}

impl DomainSpec {
    pub fn name(&self) -> String {
        self.run.domain_name(&self.node)
    }

    pub fn to_xml(&self) -> String {
        let mut x = String::new();
        let meta = owner::domain_metadata(&self.run, self.role, &self.node, &self.holder);
        let title = format!("hadrill run {} {}", self.run, self.node);
        head(&mut x, self.accel, &self.name(), &title, &meta, self.memory_mib, self.vcpus);
        let _ = writeln!(x, "    <kernel>{}</kernel>", escape(&self.kernel.to_string_lossy()));
        let _ = writeln!(x, "    <initrd>{}</initrd>", escape(&self.initrd.to_string_lossy()));
        let _ = writeln!(x, "    <cmdline>{}</cmdline>", escape(&self.cmdline));
        machine(&mut x, self.accel, "restart");
        x.push_str("  <devices>\n");
        let _ = writeln!(
            x,
            "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' cache='unsafe'/>\n      <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>",
            escape(&self.disk.to_string_lossy())
        );
        for nic in &self.nics {
            let _ = writeln!(
                x,
                "    <interface type='network'>\n      <source network='{}'/>\n      <mac address='{}'/>\n      <model type='virtio'/>\n      <link state='up'/>\n    </interface>",
                escape(&self.run.network_name(nic.net)),
                escape(&nic.mac)
            );
        }
        let _ = writeln!(
            x,
            "    <serial type='file'>\n      <source path='{}' append='on'/>\n      <target type='isa-serial' port='0'>\n        <model name='isa-serial'/>\n      </target>\n    </serial>",
            escape(&self.console_log.to_string_lossy())
        );
        match self.watchdog {
            NodeWatchdog::Absent => {}
            NodeWatchdog::Reset => x.push_str("    <watchdog model='i6300esb' action='reset'/>\n"),
            NodeWatchdog::ReportOnly => x.push_str("    <watchdog model='i6300esb' action='none'/>\n"),
        }
        x.push_str("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
        x.push_str("    <memballoon model='none'/>\n");
        x.push_str("  </devices>\n</domain>\n");
        x
    }
}

/// How a build domain starts.
#[derive(Clone, Debug, PartialEq)]
pub enum BuildBoot {
    /// This kernel and initrd with this command line (an installer's, read from its ISO, so
    /// that its console is the serial port and it does not wait at a boot menu).
    Kernel { kernel: PathBuf, initrd: PathBuf, cmdline: String },
    /// The BIOS boots the disk (a system an installer made, with its own boot loader).
    Disk,
}

/// A VM of an image build rather than a lab: one run's only domain, marked like a lab's, with
/// a qcow2 target disk, optionally a CD-ROM and a raw disk (an installer and its answers), and
/// one NIC. Every device is at a fixed PCI slot, so that the installed system finds its NIC
/// under the same name when it boots in another domain without the CD-ROM.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildDomainSpec {
    pub run: RunId,
    pub node: String,
    pub accel: Accel,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub boot: BuildBoot,
    /// The target disk (qcow2): the guest's `vda`, its only virtio disk.
    pub disk: PathBuf,
    pub cdrom: Option<PathBuf>,
    /// A small raw disk on IDE (an answer file's file system).
    pub extra_disk: Option<PathBuf>,
    pub nic: NicSpec,
    pub console_log: PathBuf,
    pub holder: String,
}

impl BuildDomainSpec {
    pub fn name(&self) -> String {
        self.run.domain_name(&self.node)
    }

    /// A reboot ends the domain (`on_reboot` destroy): an installer reboots when it is done,
    /// and a build domain is never meant to come back by itself.
    pub fn to_xml(&self) -> String {
        let mut x = String::new();
        let meta = owner::domain_metadata(&self.run, VmRole::Node, &self.node, &self.holder);
        let title = format!("hadrill image build {} {}", self.run, self.node);
        head(&mut x, self.accel, &self.name(), &title, &meta, self.memory_mib, self.vcpus);
        match &self.boot {
            BuildBoot::Kernel { kernel, initrd, cmdline } => {
                let _ = writeln!(x, "    <kernel>{}</kernel>", escape(&kernel.to_string_lossy()));
                let _ = writeln!(x, "    <initrd>{}</initrd>", escape(&initrd.to_string_lossy()));
                let _ = writeln!(x, "    <cmdline>{}</cmdline>", escape(cmdline));
            }
            BuildBoot::Disk => x.push_str("    <boot dev='hd'/>\n"),
        }
        machine(&mut x, self.accel, "destroy");
        x.push_str("  <devices>\n");
        let _ = writeln!(
            x,
            "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' cache='unsafe'/>\n      <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n    </disk>",
            escape(&self.disk.to_string_lossy())
        );
        // IDE: no PCI slot of its own, and never a virtio disk the installer could take for `vda`.
        if let Some(extra) = &self.extra_disk {
            let _ = writeln!(
                x,
                "    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source file='{}'/>\n      <target dev='hdb' bus='ide'/>\n    </disk>",
                escape(&extra.to_string_lossy())
            );
        }
        if let Some(iso) = &self.cdrom {
            let _ = writeln!(
                x,
                "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <source file='{}'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>",
                escape(&iso.to_string_lossy())
            );
        }
        let _ = writeln!(
            x,
            "    <interface type='network'>\n      <source network='{}'/>\n      <mac address='{}'/>\n      <model type='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n    </interface>",
            escape(&self.run.network_name(self.nic.net)),
            escape(&self.nic.mac)
        );
        let _ = writeln!(
            x,
            "    <serial type='file'>\n      <source path='{}' append='on'/>\n      <target type='isa-serial' port='0'>\n        <model name='isa-serial'/>\n      </target>\n    </serial>",
            escape(&self.console_log.to_string_lossy())
        );
        x.push_str("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>\n    </rng>\n");
        x.push_str("    <memballoon model='none'/>\n");
        x.push_str("  </devices>\n</domain>\n");
        x
    }
}

/// The device XML that changes one NIC's link state (what `virsh domif-setlink` sends).
pub fn link_state_xml(run: &RunId, nic: &NicSpec, up: bool) -> String {
    format!(
        "<interface type='network'>\n  <source network='{}'/>\n  <mac address='{}'/>\n  <model type='virtio'/>\n  <link state='{}'/>\n</interface>\n",
        escape(&run.network_name(nic.net)),
        escape(&nic.mac),
        if up { "up" } else { "down" }
    )
}

/// The link state of the NIC with `mac` in a domain's live XML.
pub fn link_is_up(domain_xml: &str, mac: &str) -> Option<bool> {
    for chunk in domain_xml.split("<interface").skip(1) {
        let body = &chunk[..chunk.find("</interface>").unwrap_or(chunk.len())];
        if element_attr(body, "mac", "address").is_some_and(|m| m.eq_ignore_ascii_case(mac)) {
            return Some(element_attr(body, "link", "state").is_none_or(|s| s != "down"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DomainSpec {
        DomainSpec {
            run: RunId::parse("0badcafe").unwrap(),
            role: VmRole::Node,
            node: "node1".into(),
            accel: Accel::Tcg,
            memory_mib: 768,
            vcpus: 1,
            disk: "/var/lib/hadrill/runs/0badcafe/node1.qcow2".into(),
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: "root=/dev/vda rw systemd.hostname=node1 lab.net=52:54:00:0c:01:0b,10.213.1.11/24".into(),
            nics: vec![NicSpec {
                net: NetRole::Cluster,
                mac: "52:54:00:0c:01:0b".into(),
                ip: "10.213.1.11".parse().unwrap(),
            }],
            console_log: "/tmp/<console>.log".into(),
            holder: "1:2".into(),
            watchdog: NodeWatchdog::Reset,
        }
    }

    #[test]
    fn a_node_without_a_watchdog_has_no_device() {
        let x = DomainSpec { watchdog: NodeWatchdog::Absent, ..spec() }.to_xml();
        assert!(!x.contains("<watchdog"), "{x}");
        assert!(spec().to_xml().contains("<watchdog model='i6300esb'"));
    }

    #[test]
    fn a_watchdog_that_only_reports_differs_from_the_sound_one_by_its_action() {
        let sound = spec().to_xml();
        let inert = DomainSpec { watchdog: NodeWatchdog::ReportOnly, ..spec() }.to_xml();
        let changed: Vec<(&str, &str)> = sound.lines().zip(inert.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(
            changed,
            [("    <watchdog model='i6300esb' action='reset'/>", "    <watchdog model='i6300esb' action='none'/>")]
        );
        assert_eq!(sound.lines().count(), inert.lines().count());
    }

    #[test]
    fn domain_xml_has_the_essentials() {
        let x = spec().to_xml();
        assert!(x.starts_with("<domain type='qemu'>"));
        assert!(x.contains("<name>hd-0badcafe-node1</name>"));
        assert!(x.contains("<tb-cache unit='MiB'>128</tb-cache>"));
        assert!(x.contains("<watchdog model='i6300esb' action='reset'/>"));
        assert!(x.contains("cache='unsafe'"));
        assert!(x.contains("/tmp/&lt;console&gt;.log"), "paths are escaped");
        assert!(x.contains("<source network='hd-0badcafe-cluster'/>"));
        let owner = owner::parse_domain_metadata(&x[x.find("<metadata>").unwrap() + 10..]).unwrap();
        assert_eq!(owner.node, "node1");
        let kvm = DomainSpec { accel: Accel::Kvm, ..spec() }.to_xml();
        assert!(kvm.starts_with("<domain type='kvm'>") && !kvm.contains("tb-cache"));
    }

    #[test]
    fn attributes_are_read_with_either_quote() {
        assert_eq!(attr("<a x='1' y=\"2\"/>", "y").as_deref(), Some("2"));
        assert_eq!(attr("<a xy='1' y = '3'/>", "y").as_deref(), Some("3"));
        assert_eq!(element_attr("<domainx name='no'/><domain name='yes'/>", "domain", "name").as_deref(), Some("yes"));
        assert_eq!(
            element_attrs("<ip address='1'/><ip address='2'/><ipx address='3'/>", "ip", "address"),
            vec!["1", "2"]
        );
        assert_eq!(attr("<a v='&lt;&amp;'/>", "v").as_deref(), Some("<&"));
    }

    #[test]
    fn link_state_is_read_per_mac() {
        let xml = "<domain><devices><interface type='network'><mac address='52:54:00:00:00:01'/><link state='down'/></interface>\
                   <interface type='network'><mac address='52:54:00:00:00:02'/></interface></devices></domain>";
        assert_eq!(link_is_up(xml, "52:54:00:00:00:01"), Some(false));
        assert_eq!(link_is_up(xml, "52:54:00:00:00:02"), Some(true));
        assert_eq!(link_is_up(xml, "52:54:00:00:00:03"), None);
        let nic = NicSpec { net: NetRole::Storage, mac: "52:54:00:00:00:01".into(), ip: "10.0.0.1".parse().unwrap() };
        assert!(link_state_xml(&RunId::parse("0badcafe").unwrap(), &nic, false).contains("<link state='down'/>"));
    }
}
