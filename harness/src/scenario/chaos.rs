//! Fault schedules drawn from a seed: `draw` turns a validated `chaos:` section and a seed
//! into plain steps (same seed, same steps, on every machine), and `render` writes them back
//! as a scenario file that `scenario::load` accepts, so a drawn run can be replayed exactly.
//!
//! Each drawn fault: an optional settle (`await` every service `started`), the fault step
//! (`id: chaos-N`, its own role `victim`, `victim-2`, …), a `wait` for how long it lasts, its
//! heal (faults that do not heal have none), then the gap. The waits never add up to more
//! than `duration`; settle time is not counted (it is not known before the run).

use std::time::Duration;

use super::duration::format_duration;
use super::plan::*;

/// How long a settle `await` may take before the run is inconclusive.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators",
/// OOPSLA 2014; constants as in Vigna's public-domain splitmix64.c). Small, fixed, and the
/// same on every platform: a schedule is a function of its seed alone.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0). The modulo bias is below n / 2^64: nothing for menus of a
    /// few entries and ranges of a few thousand seconds.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A whole number of seconds in the inclusive range (whole seconds read well in the file).
    fn duration(&mut self, (lo, hi): (Duration, Duration)) -> Duration {
        let (lo, hi) = (lo.as_secs(), hi.as_secs().max(lo.as_secs()));
        Duration::from_secs(lo + self.below(hi - lo + 1))
    }
}

/// The schedule of `chaos` for `seed`.
pub fn draw(chaos: &ChaosPlan, seed: u64) -> Vec<Step> {
    let mut rng = SplitMix64::new(seed);
    let total: u64 = chaos.faults.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut steps = Vec::new();
    let step = |id: Option<String>, what| Step { id, what, loc: Loc::default() };
    let mut used = Duration::ZERO;
    for n in 1.. {
        // Every draw is made in the same order whatever is kept, so that the stream is easy
        // to reason about: fault, target, lasts, gap.
        let mut pick = rng.below(total.max(1));
        let fault = chaos
            .faults
            .iter()
            .find(|(_, w)| {
                let hit = pick < u64::from(*w);
                pick = pick.saturating_sub(u64::from(*w));
                hit
            })
            .map(|(f, _)| f.clone());
        let target = match chaos.targets.get(rng.below(chaos.targets.len().max(1) as u64) as usize) {
            Some(ChaosTarget::AnyNode) if !chaos.nodes.is_empty() => {
                Target::Node(NodeRef::Name(chaos.nodes[rng.below(chaos.nodes.len() as u64) as usize].clone()))
            }
            Some(ChaosTarget::Fixed(t)) => t.clone(),
            // Validation gives at least one target and the nodes of the cluster; a plan
            // without them (built by hand) gets a target `render` refuses.
            Some(ChaosTarget::AnyNode) | None => Target::Any,
        };
        let lasts = rng.duration(chaos.lasts);
        let gap = rng.duration(chaos.gap);
        let Some(fault) = fault else { break };
        if used + lasts > chaos.duration {
            break;
        }
        if chaos.settle {
            for s in &chaos.services {
                let condition = Pattern::Service { service: s.clone(), state: Some("started".into()), on: None };
                steps.push(step(None, StepKind::Await { condition, timeout: SETTLE_TIMEOUT }));
            }
        }
        let id = format!("chaos-{n}");
        let role = if n == 1 { "victim".to_owned() } else { format!("victim-{n}") };
        let heals = fault.healable();
        steps.push(step(Some(id.clone()), StepKind::Fault { fault, target, role }));
        steps.push(step(None, StepKind::Wait(lasts)));
        if heals {
            steps.push(step(None, StepKind::Heal { step: id }));
        }
        used += lasts;
        let gap = gap.min(chaos.duration - used);
        if gap.is_zero() {
            break;
        }
        steps.push(step(None, StepKind::Wait(gap)));
        used += gap;
    }
    steps
}

/// A seed for a scenario that names none: from the clock, so that each run differs; the
/// seed is written into `schedule.yaml` so the run can still be replayed.
pub fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    SplitMix64::new(now.as_nanos() as u64).next_u64()
}

/// Why drawn steps cannot be written as a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the scenario text has no top-level `chaos:` section to replace")]
    NoChaos,
    #[error("a drawn step cannot be written: {0}")]
    Step(String),
}

/// The scenario file `source` with its top-level `chaos:` block replaced by `steps`, and a
/// comment on top saying where it came from. Everything else (name, cluster, resources,
/// invariants, comments) is kept byte for byte, which is why this edits the text rather
/// than printing the plan.
pub fn render(source: &str, seed: u64, steps: &[Step]) -> Result<String, RenderError> {
    let lines: Vec<&str> = source.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("chaos:")).ok_or(RenderError::NoChaos)?;
    // The block ends at the next line that starts at column 0 (a key or a comment).
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('\t'))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut out = String::new();
    out.push_str(&format!(
        "# The schedule hadrill drew from this scenario's `chaos:` section with seed {seed}.\n\
         # Run this file to replay exactly these steps.\n"
    ));
    for l in &lines[..start] {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!("# chaos: drawn with seed {seed}\nsteps:\n"));
    for s in steps {
        out.push_str(&render_step(s)?);
    }
    for l in &lines[end..] {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

/// A string as a YAML scalar: plain when it is a simple word that YAML cannot read as
/// anything but a string (`node2`, `vm:100`), else JSON-quoted (valid YAML, never ambiguous).
fn q(s: &str) -> String {
    let simple = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        && !s.ends_with(':')
        && !["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(&s.to_ascii_lowercase().as_str());
    if simple { s.to_owned() } else { serde_json::to_string(s).expect("a string serialises") }
}

fn render_target(t: &Target) -> Result<String, RenderError> {
    Ok(match t {
        Target::Node(n) => q(&n.to_string()),
        Target::All => "all".into(),
        Target::Runs(s) => format!("{{ runs: {} }}", q(s)),
        Target::Master => "{ master: true }".into(),
        Target::Any => return Err(RenderError::Step("`any` with no cluster nodes known".into())),
    })
}

fn render_step(s: &Step) -> Result<String, RenderError> {
    Ok(match &s.what {
        StepKind::Await { condition: Pattern::Service { service, state: Some(state), on: None }, timeout } => {
            format!(
                "  - await: {{ service: {}, state: {}, within: {} }}\n",
                q(service),
                q(state),
                format_duration(*timeout)
            )
        }
        StepKind::Wait(d) => format!("  - wait: {}\n", format_duration(*d)),
        StepKind::Heal { step } => format!("  - heal: {}\n", q(step)),
        StepKind::Fault { fault, target, role } => {
            let node = render_target(target)?;
            let settings = match fault {
                Fault::LinkDown { network } => format!(", network: {}", network.as_str()),
                Fault::KillProcess { process, signal } => format!(", process: {}, signal: {}", q(process), q(signal)),
                Fault::StopService { service } => format!(", service: {}", q(service)),
                _ => String::new(),
            };
            let id = s.id.as_deref().ok_or_else(|| RenderError::Step("a fault step without an id".into()))?;
            format!(
                "  - id: {}\n    fault: {{ {}: {{ node: {node}{settings} }} }}\n    as: {}\n",
                q(id),
                fault.name(),
                q(role)
            )
        }
        other => return Err(RenderError::Step(format!("{other:?} is not drawn by chaos"))),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SOURCE: &str = "\
# a comment before
name: soak
stack: pacemaker
cluster: { nodes: 3, storage: nfs }
resources:
  - id: svc
chaos:
  seed: 42
  duration: 30m
  faults:
    - { fault: power-pull, weight: 2 }
    - { fault: { link-down: { network: cluster } }, weight: 3 }
    - { fault: { kill-process: { process: corosync } }, weight: 1 }
    - { fault: reboot }
  targets: [ any, { runs: svc }, node2 ]
  lasts: 30s..2m
  gap: 1m..3m
# a comment after
invariants:
  - { service: svc, never: active-on-two-nodes }
";

    fn chaos() -> ChaosPlan {
        let plan = crate::scenario::parse("soak.yaml", SOURCE, None).expect("the chaos scenario is valid");
        assert!(plan.steps.is_empty());
        plan.chaos.expect("a chaos section")
    }

    /// Steps without their locations, for comparing a drawing with its reloaded file.
    fn bare(steps: &[Step]) -> String {
        let v: Vec<_> = steps.iter().map(|s| (&s.id, &s.what)).collect();
        serde_json::to_string(&v).unwrap()
    }

    fn secs(d: Duration) -> u64 {
        d.as_secs()
    }

    #[test]
    fn splitmix64_matches_the_reference() {
        // splitmix64.c seeded with 0: its first output.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn same_seed_same_schedule_and_seeds_differ() {
        let c = chaos();
        assert_eq!(bare(&draw(&c, 42)), bare(&draw(&c, 42)));
        let distinct: std::collections::BTreeSet<String> = (0..100).map(|s| bare(&draw(&c, s))).collect();
        assert_eq!(distinct.len(), 100, "100 seeds, 100 different schedules");
    }

    #[test]
    fn schedules_keep_to_the_duration_and_the_ranges() {
        let c = chaos();
        for seed in 0..500 {
            let steps = draw(&c, seed);
            assert!(!steps.is_empty());
            let waits: Duration =
                steps.iter().filter_map(|s| if let StepKind::Wait(d) = s.what { Some(d) } else { None }).sum();
            assert!(waits <= c.duration, "seed {seed}: {waits:?} of waits");
            for (i, s) in steps.iter().enumerate() {
                let StepKind::Fault { fault, .. } = &s.what else { continue };
                // Settle first: the service is awaited right before each fault.
                assert!(matches!(steps[i - 1].what, StepKind::Await { .. }), "seed {seed}: no settle before {i}");
                let StepKind::Wait(lasts) = steps[i + 1].what else { panic!("seed {seed}: no wait after a fault") };
                assert!((30..=120).contains(&secs(lasts)), "seed {seed}: lasts {lasts:?}");
                let heal = steps
                    .get(i + 2)
                    .is_some_and(|h| matches!(&h.what, StepKind::Heal { step } if Some(step) == s.id.as_ref()));
                assert_eq!(heal, fault.healable(), "seed {seed}: heal of {}", fault.name());
                let after = i + 2 + usize::from(heal);
                if let Some(Step { what: StepKind::Wait(gap), .. }) = steps.get(after) {
                    assert!(secs(*gap) <= 180, "seed {seed}: gap {gap:?}");
                    // Only the last gap may be cut short by the end of the duration.
                    if after + 1 < steps.len() {
                        assert!(secs(*gap) >= 60, "seed {seed}: gap {gap:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn weights_and_targets_are_honoured_over_many_seeds() {
        let c = chaos();
        let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
        let mut targets: BTreeMap<String, usize> = BTreeMap::new();
        for seed in 0..1000 {
            for s in draw(&c, seed) {
                if let StepKind::Fault { fault, target, .. } = s.what {
                    *faults.entry(fault.name()).or_default() += 1;
                    *targets.entry(format!("{target:?}")).or_default() += 1;
                }
            }
        }
        let n = |k: &str| faults.get(k).copied().unwrap_or(0);
        // Weights 3 : 2 : 1 : 1.
        assert!(n("link-down") > n("power-pull"), "{faults:?}");
        assert!(n("power-pull") > n("kill-process"), "{faults:?}");
        assert!(n("power-pull") > n("reboot"), "{faults:?}");
        let total: usize = faults.values().sum();
        let share = n("link-down") as f64 / total as f64;
        assert!((share - 3.0 / 7.0).abs() < 0.03, "link-down drawn {share:.3} of the time, want 3/7");
        // `any` names each of the 3 nodes; `{ runs: svc }` and node2 stay as written.
        for t in ["Node(Name(\"node1\"))", "Node(Name(\"node2\"))", "Node(Name(\"node3\"))", "Runs(\"svc\")"] {
            assert!(targets.get(t).copied().unwrap_or(0) > 100, "{t} rarely drawn: {targets:?}");
        }
        assert!(!targets.keys().any(|t| t.contains("Any")), "{targets:?}");
    }

    #[test]
    fn the_rendered_schedule_loads_back_to_the_same_steps() {
        let c = chaos();
        for seed in 0..50 {
            let steps = draw(&c, seed);
            let text = render(SOURCE, seed, &steps).unwrap();
            let plan = crate::scenario::parse("schedule.yaml", &text, None)
                .unwrap_or_else(|e| panic!("seed {seed}: {e:?}\n{text}"));
            assert!(plan.chaos.is_none());
            assert_eq!(bare(&plan.steps), bare(&steps), "seed {seed}:\n{text}");
            assert_eq!(plan.invariants.len(), 1);
            assert!(text.contains(&format!("seed {seed}")));
            assert!(text.contains("# a comment before\n") && text.contains("# a comment after\n"));
            assert!(!text.contains("chaos:\n") && !text.contains("weight"));
        }
    }

    #[test]
    fn a_schedule_reads_well() {
        let steps = draw(&chaos(), 42);
        insta::assert_snapshot!(render(SOURCE, 42, &steps[..8]).unwrap());
    }

    #[test]
    fn odd_names_are_quoted() {
        assert_eq!(q("node2"), "node2");
        assert_eq!(q("vm:100"), "vm:100");
        assert_eq!(q("yes"), "\"yes\"");
        assert_eq!(q("a b"), "\"a b\"");
        assert_eq!(q("1x"), "\"1x\"");
    }

    #[test]
    fn render_needs_a_chaos_section() {
        assert!(matches!(render("name: x\n", 1, &[]), Err(RenderError::NoChaos)));
    }
}
