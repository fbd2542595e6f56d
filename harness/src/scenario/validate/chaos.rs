//! The `chaos:` part: a menu of faults (the step grammar without `node`) with weights > 0,
//! targets that name one node each, duration ranges `LO..HI`, and no `steps` beside it.

use std::time::Duration;

use serde_saphyr::Spanned;

use super::Cx;
use crate::scenario::model::*;
use crate::scenario::plan::*;

const FAULTS: [&str; 9] = [
    "power-pull",
    "link-down",
    "storage-break",
    "kill-process",
    "stop-service",
    "freeze-io",
    "freeze-watchdog",
    "reboot",
    "pause",
];

impl Cx<'_> {
    pub(super) fn chaos(&mut self, c: &Spanned<ChaosDoc>, has_steps: bool) -> Option<ChaosPlan> {
        let d = &c.value;
        if has_steps {
            self.error(
                &c.referenced,
                "a scenario has `steps` or `chaos`, not both",
                "both",
                Some("the drawn schedule takes the place of `steps`".into()),
            );
        }
        // In the order the keys are usually written, so the diagnostics read top to bottom.
        let duration = self.duration(&d.duration, "duration");
        if d.faults.is_empty() {
            self.error(
                &c.referenced,
                "the chaos menu has no faults",
                "no faults",
                Some("e.g. `faults: [ { fault: power-pull, weight: 1 } ]`".into()),
            );
        }
        let mut faults = Vec::new();
        for f in &d.faults {
            let weight = match &f.value.weight {
                Some(w) if w.value == 0 => {
                    self.error(&w.referenced, "a weight of 0 never draws this fault", "zero weight", None);
                    None
                }
                Some(w) => Some(w.value),
                None => Some(1),
            };
            if let (Some(fault), Some(w)) = (self.menu_fault(&f.value.fault), weight) {
                faults.push((fault, w));
            }
        }
        let mut targets = Vec::new();
        for t in d.targets.iter().flatten() {
            match &t.value {
                TargetDoc::Named(n) if n == "any" => targets.push(ChaosTarget::AnyNode),
                TargetDoc::Named(n) if n == "minority" || n == "majority" => self.error(
                    &t.referenced,
                    format!("`{n}` is not built yet: a fault step is done to one node (or `all`)"),
                    "one node",
                    Some("use `any`, a node name, `{ runs: SERVICE }` or `all`".into()),
                ),
                _ => {
                    if let Some(x) = self.target(t, true) {
                        targets.push(ChaosTarget::Fixed(x));
                    }
                }
            }
        }
        if d.targets.is_none() {
            targets.push(ChaosTarget::AnyNode);
        } else if targets.is_empty() && d.targets.as_ref().is_some_and(Vec::is_empty) {
            self.error(&c.referenced, "the chaos `targets` list is empty", "no targets", Some("e.g. `[ any ]`".into()));
        }
        let lasts = self.range(&d.lasts, "lasts");
        let gap = self.range(&d.gap, "gap");
        let (duration, lasts, gap) = (duration?, lasts?, gap?);
        if lasts.0 > duration {
            self.error(
                &d.lasts.referenced,
                "the shortest fault is longer than the whole `duration`: nothing would be drawn",
                "too long",
                None,
            );
            return None;
        }
        Some(ChaosPlan {
            seed: d.seed,
            duration,
            faults,
            targets,
            lasts,
            gap,
            settle: d.settle.unwrap_or(true),
            nodes: self.nodes.clone().unwrap_or_default(),
            services: self.services.clone().unwrap_or_default(),
        })
    }

    /// `30s..2m` (inclusive) or one duration.
    fn range(&mut self, r: &Spanned<String>, what: &str) -> Option<(Duration, Duration)> {
        let (lo, hi) = match r.value.split_once("..") {
            Some((lo, hi)) => (lo, hi),
            None => (r.value.as_str(), r.value.as_str()),
        };
        let part = |s: &str| Spanned { value: s.to_owned(), referenced: r.referenced, defined: r.defined };
        let (lo, hi) = (self.duration(&part(lo), what)?, self.duration(&part(hi), what)?);
        if lo > hi {
            self.error(
                &r.referenced,
                format!("{what}: the range `{}` runs backwards", r.value),
                "low..high",
                Some("write the shorter duration first, e.g. `30s..2m`".into()),
            );
            return None;
        }
        Some((lo, hi))
    }

    fn menu_fault(&mut self, f: &Spanned<MenuFaultDoc>) -> Option<Fault> {
        let at = &f.referenced;
        let default = FaultParamsDoc::default();
        let (name, p) = match &f.value {
            MenuFaultDoc::Named(n) => (n.as_str(), &default),
            MenuFaultDoc::Params(m) if m.len() == 1 => {
                let (n, p) = m.iter().next().expect("one entry");
                (n.as_str(), p)
            }
            MenuFaultDoc::Params(_) => {
                self.error(at, "a menu entry names one fault", "one fault", None);
                return None;
            }
        };
        let fault = match name {
            "power-pull" => Fault::PowerPull,
            "link-down" => Fault::LinkDown { network: p.network.unwrap_or(NetworkKind::Cluster) },
            "storage-break" => Fault::StorageBreak,
            "kill-process" => {
                let Some(process) = p.process.clone().filter(|s| !s.trim().is_empty()) else {
                    self.error(at, "kill-process needs the process name", "no process", None);
                    return None;
                };
                let signal = p.signal.clone().unwrap_or_else(|| "KILL".into());
                Fault::KillProcess { process, signal: signal.trim_start_matches("SIG").to_owned() }
            }
            "stop-service" => {
                let Some(service) = p.service.clone().filter(|s| !s.trim().is_empty()) else {
                    self.error(at, "stop-service needs the service name", "no service", None);
                    return None;
                };
                Fault::StopService { service }
            }
            "freeze-io" => Fault::FreezeIo,
            "freeze-watchdog" => Fault::FreezeWatchdog,
            "reboot" => Fault::Reboot,
            "pause" => Fault::Pause,
            other => {
                let help = super::suggest(other, FAULTS).unwrap_or_else(|| format!("faults: {}", super::join(FAULTS)));
                self.error(at, format!("`{other}` is not a fault"), "unknown fault", Some(help));
                return None;
            }
        };
        // Settings a fault does not take are refused, as `deny_unknown_fields` does in steps.
        let takes: &[&str] = match &fault {
            Fault::LinkDown { .. } => &["network"],
            Fault::KillProcess { .. } => &["process", "signal"],
            Fault::StopService { .. } => &["service"],
            _ => &[],
        };
        for (key, given) in [
            ("network", p.network.is_some()),
            ("process", p.process.is_some()),
            ("signal", p.signal.is_some()),
            ("service", p.service.is_some()),
        ] {
            if given && !takes.contains(&key) {
                self.error(at, format!("`{name}` takes no `{key}`"), "unknown setting", None);
                return None;
            }
        }
        Some(fault)
    }
}
