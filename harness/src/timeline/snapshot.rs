//! The normalised snapshot of a timeline: roles instead of node names, order instead of
//! seconds, durations bucketed. Two runs of one scenario on two versions of an HA stack give
//! the same snapshot exactly when they behaved alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Timeline;

/// Node name → role (`victim`, `survivor-1`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(pub BTreeMap<String, String>);

impl Roles {
    /// The role of a node, or the node's own name when it has none.
    pub fn name<'a>(&'a self, node: &'a str) -> &'a str {
        self.0.get(node).map(String::as_str).unwrap_or(node)
    }
}

/// Render the snapshot text.
pub fn snapshot(_timeline: &Timeline, _roles: &Roles) -> String {
    todo!("snapshot")
}
