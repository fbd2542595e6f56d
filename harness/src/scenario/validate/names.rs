//! Names used anywhere in a scenario: nodes or roles, declared services, the states a service
//! or node can be in (normalised or the stack's own), durations written with a unit.

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::resources::pve_resource_id;
use super::{Cx, Subject, join, suggest};
use crate::scenario::duration::parse_duration;
use crate::scenario::model::*;
use crate::scenario::plan::*;
use crate::stack::pve;
use crate::timeline::{NodeState, ServiceState};

impl Cx<'_> {
    /// A node name or a role. With a known cluster, anything else is an error.
    pub(super) fn node_ref(&mut self, name: &str, at: &Location) -> Option<NodeRef> {
        if self.roles.contains(name) {
            return Some(NodeRef::Role(name.to_owned()));
        }
        match &self.nodes {
            Some(nodes) if nodes.iter().any(|n| n == name) => Some(NodeRef::Name(name.to_owned())),
            Some(nodes) => {
                let candidates: Vec<String> = nodes.iter().chain(self.roles.iter()).cloned().collect();
                let help = suggest(name, candidates.iter().map(String::as_str)).or_else(|| {
                    Some(format!(
                        "nodes: {}; roles: {}",
                        join(nodes.iter().map(String::as_str)),
                        if self.roles.is_empty() {
                            "none (bind one with `as:` on a fault or mark)".to_owned()
                        } else {
                            join(self.roles.iter().map(String::as_str))
                        }
                    ))
                });
                self.error(
                    at,
                    format!("`{name}` is neither a node of this cluster nor a role"),
                    "unknown node or role",
                    help,
                );
                None
            }
            // Without a cluster (an expectation file for `analyze`), node names come from the log.
            None => Some(NodeRef::Name(name.to_owned())),
        }
    }

    pub(super) fn service_ref(&mut self, name: &Spanned<String>) -> Option<String> {
        if let Some(services) = &self.services {
            if !services.contains(&name.value) {
                let help = suggest(&name.value, services.iter().map(String::as_str))
                    .or_else(|| Some(format!("declared resources: {}", join(services.iter().map(String::as_str)))));
                self.error(
                    &name.referenced,
                    format!("`{}` is not a declared resource", name.value),
                    "unknown service",
                    help,
                );
                return None;
            }
        } else if self.stack == Some(StackKind::Pve) && !pve_resource_id(&name.value) {
            self.error(
                &name.referenced,
                format!("`{}` is not a Proxmox VE HA resource id", name.value),
                "expected vm:N or ct:N",
                None,
            );
            return None;
        }
        Some(name.value.clone())
    }

    pub(super) fn state(&mut self, state: &Spanned<String>, of: Subject) -> Option<String> {
        let s = state.value.as_str();
        let (normal, raw): (Vec<&str>, &[&str]) = match of {
            Subject::Service => (
                ServiceState::ALL.iter().map(|v| v.as_str()).collect(),
                if self.stack != Some(StackKind::Pacemaker) { pve::SERVICE_STATES } else { &[] },
            ),
            Subject::Node => (
                NodeState::ALL.iter().map(|v| v.as_str()).collect(),
                if self.stack != Some(StackKind::Pacemaker) { pve::NODE_STATES } else { &[] },
            ),
        };
        if normal.contains(&s) || raw.contains(&s) {
            return Some(s.to_owned());
        }
        let what = if matches!(of, Subject::Service) { "service" } else { "node" };
        let help = suggest(s, normal.iter().chain(raw.iter()).copied()).unwrap_or_else(|| {
            if raw.is_empty() {
                format!("{what} states: {}", join(normal.iter().copied()))
            } else {
                format!(
                    "{what} states: {} (or the stack's own: {})",
                    join(normal.iter().copied()),
                    join(raw.iter().copied())
                )
            }
        });
        self.error(&state.referenced, format!("`{s}` is not a {what} state"), "unknown state", Some(help));
        None
    }

    pub(super) fn duration(&mut self, d: &Spanned<String>, what: &str) -> Option<Duration> {
        match parse_duration(&d.value) {
            Ok(v) => Some(v),
            Err(why) => {
                self.error(
                    &d.referenced,
                    format!("{what}: {why}"),
                    "expected a duration",
                    Some("write durations with a unit: `60s`, `2m`, `1m30s`".into()),
                );
                None
            }
        }
    }
}
