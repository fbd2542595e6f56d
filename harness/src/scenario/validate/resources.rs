//! The `resources:` part: ids each stack accepts (Proxmox VE's `vm:N`/`ct:N`, Pacemaker's
//! XML ids), declared once; groups of known nodes; affinity with other declared resources.

use serde_saphyr::Spanned;

use super::{Cx, join, suggest};
use crate::scenario::model::*;
use crate::scenario::plan::*;

impl Cx<'_> {
    pub(super) fn resources(&mut self, docs: &[ResourceDoc]) -> Vec<ResourcePlan> {
        let mut out: Vec<ResourcePlan> = Vec::new();
        for r in docs {
            let id = r.id.value.clone();
            if out.iter().any(|o| o.id == id) {
                self.error(&r.id.referenced, format!("resource `{id}` is declared twice"), "duplicate", None);
                continue;
            }
            if self.stack == Some(StackKind::Pve) && !pve_resource_id(&id) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` is not a Proxmox VE HA resource id"),
                    "expected vm:N or ct:N",
                    Some("Proxmox VE HA resources are `vm:VMID` or `ct:VMID`, with VMID from 100 to 999999999".into()),
                );
            } else if self.stack == Some(StackKind::Pacemaker) && !xml_id(&id) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` cannot be a Pacemaker resource id"),
                    "not an XML id",
                    Some(
                        "Pacemaker ids start with a letter or `_` and hold letters, digits, `_`, `-` and `.` (no `:`)"
                            .into(),
                    ),
                );
            } else if id.is_empty() || id.chars().any(char::is_whitespace) {
                self.error(
                    &r.id.referenced,
                    format!("`{id}` is not a resource id"),
                    "bad id",
                    Some("no spaces; e.g. `ct:100` or `svc`".into()),
                );
            }
            let mut group = None;
            if let Some(g) = &r.group {
                if g.nodes.is_empty() {
                    self.error(&r.id.referenced, format!("the group of `{id}` has no nodes"), "empty group", None);
                }
                for n in &g.nodes {
                    self.check_node_name(n);
                }
                group = Some((g.nodes.iter().map(|n| n.value.clone()).collect(), g.restricted));
            }
            let (mut together, mut apart) = (Vec::new(), Vec::new());
            if let Some(a) = &r.affinity {
                for (list, out_list) in [(&a.together, &mut together), (&a.apart, &mut apart)] {
                    for other in list {
                        if other.value == id {
                            self.errors_push_self_affinity(other, &id);
                        }
                        out_list.push(other.value.clone());
                    }
                }
            }
            out.push(ResourcePlan {
                id,
                max_restart: r.max_restart.unwrap_or(1),
                max_relocate: r.max_relocate.unwrap_or(1),
                failback: r.failback.unwrap_or(true),
                group,
                together,
                apart,
            });
        }
        // Affinity may name resources declared later, so check once all are known.
        let ids: Vec<String> = out.iter().map(|r| r.id.clone()).collect();
        for r in docs {
            if let Some(a) = &r.affinity {
                for other in a.together.iter().chain(&a.apart) {
                    if !ids.contains(&other.value) {
                        let help = suggest(&other.value, ids.iter().map(String::as_str));
                        self.error(
                            &other.referenced,
                            format!("affinity names `{}`, which is not a declared resource", other.value),
                            "unknown resource",
                            help,
                        );
                    }
                }
            }
        }
        out
    }

    fn errors_push_self_affinity(&mut self, at: &Spanned<String>, id: &str) {
        self.error(&at.referenced, format!("`{id}` cannot have affinity with itself"), "itself", None);
    }

    fn check_node_name(&mut self, n: &Spanned<String>) {
        if let Some(nodes) = &self.nodes
            && !nodes.contains(&n.value)
        {
            let help = suggest(&n.value, nodes.iter().map(String::as_str))
                .or_else(|| Some(format!("the cluster's nodes are: {}", join(nodes.iter().map(String::as_str)))));
            self.error(&n.referenced, format!("no node `{}` in this cluster", n.value), "unknown node", help);
        }
    }
}

/// An XML NCName, as the CIB's schema requires of ids.
fn xml_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub(super) fn pve_resource_id(id: &str) -> bool {
    let Some((kind, vmid)) = id.split_once(':') else {
        return false;
    };
    matches!(kind, "vm" | "ct")
        && vmid.parse::<u64>().is_ok_and(|n| (100..=999_999_999).contains(&n))
        && !vmid.starts_with('0')
}
