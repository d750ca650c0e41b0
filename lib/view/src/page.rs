//! The report page: one self-contained HTML document (inline CSS and SVG, no script,
//! nothing fetched) with the summary, the ranked candidates and their probabilities,
//! a chart of every piece of metric evidence, the log templates, the slow or failing
//! spans, the call graph with the candidates highlighted, and every tool call.

use aegis_core::report::{Clock, Evidence, Report, RootCause, Verdict};
use aegis_i18n::{Lang, t};
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

/// Where a piece of markup goes in a catalog sentence: pass `SLOTS[i]` as the message's
/// argument, then [`sentence`] puts the `i`th piece there. Private-use characters, which
/// no message or name contains.
pub(crate) const SLOTS: [&str; 3] = ["\u{E000}", "\u{E001}", "\u{E002}"];

/// `text`, a catalog message whose arguments included [`SLOTS`], escaped, with each slot
/// replaced by its piece of `parts`: the whole sentence stays in the catalog (a
/// translator orders it), the markup (a link, a code span) in the code.
pub(crate) fn sentence(text: &str, parts: &[Markup]) -> Markup {
    let mut out = String::new();
    let mut plain = String::new();
    for c in text.chars() {
        let slot = (c as usize)
            .checked_sub(0xE000)
            .filter(|&i| i < parts.len());
        match slot {
            Some(i) => {
                out.push_str(&html! { (plain) }.into_string());
                plain.clear();
                out.push_str(&parts[i].0);
            }
            None => plain.push(c),
        }
    }
    out.push_str(&html! { (plain) }.into_string());
    PreEscaped(out)
}

/// A verdict as stored (`right cause`, `wrong cause`: [`Verdict::words`]) and whether
/// it is the wrong-cause one, as `lang` words it; anything else as it is.
pub(crate) fn verdict_label(stored: &str, lang: Lang) -> (String, bool) {
    Verdict::from_words(stored).map_or_else(
        || (stored.to_string(), false),
        |v| (v.label(lang), v == Verdict::WrongCause),
    )
}

/// The page of `report`, its times in the report's zone and its words in the report's
/// language.
pub fn render(report: &Report) -> String {
    let lang = report.language;
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
    let tokens = report.usage.prompt_tokens + report.usage.completion_tokens;
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(&t!(lang, "page-title", id = report.id.as_str())))
            body {
                header {
                    h1 { (t!(lang, "page-heading")) }
                    p.meta {
                        span { (sentence(&t!(lang, "page-id", id = SLOTS[0]), &[html! { code { (report.id) } }])) }
                        span { (clock.date_time(report.time_range.start)) " → " (clock.date_time(report.time_range.end)) }
                        span { (t!(lang, "page-model", model = report.model.as_str())) }
                        span { (format!("{:.1}", report.duration_ms as f64 / 1000.0)) " s" }
                        span { (t!(lang, "page-usage", calls = report.usage.tool_calls, tokens = tokens)) }
                    }
                    @if let Some(f) = &report.feedback {
                        p.feedback {
                            (sentence(
                                &t!(lang, "page-feedback", verdict = SLOTS[0], at = clock.date_time(f.at)),
                                &[html! { span.verdict.wrong[f.verdict == Verdict::WrongCause] { (f.verdict.label(lang)) } }],
                            ))
                        }
                    }
                    p.summary { (report.summary) }
                }
                @if !report.degraded.is_empty() {
                    div.degraded {
                        strong { (t!(lang, "page-degraded")) " " }
                        @for d in &report.degraded { div { (d) } }
                    }
                }
                h2 { (t!(lang, "page-ranked")) }
                @if report.ranked_root_causes.is_empty() {
                    p { (t!(lang, "page-no-candidate")) }
                } @else {
                    table.candidates {
                        thead { tr {
                            th { "#" } th { (t!(lang, "page-col-service")) }
                            th { (t!(lang, "page-col-probability")) } th { (t!(lang, "page-col-what")) }
                        } }
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
                                td {} td { em { (t!(lang, "page-unknown")) } }
                                td { (bar((1.0 - known).max(0.0))) }
                                td { (t!(lang, "page-none-of-the-above")) }
                            }
                        }
                    }
                    @for c in &report.ranked_root_causes { (candidate(c, clock, lang)) }
                }
                @if !report.similar.is_empty() {
                    h2 { (t!(lang, "page-similar")) }
                    table.similar {
                        thead { tr {
                            th { (t!(lang, "page-col-when")) } th { (t!(lang, "page-col-cause")) }
                            th { (t!(lang, "page-col-alike")) } th { (t!(lang, "page-col-summary")) }
                            th { (t!(lang, "page-col-feedback")) }
                        } }
                        tbody {
                            @for p in &report.similar {
                                tr {
                                    td { (clock.date_time(p.at)) br; code { (p.id) } }
                                    td { (p.top_service.clone().unwrap_or_else(|| t!(lang, "page-no-cause"))) }
                                    td { (format!("{:.0} %", p.similarity * 100.0)) }
                                    td { (p.summary) }
                                    td { (p.feedback.as_deref().map(|f| verdict_label(f, lang).0).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
                @if let Some(g) = graph::svg(&report.call_graph, &ranked, &t!(lang, "page-graph-label")) {
                    h2 { (t!(lang, "page-graph")) }
                    p.meta { (t!(lang, "page-graph-legend")) }
                    figure { (g) }
                }
                @if !report.next_actions.is_empty() {
                    h2 { (t!(lang, "page-next-steps")) }
                    ol { @for a in &report.next_actions { li { (a) } } }
                }
                h2 { (t!(lang, "page-tool-calls")) }
                @if report.trace.steps.is_empty() {
                    p { (t!(lang, "page-no-tool-calls")) }
                } @else {
                    table.steps {
                        thead { tr {
                            th { "#" } th { (t!(lang, "page-col-tool")) } th { (t!(lang, "page-col-input")) }
                        } }
                        tbody {
                            @for s in &report.trace.steps {
                                tr {
                                    td { (s.index) }
                                    td { code { (s.tool) } }
                                    td {
                                        pre { (serde_json::to_string(&s.tool_input).unwrap_or_default()) }
                                        details { summary { (t!(lang, "page-result")) } pre { (s.observation) } }
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

fn candidate(c: &RootCause, clock: Clock, lang: Lang) -> Markup {
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
                            Err(err) => p.meta { (t!(lang, "page-no-chart", reason = chart_error(&err, lang))) },
                        }
                        figcaption.meta {
                            (t!(lang, "page-chart-caption", summary = e.summary.as_str()))
                        }
                    }
                    pre { (e.query) }
                }
            }
            @if !c.key_logs.is_empty() {
                h4 { (t!(lang, "page-log-templates")) }
                pre { @for l in &c.key_logs { (l) "\n" } }
            }
            @for e in &logs { (evidence(e)) }
            @if !spans.is_empty() {
                h4 { (t!(lang, "page-spans")) }
                @for e in &spans { (evidence(e)) }
            }
        }
    }
}

/// Why a chart is missing, in `lang`; a drawing backend's own error as it is.
fn chart_error(err: &chart::Error, lang: Lang) -> String {
    match err {
        chart::Error::TooShort => t!(lang, "page-chart-too-short"),
        chart::Error::Draw(detail) => detail.clone(),
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
pub(crate) mod tests {
    use super::*;
    use aegis_core::report::{Chart, Edge, Feedback, Step, TimeRange, Trace, Unit};

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

    /// Which of [`english_words`] of the messages under `prefixes` a reader finds in
    /// `text`: none on a Chinese page.
    pub(crate) fn english_in(text: &str, prefixes: &[&str]) -> Vec<String> {
        prefixes
            .iter()
            .flat_map(|p| english_words(p))
            .filter(|w| text.contains(w.as_str()))
            .collect()
    }

    /// The words of the English catalog's messages whose id starts with `prefix`, as
    /// a reader would see them: each message's fixed text cut at punctuation, the
    /// pieces of three letters or more.
    pub(crate) fn english_words(prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = aegis_i18n::messages(Lang::En)
            .into_iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .flat_map(|(_, texts)| texts)
            .flat_map(|text| {
                text.split(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '-'))
                    .map(str::trim)
                    .filter(|part| part.chars().filter(char::is_ascii_alphabetic).count() >= 3)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The text a reader of `html` sees as sentences: tags, the style, drawings,
    /// code and preformatted blocks (queries, ids, tool inputs) left out.
    pub(crate) fn visible(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            out.push_str(&rest[..open]);
            rest = &rest[open..];
            let skipped = ["style", "svg", "pre", "code"].into_iter().find(|tag| {
                rest[1..].starts_with(tag) && rest[1 + tag.len()..].starts_with(['>', ' '])
            });
            let end = match skipped {
                Some(tag) => rest
                    .find(&format!("</{tag}>"))
                    .map_or(rest.len(), |i| i + tag.len() + 3),
                None => rest.find('>').map_or(rest.len(), |i| i + 1),
            };
            out.push(' ');
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// `report()` as the engine writes it for a Chinese question.
    fn chinese() -> Report {
        let mut r = report();
        r.language = Lang::ZhCn;
        r.summary = "最可能的根因：payment（概率 62%）".into();
        let c = &mut r.ranked_root_causes[0];
        c.description = "payment 的 CPU 上升".into();
        c.key_indicators =
            vec!["cpu_seconds_rate 自 23:30:15 CST 起 0.10 cores -> 0.90 cores".into()];
        c.evidence[0].summary = "payment 的 cpu".into();
        c.evidence[1].summary = "40 个 span；中位时长 3 ms -> 90 ms".into();
        r.next_actions = vec!["检查 payment 的变更".into()];
        r.similar[0].summary = "payment 负载过高".into();
        r.trace.steps[0].observation = "12 条序列".into();
        r.degraded = vec!["loki：连接被拒绝".into()];
        r
    }

    #[test]
    fn a_chinese_report_s_page_reads_in_chinese_from_heading_to_verdicts() {
        let page = render(&chinese());
        assert!(page.contains(r#"<html lang="zh-CN">"#));
        for part in [
            "<title>分析 rca-page</title>",
            "<h1>根因分析</h1>",
            "根因排序",
            "以上都不是",
            "日志模板",
            "缓慢或失败的 span",
            "相似的历史事件",
            r#"aria-label="调用图""#,
            "下一步",
            "工具调用",
            "0 次工具调用",
            "原因正确",
            "原因不对",
            "降级：",
            "灰色：基线部分",
        ] {
            assert!(page.contains(part), "{part} missing");
        }
        let text = visible(&page);
        let english = english_in(&text, &["page-"]);
        assert!(
            english.is_empty(),
            "English in the Chinese page: {english:?}\n{text}"
        );
        // The English page says the same in English.
        let words = english_words("page-");
        assert!(
            words.contains(&"Ranked root causes".to_string()),
            "{words:?}"
        );
    }

    #[test]
    fn markup_goes_where_the_sentence_puts_it_and_text_is_escaped() {
        let text = format!("a<b {} c {}", SLOTS[1], SLOTS[0]);
        let out = sentence(&text, &[html! { i { "x" } }, html! { b { "y" } }]);
        assert_eq!(out.into_string(), "a&lt;b <b>y</b> c <i>x</i>");
        assert_eq!(
            verdict_label("wrong cause", Lang::ZhCn),
            ("原因不对".into(), true)
        );
        assert_eq!(verdict_label("meh", Lang::ZhCn), ("meh".into(), false));
    }
}
