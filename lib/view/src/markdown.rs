//! A report as Markdown, for a browser, the S3 console or a chat paste: the summary, the
//! ranked candidates, their evidence with the exact queries, next actions, the steps the
//! analysis took and what was degraded.

use std::fmt::Write as _;

use aegis_core::report::Report;

/// Renders `report` as a self-contained Markdown document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail, so the fmt::Results below are ignored.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(out, "# Analysis {}\n", inline(&r.id))?;
    writeln!(out, "{}\n", r.summary.trim())?;
    let clock = r.clock();
    writeln!(
        out,
        "- **Range:** {} → {}",
        clock.date_time(r.time_range.start),
        clock.date_time(r.time_range.end)
    )?;
    writeln!(out, "- **Model:** {}", inline(&r.model))?;
    writeln!(
        out,
        "- **Duration:** {} ms; {} tool calls, {} prompt + {} completion tokens",
        r.duration_ms, r.usage.tool_calls, r.usage.prompt_tokens, r.usage.completion_tokens
    )?;
    if !r.archived {
        writeln!(out, "- **Not archived:** the report store was unavailable")?;
    }
    if let Some(f) = &r.feedback {
        writeln!(
            out,
            "- **Feedback:** {} ({})",
            f.verdict.words(),
            clock.date_time(f.at)
        )?;
    }
    writeln!(out)?;

    writeln!(out, "## Ranked root causes\n")?;
    if r.ranked_root_causes.is_empty() {
        writeln!(out, "No candidate stood out.\n")?;
    } else {
        writeln!(out, "| # | Service | Probability | Description |")?;
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
                writeln!(out, "**Key indicators**\n")?;
                for k in &c.key_indicators {
                    writeln!(out, "- {}", inline(k))?;
                }
                writeln!(out)?;
            }
            if !c.key_logs.is_empty() {
                writeln!(out, "**Key logs**\n")?;
                code_block(out, "text", &c.key_logs.join("\n"))?;
            }
            if !c.evidence.is_empty() {
                writeln!(out, "**Evidence**\n")?;
                for e in &c.evidence {
                    writeln!(out, "- *{}*: {}\n", inline(&e.source), inline(&e.summary))?;
                    code_block(out, language(&e.source), &e.query)?;
                }
            }
        }
    }

    if !r.next_actions.is_empty() {
        writeln!(out, "## Next actions\n")?;
        for (i, a) in r.next_actions.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, inline(a))?;
        }
        writeln!(out)?;
    }

    if !r.similar.is_empty() {
        writeln!(out, "## Similar past incidents\n")?;
        for p in &r.similar {
            writeln!(
                out,
                "- {} ({}, {:.0}% alike){}: {}{}",
                clock.date_time(p.at),
                inline(&p.id),
                p.similarity * 100.0,
                p.top_service
                    .as_deref()
                    .map_or_else(String::new, |s| format!(", top cause {}", inline(s))),
                inline(&p.summary),
                p.feedback
                    .as_deref()
                    .map_or_else(String::new, |f| format!(" Feedback: {}.", inline(f)))
            )?;
        }
        writeln!(out)?;
    }

    if !r.degraded.is_empty() {
        writeln!(out, "## Degraded sources\n")?;
        for d in &r.degraded {
            writeln!(out, "- {}", inline(d))?;
        }
        writeln!(out)?;
    }

    if !r.trace.steps.is_empty() {
        writeln!(out, "## Trace\n")?;
        for s in &r.trace.steps {
            writeln!(out, "### Step {}: {}\n", s.index, inline(&s.tool))?;
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
}
