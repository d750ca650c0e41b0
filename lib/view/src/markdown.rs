//! A report as Markdown, for a browser, the S3 console or a chat paste: the summary, the
//! ranked candidates, their evidence with the exact queries, next actions, the steps the
//! analysis took and what was degraded.

use std::fmt::Write as _;

use aegis_core::report::Report;
use aegis_i18n::t;

use crate::page::verdict_label;

/// Renders `report` as a self-contained Markdown document, in the report's language.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail, so the fmt::Results below are ignored.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> std::fmt::Result {
    let lang = r.language;
    writeln!(out, "# {}\n", t!(lang, "page-title", id = inline(&r.id)))?;
    writeln!(out, "{}\n", r.summary.trim())?;
    let clock = r.clock();
    let range = t!(
        lang,
        "md-range",
        start = clock.date_time(r.time_range.start),
        end = clock.date_time(r.time_range.end)
    );
    writeln!(out, "- {range}")?;
    writeln!(out, "- {}", t!(lang, "md-model", model = inline(&r.model)))?;
    let duration = t!(
        lang,
        "md-duration",
        ms = r.duration_ms,
        calls = r.usage.tool_calls,
        prompt = r.usage.prompt_tokens,
        completion = r.usage.completion_tokens
    );
    writeln!(out, "- {duration}")?;
    if !r.archived {
        writeln!(out, "- {}", t!(lang, "md-not-archived"))?;
    }
    if let Some(f) = &r.feedback {
        let feedback = t!(
            lang,
            "md-feedback",
            verdict = f.verdict.label(lang),
            at = clock.date_time(f.at)
        );
        writeln!(out, "- {feedback}")?;
    }
    writeln!(out)?;

    writeln!(out, "## {}\n", t!(lang, "page-ranked"))?;
    if r.ranked_root_causes.is_empty() {
        writeln!(out, "{}\n", t!(lang, "page-no-candidate"))?;
    } else {
        writeln!(
            out,
            "| # | {} | {} | {} |",
            t!(lang, "page-col-service"),
            t!(lang, "page-col-probability"),
            t!(lang, "md-col-description")
        )?;
        writeln!(out, "|---:|---|---:|---|")?;
        for c in &r.ranked_root_causes {
            writeln!(
                out,
                "| {} | {} | {:.0}% | {} |",
                c.rank,
                cell(&c.service),
                c.probability * 100.0,
                cell(&c.description)
            )?;
        }
        writeln!(out)?;
        for c in &r.ranked_root_causes {
            writeln!(
                out,
                "### {}. {} ({:.0}%)\n",
                c.rank,
                inline(&c.service),
                c.probability * 100.0
            )?;
            writeln!(out, "{}\n", c.description.trim())?;
            if !c.key_indicators.is_empty() {
                writeln!(out, "{}\n", t!(lang, "md-key-indicators"))?;
                for k in &c.key_indicators {
                    writeln!(out, "- {}", inline(k))?;
                }
                writeln!(out)?;
            }
            if !c.key_logs.is_empty() {
                writeln!(out, "{}\n", t!(lang, "md-key-logs"))?;
                code_block(out, "text", &c.key_logs.join("\n"))?;
            }
            if !c.evidence.is_empty() {
                writeln!(out, "{}\n", t!(lang, "md-evidence"))?;
                for e in &c.evidence {
                    writeln!(out, "- *{}*: {}\n", inline(&e.source), inline(&e.summary))?;
                    code_block(out, language(&e.source), &e.query)?;
                }
            }
        }
    }

    if !r.next_actions.is_empty() {
        writeln!(out, "## {}\n", t!(lang, "md-next-actions"))?;
        for (i, a) in r.next_actions.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, inline(a))?;
        }
        writeln!(out)?;
    }

    if !r.similar.is_empty() {
        writeln!(out, "## {}\n", t!(lang, "page-similar"))?;
        for p in &r.similar {
            let top = p.top_service.as_deref().map_or_else(String::new, |s| {
                t!(lang, "md-similar-top", service = inline(s))
            });
            let feedback = p.feedback.as_deref().map_or_else(String::new, |f| {
                let verdict = inline(&verdict_label(f, lang).0);
                t!(lang, "md-similar-feedback", verdict = verdict)
            });
            let line = t!(
                lang,
                "md-similar",
                at = clock.date_time(p.at),
                id = inline(&p.id),
                percent = format!("{:.0}", p.similarity * 100.0),
                top = top,
                summary = inline(&p.summary),
                feedback = feedback
            );
            writeln!(out, "- {line}")?;
        }
        writeln!(out)?;
    }

    if !r.degraded.is_empty() {
        writeln!(out, "## {}\n", t!(lang, "md-degraded"))?;
        for d in &r.degraded {
            writeln!(out, "- {}", inline(d))?;
        }
        writeln!(out)?;
    }

    if !r.trace.steps.is_empty() {
        writeln!(out, "## {}\n", t!(lang, "md-trace"))?;
        for s in &r.trace.steps {
            let step = t!(lang, "md-step", index = s.index, tool = inline(&s.tool));
            writeln!(out, "### {step}\n")?;
            if !s.log.trim().is_empty() {
                writeln!(out, "{}\n", s.log.trim())?;
            }
            let input = serde_json::to_string_pretty(&s.tool_input)
                .unwrap_or_else(|_| s.tool_input.to_string());
            code_block(out, "json", &input)?;
            code_block(out, "text", &s.observation)?;
        }
    }
    Ok(())
}

/// The fence language for a query from `source`.
fn language(source: &str) -> &'static str {
    match source {
        "prometheus" => "promql",
        "loki" => "logql",
        _ => "text",
    }
}

/// A fenced block longer than any backtick run inside `body`, so no content can close it.
fn code_block(out: &mut String, lang: &str, body: &str) -> std::fmt::Result {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(out, "{fence}{lang}\n{}\n{fence}\n", body.trim_end())
}

/// Text on one line (list items, headings): newlines become spaces.
fn inline(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text in a table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use aegis_core::report::{Evidence, RootCause, SimilarIncident, Step, TimeRange, Trace};

    fn report() -> Report {
        let start = Utc
            .with_ymd_and_hms(2026, 11, 25, 8, 30, 0)
            .single()
            .expect("valid");
        Report {
            summary: "checkout is failing because payments-db is saturated".into(),
            ranked_root_causes: vec![RootCause {
                rank: 1,
                service: "payments|db".into(),
                probability: 0.72,
                description: "connections\nexhausted".into(),
                key_indicators: vec!["pool usage x3.1 since 08:43".into()],
                key_logs: vec!["too many connections".into()],
                evidence: vec![Evidence {
                    source: "prometheus".into(),
                    query: "rate(errors_total{job=\"db\"}[5m]) ```".into(),
                    summary: "errors up".into(),
                    chart: None,
                }],
            }],
            next_actions: vec!["Check the pool size".into()],
            trace: Trace {
                steps: vec![Step {
                    index: 1,
                    tool: "query_metrics".into(),
                    tool_input: serde_json::json!({"query": "up"}),
                    observation: "all up".into(),
                    log: "look at targets first".into(),
                }],
            },
            duration_ms: 1200,
            degraded: vec!["loki: connection refused".into()],
            timezone: "UTC".into(),
            similar: vec![SimilarIncident {
                id: "r0".into(),
                at: start,
                summary: "payments-db saturated".into(),
                top_service: Some("payments-db".into()),
                similarity: 0.8,
                feedback: Some("right cause".into()),
            }],

            ..Report::new("r1", TimeRange::last(start, 15))
        }
    }

    #[test]
    fn renders_every_section() {
        let md = render(&report());
        assert!(md.starts_with("# Analysis r1\n"));
        assert!(md.contains("| 1 | payments\\|db | 72% | connections exhausted |"));
        assert!(md.contains("## Next actions\n\n1. Check the pool size"));
        assert!(md.contains("## Degraded sources\n\n- loki: connection refused"));
        assert!(md.contains("### Step 1: query_metrics"));
        assert!(md.contains(
            "## Similar past incidents\n\n- 2026-11-25 08:30:00 UTC (r0, 80% alike), top cause payments-db: payments-db saturated Feedback: right cause."
        ));
        assert!(md.contains("\"query\": \"up\""));
    }

    #[test]
    fn queries_sit_in_fences_they_cannot_close() {
        let md = render(&report());
        assert!(md.contains("````promql\nrate(errors_total{job=\"db\"}[5m]) ```\n````"));
    }

    /// The Markdown a reader reads as sentences: fenced blocks (queries, tool inputs
    /// and results, log lines) left out.
    fn prose(md: &str) -> String {
        let mut fenced = false;
        md.lines()
            .filter(|l| {
                if l.starts_with("```") {
                    fenced = !fenced;
                    return false;
                }
                !fenced
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_chinese_report_s_markdown_reads_in_chinese() {
        let mut r = report();
        r.language = aegis_i18n::Lang::ZhCn;
        r.summary = "checkout 失败，因为 payments-db 已饱和".into();
        let c = &mut r.ranked_root_causes[0];
        c.description = "连接耗尽".into();
        c.key_indicators = vec!["连接池使用率自 08:43 起 x3.1".into()];
        c.evidence[0].summary = "错误增多".into();
        r.next_actions = vec!["检查连接池大小".into()];
        r.trace.steps[0].log = "先看 targets".into();
        r.degraded = vec!["loki：连接被拒绝".into()];
        r.similar[0].summary = "payments-db 饱和".into();
        r.archived = false;
        r.feedback = Some(aegis_core::report::Feedback {
            verdict: aegis_core::report::Verdict::WrongCause,
            by: None,
            at: r.time_range.end,
        });
        let md = render(&r);
        assert!(md.starts_with("# 分析 r1\n"), "{md}");
        for part in [
            "- **模型：** statistical",
            "0 次工具调用",
            "- **未归档：** 报告存储不可用",
            "- **反馈：** 原因不对（2026-11-25 08:30:00 UTC）",
            "## 根因排序\n\n| # | 服务 | 概率 | 描述 |",
            "| 1 | payments\\|db | 72% | 连接耗尽 |",
            "**关键指标**",
            "**关键日志**",
            "**证据**",
            "## 下一步\n\n1. 检查连接池大小",
            "## 相似的历史事件\n\n- 2026-11-25 08:30:00 UTC（r0，相似度 80%），当时的首要原因 payments-db：payments-db 饱和（反馈：原因正确）",
            "## 降级的数据源",
            "## 分析步骤",
            "### 第 1 步：query_metrics",
        ] {
            assert!(md.contains(part), "{part} missing in\n{md}");
        }
        let text = prose(&md);
        let english = crate::page::tests::english_in(&text, &["page-", "md-"]);
        assert!(
            english.is_empty(),
            "English in the Chinese Markdown: {english:?}\n{text}"
        );
    }
}
