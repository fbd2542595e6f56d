//! Ownership marks: how hadrill recognises the libvirt objects it created, and refuses
//! everything else.
//!
//! A domain carries a `<metadata>` element in hadrill's XML namespace with the run id, its
//! role and its node name. Networks on libvirt 9.0 have no metadata API, so a network is ours
//! when its name has the run's prefix *and* its DNS domain is the run's marker domain; both
//! are written only by hadrill.

use std::fmt;

/// The XML namespace of hadrill's domain metadata.
pub const NAMESPACE: &str = "https://hadrill.dev/xmlns/lab/1";
/// The XML prefix used for [`NAMESPACE`].
pub const PREFIX: &str = "hadrill";
/// Every object name hadrill creates starts with this.
pub const NAME_PREFIX: &str = "hd-";
/// The DNS domain suffix that marks a network as hadrill's.
pub const MARKER_SUFFIX: &str = ".hadrill.lab";

/// The id of one lab run: 8 lowercase hex digits, used in every object name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// A fresh id from the clock, the process id and a counter.
    pub fn generate() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::time::{SystemTime, UNIX_EPOCH};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mut x = (nanos as u64)
            ^ ((std::process::id() as u64) << 32)
            ^ (COUNTER.fetch_add(1, Ordering::Relaxed) as u64).rotate_left(17);
        // splitmix64 finaliser: spread the bits so ids of close-together runs differ everywhere.
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
        x ^= x >> 31;
        RunId(format!("{:08x}", x as u32))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| RunId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Name of a domain of this run: `hd-<run>-<node>`.
    pub fn domain_name(&self, node: &str) -> String {
        format!("{NAME_PREFIX}{}-{node}", self.0)
    }

    /// Name of a network of this run: `hd-<run>-<role>`.
    pub fn network_name(&self, role: NetRole) -> String {
        format!("{NAME_PREFIX}{}-{}", self.0, role.as_str())
    }

    /// Bridge device of a network of this run (at most 15 characters).
    pub fn bridge_name(&self, role: NetRole) -> String {
        format!("hd{}{}", self.0, &role.as_str()[..1])
    }

    /// The DNS domain that marks this run's networks.
    pub fn marker_domain(&self) -> String {
        format!("{}{MARKER_SUFFIX}", self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        RunId::parse(&s).ok_or_else(|| format!("`{s}` is not a run id (8 hex digits)"))
    }
}

impl From<RunId> for String {
    fn from(r: RunId) -> String {
        r.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two networks of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetRole {
    /// Cluster traffic (corosync, SSH from the host).
    Cluster,
    /// Storage traffic (NFS).
    Storage,
}

impl NetRole {
    pub const ALL: [NetRole; 2] = [NetRole::Cluster, NetRole::Storage];

    pub fn as_str(self) -> &'static str {
        match self {
            NetRole::Cluster => "cluster",
            NetRole::Storage => "storage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for NetRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a VM is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmRole {
    /// A cluster node.
    Node,
    /// The NFS server.
    Storage,
}

impl VmRole {
    pub fn as_str(self) -> &'static str {
        match self {
            VmRole::Node => "node",
            VmRole::Storage => "storage",
        }
    }
}

/// The ownership mark read back from a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainOwner {
    pub run: RunId,
    pub role: String,
    pub node: String,
    /// `PID:START` of the process that created the domain (see `state::holder_token`).
    pub holder: Option<String>,
}

/// The metadata element written into a domain's XML.
pub fn domain_metadata(run: &RunId, role: VmRole, node: &str, holder: &str) -> String {
    format!(
        "<{PREFIX}:owner xmlns:{PREFIX}=\"{NAMESPACE}\" run=\"{}\" role=\"{}\" node=\"{}\" holder=\"{}\"/>",
        super::xml::escape(run.as_str()),
        role.as_str(),
        super::xml::escape(node),
        super::xml::escape(holder)
    )
}

/// Reads the mark from the element `virDomainGetMetadata` returns when asked for
/// [`NAMESPACE`] (libvirt drops the namespace declaration and may rewrite quoting and
/// attribute order). The namespace is what selects the element, so only ask libvirt for it.
pub fn parse_domain_metadata(xml: &str) -> Option<DomainOwner> {
    let start = xml.find('<')?;
    let body = &xml[start..];
    let run = RunId::parse(&super::xml::attr(body, "run")?)?;
    Some(DomainOwner {
        run,
        role: super::xml::attr(body, "role")?,
        node: super::xml::attr(body, "node")?,
        holder: super::xml::attr(body, "holder"),
    })
}

/// The run that owns a network, if it is one of ours: the name must be `hd-<run>-<role>` and
/// the DNS domain in its XML must be that run's marker.
pub fn network_owner(name: &str, xml: &str) -> Option<(RunId, NetRole)> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (run, role) = rest.split_once('-')?;
    let run = RunId::parse(run)?;
    let role = NetRole::parse(role)?;
    let dns = super::xml::element_attr(xml, "domain", "name")?;
    (dns == run.marker_domain()).then_some((run, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_hex_and_distinct() {
        let a = RunId::generate();
        let b = RunId::generate();
        assert_ne!(a, b);
        assert!(RunId::parse(a.as_str()).is_some());
        assert!(RunId::parse("xyz").is_none());
        assert!(RunId::parse("ABCDEF01").is_none());
        assert!(a.bridge_name(NetRole::Storage).len() <= 15);
    }

    #[test]
    fn metadata_round_trips_and_tolerates_rewriting() {
        let run = RunId::parse("0badcafe").unwrap();
        let xml = domain_metadata(&run, VmRole::Node, "node1", "42:7");
        let owner = parse_domain_metadata(&xml).unwrap();
        assert_eq!(
            owner,
            DomainOwner { run: run.clone(), role: "node".into(), node: "node1".into(), holder: Some("42:7".into()) }
        );
        // libvirt hands the element back with its own prefix and quoting.
        let rewritten = format!("<x:owner xmlns:x='{NAMESPACE}' node='node1' role='node' run='0badcafe'/>");
        assert_eq!(parse_domain_metadata(&rewritten).unwrap().run, run);
        // As libvirt's metadata API returns it: no namespace declaration, no holder.
        let bare = parse_domain_metadata("<owner run=\"0badcafe\" role=\"node\" node=\"n\"/>").unwrap();
        assert_eq!((bare.node.as_str(), bare.holder), ("n", None));
        assert!(parse_domain_metadata("<owner run='nothex!!' role='node' node='n'/>").is_none());
        assert!(parse_domain_metadata("<owner role='node' node='n'/>").is_none());
    }

    #[test]
    fn network_needs_both_name_and_marker() {
        let run = RunId::parse("0badcafe").unwrap();
        let good = format!(
            "<network><name>hd-0badcafe-cluster</name><domain name='{}' localOnly='yes'/></network>",
            run.marker_domain()
        );
        assert_eq!(network_owner("hd-0badcafe-cluster", &good), Some((run.clone(), NetRole::Cluster)));
        assert_eq!(network_owner("default", &good), None);
        let foreign = "<network><name>hd-0badcafe-cluster</name><domain name='example.org'/></network>";
        assert_eq!(network_owner("hd-0badcafe-cluster", foreign), None);
        assert_eq!(network_owner("hd-0badcafe-storage", "<network/>"), None);
    }
}
