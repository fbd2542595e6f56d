//! The `steps:` part: one thing per step (await, wait, fault, heal, action, expect), ids and
//! roles bound once, a heal after its own healable fault, faults and their targets, actions
//! on the stack they belong to.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::{Ctx, Cx, StepInfo, default_role, join, suggest};
use crate::scenario::model::*;
use crate::scenario::plan::*;

const DEFAULT_AWAIT: Duration = Duration::from_secs(600);
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(120);

impl Cx<'_> {
    pub(super) fn steps(&mut self, docs: &[Spanned<StepDoc>], expectations: &mut Vec<Expectation>) -> Vec<Step> {
        let mut out = Vec::new();
        let mut last_anchor: Option<String> = None;
        let mut healed: BTreeSet<String> = BTreeSet::new();
        let mut bound_roles: BTreeSet<String> = BTreeSet::new();
        for (index, s) in docs.iter().enumerate() {
            let d = &s.value;
            let at = &s.referenced;
            let present: Vec<&str> = [
                ("await", d.await_.is_some()),
                ("wait", d.wait.is_some()),
                ("fault", d.fault.is_some()),
                ("heal", d.heal.is_some()),
                ("action", d.action.is_some()),
                ("expect", d.expect.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, p)| p.then_some(k))
            .collect();
            if present.is_empty() {
                self.error(
                    at,
                    "this step does nothing",
                    "empty step",
                    Some("a step has one of: await, wait, fault, heal, action, expect".into()),
                );
                continue;
            }
            if present.len() > 1 {
                self.error(
                    at,
                    format!(
                        "a step does one thing; this one has {}",
                        present.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                    ),
                    "several actions",
                    Some("split it into one step each".into()),
                );
                continue;
            }
            // Give this step an implicit id when it is a fault, so step expectations can anchor on it.
            let id = d.id.as_ref().map(|i| i.value.clone());
            if let Some(i) = &d.id
                && self.steps.contains_key(&i.value)
            {
                self.error(&i.referenced, format!("step id `{}` is used twice", i.value), "duplicate id", None);
            }
            if let (Some(r), None) = (&d.as_role, &d.fault) {
                self.error(
                    &r.referenced,
                    "`as` names the target of a fault; this step has no fault",
                    "not a fault",
                    None,
                );
            }
            let what = if let Some(a) = &d.await_ {
                if a.value.after.is_some() || a.value.eventually.is_some() {
                    self.error(
                        &a.referenced,
                        "`await` waits from now: it takes `within` as its timeout, not `after` or `eventually`",
                        "not here",
                        None,
                    );
                    continue;
                }
                let timeout = match &a.value.within {
                    Some(w) => self.duration(w, "within"),
                    None => Some(DEFAULT_AWAIT),
                };
                let Some(condition) = self.condition(&a.value, &a.referenced) else {
                    continue;
                };
                StepKind::Await { condition, timeout: timeout.unwrap_or(DEFAULT_AWAIT) }
            } else if let Some(w) = &d.wait {
                let Some(dur) = self.duration(w, "wait") else {
                    continue;
                };
                StepKind::Wait(dur)
            } else if let Some(f) = &d.fault {
                let Some((fault, target)) = self.fault(f) else {
                    continue;
                };
                let role = d.as_role.as_ref().map(|r| r.value.clone()).unwrap_or_else(|| default_role(&bound_roles));
                if !bound_roles.insert(role.clone())
                    && let Some(r) = &d.as_role
                {
                    self.error(
                        &r.referenced,
                        format!("role `{role}` is already bound by an earlier fault"),
                        "rebound",
                        Some("give each fault's target its own role".into()),
                    );
                }
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: Some(fault.clone()) });
                last_anchor = Some(key);
                StepKind::Fault { fault, target, role }
            } else if let Some(h) = &d.heal {
                let Some(info) = self.steps.get(&h.value).cloned() else {
                    let faults: Vec<String> = self
                        .steps
                        .iter()
                        .filter(|(_, i)| i.fault.is_some())
                        .map(|(k, _)| k.clone())
                        .filter(|k| !k.starts_with('#'))
                        .collect();
                    let later =
                        docs.iter().skip(index + 1).any(|s| s.value.id.as_ref().is_some_and(|i| i.value == h.value));
                    let help = if later {
                        Some("that step comes later: a heal must follow its fault".to_owned())
                    } else {
                        suggest(&h.value, faults.iter().map(String::as_str)).or_else(|| {
                            Some(format!(
                                "fault steps so far: {}",
                                if faults.is_empty() {
                                    "none".to_owned()
                                } else {
                                    join(faults.iter().map(String::as_str))
                                }
                            ))
                        })
                    };
                    self.error(
                        &h.referenced,
                        format!("`heal: {}` names no earlier fault step", h.value),
                        "unknown fault step",
                        help,
                    );
                    continue;
                };
                match &info.fault {
                    None => {
                        self.error(
                            &h.referenced,
                            format!("step `{}` is not a fault, so there is nothing to heal", h.value),
                            "not a fault",
                            None,
                        );
                        continue;
                    }
                    Some(f) if !f.healable() => {
                        let why = if matches!(f, Fault::Reboot) {
                            "a rebooted node comes back by itself; wait for it with `expect: { node: …, state: online }`"
                        } else {
                            "a killed process is restarted by its supervisor or the HA stack; leave it out, or use stop-service"
                        };
                        self.error(
                            &h.referenced,
                            format!("a `{}` cannot be healed", f.name()),
                            "cannot heal",
                            Some(why.into()),
                        );
                        continue;
                    }
                    Some(_) => {}
                }
                if !healed.insert(h.value.clone()) {
                    self.error(&h.referenced, format!("step `{}` is healed twice", h.value), "healed already", None);
                    continue;
                }
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: None });
                last_anchor = Some(key);
                StepKind::Heal { step: h.value.clone() }
            } else if let Some(a) = &d.action {
                let Some((action, on, timeout)) = self.action(a) else {
                    continue;
                };
                let key = id.clone().unwrap_or_else(|| format!("#{}", index + 1));
                self.steps.insert(key.clone(), StepInfo { fault: None });
                last_anchor = Some(key);
                StepKind::Action { action, on, timeout }
            } else if let Some(list) = &d.expect {
                if list.is_empty() {
                    self.error(at, "this `expect` list is empty", "nothing expected", None);
                    continue;
                }
                let mut idx = Vec::new();
                for e in list {
                    if let Some(x) = self.expectation(e, Ctx::Step, last_anchor.as_deref()) {
                        idx.push(expectations.len());
                        expectations.push(x);
                    }
                }
                StepKind::Expect(idx)
            } else {
                unreachable!("one step key is present")
            };
            if let Some(i) = &id {
                self.steps.entry(i.clone()).or_insert(StepInfo { fault: None });
            }
            out.push(Step { id, what, loc: self.loc(at) });
        }
        out
    }

    fn fault(&mut self, f: &Spanned<FaultDoc>) -> Option<(Fault, Target)> {
        let (fault, node) = match &f.value {
            FaultDoc::PowerPull { node } => (Fault::PowerPull, node),
            FaultDoc::LinkDown { node, network } => {
                (Fault::LinkDown { network: network.unwrap_or(NetworkKind::Cluster) }, node)
            }
            FaultDoc::StorageBreak { node } => (Fault::StorageBreak, node),
            FaultDoc::KillProcess { node, process, signal } => {
                let signal = signal.clone().unwrap_or_else(|| "KILL".into());
                let known = ["KILL", "TERM", "STOP", "CONT", "HUP", "INT", "ABRT", "SEGV", "USR1", "USR2", "QUIT"];
                let bare = signal.trim_start_matches("SIG");
                if !known.contains(&bare) && bare.parse::<u8>().is_err() {
                    self.error(
                        &f.referenced,
                        format!("`{signal}` is not a signal"),
                        "unknown signal",
                        Some(format!("signals: {}", known.join(", "))),
                    );
                    return None;
                }
                if process.trim().is_empty() {
                    self.error(&f.referenced, "kill-process needs the process name", "no process", None);
                    return None;
                }
                (Fault::KillProcess { process: process.clone(), signal: bare.to_owned() }, node)
            }
            FaultDoc::StopService { node, service } => (Fault::StopService { service: service.clone() }, node),
            FaultDoc::FreezeIo { node } => (Fault::FreezeIo, node),
            FaultDoc::FreezeWatchdog { node } => (Fault::FreezeWatchdog, node),
            FaultDoc::Pause { node } => (Fault::Pause, node),
            FaultDoc::Reboot { node } => (Fault::Reboot, node),
        };
        let target = self.target(node, true)?;
        Some((fault, target))
    }

    pub(super) fn target(&mut self, t: &Spanned<TargetDoc>, allow_all: bool) -> Option<Target> {
        match &t.value {
            TargetDoc::Named(n) if n == "all" => {
                if allow_all {
                    Some(Target::All)
                } else {
                    self.error(&t.referenced, "an action runs on one node, not `all`", "one node", None);
                    None
                }
            }
            TargetDoc::Named(n) => Some(Target::Node(self.node_ref(n, &t.referenced)?)),
            TargetDoc::Select(s) => match (&s.runs, s.master) {
                (Some(_), Some(true)) => {
                    self.error(&t.referenced, "give `runs` or `master`, not both", "both", None);
                    None
                }
                (Some(svc), _) => Some(Target::Runs(self.service_ref(svc)?)),
                (None, Some(true)) => Some(Target::Master),
                (None, _) => {
                    self.error(
                        &t.referenced,
                        "this target selects no node",
                        "no node",
                        Some("e.g. `{ runs: ct:100 }` or `{ master: true }`".into()),
                    );
                    None
                }
            },
        }
    }

    fn action(&mut self, a: &Spanned<ActionDoc>) -> Option<(Action, Target, Duration)> {
        let d = &a.value;
        let mut chosen: Vec<(&str, Action, &Location)> = Vec::new();
        if let Some(v) = &d.ha_manager {
            chosen.push(("ha-manager", Action::HaManager(v.value.clone()), &v.referenced));
        }
        if let Some(v) = &d.pvecm_expected {
            chosen.push(("pvecm-expected", Action::PvecmExpected(v.value), &v.referenced));
        }
        if let Some(v) = &d.crm_resource {
            chosen.push(("crm-resource", Action::CrmResource(v.value.clone()), &v.referenced));
        }
        if let Some(v) = &d.run {
            chosen.push(("run", Action::Run(v.value.clone()), &v.referenced));
        }
        if chosen.len() != 1 {
            let msg = if chosen.is_empty() {
                "this action does nothing".to_owned()
            } else {
                format!(
                    "an action does one thing; this one has {}",
                    chosen.iter().map(|c| format!("`{}`", c.0)).collect::<Vec<_>>().join(" and ")
                )
            };
            self.error(&a.referenced, msg, "one of ha-manager, pvecm-expected, crm-resource, run", None);
            return None;
        }
        let (key, action, at) = chosen.pop().expect("one action");
        let needs = match &action {
            Action::HaManager(_) | Action::PvecmExpected(_) => Some(StackKind::Pve),
            Action::CrmResource(_) => Some(StackKind::Pacemaker),
            Action::Run(_) => None,
        };
        if let Some(needs) = needs
            && self.stack != Some(needs)
        {
            let has = self
                .stack
                .map(|s| format!("this scenario's stack is `{}`", s.as_str()))
                .unwrap_or_else(|| "this scenario names no stack".into());
            self.error(
                at,
                format!("`{key}` is a {} command; {has}", needs.as_str()),
                "wrong stack",
                Some(format!("use `run:` for any shell command, or set `stack: {}`", needs.as_str())),
            );
            return None;
        }
        match &action {
            Action::HaManager(args) if args.split_whitespace().next().is_none() => {
                self.error(at, "`ha-manager` needs arguments, e.g. `set vm:100 --state disabled`", "empty", None);
                return None;
            }
            Action::PvecmExpected(0) => {
                self.error(
                    at,
                    "`pvecm expected 0` would make every partition quorate",
                    "zero votes",
                    Some("the way out of quorum loss with one node left is `pvecm-expected: 1`".into()),
                );
                return None;
            }
            Action::Run(cmd) if cmd.trim().is_empty() => {
                self.error(at, "`run` needs a command", "empty", None);
                return None;
            }
            _ => {}
        }
        let on = match &d.on {
            Some(t) => self.target(t, false)?,
            None => Target::Any,
        };
        let timeout = match &d.timeout {
            Some(t) => self.duration(t, "timeout")?,
            None => DEFAULT_ACTION_TIMEOUT,
        };
        Some((action, on, timeout))
    }
}
