//! The report page: one self-contained HTML document (inline CSS and SVG, no script,
//! nothing fetched) with the summary, the ranked candidates and their probabilities,
//! a chart of every piece of metric evidence, the log templates, the slow or failing
//! spans, the call graph with the candidates highlighted, and every tool call.

use aegis_core::report::{Clock, Evidence, Report, RootCause};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{chart, graph};

/// Size of a chart on the page, in CSS pixels.
const CHART: (u32, u32) = (720, 240);

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:960px;padding:24px;color:#212529;line-height:1.45}
h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.2em;border-bottom:1px solid #dee2e6;padding-bottom:4px;margin-top:32px}
h3{font-size:1.05em;margin:24px 0 6px} .meta{color:#495057;font-size:.9em} .meta span{margin-right:16px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e9ecef;vertical-align:top}
.bar{background:#e9ecef;border-radius:3px;height:10px;width:120px;display:inline-block;vertical-align:middle;margin-right:6px}
.bar i{display:block;height:10px;border-radius:3px;background:#e03131}
pre{background:#f8f9fa;padding:8px;overflow-x:auto;font-size:.85em;white-space:pre-wrap;word-break:break-all;margin:4px 0}
figure{margin:8px 0} figure svg{max-width:100%;height:auto;border:1px solid #e9ecef}
.src{font-weight:600;text-transform:uppercase;font-size:.75em;color:#1c6dd0;margin-right:6px}
.verdict{display:inline-block;padding:2px 8px;border-radius:10px;background:#d3f9d8} .verdict.wrong{background:#ffe3e3}
.degraded{background:#fff9db;padding:8px 12px;border-left:4px solid #fab005}
details summary{cursor:pointer} .graph{max-width:100%;height:auto}
"#;

/// The `<head>` every page shares: charset, viewport, `title`, the inline style.
pub(crate) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// The page of `report`, its times in the report's zone.
pub fn render(report: &Report) -> String {
    let clock = report.clock();
    let known: f64 = report
        .ranked_root_causes
        .iter()
        .map(|c| c.probability)
        .sum();
    let ranked: Vec<&str> = report
        .ranked_root_causes
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("Analysis {}", report.id)))
            body {
                header {
                    h1 { "Root-cause analysis" }
                    p.meta {
                        span { "id " code { (report.id) } }
                        span { (clock.date_time(report.time_range.start)) " → " (clock.date_time(report.time_range.end)) }
                        span { "model " (report.model) }
                        span { (format!("{:.1}", report.duration_ms as f64 / 1000.0)) " s" }
                        span { (report.usage.tool_calls) " tool calls, " (report.usage.prompt_tokens + report.usage.completion_tokens) " tokens" }
                    }
                    @if let Some(f) = &report.feedback {
                        p.feedback {
                            "Feedback: "
                            span.verdict.wrong[f.verdict == aegis_core::report::Verdict::WrongCause] { (f.verdict.words()) }
                            " · " (clock.date_time(f.at))
                        }
                    }
                    p.summary { (report.summary) }
                }
                @if !report.degraded.is_empty() {
                    div.degraded {
                        strong { "Degraded: " }
                        @for d in &report.degraded { div { (d) } }
                    }
                }
                h2 { "Ranked root causes" }
                @if report.ranked_root_causes.is_empty() {
                    p { "No candidate stood out." }
                } @else {
                    table.candidates {
                        thead { tr { th { "#" } th { "Service" } th { "Probability" } th { "What is wrong" } } }
                        tbody {
                            @for c in &report.ranked_root_causes {
                                tr {
                                    td { (c.rank) }
                                    td { strong { (c.service) } }
                                    td { (bar(c.probability)) }
                                    td { (c.description) }
                                }
                            }
                            tr.unknown {
                                td {} td { em { "unknown" } }
                                td { (bar((1.0 - known).max(0.0))) }
                                td { "none of the above" }
                            }
                        }
                    }
                    @for c in &report.ranked_root_causes { (candidate(c, clock)) }
                }
                @if !report.similar.is_empty() {
                    h2 { "Similar past incidents" }
                    table.similar {
                        thead { tr { th { "When" } th { "Cause found" } th { "Alike" } th { "Summary" } th { "Feedback" } } }
                        tbody {
                            @for p in &report.similar {
                                tr {
                                    td { (clock.date_time(p.at)) br; code { (p.id) } }
                                    td { (p.top_service.as_deref().unwrap_or("none")) }
                                    td { (format!("{:.0} %", p.similarity * 100.0)) }
                                    td { (p.summary) }
                                    td { (p.feedback.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                @if let Some(g) = graph::svg(&report.call_graph, &ranked) {
                    h2 { "Call graph" }
                    p.meta { "Callers left, callees right; candidates numbered by rank." }
                    figure { (g) }
                }
                @if !report.next_actions.is_empty() {
                    h2 { "Next steps" }
                    ol { @for a in &report.next_actions { li { (a) } } }
                }
                h2 { "Tool calls" }
                @if report.trace.steps.is_empty() {
                    p { "None: the statistical engine read the backends directly." }
                } @else {
                    table.steps {
                        thead { tr { th { "#" } th { "Tool" } th { "Input and result" } } }
                        tbody {
                            @for s in &report.trace.steps {
                                tr {
                                    td { (s.index) }
                                    td { code { (s.tool) } }
                                    td {
                                        pre { (serde_json::to_string(&s.tool_input).unwrap_or_default()) }
                                        details { summary { "result" } pre { (s.observation) } }
                                        @if !s.log.trim().is_empty() { p.meta { (s.log) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

fn bar(p: f64) -> Markup {
    html! {
        span.bar { i style=(format!("width:{:.0}%", (p * 100.0).clamp(0.0, 100.0))) {} }
        (format!("{:.0} %", p * 100.0))
    }
}

fn candidate(c: &RootCause, clock: Clock) -> Markup {
    let (metrics, other): (Vec<&Evidence>, Vec<&Evidence>) =
        c.evidence.iter().partition(|e| e.chart.is_some());
    let (spans, logs): (Vec<&Evidence>, Vec<&Evidence>) =
        other.into_iter().partition(|e| e.source == "jaeger");
    html! {
        section.candidate id=(format!("candidate-{}", c.rank)) {
            h3 { (c.rank) ". " (c.service) " · " (format!("{:.0} %", c.probability * 100.0)) }
            @if !c.key_indicators.is_empty() {
                ul { @for k in &c.key_indicators { li { (k) } } }
            }
            @for e in &metrics {
                @if let Some(ch) = &e.chart {
                    figure.chart {
                        @match chart::svg(ch, clock, CHART.0, CHART.1) {
                            Ok(svg) => (PreEscaped(svg)),
                            Err(err) => p.meta { "(no chart: " (err.to_string()) ")" },
                        }
                        figcaption.meta {
                            (e.summary) ". Grey: the baseline part; dashed: the usual level; red: from the onset."
                        }
                    }
                    pre { (e.query) }
                }
            }
            @if !c.key_logs.is_empty() {
                h4 { "Log templates" }
                pre { @for l in &c.key_logs { (l) "\n" } }
            }
            @for e in &logs { (evidence(e)) }
            @if !spans.is_empty() {
                h4 { "Slow or failing spans" }
                @for e in &spans { (evidence(e)) }
            }
        }
    }
}

fn evidence(e: &Evidence) -> Markup {
    html! {
        div.evidence {
            span.src { (e.source) } (e.summary)
            @if !e.query.is_empty() { pre { (e.query) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Chart, Edge, Feedback, Step, TimeRange, Trace, Unit, Verdict};

    fn report() -> Report {
        let start = chrono::DateTime::from_timestamp(1_769_700_000, 0).unwrap();
        let points: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                (
                    1_769_700_000.0 + 15.0 * i as f64,
                    if i > 40 { 0.9 } else { 0.1 },
                )
            })
            .collect();
        Report {
            summary: "Most likely root cause: payment <script>alert(1)</script>".into(),
            ranked_root_causes: vec![RootCause {
                rank: 1,
                service: "payment".into(),
                probability: 0.62,
                description: "payment: cpu up".into(),
                key_indicators: vec![
                    "cpu_seconds_rate 0.10 cores -> 0.90 cores since 23:30:15 CST".into(),
                ],
                key_logs: vec!["[12x] connection refused".into()],
                evidence: vec![
                    Evidence {
                        source: "prometheus".into(),
                        query: "sum by (service) (rate(cpu[1m]))".into(),
                        summary: "cpu of payment".into(),
                        chart: Some(Chart::new(
                            "cpu_seconds_rate of payment".into(),
                            Unit::Cores,
                            &points,
                            0.1,
                            1_769_700_300.0,
                            1_769_700_615.0,
                        )),
                    },
                    Evidence {
                        source: "jaeger".into(),
                        query: "GET /api/traces?service=payment".into(),
                        summary: "40 spans; median 3 ms -> 90 ms".into(),
                        chart: None,
                    },
                ],
            }],
            next_actions: vec!["Check payment".into()],
            trace: Trace {
                steps: vec![Step {
                    index: 1,
                    tool: "prometheus_query".into(),
                    tool_input: serde_json::json!({"query": "up"}),
                    observation: "12 series".into(),
                    log: String::new(),
                }],
            },
            duration_ms: 1200,
            timezone: "Asia/Shanghai".into(),
            call_graph: vec![Edge {
                caller: "frontend".into(),
                callee: "payment".into(),
            }],
            feedback: Some(Feedback {
                verdict: Verdict::RightCause,
                by: None,
                at: start,
            }),
            similar: vec![aegis_core::report::SimilarIncident {
                id: "rca-earlier".into(),
                at: start - chrono::Duration::days(3),
                summary: "payment ran hot".into(),
                top_service: Some("payment".into()),
                similarity: 0.64,
                feedback: Some("wrong cause".into()),
            }],

            ..Report::new(
                "rca-page",
                TimeRange {
                    start,
                    end: start + chrono::Duration::minutes(15),
                },
            )
        }
    }

    #[test]
    fn the_page_has_every_part_escaped_and_self_contained() {
        let page = render(&report());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script"), "text is escaped, no script");
        assert!(page.contains("&lt;script&gt;"));
        for part in [
            "Ranked root causes",
            "62 %",
            "unknown",
            "cpu_seconds_rate of payment",
            "Log templates",
            "connection refused",
            "Slow or failing spans",
            "Call graph",
            r#"data-service="payment" data-rank="1""#,
            "prometheus_query",
            "right cause",
            "2026-01-29 23:20:00 CST",
            "Similar past incidents",
            "rca-earlier",
            "64 %",
            "wrong cause",
        ] {
            assert!(page.contains(part), "{part} missing");
        }
        assert_eq!(page.matches("<figure class=\"chart\"").count(), 1);
        for fetches in ["src=", "<link", "@import"] {
            assert!(
                !page.contains(fetches),
                "the page fetches nothing: {fetches}"
            );
        }
        // The only url() are references inside the document (the graph's arrows).
        assert_eq!(page.matches("url(").count(), page.matches("url(#").count());
    }
}
