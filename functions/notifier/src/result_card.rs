//! What an analysis sends back to the chat: the result card, a notice, or a short
//! apology.

use aegis_core::events::{Failure, Notice};
use aegis_core::report::Report;
use aegis_feishu::{Card, Outgoing, Template, escape_markdown as esc};
use aegis_i18n::{Lang, t};

use crate::alert_card::clip;

/// The acknowledgement of a chat question, in `lang`.
pub fn ack(lang: Lang) -> String {
    t!(lang, "chat-ack")
}

/// The result card: summary; the top three candidates with probability, service and
/// key evidence (the top one's key series as `chart`, an uploaded image's key); next
/// steps; up to three similar past incidents; the feedback buttons; range, model and duration; a link to the full report.
pub fn render(report: &Report, report_url: Option<&str>, chart: Option<&str>) -> Outgoing {
    let card = build(report, report_url, chart, true);
    // Evidence is the bulk; a card that is still too big loses it, never the verdict.
    if aegis_feishu::Outgoing::Card(card.clone()).content().is_ok() {
        return Outgoing::Card(card);
    }
    Outgoing::Card(build(report, report_url, chart, false))
}

/// The evidence chart of the top candidate, if it has one: its title and series.
pub fn top_chart(report: &Report) -> Option<&aegis_core::report::Chart> {
    report
        .ranked_root_causes
        .first()?
        .evidence
        .iter()
        .find_map(|e| e.chart.as_ref())
}

/// A probability as a whole percentage.
fn percent(p: f64) -> String {
    format!("{:.0}", p * 100.0)
}

fn build(report: &Report, report_url: Option<&str>, chart: Option<&str>, evidence: bool) -> Card {
    let lang = report.language;
    let title = match report.ranked_root_causes.first() {
        Some(c) => t!(
            lang,
            "card-title-top",
            service = c.service.as_str(),
            percent = percent(c.probability)
        ),
        None => t!(lang, "card-title"),
    };
    let template = if report.ranked_root_causes.is_empty() {
        Template::Grey
    } else {
        Template::Blue
    };
    let mut card = Card::new(title, template).markdown(format!(
        "{}\n{}",
        t!(lang, "card-summary"),
        esc(&clip(&report.summary, 2000))
    ));
    if !report.ranked_root_causes.is_empty() {
        card = card.hr();
        for cause in report.ranked_root_causes.iter().take(3) {
            let mut lines = vec![t!(
                lang,
                "card-candidate",
                rank = cause.rank,
                service = esc(&cause.service),
                percent = percent(cause.probability)
            )];
            if !cause.description.is_empty() {
                lines.push(esc(&clip(&cause.description, 500)));
            }
            if evidence {
                for indicator in cause.key_indicators.iter().take(3) {
                    lines.push(format!("- {}", esc(&clip(indicator, 200))));
                }
                for e in cause.evidence.iter().take(3) {
                    lines.push(format!(
                        "- {}: {} ({})",
                        esc(&e.source),
                        esc(&clip(&e.summary, 200)),
                        t!(lang, "card-query", query = esc(&clip(&e.query, 200)))
                    ));
                }
                for log in cause.key_logs.iter().take(2) {
                    lines.push(format!(
                        "- {}",
                        t!(lang, "card-log", line = esc(&clip(log, 200)))
                    ));
                }
            }
            card = card.markdown(lines.join("\n"));
            if cause.rank == 1
                && let (Some(key), Some(c)) = (chart, top_chart(report))
            {
                card = card.image(key, c.title.clone());
            }
        }
    }
    if !report.next_actions.is_empty() {
        let steps: Vec<String> = report
            .next_actions
            .iter()
            .take(5)
            .enumerate()
            .map(|(i, a)| format!("{}. {}", i + 1, esc(&clip(a, 300))))
            .collect();
        card = card.hr().markdown(format!(
            "{}\n{}",
            t!(lang, "card-next-steps"),
            steps.join("\n")
        ));
    }
    if !report.similar.is_empty() {
        let lines: Vec<String> = report
            .similar
            .iter()
            .take(3)
            .map(|p| {
                let service = match p.top_service.as_deref() {
                    Some(s) => esc(s),
                    None => t!(lang, "card-no-cause"),
                };
                format!(
                    "- {}{}",
                    t!(
                        lang,
                        "card-similar-line",
                        at = report.clock().date_time(p.at),
                        service = service,
                        percent = percent(p.similarity),
                        summary = esc(&clip(&p.summary, 160))
                    ),
                    p.feedback
                        .as_deref()
                        .map_or_else(String::new, |f| format!(" ({})", feedback_words(f, lang)))
                )
            })
            .collect();
        card = card.hr().markdown(format!(
            "{}\n{}",
            t!(lang, "card-similar"),
            lines.join("\n")
        ));
    }
    if let Some(top) = report.ranked_root_causes.first() {
        use aegis_core::report::{FeedbackValue, Verdict};
        let value = |verdict| {
            serde_json::to_value(FeedbackValue::new(&report.id, &top.service, verdict))
                .unwrap_or_default()
        };
        card = card
            .hr()
            .markdown(t!(lang, "card-ask", service = esc(&top.service)))
            .button(
                Verdict::RightCause.label(lang),
                "primary",
                value(Verdict::RightCause),
            )
            .button(
                Verdict::WrongCause.label(lang),
                "danger",
                value(Verdict::WrongCause),
            );
    }
    let clock = report.clock();
    let mut footer = vec![
        format!(
            "{} → {}",
            clock.date_time(report.time_range.start),
            clock.time(report.time_range.end)
        ),
        t!(lang, "card-model", model = esc(&report.model)),
        format!("{:.1} s", report.duration_ms as f64 / 1000.0),
    ];
    if !report.degraded.is_empty() {
        footer.push(t!(
            lang,
            "card-degraded",
            what = esc(&clip(&report.degraded.join("; "), 300))
        ));
    }
    if let Some(url) = report_url.filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        footer.push(format!("[{}]({url})", t!(lang, "card-full-report")));
    }
    footer.push(t!(lang, "card-id", id = report.id.as_str()));
    card.note(footer.join(" · "))
}

/// A notice from feishu-event-handler (help, a refusal, a limit, an unreadable
/// question): its text is the reply, posted as it is.
pub fn notice(notice: &Notice) -> Outgoing {
    Outgoing::Text(clip(&notice.text, 2000))
}

/// A stored verdict (`right cause`, `wrong cause`) as `lang` words it; anything else
/// as it is.
fn feedback_words(stored: &str, lang: Lang) -> String {
    aegis_core::report::Verdict::from_words(stored)
        .map_or_else(|| esc(&clip(stored, 40)), |v| v.label(lang))
}

/// The apology for a failed analysis in `lang`, naming the kind of failure.
pub fn apology(failure: Option<&Failure>, lang: Lang) -> Outgoing {
    let reason = match failure.map(|f| f.kind.as_str()) {
        Some("timeout") => t!(lang, "chat-failed-timeout"),
        Some("backend") => t!(lang, "chat-failed-backend"),
        Some("model") => t!(lang, "chat-failed-model"),
        _ => t!(lang, "chat-failed-internal"),
    };
    let details = match failure {
        Some(f) => clip(&f.message, 300),
        None => t!(lang, "chat-failed-no-details"),
    };
    Outgoing::Text(t!(lang, "chat-failed", reason = reason, details = details))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::{Evidence, RootCause, TimeRange};

    fn report(causes: usize) -> Report {
        Report {
            summary: "cart is out of memory".into(),
            ranked_root_causes: (0..causes)
                .map(|i| RootCause {
                    rank: i as u32 + 1,
                    service: format!("svc-{i}"),
                    probability: 0.5 / (i as f64 + 1.0),
                    description: "OOM kills".into(),
                    key_indicators: vec!["memory x3".into()],
                    key_logs: vec![],
                    evidence: vec![Evidence {
                        source: "prometheus".into(),
                        query: "container_memory_working_set_bytes".into(),
                        summary: "memory climbs".into(),
                        chart: None,
                    }],
                })
                .collect(),
            next_actions: vec!["check limits".into()],
            duration_ms: 4200,
            timezone: "UTC".into(),
            similar: vec![aegis_core::report::SimilarIncident {
                id: "r0".into(),
                at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid"),
                summary: "cart ran out of memory".into(),
                top_service: Some("cart".into()),
                similarity: 0.72,
                feedback: Some("right cause".into()),
            }],

            ..Report::new("r1", TimeRange::last(chrono::Utc::now(), 15))
        }
    }

    #[test]
    fn card_has_top_three_next_steps_model_duration_and_link() {
        let Outgoing::Card(card) = render(&report(5), Some("https://reports/r1"), None) else {
            panic!("a card")
        };
        let text = card.text();
        assert!(card.title.contains("svc-0 (50%)"), "{}", card.title);
        assert!(text.contains("svc-2") && !text.contains("svc-3"), "{text}");
        for needle in [
            "cart is out of memory",
            "probability 25%",
            "memory climbs",
            "check limits",
            "model statistical",
            "4.2 s",
            "[Full report](https://reports/r1)",
            "**Similar past incidents**\n- 2023-11-14 22:13:20 UTC · cart · 72% alike: cart ran out of memory (right cause)",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn card_has_the_chart_the_feedback_buttons_and_times_in_the_zone() {
        let mut r = report(2);
        r.timezone = "Asia/Shanghai".into();
        r.ranked_root_causes[0].evidence[0].chart = Some(aegis_core::report::Chart::new(
            "cpu of svc-0".into(),
            aegis_core::report::Unit::Cores,
            &[(0.0, 1.0), (60.0, 2.0)],
            1.0,
            30.0,
            45.0,
        ));
        let Outgoing::Card(card) = render(&r, None, Some("img_v2_x")) else {
            panic!("a card")
        };
        let json = card.to_value().to_string();
        assert!(json.contains(r#""img_key":"img_v2_x""#), "{json}");
        assert!(
            json.contains(r#""tag":"button""#) && json.contains("wrong cause"),
            "{json}"
        );
        assert!(json.contains(r#""verdict":"right_cause""#), "{json}");
        assert!(
            json.contains(&format!(r#""report_id":"{}""#, r.id)),
            "{json}"
        );
        assert!(card.text().contains(" CST"), "{}", card.text());
        assert!(!card.text().contains("UTC"), "{}", card.text());
        let Outgoing::Card(plain) = render(&r, None, None) else {
            panic!("a card")
        };
        assert!(
            !plain.to_value().to_string().contains("img_key"),
            "no chart without an upload"
        );
    }

    #[test]
    fn apology_names_the_kind_in_the_asked_language() {
        let failure = Failure {
            kind: "timeout".into(),
            message: "budget of 240s spent".into(),
        };
        let Outgoing::Text(zh) = apology(Some(&failure), Lang::ZhCn) else {
            panic!("text")
        };
        assert!(zh.starts_with("抱歉，这次分析没有完成：分析超时"), "{zh}");
        let Outgoing::Text(en) = apology(Some(&failure), Lang::En) else {
            panic!("text")
        };
        assert!(
            en.contains("ran out of time") && en.contains("240s"),
            "{en}"
        );
    }

    #[test]
    fn a_chinese_report_makes_a_card_with_no_english_sentence() {
        let mut r = report(3);
        r.language = Lang::ZhCn;
        r.summary = "最可能的根因：svc-0（概率 50%）。".into();
        r.next_actions = vec!["检查 svc-0 的变更。".into()];
        for c in &mut r.ranked_root_causes {
            c.description = "内存溢出".into();
            c.key_indicators = vec!["内存 x3".into()];
            c.evidence[0].summary = "内存上涨".into();
        }
        r.similar[0].summary = "cart 内存耗尽".into();
        r.degraded = vec![];
        let Outgoing::Card(card) = render(&r, Some("https://reports/r1"), None) else {
            panic!("a card")
        };
        let json = card.to_value().to_string();
        assert!(card.title.starts_with("根因分析：svc-0"), "{}", card.title);
        for needle in [
            "**结论**",
            "概率 25%",
            "**下一步**",
            "相似度 72%",
            "原因正确",
            "原因不对",
            "完整报告",
        ] {
            assert!(json.contains(needle), "{needle} missing from {json}");
        }
        let english = aegis_i18n::english_phrases(&json);
        assert!(english.is_empty(), "English on a Chinese card: {english:?}");
    }

    #[test]
    fn chat_notices_are_posted_as_they_are() {
        let Outgoing::Text(text) = notice(&Notice {
            kind: "usage".into(),
            text: "用法：@AegisBot [模型] 问题".into(),
        }) else {
            panic!("text")
        };
        assert_eq!(text, "用法：@AegisBot [模型] 问题");
    }
}
