//! The SVG timeline of the HTML report: x is seconds on the run's clock, one lane per node,
//! one per service (and one for the cluster when a check is about it).
//!
//! * Node lanes: the manager's view of the node as coloured intervals (online, lost, fencing,
//!   fenced, …), and underneath a row of marks: power changes, watchdog, fencing steps, the
//!   HA master, quorum, with powered-off time hatched.
//! * Service lanes: state intervals (started, fence, recovery, error, migrating, …) labelled
//!   with the node the service is on, and marks for the local resource manager's operations,
//!   recoveries and errors.
//! * Faults and heals: vertical lines across every lane, labelled at the top.
//! * Checks: each gets its own thin row in the lane of its subject, shaded over its window in
//!   the colour of its verdict, with the instant it saw its event marked; it links to its row
//!   in the check table.
//!
//! Every shape has a `<title>` with the event's description and its JSON line, which browsers
//! show on hover. Styling is by CSS class only; the classes and colours live in [`css`] so the
//! HTML legend uses the same palette.

use std::collections::BTreeSet;

use maud::{Markup, html};

use super::view::{ReportInput, bound, describe, fmt_dur, fmt_t, origin, window};
use crate::check::{CheckResult, Subject, Verdict};
use crate::timeline::{Event, EventData, FencePhase, PowerState, Seconds};

/// viewBox width; the SVG scales to the page width.
const W: f64 = 1200.0;
const PLOT_X0: f64 = 210.0;
const PLOT_X1: f64 = W - 24.0;
const BAR_H: f64 = 20.0;
const MARK_H: f64 = 14.0;
const WIN_H: f64 = 15.0;
const LANE_PAD: f64 = 6.0;
const GROUP_H: f64 = 20.0;
const FAULT_ROW_H: f64 = 15.0;
const AXIS_H: f64 = 22.0;
/// Rough width of a character of the 10.5 px label font (bold, which is wider), used only to
/// decide whether a label fits and to size the fault label pills.
const CHAR_W: f64 = 6.2;
const CHAR_W_BOLD: f64 = 6.9;

/// State colours: (class, fill, dark text on it). One table for the SVG and the HTML legend.
pub(crate) const SERVICE_COLOURS: &[(&str, &str, bool)] = &[
    ("s-starting", "#a8dcae", true),
    ("s-started", "#2f9e55", false),
    ("s-stopping", "#cfd4da", true),
    ("s-stopped", "#9aa3ad", false),
    ("s-fence", "#f08c2b", false),
    ("s-recovery", "#e0542d", false),
    ("s-migrating", "#3a78d4", false),
    ("s-frozen", "#93cbe6", true),
    ("s-error", "#8e1b1b", false),
    ("s-disabled", "#5d6570", false),
    ("s-other", "#cdbfe3", true),
];
pub(crate) const NODE_COLOURS: &[(&str, &str, bool)] = &[
    ("n-online", "#8fd19e", true),
    ("n-lost", "#f4c542", true),
    ("n-fencing", "#f08c2b", false),
    ("n-fenced", "#cf3d4f", false),
    ("n-maintenance", "#7fa7c7", false),
    ("n-gone", "#9aa3ad", false),
    ("n-other", "#cdbfe3", true),
];
pub(crate) const VERDICT_COLOURS: &[(&str, &str)] = &[
    ("pass", "#2f9e55"),
    ("fail", "#d1343a"),
    ("inconclusive", "#d99a00"),
    ("infra-error", "#7b4fa6"),
    ("none", "#6b7280"),
];
const FAULT_COLOUR: &str = "#a4287a";
const HEAL_COLOUR: &str = "#13878a";

/// The CSS for the timeline's classes (inlined into the page's `<style>`).
pub(crate) fn css() -> String {
    let mut css = String::new();
    for (class, fill, dark) in SERVICE_COLOURS.iter().chain(NODE_COLOURS) {
        let text = if *dark { "#1f2328" } else { "#ffffff" };
        css.push_str(&format!(
            ".{class} rect{{fill:{fill}}} .{class} text{{fill:{text}}} .sw.{class}{{background:{fill}}}\n"
        ));
    }
    for (v, c) in VERDICT_COLOURS {
        css.push_str(&format!(
            ".win.v-{v} rect{{fill:{c};fill-opacity:.22;stroke:{c}}} .win.v-{v} text{{fill:{c}}} .seen.v-{v}{{stroke:{c};fill:{c}}} .v-{v}.badge,.sw.v-{v}{{background:{c}}}\n"
        ));
    }
    css.push_str(&format!(
        ".fault line{{stroke:{FAULT_COLOUR}}} .fault rect{{fill:{FAULT_COLOUR}}} .heal line{{stroke:{HEAL_COLOUR};stroke-dasharray:5 3}} .heal rect{{fill:{HEAL_COLOUR}}} .sw.fault{{background:{FAULT_COLOUR}}} .sw.heal{{background:{HEAL_COLOUR}}}\n"
    ));
    css
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LaneKind {
    Node,
    Service,
    Cluster,
}

/// A state held over an interval.
struct Bar {
    from: Seconds,
    until: Seconds,
    class: String,
    label: String,
    tip: String,
    /// Before the first recorded change: the state is inferred from that change's `from`.
    assumed: bool,
}

#[derive(Clone, Copy)]
enum Shape {
    Square,
    Triangle,
    TriangleDown,
    Diamond,
    Circle,
    Tick,
    Cross,
    Letter(char),
}

struct Mark {
    t: Seconds,
    shape: Shape,
    class: &'static str,
    tip: String,
}

struct Lane<'a> {
    kind: LaneKind,
    name: String,
    role: Option<String>,
    bars: Vec<Bar>,
    /// Hatched intervals in the mark row: a node's powered-off time.
    off: Vec<(Seconds, Seconds, String)>,
    marks: Vec<Mark>,
    checks: Vec<(usize, &'a CheckResult)>,
}

impl Lane<'_> {
    fn height(&self) -> f64 {
        let marks = if self.marks.is_empty() && self.off.is_empty() { 0.0 } else { MARK_H };
        let bar = if self.kind == LaneKind::Cluster { 0.0 } else { BAR_H };
        LANE_PAD + bar + marks + WIN_H * self.checks.len() as f64 + LANE_PAD
    }
}

/// Text shown on hover: the description, where it came from, and the event as JSON.
fn tip(e: &Event) -> String {
    let mut s = format!("t={}  {}", fmt_t(e.t), describe(e));
    if let Some(o) = origin(e) {
        s.push_str(&format!("\n({o})"));
    }
    if let Ok(json) = serde_json::to_string(e) {
        s.push('\n');
        s.push_str(&json);
    }
    s
}

/// Turn a sequence of state changes into intervals up to `end`.
fn bars_from<'e>(
    changes: impl Iterator<Item = (&'e Event, String, String, String)>,
    end: Seconds,
    prefix: &str,
) -> Vec<Bar> {
    // (event, raw from, normalised-or-raw to, label for the new state)
    let mut bars: Vec<Bar> = vec![];
    for (e, from, class_state, label) in changes {
        if let Some(last) = bars.last_mut() {
            last.until = e.t;
        } else if e.t > Seconds::ZERO && !from.is_empty() {
            bars.push(Bar {
                from: Seconds::ZERO,
                until: e.t,
                class: format!("{prefix}-other"),
                label: from.clone(),
                tip: format!("{from} (before t={}, as the first recorded change says; not observed)", fmt_t(e.t)),
                assumed: true,
            });
        }
        bars.push(Bar {
            from: e.t,
            until: end,
            class: format!("{prefix}-{class_state}"),
            label,
            tip: tip(e),
            assumed: false,
        });
    }
    // Zero-length intervals (several changes at one instant) are kept: their tooltips still
    // tell the story, and the drawing gives them a hairline.
    bars
}

fn known_class(prefix: &str, state: &str) -> String {
    let table = if prefix == "s" { SERVICE_COLOURS } else { NODE_COLOURS };
    let class = format!("{prefix}-{state}");
    if table.iter().any(|(c, _, _)| *c == class) { state.to_owned() } else { "other".to_owned() }
}

fn node_lane<'a>(input: &ReportInput<'a>, node: &str, end: Seconds) -> Lane<'a> {
    let events = input.timeline.events.iter().filter(|e| e.data.node() == Some(node));
    let changes = events.clone().filter_map(|e| match &e.data {
        EventData::Node { node: n, from, to, to_state, .. } if n == node => {
            let state = to_state.map(|s| s.as_str().to_owned()).unwrap_or_else(|| to.clone());
            let label = match to_state {
                Some(s) if s.as_str() != to => format!("{s} ({to})"),
                _ => to.clone(),
            };
            Some((e, from.clone(), known_class("n", &state), label))
        }
        _ => None,
    });
    let bars = bars_from(changes, end, "n");

    let mut marks = vec![];
    let mut off = vec![];
    let mut off_since: Option<&Event> = None;
    for e in events {
        let (shape, class) = match &e.data {
            EventData::Power { state, .. } => {
                match state {
                    // A paused node is shaded like one without power: it runs nothing meanwhile.
                    PowerState::Off | PowerState::Paused => {
                        off_since.get_or_insert(e);
                    }
                    PowerState::Running | PowerState::Reset => {
                        if let Some(o) = off_since.take() {
                            off.push((o.t, e.t, tip(o)));
                        }
                    }
                }
                match state {
                    PowerState::Off => (Shape::Square, "mk-power-off"),
                    PowerState::Running => (Shape::Triangle, "mk-power-on"),
                    PowerState::Reset => (Shape::Circle, "mk-power-reset"),
                    PowerState::Paused => (Shape::Square, "mk-power-paused"),
                }
            }
            EventData::Watchdog { .. } => (Shape::TriangleDown, "mk-watchdog"),
            EventData::Fence { phase, .. } => match phase {
                FencePhase::Started => (Shape::Diamond, "mk-fence-started"),
                FencePhase::Acknowledged => (Shape::Diamond, "mk-fence-ack"),
                FencePhase::Failed => (Shape::Cross, "mk-fence-failed"),
            },
            EventData::Master { .. } => (Shape::Letter('M'), "mk-master"),
            EventData::Quorum { quorate, .. } => {
                (Shape::Letter('Q'), if *quorate { "mk-quorate" } else { "mk-inquorate" })
            }
            _ => continue,
        };
        marks.push(Mark { t: e.t, shape, class, tip: tip(e) });
    }
    if let Some(o) = off_since {
        off.push((o.t, end, tip(o)));
    }

    let role = input.evaluation.roles.0.get(node).filter(|r| r.as_str() != node).cloned();
    Lane { kind: LaneKind::Node, name: node.to_owned(), role, bars, off, marks, checks: vec![] }
}

fn service_lane<'a>(input: &ReportInput<'a>, service: &str, end: Seconds) -> Lane<'a> {
    let events = input.timeline.events.iter().filter(|e| e.data.service() == Some(service));
    // The node a service is on is only sometimes in the event; carry the last one forward.
    let mut on: Option<String> = None;
    let changes: Vec<_> = events
        .clone()
        .filter_map(|e| match &e.data {
            EventData::Service { from, to, to_state, node, target, .. } => {
                if node.is_some() {
                    on.clone_from(node);
                }
                let state = to_state.map(|s| s.as_str().to_owned()).unwrap_or_else(|| to.clone());
                let mut label = state.clone();
                match (target, &on) {
                    (Some(t), Some(n)) => label.push_str(&format!(" {n} → {t}")),
                    (Some(t), None) => label.push_str(&format!(" → {t}")),
                    (None, Some(n)) => label.push_str(&format!(" @ {n}")),
                    (None, None) => {}
                }
                Some((e, from.clone(), known_class("s", &state), label))
            }
            _ => None,
        })
        .collect();
    let bars = bars_from(changes.into_iter(), end, "s");

    let marks = events
        .filter_map(|e| {
            let (shape, class) = match &e.data {
                EventData::ServiceOp { .. } => (Shape::Tick, "mk-op"),
                EventData::Recovery { to: Some(_), .. } => (Shape::Letter('R'), "mk-recovery"),
                EventData::Recovery { to: None, .. } => (Shape::Cross, "mk-error"),
                EventData::ServiceError { .. } => (Shape::Cross, "mk-error"),
                _ => return None,
            };
            Some(Mark { t: e.t, shape, class, tip: tip(e) })
        })
        .collect();
    Lane { kind: LaneKind::Service, name: service.to_owned(), role: None, bars, off: vec![], marks, checks: vec![] }
}

/// The lanes, in order: nodes, services, cluster. Subjects of checks get a lane even when the
/// timeline never mentions them, so no window goes undrawn.
fn lanes<'a>(input: &ReportInput<'a>, end: Seconds) -> Vec<Lane<'a>> {
    let ev = input.evaluation;
    let mut nodes = input.timeline.nodes();
    nodes.extend(ev.roles.0.keys().cloned());
    let mut services = input.timeline.services();
    let mut cluster = false;
    for c in &ev.checks {
        match &c.subject {
            Subject::Node(n) => {
                nodes.insert(n.clone());
            }
            Subject::Service(s) => {
                services.insert(s.clone());
            }
            Subject::Cluster => cluster = true,
        }
    }
    let mut lanes: Vec<Lane> = nodes.iter().map(|n| node_lane(input, n, end)).collect();
    lanes.extend(services.iter().map(|s| service_lane(input, s, end)));
    if cluster {
        lanes.push(Lane {
            kind: LaneKind::Cluster,
            name: "cluster".into(),
            role: None,
            bars: vec![],
            off: vec![],
            marks: vec![],
            checks: vec![],
        });
    }
    for (i, c) in ev.checks.iter().enumerate() {
        let (kind, name) = match &c.subject {
            Subject::Node(n) => (LaneKind::Node, n.as_str()),
            Subject::Service(s) => (LaneKind::Service, s.as_str()),
            Subject::Cluster => (LaneKind::Cluster, "cluster"),
        };
        if let Some(lane) = lanes.iter_mut().find(|l| l.kind == kind && l.name == name) {
            lane.checks.push((i, c));
        }
    }
    lanes
}

/// A tick step giving at most 12 ticks, on a human boundary.
fn tick_step(end: f64) -> f64 {
    const STEPS: &[f64] = &[
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0,
        43200.0, 86400.0,
    ];
    STEPS.iter().copied().find(|s| end / s <= 12.0).unwrap_or_else(|| (end / 12.0 / 86400.0).ceil() * 86400.0)
}

fn tick_label(t: f64, step: f64) -> String {
    let t = t.round() as i64;
    if t == 0 {
        "0".into()
    } else if step < 60.0 {
        format!("{t}s")
    } else if t < 3600 {
        format!("{}m", t / 60)
    } else if t % 3600 == 0 {
        format!("{}h", t / 3600)
    } else {
        format!("{}h{}m", t / 3600, t % 3600 / 60)
    }
}

fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

fn fits(label: &str, width: f64) -> bool {
    label.chars().count() as f64 * CHAR_W + 8.0 <= width
}

fn fits_bold(label: &str, width: f64) -> bool {
    label.chars().count() as f64 * CHAR_W_BOLD + 8.0 <= width
}

/// The end of the drawing: observation's end, or anything drawn later than that.
fn drawing_end(input: &ReportInput) -> Seconds {
    let mut end = input.timeline.end();
    for e in &input.timeline.events {
        if e.t > end {
            end = e.t;
        }
    }
    for c in &input.evaluation.checks {
        for t in [c.from, c.until, c.seen].into_iter().flatten() {
            if t > end {
                end = t;
            }
        }
    }
    end
}

fn shape(s: Shape, x: f64, cy: f64) -> Markup {
    let r = 4.5;
    html! {
        @match s {
            Shape::Square => rect x=(n(x - r)) y=(n(cy - r)) width=(n(2.0 * r)) height=(n(2.0 * r)) {},
            Shape::Triangle => polygon points=(format!("{},{} {},{} {},{}", n(x), n(cy - r), n(x + r), n(cy + r), n(x - r), n(cy + r))) {},
            Shape::TriangleDown => polygon points=(format!("{},{} {},{} {},{}", n(x - r), n(cy - r), n(x + r), n(cy - r), n(x), n(cy + r))) {},
            Shape::Diamond => polygon points=(format!("{},{} {},{} {},{} {},{}", n(x), n(cy - r - 1.0), n(x + r), n(cy), n(x), n(cy + r + 1.0), n(x - r), n(cy))) {},
            Shape::Circle => circle cx=(n(x)) cy=(n(cy)) r=(n(r)) {},
            Shape::Tick => line x1=(n(x)) y1=(n(cy - r)) x2=(n(x)) y2=(n(cy + r)) {},
            Shape::Cross => path d=(format!("M{} {}L{} {}M{} {}L{} {}", n(x - r), n(cy - r), n(x + r), n(cy + r), n(x - r), n(cy + r), n(x + r), n(cy - r))) {},
            Shape::Letter(c) => {
                circle cx=(n(x)) cy=(n(cy)) r=(n(r + 1.5)) {}
                text x=(n(x)) y=(n(cy + 3.2)) text-anchor="middle" { (c) }
            },
        }
    }
}

/// Place fault labels in rows so they do not overlap; returns the row of each.
fn label_rows(items: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut row_ends: Vec<f64> = vec![];
    let mut rows = vec![];
    for &(x, w) in items {
        let row = row_ends.iter().position(|&e| e + 6.0 <= x).unwrap_or(row_ends.len());
        if row == row_ends.len() {
            row_ends.push(x + w);
        } else {
            row_ends[row] = x + w;
        }
        rows.push(row);
    }
    (rows, row_ends.len())
}

/// The SVG timeline.
pub(crate) fn timeline_svg(input: &ReportInput) -> Markup {
    let end = drawing_end(input);
    // A zero-length timeline still gets an axis; one second keeps the scale finite.
    let end_f = end.as_f64().max(1.0);
    let x = |t: Seconds| PLOT_X0 + t.as_f64().clamp(0.0, end_f) / end_f * (PLOT_X1 - PLOT_X0);

    let lanes = lanes(input, end);
    let faults: Vec<&Event> =
        input.timeline.events.iter().filter(|e| matches!(e.data, EventData::Fault { .. })).collect();
    let fault_labels: Vec<String> = faults
        .iter()
        .map(|e| match &e.data {
            EventData::Fault { node, fault, .. } => format!("{} {node}", fault.as_str()),
            _ => unreachable!("filtered to faults"),
        })
        .collect();
    // Labels start at their line, or end at it when they would run off the right edge.
    let label_boxes: Vec<(f64, f64)> = faults
        .iter()
        .zip(&fault_labels)
        .map(|(e, l)| {
            let w = l.chars().count() as f64 * CHAR_W_BOLD + 10.0;
            let x0 = if x(e.t) + w > W { x(e.t) - w } else { x(e.t) };
            (x0, w)
        })
        .collect();
    let (rows, nrows) = label_rows(&label_boxes);

    let fault_h = FAULT_ROW_H * nrows as f64 + if nrows > 0 { 4.0 } else { 0.0 };
    let axis_y = fault_h + AXIS_H;
    let mut y = axis_y + 4.0;
    let mut lane_ys = vec![];
    let mut group_ys = vec![];
    let mut prev_kind = None;
    for lane in &lanes {
        if prev_kind != Some(lane.kind) {
            group_ys.push((lane.kind, y));
            y += GROUP_H;
            prev_kind = Some(lane.kind);
        }
        lane_ys.push(y);
        y += lane.height();
    }
    let empty = lanes.is_empty();
    if empty {
        y += 40.0;
    }
    let height = y + 8.0;
    let step = tick_step(end_f);
    let ticks: Vec<f64> = (0..).map(|i| i as f64 * step).take_while(|t| *t <= end_f + 1e-9).collect();

    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox=(format!("0 0 {} {}", n(W), n(height))) role="img"
            aria-label="timeline of the run" {
            defs {
                pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                    rect width="5" height="5" fill="#e5e7eb" {}
                    line x1="0" y1="0" x2="0" y2="5" stroke="#374151" stroke-width="2" {}
                }
            }
            // Lane backgrounds first, so grid, bars and windows sit on top.
            @for (i, (lane, ly)) in lanes.iter().zip(&lane_ys).enumerate() {
                rect class=(if i % 2 == 0 { "lane-bg even" } else { "lane-bg odd" }) x="0" y=(n(*ly)) width=(n(W)) height=(n(lane.height())) {}
            }
            @for (kind, gy) in &group_ys {
                g class="group" {
                    line x1="0" x2=(n(W)) y1=(n(*gy + 0.5)) y2=(n(*gy + 0.5)) {}
                    text x="8" y=(n(gy + 14.0)) {
                        @match kind { LaneKind::Node => "NODES", LaneKind::Service => "SERVICES", LaneKind::Cluster => "CLUSTER" }
                    }
                }
            }
            // Axis and grid.
            g class="axis" {
                line x1=(n(PLOT_X0)) x2=(n(PLOT_X1)) y1=(n(axis_y)) y2=(n(axis_y)) {}
                @for t in &ticks {
                    @let tx = x(Seconds(*t));
                    line class="grid" x1=(n(tx)) x2=(n(tx)) y1=(n(axis_y)) y2=(n(height - 4.0)) {}
                    line x1=(n(tx)) x2=(n(tx)) y1=(n(axis_y - 4.0)) y2=(n(axis_y)) {}
                    text x=(n(tx)) y=(n(axis_y - 7.0)) text-anchor="middle" { (tick_label(*t, step)) }
                }
                text class="unit" x=(n(PLOT_X0 - 8.0)) y=(n(axis_y - 7.0)) text-anchor="end" { "t since start" }
            }
            @if empty {
                text class="empty" x=(n((PLOT_X0 + PLOT_X1) / 2.0)) y=(n(axis_y + 30.0)) text-anchor="middle" {
                    "The timeline has no events and no checks."
                }
            }
            @for (lane, ly) in lanes.iter().zip(&lane_ys) {
                (lane_markup(lane, *ly, &x))
            }
            // Faults last among the lines so they cross every lane.
            @for (i, e) in faults.iter().enumerate() {
                @let heal = matches!(&e.data, EventData::Fault { fault, .. } if fault.is_heal());
                @let fx = x(e.t);
                @let (lx, lw) = label_boxes[i];
                @let ry = 2.0 + rows[i] as f64 * FAULT_ROW_H;
                g class=(if heal { "heal" } else { "fault" }) {
                    title { (tip(e)) }
                    line x1=(n(fx)) x2=(n(fx)) y1=(n(ry + FAULT_ROW_H - 2.0)) y2=(n(height - 4.0)) stroke-width="1.5" {}
                    rect x=(n(lx)) y=(n(ry)) width=(n(lw)) height=(n(FAULT_ROW_H - 2.0)) rx="3" {}
                    text class="flabel" x=(n(lx + 5.0)) y=(n(ry + 10.0)) { (fault_labels[i]) }
                }
            }
        }
    }
}

fn lane_markup(lane: &Lane, ly: f64, x: &dyn Fn(Seconds) -> f64) -> Markup {
    let bar_y = ly + LANE_PAD;
    let has_bar = lane.kind != LaneKind::Cluster;
    let mark_y = bar_y + if has_bar { BAR_H } else { 0.0 };
    let has_marks = !(lane.marks.is_empty() && lane.off.is_empty());
    let win_y0 = mark_y + if has_marks { MARK_H } else { 0.0 };
    let lane_class = match lane.kind {
        LaneKind::Node => "lane node",
        LaneKind::Service => "lane service",
        LaneKind::Cluster => "lane cluster",
    };
    html! {
        g class=(lane_class) data-name=(lane.name) {
            text class="lname" x="12" y=(n(bar_y + 14.0)) {
                (lane.name)
                @if let Some(role) = &lane.role {
                    tspan class="role" dx="6" { (role) }
                }
            }
            @if has_bar && lane.bars.is_empty() {
                text class="nodata" x=(n(PLOT_X0 + 6.0)) y=(n(bar_y + 14.0)) { "no state recorded" }
            }
            @for b in &lane.bars {
                @let (x0, x1) = (x(b.from), x(b.until));
                @let w = (x1 - x0).max(1.0);
                g class=(format!("bar {}{}", b.class, if b.assumed { " assumed" } else { "" })) {
                    title { (b.tip) }
                    rect x=(n(x0)) y=(n(bar_y)) width=(n(w)) height=(n(BAR_H)) {}
                    @if fits(&b.label, w) {
                        text x=(n(x0 + 4.0)) y=(n(bar_y + 14.0)) { (b.label) }
                    }
                }
            }
            @for (from, until, t) in &lane.off {
                g class="off" {
                    title { "powered off\n" (t) }
                    rect x=(n(x(*from))) y=(n(mark_y + 2.0)) width=(n((x(*until) - x(*from)).max(1.0))) height=(n(MARK_H - 4.0)) fill="url(#hatch)" {}
                }
            }
            @for m in &lane.marks {
                g class=(format!("mark {}", m.class)) {
                    title { (m.tip) }
                    (shape(m.shape, x(m.t), mark_y + MARK_H / 2.0))
                }
            }
            @for (row, (i, c)) in lane.checks.iter().enumerate() {
                (window_markup(*i, c, win_y0 + row as f64 * WIN_H, bar_y, x))
            }
        }
    }
}

fn window_markup(i: usize, c: &CheckResult, wy: f64, bar_y: f64, x: &dyn Fn(Seconds) -> f64) -> Markup {
    let v = c.verdict.as_str();
    let from = c.from.unwrap_or(Seconds::ZERO);
    // Without an end the check watched until observation stopped.
    let x0 = x(from);
    let x1 = c.until.map(x).unwrap_or(PLOT_X1);
    let w = (x1 - x0).max(2.0);
    let label = format!("#{} {}", i + 1, c.name);
    let short = format!("#{}", i + 1);
    // A label outside the window starts after the seen mark too, so the mark does not cross it.
    let after = x1.max(c.seen.map(x).unwrap_or(x1)) + 6.0;
    let mut tipt = format!("#{} {} — {}\nwindow {}", i + 1, c.name, c.verdict, window(c));
    if let Some(b) = bound(c) {
        tipt.push_str(&format!(" (bound {})", fmt_dur(b)));
    }
    if let Some(s) = c.seen {
        tipt.push_str(&format!("\nseen at {}", fmt_t(s)));
    }
    if let Some(m) = c.measured {
        tipt.push_str(&format!("\nmeasured {}", fmt_dur(m)));
    }
    tipt.push_str(&format!("\n{}", c.message));
    html! {
        a href=(format!("#check-{}", i + 1)) {
            g class=(format!("win v-{v}")) data-check=(i + 1) {
                title { (tipt) }
                rect x=(n(x0)) y=(n(wy + 2.0)) width=(n(w)) height=(n(WIN_H - 4.0)) rx="2" {}
                @if fits_bold(&label, w) {
                    text x=(n(x0 + 4.0)) y=(n(wy + 11.0)) { (label) }
                } @else if after + label.chars().count() as f64 * CHAR_W_BOLD < PLOT_X1 {
                    text x=(n(after)) y=(n(wy + 11.0)) { (label) }
                } @else {
                    text x=(n(x0 - 4.0)) y=(n(wy + 11.0)) text-anchor="end" { (short) }
                }
            }
            @if let Some(s) = c.seen {
                @let sx = x(s);
                g class=(format!("seen v-{v}")) {
                    title { (format!("#{} seen at {}", i + 1, fmt_t(s))) }
                    line x1=(n(sx)) x2=(n(sx)) y1=(n(bar_y)) y2=(n(wy + WIN_H - 2.0)) stroke-width="2" {}
                    circle cx=(n(sx)) cy=(n(wy + WIN_H / 2.0)) r="3.5" {}
                }
            }
        }
    }
}

/// Which verdicts appear among the checks (for the legend).
pub(crate) fn verdicts_present(checks: &[CheckResult]) -> BTreeSet<Verdict> {
    checks.iter().map(|c| c.verdict).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_suit_the_span() {
        assert_eq!(tick_step(60.0), 5.0);
        assert_eq!(tick_step(720.0), 60.0);
        assert_eq!(tick_step(10800.0), 900.0);
        assert_eq!(tick_label(900.0, 900.0), "15m");
        assert_eq!(tick_label(4500.0, 900.0), "1h15m");
        assert_eq!(tick_label(7200.0, 900.0), "2h");
        assert_eq!(tick_label(45.0, 5.0), "45s");
    }

    #[test]
    fn fault_labels_do_not_overlap() {
        let (rows, n) = label_rows(&[(100.0, 80.0), (120.0, 80.0), (300.0, 50.0)]);
        assert_eq!(rows, vec![0, 1, 0]);
        assert_eq!(n, 2);
    }
}
