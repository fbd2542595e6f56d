//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
//! URLs) that a person opens from a CI artefact: the verdict, large and coloured; the SVG
//! timeline with faults and expectation windows; the table of checks; and every event in a
//! collapsible table. maud escapes all text, so names from logs cannot inject markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::svg::{NODE_COLOURS, SERVICE_COLOURS, css as timeline_css, timeline_svg, verdicts_present};
use super::view::{
    Counts, ReportInput, bound, describe, fmt_dur, fmt_t, source_line, span_line, subject_label, verdict_label,
    verdict_meaning, window,
};
use crate::check::{CheckKind, Verdict};
use crate::timeline::EventData;

const PAGE_CSS: &str = r#"
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1400px;margin:0 auto;padding:20px 24px 40px}
header.top{display:flex;gap:22px;align-items:center;background:#fff;border:1px solid var(--line);border-left-width:12px;border-radius:8px;padding:16px 22px}
header.top.v-pass{border-left-color:#2f9e55} header.top.v-fail{border-left-color:#d1343a}
header.top.v-inconclusive{border-left-color:#d99a00} header.top.v-infra-error{border-left-color:#7b4fa6} header.top.v-none{border-left-color:#6b7280}
.badge.big{font-size:30px;font-weight:800;letter-spacing:.04em;color:#fff;padding:10px 20px;border-radius:8px;white-space:nowrap}
h1{margin:0 0 4px;font-size:22px;word-break:break-word} h2{font-size:17px;margin:0 0 10px}
.meaning{font-size:16px;margin:0} .meta{color:var(--muted);margin:4px 0 0;font-size:13px}
section,details.events{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-top:16px}
.badge{display:inline-block;color:#fff;font-weight:700;font-size:12px;padding:1px 8px;border-radius:10px;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em;border-bottom:1px solid var(--line)}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} td.loc{white-space:nowrap} td.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
tr.check:target{background:#fff8c5} tr.check.v-fail td:first-child{box-shadow:inset 4px 0 #d1343a}
tr.check.v-inconclusive td:first-child{box-shadow:inset 4px 0 #d99a00} tr.check.v-infra-error td:first-child{box-shadow:inset 4px 0 #7b4fa6}
.kind{color:var(--muted);font-size:12px} .none{color:var(--muted);font-style:italic}
details.events summary{cursor:pointer;font-weight:600;font-size:15px}
details.events table{margin-top:10px;font-size:13px} details.events td{padding:3px 8px}
tr.ev-fault td{background:#fbeff6} tr.ev-fence td,tr.ev-power td,tr.ev-watchdog td{background:#fff4e5}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:10px;font-size:12px;color:var(--muted)}
.legend .grp{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center} .legend b{color:var(--fg);font-weight:600}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:4px;border:1px solid rgba(0,0,0,.15)}
.sw.hatch{background:repeating-linear-gradient(45deg,#e5e7eb 0 2px,#374151 2px 4px)} .sw.win{opacity:.55}
.glyph{display:inline-block;width:14px;text-align:center;font-weight:700;color:var(--fg)}
footer{color:var(--muted);font-size:12px;margin-top:18px;text-align:center}
svg.timeline{width:100%;height:auto;display:block;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg text{font-size:11px;fill:var(--fg)}
.lane-bg.even{fill:#ffffff} .lane-bg.odd{fill:#f6f8fa}
.group line{stroke:#d0d7de} .group text{font-size:10px;font-weight:700;fill:#8c959f;letter-spacing:.08em}
.axis line{stroke:#8c959f} .axis line.grid{stroke:#eaeef2} .axis text{fill:#57606a;font-size:10.5px} .axis .unit{font-style:italic}
.lname{font-weight:600;font-size:12px} .role{font-weight:400;fill:#8250df;font-style:italic}
.nodata{fill:#8c959f;font-style:italic} .empty{fill:#8c959f;font-size:14px}
.bar rect{stroke:#fff;stroke-width:1} .bar text{font-size:10.5px;pointer-events:none} .bar.assumed rect{opacity:.4} .bar.assumed text{fill:#57606a}
.bar:hover rect{stroke:#1f2328;stroke-width:1.5}
.win rect{stroke-width:1.2} .win text{font-size:10.5px;font-weight:600} .win:hover rect{fill-opacity:.4}
.seen circle{stroke:#fff;stroke-width:1}
.flabel{fill:#fff !important;font-size:10.5px;font-weight:600}
.mark *{stroke-width:1} .mark:hover{opacity:.7}
.mk-power-off rect{fill:#1f2328} .mk-power-paused rect{fill:#8c959f} .mk-power-on polygon{fill:#2f9e55} .mk-power-reset circle{fill:#f08c2b}
.mk-watchdog polygon{fill:#8e1b1b} .mk-fence-started polygon{fill:#fff;stroke:#cf3d4f;stroke-width:1.6} .mk-fence-ack polygon{fill:#cf3d4f}
.mk-fence-failed path,.mk-error path{stroke:#8e1b1b;stroke-width:2.2;fill:none}
.mark text{fill:#fff;font-size:8px;font-weight:800}
.mk-master circle{fill:#1f2328} .mk-quorate circle{fill:#2f9e55} .mk-inquorate circle{fill:#d1343a} .mk-recovery circle{fill:#e0542d}
.mk-op line{stroke:#57606a;stroke-width:1.5}
"#;

fn verdict_class(v: Option<Verdict>) -> &'static str {
    v.map_or("none", Verdict::as_str)
}

fn kind_str(k: CheckKind) -> &'static str {
    match k {
        CheckKind::Within => "within",
        CheckKind::Eventually => "eventually",
        CheckKind::Never => "never",
        CheckKind::Final => "final state",
    }
}

/// The HTML report.
pub fn html(input: &ReportInput) -> String {
    let ev = input.evaluation;
    let tl = input.timeline;
    let counts = Counts::of(&ev.checks);
    let vclass = verdict_class(ev.verdict);
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="hadrill";
                title { "hadrill: " (ev.title) " — " (verdict_label(ev.verdict)) }
                style { (PreEscaped(PAGE_CSS)) (PreEscaped(timeline_css())) }
            }
            body {
                main {
                    header class=(format!("top v-{vclass}")) {
                        div class=(format!("big badge v-{vclass}")) { (verdict_label(ev.verdict)) }
                        div {
                            h1 { (ev.title) }
                            p class="meaning" {
                                (verdict_meaning(ev.verdict))
                                @if !ev.checks.is_empty() { " (" (counts.sentence()) ")" }
                            }
                            p class="meta" {
                                (source_line(tl)) " · " (span_line(tl)) " · " (tl.events.len()) " events"
                                @if tl.meta.lines > 0 { " from " (tl.meta.lines) " lines (" (tl.meta.unrecognised) " unrecognised)" }
                            }
                            @if let Some(setup) = &tl.meta.setup {
                                p class="meta" { strong { "Set-up: " } (setup) }
                            }
                        }
                    }
                    section class="timeline" {
                        h2 { "Timeline" }
                        (timeline_svg(input))
                        // Nothing drawn, nothing to explain.
                        @if !tl.events.is_empty() || !ev.checks.is_empty() { (legend(input)) }
                    }
                    (checks_table(input))
                    (events_table(input))
                    footer { "Written by hadrill. Hover over shapes for the events behind them; click a window to jump to its check." }
                }
            }
        }
    };
    page.into_string()
}

fn legend(input: &ReportInput) -> Markup {
    let strip = |table: &'static [(&'static str, &'static str, bool)]| table.iter().map(|(c, _, _)| (*c, &c[2..]));
    html! {
        div class="legend" {
            div class="grp" { b { "Services" } @for (class, name) in strip(SERVICE_COLOURS) { span { span class=(format!("sw {class}")) {} (name) } } }
            div class="grp" { b { "Nodes" } @for (class, name) in strip(NODE_COLOURS) { span { span class=(format!("sw {class}")) {} (name) } } }
            div class="grp" {
                b { "Marks" }
                span { span class="sw hatch" {} "powered off" }
                span { span class="glyph" style="color:#1f2328" { "■" } "power off" }
                span { span class="glyph" style="color:#2f9e55" { "▲" } "power on" }
                span { span class="glyph" style="color:#f08c2b" { "●" } "reset" }
                span { span class="glyph" style="color:#8e1b1b" { "▼" } "watchdog" }
                span { span class="glyph" style="color:#cf3d4f" { "◇" } "fencing started" }
                span { span class="glyph" style="color:#cf3d4f" { "◆" } "fencing acknowledged" }
                span { span class="glyph" style="color:#8e1b1b" { "✕" } "fencing failed / service error" }
                span { span class="glyph" { "M" } "HA master" }
                span { span class="glyph" { "Q" } "quorum" }
                span { span class="glyph" style="color:#e0542d" { "R" } "recovery" }
                span { span class="glyph" style="color:#57606a" { "|" } "LRM operation" }
                span { span class="sw fault" {} "fault" }
                span { span class="sw heal" {} "heal" }
            }
            @let present = verdicts_present(&input.evaluation.checks);
            @if !present.is_empty() {
                div class="grp" {
                    b { "Windows" }
                    @for v in &present { span { span class=(format!("sw win v-{v}")) {} (v.as_str()) } }
                    span { span class="glyph" { "●" } "seen" }
                }
            }
        }
    }
}

fn checks_table(input: &ReportInput) -> Markup {
    let ev = input.evaluation;
    html! {
        section class="checks" {
            h2 { "Checks" }
            @if ev.checks.is_empty() {
                p class="none" { "No expectations were checked: nothing about the HA stack was verified." }
            } @else {
                table {
                    thead { tr {
                        th { "#" } th { "verdict" } th { "expectation" } th { "subject" } th { "measured" } th { "bound" }
                        th { "window" } th { "seen" } th { "message" } th { "location" }
                    } }
                    tbody {
                        @for (i, c) in ev.checks.iter().enumerate() {
                            tr id=(format!("check-{}", i + 1)) class=(format!("check v-{}", c.verdict)) {
                                td class="num" { (i + 1) }
                                td { span class=(format!("badge v-{}", c.verdict)) { (c.verdict) } }
                                td { (c.name) br; span class="kind" { (kind_str(c.kind)) } }
                                td { (subject_label(&c.subject, &ev.roles)) }
                                td class="num" { (c.measured.map(fmt_dur).unwrap_or_else(|| "-".into())) }
                                td class="num" { (bound(c).map(fmt_dur).unwrap_or_else(|| "-".into())) }
                                td class="num" { (window(c)) }
                                td class="num" { (c.seen.map(fmt_t).unwrap_or_else(|| "-".into())) }
                                td { (c.message) }
                                td class="mono loc" { (c.location.as_deref().unwrap_or("-")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Rows in the event table at most: a field journal can hold tens of thousands of events,
/// and the page must still open; all of them are in `timeline.jsonl`.
const EVENT_ROWS_MAX: usize = 5000;

fn events_table(input: &ReportInput) -> Markup {
    let tl = input.timeline;
    html! {
        details class="events" {
            summary { "All events (" (tl.events.len()) ")" }
            @if tl.events.is_empty() {
                p class="none" { "The timeline has no events." }
            } @else {
                table {
                    thead { tr { th { "t" } th { "kind" } th { "event" } th { "by" } th { "line" } } }
                    tbody {
                        @for e in tl.events.iter().take(EVENT_ROWS_MAX) {
                            @let fault = matches!(e.data, EventData::Fault { .. });
                            tr class=(format!("ev-{}", if fault { "fault" } else { e.data.kind() })) {
                                td class="num" { (fmt_t(e.t)) }
                                td { (e.data.kind()) }
                                td { (describe(e)) }
                                td class="mono" { (e.by.as_deref().unwrap_or("")) }
                                td class="num" { @if let Some(l) = e.line { (l) } }
                            }
                        }
                    }
                }
                @if tl.events.len() > EVENT_ROWS_MAX {
                    p class="none" { "…and " (tl.events.len() - EVENT_ROWS_MAX) " more events in timeline.jsonl." }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckKind, CheckResult, Subject};
    use crate::report::fixtures::{basic1_evaluation, basic1_timeline, no_checks, soak_timeline};
    use crate::timeline::{Event, EventData, Meta, Seconds, ServiceState, Timeline};

    fn render(tl: &Timeline, ev: &crate::check::Evaluation) -> String {
        html(&ReportInput { timeline: tl, evaluation: ev, snapshot: "" })
    }

    /// Every `http://` or `https://` in the page, apart from the SVG namespace.
    fn external_urls(page: &str) -> Vec<String> {
        let cleaned = page.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
        cleaned
            .match_indices("http")
            .filter(|(i, _)| cleaned[*i..].starts_with("http://") || cleaned[*i..].starts_with("https://"))
            .map(|(i, _)| cleaned[i..(i + 40).min(cleaned.len())].to_owned())
            .collect()
    }

    #[test]
    fn basic1_page() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let page = render(&tl, &ev);
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(external_urls(&page).is_empty(), "{:?}", external_urls(&page));
        assert!(!page.contains("<script"), "no script needed");
        for node in ["node1", "node2", "node3"] {
            assert!(page.contains(&format!(r#"<g class="lane node" data-name="{node}">"#)), "lane for {node}");
        }
        for svc in ["vm:101", "vm:102", "vm:103"] {
            assert!(page.contains(&format!(r#"<g class="lane service" data-name="{svc}">"#)), "lane for {svc}");
        }
        assert!(page.contains(r#"<g class="lane cluster" data-name="cluster">"#));
        // The fault at 120 s, as a marker with its label.
        assert_eq!(page.matches(r#"<g class="fault">"#).count(), 1);
        assert!(page.contains("network-off node3"));
        // One shaded window per check, in its verdict's class.
        for (i, c) in ev.checks.iter().enumerate() {
            let want = format!(r#"<g class="win v-{}" data-check="{}">"#, c.verdict, i + 1);
            assert_eq!(page.matches(&want).count(), 1, "{want}");
        }
        assert_eq!(page.matches(r#"<g class="seen v-"#).count(), 3);
        // Roles beside node names, states and the verdict.
        assert!(page.contains(r#"<tspan class="role" dx="6">victim</tspan>"#));
        assert!(page.contains("started @ node2"));
        assert!(page.contains(r#"class="big badge v-infra-error">INFRA-ERROR<"#));
        assert!(page.contains("<details class=\"events\">"));
        // Power-off hatch for node3 from the watchdog at 166 s.
        assert!(page.contains(r#"<g class="off">"#));
    }

    #[test]
    fn names_from_logs_are_escaped() {
        let evil = "vm:<script>alert(1)</script>";
        let tl = Timeline::new(
            vec![Event::new(
                Seconds(10.0),
                EventData::Service {
                    service: evil.into(),
                    from: "\"stopped\"".into(),
                    to: "started".into(),
                    from_state: None,
                    to_state: Some(ServiceState::Started),
                    node: Some("n&1".into()),
                    target: None,
                },
            )],
            Meta { source: Some("<b>log</b>".into()), end: Seconds(60.0), ..Meta::default() },
        );
        let mut ev = no_checks("title <i>x</i>");
        ev.checks.push(CheckResult {
            name: "service <script> started".into(),
            kind: CheckKind::Eventually,
            subject: Subject::Service(evil.into()),
            verdict: Verdict::Pass,
            message: "seen <img src=x onerror=alert(1)>".into(),
            from: None,
            until: None,
            seen: Some(Seconds(10.0)),
            measured: None,
            location: None,
            evidence: None,
            expected_fail: false,
        });
        ev.verdict = Some(Verdict::Pass);
        let page = render(&tl, &ev);
        assert!(!page.contains("<script"), "a service name must not open a script");
        assert!(!page.contains("<img"), "a message must not open an element");
        assert!(!page.contains("<b>log"), "the source must be escaped");
        assert!(!page.contains("<i>x"), "the title must be escaped");
        assert!(page.contains("vm:&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("n&amp;1"));
        assert_eq!(page.matches("<svg").count(), 1);
    }

    #[test]
    fn empty_timeline_without_checks() {
        let page = render(&Timeline::default(), &no_checks("nothing"));
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains("NO CHECKS"));
        assert!(page.contains("no expectations were checked"));
        assert!(!page.contains(">PASS<") && !page.contains("v-pass\""));
        assert!(page.contains("The timeline has no events and no checks."));
    }

    #[test]
    fn three_hours_get_a_readable_axis() {
        let page = render(&soak_timeline(), &no_checks("soak"));
        assert_eq!(page.matches("<svg").count(), 1);
        for label in [">15m<", ">1h<", ">2h45m<", ">3h<"] {
            assert!(page.contains(label), "tick {label}");
        }
        assert!(!page.contains(">600s<"));
        // Two power-offs of pve-c, two power-ons (heals).
        assert_eq!(page.matches(r#"<g class="fault">"#).count(), 2);
        assert_eq!(page.matches(r#"<g class="heal">"#).count(), 2);
    }

    /// Writes the pages to the temp dir for a look in a browser:
    /// `cargo test --lib report::html::tests::render_for_eyes -- --ignored`.
    #[test]
    #[ignore]
    fn render_for_eyes() {
        let dir = std::env::temp_dir().join("hadrill-report-eyes");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("basic1.html"), render(&basic1_timeline(), &basic1_evaluation())).unwrap();
        std::fs::write(dir.join("soak.html"), render(&soak_timeline(), &no_checks("soak"))).unwrap();
        std::fs::write(dir.join("empty.html"), render(&Timeline::default(), &no_checks("nothing"))).unwrap();
        eprintln!("{}", dir.display());
    }
}
