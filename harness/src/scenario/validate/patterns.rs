//! The `marks:` part and the event patterns that marks, anchors (`after:`) and expectations
//! match: a fault, a service, a node's state or its power, with the keys each kind takes.

use serde_saphyr::{Location, Spanned};

use super::{Cx, Subject, join, suggest};
use crate::scenario::model::*;
use crate::scenario::plan::*;
use crate::timeline::FaultKind;

impl Cx<'_> {
    pub(super) fn mark(&mut self, name: &str, m: &Spanned<PatternDoc>) -> Option<Mark> {
        let pattern = self.pattern(&m.value, &m.referenced)?;
        let binds = m.value.as_role.as_ref().map(|r| r.value.clone());
        if binds.is_some() && !pattern_has_node(&pattern) {
            self.error(
                &m.referenced,
                format!("mark `{name}` binds a role, but its event has no node"),
                "no node to bind",
                Some("`as:` works on fault, node and power events".into()),
            );
        }
        Some(Mark { name: name.to_owned(), pattern, binds, loc: self.loc(&m.referenced) })
    }

    pub(super) fn pattern(&mut self, p: &PatternDoc, at: &Location) -> Option<Pattern> {
        let node = match &p.node {
            Some(n) => Some(self.node_ref(&n.value, &n.referenced)?),
            None => None,
        };
        if let Some(f) = &p.fault {
            let Some(fault) = FaultKind::parse(&f.value) else {
                let names = FaultKind::ALL.iter().map(|k| k.as_str());
                let help = suggest(&f.value, names.clone())
                    .unwrap_or_else(|| format!("faults seen in a timeline: {}", join(names)));
                self.error(
                    &f.referenced,
                    format!("`{}` is not a fault that appears in a timeline", f.value),
                    "unknown fault",
                    Some(help),
                );
                return None;
            };
            if p.service.is_some() || p.state.is_some() || p.power.is_some() {
                self.error(at, "a fault pattern takes only `fault`, `node` and `as`", "too many keys", None);
                return None;
            }
            return Some(Pattern::Fault { fault: Some(fault), node });
        }
        if let Some(svc) = &p.service {
            if p.node.is_some() || p.power.is_some() {
                self.error(
                    at,
                    "a service pattern takes `service` and `state`",
                    "too many keys",
                    Some("`node` is for node events; to say where a service runs use an expectation's `on`".into()),
                );
                return None;
            }
            let service = self.service_ref(svc)?;
            let state = match &p.state {
                Some(s) => Some(self.state(s, Subject::Service)?),
                None => None,
            };
            return Some(Pattern::Service { service, state, on: None });
        }
        if let Some(power) = p.power {
            if p.state.is_some() {
                self.error(at, "give either `state` or `power`, not both", "both", None);
                return None;
            }
            return Some(Pattern::Power { node, power });
        }
        if p.node.is_some() {
            let state = match &p.state {
                Some(s) => Some(self.state(s, Subject::Node)?),
                None => None,
            };
            return Some(Pattern::Node { node, state });
        }
        self.error(
            at,
            "this pattern matches nothing",
            "empty pattern",
            Some("give `fault`, `service` or `node`, e.g. `{ fault: network-off, node: node3 }`".into()),
        );
        None
    }

    pub(super) fn anchor(&mut self, a: &Spanned<AnchorDoc>) -> Option<Anchor> {
        match &a.value {
            AnchorDoc::Name(name) => {
                let is_step = self.steps.contains_key(name);
                let is_mark = self.marks.contains(name);
                match (is_step, is_mark) {
                    (true, true) => {
                        self.error(
                            &a.referenced,
                            format!("`{name}` is both a step id and a mark"),
                            "ambiguous",
                            Some("rename one of them".into()),
                        );
                        None
                    }
                    (true, false) => Some(Anchor::Step(name.clone())),
                    (false, true) => Some(Anchor::Mark(name.clone())),
                    (false, false) => {
                        let candidates: Vec<String> = self.steps.keys().chain(self.marks.iter()).cloned().collect();
                        let help = suggest(name, candidates.iter().map(String::as_str)).or_else(|| {
                            Some(if candidates.is_empty() {
                                "give a step an `id`, declare a mark under `marks:`, or write the event in place: `after: { fault: network-off, node: node3 }`".to_owned()
                            } else {
                                format!("known: {}", join(candidates.iter().map(String::as_str)))
                            })
                        });
                        self.error(
                            &a.referenced,
                            format!("`after: {name}` names no earlier step and no mark"),
                            "unknown anchor",
                            help,
                        );
                        None
                    }
                }
            }
            AnchorDoc::Pattern(p) => Some(Anchor::Pattern(self.pattern(p, &a.referenced)?)),
        }
    }
}

fn pattern_has_node(p: &Pattern) -> bool {
    !matches!(p, Pattern::Service { .. })
}
