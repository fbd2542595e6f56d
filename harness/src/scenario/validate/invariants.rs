//! The `invariants:` part: what must never happen (a service active on two nodes, recovered
//! before its node was fenced, an unconfirmed fence, or a state of services or nodes), with
//! the services or node set each kind takes.

use serde_saphyr::Spanned;

use super::describe::describe_never;
use super::{Cx, Subject, suggest};
use crate::scenario::model::*;
use crate::scenario::plan::*;

impl Cx<'_> {
    pub(super) fn invariant(&mut self, i: &Spanned<InvariantDoc>) -> Option<Invariant> {
        let d = &i.value;
        let service = match &d.service {
            Some(s) => Some(self.service_ref(s)?),
            None => None,
        };
        let nodes = match (&d.node, &d.nodes) {
            (Some(n), Some(_)) => {
                self.error(&n.referenced, "give `node` or `nodes`, not both", "both", None);
                return None;
            }
            (Some(n), None) => Some(NodeSet::One(self.node_ref(&n.value, &n.referenced)?)),
            (None, Some(set)) => match set.value.as_str() {
                "survivors" => {
                    if self.roles.is_empty() {
                        self.error(
                            &set.referenced,
                            "`survivors` means every node without a role, but this file binds no role",
                            "no roles",
                            Some("bind one with `as: victim` on a fault step or a mark".into()),
                        );
                        return None;
                    }
                    Some(NodeSet::Survivors)
                }
                "all" => Some(NodeSet::All),
                other => {
                    let help = suggest(other, ["survivors", "all"])
                        .or_else(|| Some("`nodes:` takes `survivors` or `all`; for one node use `node:`".into()));
                    self.error(&set.referenced, format!("`{other}` is not a node set"), "unknown set", help);
                    return None;
                }
            },
            (None, None) => None,
        };
        let never = match d.never.value.as_str() {
            "active-on-two-nodes" | "recovery-before-fence" if nodes.is_some() => {
                self.error(
                    &d.never.referenced,
                    format!("`{}` is about services; it takes `service`, not nodes", d.never.value),
                    "service invariant",
                    None,
                );
                return None;
            }
            "unconfirmed-fence" if service.is_some() || nodes.is_some() => {
                self.error(
                    &i.referenced,
                    "`unconfirmed-fence` is about every fence of the run; it takes neither `service` nor nodes",
                    "cluster invariant",
                    None,
                );
                return None;
            }
            "active-on-two-nodes" => Never::ActiveOnTwoNodes { service },
            "recovery-before-fence" => Never::RecoveryBeforeFence { service },
            "unconfirmed-fence" => Never::UnconfirmedFence,
            state => match (&service, nodes) {
                (Some(_), Some(_)) => {
                    self.error(&i.referenced, "an invariant is about services or nodes, not both", "both", None);
                    return None;
                }
                (Some(_), None) => Never::ServiceState { service, state: self.state(&d.never, Subject::Service)? },
                (None, Some(nodes)) => Never::NodeState { nodes, state: self.state(&d.never, Subject::Node)? },
                (None, None) => {
                    let known = ["active-on-two-nodes", "recovery-before-fence", "unconfirmed-fence"];
                    let help = suggest(state, known).unwrap_or_else(|| "invariants: `active-on-two-nodes`, `recovery-before-fence`, `unconfirmed-fence`, or a state with `service:` or `node:`/`nodes:`".into());
                    self.error(
                        &d.never.referenced,
                        format!("`never: {state}` is not an invariant hadrill knows"),
                        "unknown invariant",
                        Some(help),
                    );
                    return None;
                }
            },
        };
        let text = describe_never(&never);
        let expected_fail = self.expected(&d.expected)?;
        Some(Invariant { never, text, loc: self.loc(&i.referenced), expected_fail })
    }
}
