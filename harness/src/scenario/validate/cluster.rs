//! The `cluster:` part: an inline cluster or a named file found in `clusters/` beside the
//! scenario (or up to three parents), its stack agreeing with the scenario's, node names that
//! are host names, the networks corosync and the shared storage need, enough memory.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::Cx;
use super::yaml::yaml_error;
use crate::scenario::model::*;
use crate::scenario::plan::*;

const DEFAULT_MEMORY_MIB: u32 = 768;

impl Cx<'_> {
    pub(super) fn cluster(
        &mut self,
        c: &Spanned<ClusterRef>,
        stack: Option<&Spanned<StackKind>>,
    ) -> Option<ClusterPlan> {
        let (doc, origin);
        let loaded;
        match &c.value {
            ClusterRef::Inline(d) => {
                doc = d;
                origin = "inline".to_owned();
            }
            ClusterRef::Named(name) => {
                let Some(path) = self.find_cluster(name) else {
                    let looked =
                        self.cluster_dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
                    self.error(
                        &c.referenced,
                        format!("no cluster file `{name}.yaml`"),
                        "not found",
                        Some(if looked.is_empty() {
                            "write the cluster inline: `cluster: { nodes: 3, storage: nfs }`".to_owned()
                        } else {
                            format!("looked in: {looked}")
                        }),
                    );
                    return None;
                };
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(&c.referenced, format!("cannot read {}: {e}", path.display()), "unreadable", None);
                        return None;
                    }
                };
                let src = Arc::new(text);
                match serde_saphyr::from_str::<ClusterDoc>(&src) {
                    Ok(d) => loaded = d,
                    Err(e) => {
                        self.errors.push(yaml_error(&path.display().to_string(), &src, &e));
                        return None;
                    }
                }
                doc = &loaded;
                origin = path.display().to_string();
            }
        }
        if let (Some(file_stack), Some(s)) = (doc.stack, stack)
            && file_stack != s.value
        {
            self.error(
                &s.referenced,
                format!(
                    "the scenario says stack `{}` but its cluster is built for `{}`",
                    s.value.as_str(),
                    file_stack.as_str()
                ),
                "conflicts with the cluster",
                None,
            );
        }
        if self.stack.is_none() {
            self.stack = doc.stack;
        }
        let count = match &doc.nodes {
            NodesDoc::Count(n) => *n as usize,
            NodesDoc::Names(names) => names.len(),
        };
        let nodes = match &doc.nodes {
            // A count past 16 is an error below; naming every node of `nodes: 4000000000`
            // would exhaust memory first, so only the first few are named.
            NodesDoc::Count(n) => (1..=(*n).min(64)).map(|i| format!("node{i}")).collect::<Vec<_>>(),
            NodesDoc::Names(names) => names.clone(),
        };
        let min = if self.stack == Some(StackKind::Pve) { 3 } else { 2 };
        if count < min || count > 16 {
            self.error(
                &c.referenced,
                format!("a cluster of {count} node{} cannot be tested here", if count == 1 { "" } else { "s" }),
                "node count",
                Some(format!(
                    "use {min} to 16 nodes{}",
                    if min == 3 { " (Proxmox VE HA needs 3 votes without a QDevice)" } else { "" }
                )),
            );
        }
        let mut seen = BTreeSet::new();
        for n in &nodes {
            let valid = !n.is_empty()
                && n.len() <= 63
                && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                && !n.starts_with('-');
            if !valid {
                self.error(
                    &c.referenced,
                    format!("`{n}` is not a valid host name"),
                    "bad node name",
                    Some("letters, digits and `-`, at most 63 characters".into()),
                );
            } else if !seen.insert(n.clone()) {
                self.error(&c.referenced, format!("node `{n}` is listed twice"), "duplicate node", None);
            }
        }
        let storage = doc.storage.unwrap_or(StorageKind::Nfs);
        let networks = doc.networks.clone().unwrap_or_else(|| vec![NetworkKind::Cluster, NetworkKind::Storage]);
        if !networks.contains(&NetworkKind::Cluster) {
            self.error(
                &c.referenced,
                "the cluster has no `cluster` network",
                "missing network",
                Some("corosync needs it: `networks: [cluster, storage]`".into()),
            );
        }
        if !networks.contains(&NetworkKind::Storage) {
            self.error(
                &c.referenced,
                "shared storage needs the `storage` network",
                "missing network",
                Some("`networks: [cluster, storage]`".into()),
            );
        }
        let memory_mib = doc.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        if memory_mib < 384 {
            self.error(
                &c.referenced,
                format!("{memory_mib} MiB is too little for a cluster node"),
                "memory",
                Some("use at least 384 MiB (768 is the tested default)".into()),
            );
        }
        Some(ClusterPlan { origin, nodes, storage, networks, memory_mib })
    }

    fn cluster_dirs(&self) -> Vec<PathBuf> {
        let Some(dir) = self.dir else {
            return Vec::new();
        };
        dir.ancestors().take(4).map(|d| d.join("clusters")).collect()
    }

    fn find_cluster(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') || name.contains('\\') {
            return None;
        }
        self.cluster_dirs().into_iter().map(|d| d.join(format!("{name}.yaml"))).find(|p| p.is_file())
    }
}
