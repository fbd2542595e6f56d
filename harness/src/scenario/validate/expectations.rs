//! Expectations (`expect:`, a step's `expect`, `final:`): what they are about (a service, where
//! it runs, or a node), when (`within` after an anchor, `eventually`, or at the end), and
//! `expected: fail`.

use serde_saphyr::{Location, Spanned};

use super::describe::describe;
use super::{Ctx, Cx, Subject};
use crate::scenario::model::*;
use crate::scenario::plan::*;

impl Cx<'_> {
    pub(super) fn condition(&mut self, e: &ExpectDoc, at: &Location) -> Option<Pattern> {
        match (&e.service, &e.node) {
            (Some(_), Some(n)) => {
                self.error(
                    &n.referenced,
                    "an expectation is about a service or a node, not both",
                    "both",
                    Some("to say where a service runs, use `on: NODE`".into()),
                );
                None
            }
            (None, None) => {
                self.error(at, "this expectation names no service and no node", "about what?", Some("e.g. `{ service: vm:100, state: started, within: 2m }` or `{ node: victim, state: fenced, within: 60s }`".into()));
                None
            }
            (Some(svc), None) => {
                if let Some(p) = &e.power {
                    self.error(&p.referenced, "`power` is about nodes, not services", "node only", None);
                    return None;
                }
                let service = self.service_ref(svc);
                let state = match &e.state {
                    Some(s) => self.state(s, Subject::Service),
                    // "runs on X" reads naturally without a state.
                    None if e.on.is_some() => Some("started".to_owned()),
                    None => {
                        self.error(
                            &svc.referenced,
                            format!("which state of `{}`?", svc.value),
                            "no state",
                            Some("add e.g. `state: started`".into()),
                        );
                        None
                    }
                };
                let on = match &e.on {
                    Some(p) => {
                        let (name, not) = match &p.value {
                            PlacementDoc::On(n) => (n.clone(), false),
                            PlacementDoc::Not(n) => (n.not.clone(), true),
                        };
                        let r = self.node_ref(&name, &p.referenced)?;
                        Some(if not { Placement::NotOn(r) } else { Placement::On(r) })
                    }
                    None => None,
                };
                Some(Pattern::Service { service: service?, state: Some(state?), on })
            }
            (None, Some(n)) => {
                if let Some(on) = &e.on {
                    self.error(
                        &on.referenced,
                        "`on` says where a service runs; this expectation is about a node",
                        "service only",
                        None,
                    );
                    return None;
                }
                let node = self.node_ref(&n.value, &n.referenced)?;
                match (&e.state, &e.power) {
                    (Some(_), Some(p)) => {
                        self.error(&p.referenced, "give either `state` or `power`, not both", "both", None);
                        None
                    }
                    (Some(s), None) => {
                        Some(Pattern::Node { node: Some(node), state: Some(self.state(s, Subject::Node)?) })
                    }
                    (None, Some(p)) => Some(Pattern::Power { node: Some(node), power: p.value }),
                    (None, None) => {
                        self.error(
                            &n.referenced,
                            format!("which state of node `{}`?", n.value),
                            "no state",
                            Some("add `state: fenced` (or online, lost, …) or `power: off|running|reset`".into()),
                        );
                        None
                    }
                }
            }
        }
    }

    pub(super) fn expectation(
        &mut self,
        e: &Spanned<ExpectDoc>,
        ctx: Ctx,
        default_after: Option<&str>,
    ) -> Option<Expectation> {
        let at = &e.referenced;
        let d = &e.value;
        let condition = self.condition(d, at);
        let timing = match ctx {
            Ctx::Final => {
                if let Some(w) = d.within.as_ref().map(|w| &w.referenced).or(d.after.as_ref().map(|a| &a.referenced)) {
                    self.error(w, "a final-state expectation has no `within` or `after`", "not here", Some("it is checked against the state at the end of the run; move it to `expect:` to bound it in time".into()));
                    return None;
                }
                Timing::Final
            }
            Ctx::TopLevel | Ctx::Step => {
                let after = match &d.after {
                    Some(a) => Some(self.anchor(a)?),
                    None => default_after.map(|s| Anchor::Step(s.to_owned())),
                };
                match (&d.within, d.eventually) {
                    (Some(w), Some(true)) => {
                        self.error(
                            &w.referenced,
                            "`within` and `eventually` exclude each other",
                            "pick one",
                            Some("`within` bounds the time; `eventually: true` only asks that it happens".into()),
                        );
                        return None;
                    }
                    (Some(w), _) => {
                        let bound = self.duration(w, "within")?;
                        let Some(after) = after else {
                            self.error(&w.referenced, "`within` needs something to measure from", "within … after what?", Some("add `after: STEP-ID` or `after: { fault: network-off, node: node3 }`, or put the expectation in a step after a fault".into()));
                            return None;
                        };
                        Timing::Within { bound, after }
                    }
                    (None, Some(true)) => Timing::Eventually { after },
                    (None, _) => {
                        self.error(at, "this expectation does not say when", "when?", Some("add `within: 60s` (measured from `after`) or `eventually: true`; state at the end goes under `final:`".into()));
                        return None;
                    }
                }
            }
        };
        let condition = condition?;
        let text = describe(&condition, &timing);
        let expected_fail = self.expected(&d.expected)?;
        Some(Expectation { condition, timing, text, loc: self.loc(at), expected_fail })
    }

    /// `expected: fail`, the only outcome a check can be marked with.
    pub(super) fn expected(&mut self, e: &Option<Spanned<String>>) -> Option<bool> {
        match e {
            None => Some(false),
            Some(v) if v.value == "fail" => Some(true),
            Some(v) => {
                self.error(
                    &v.referenced,
                    format!("`expected: {}` is not an outcome hadrill knows", v.value),
                    "unknown outcome",
                    Some(
                        "`expected: fail` marks a check known to fail on a sound set-up; leave it out otherwise".into(),
                    ),
                );
                None
            }
        }
    }
}
