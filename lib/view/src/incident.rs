//! The incident page: one self-contained HTML document with the incident's state, its
//! alerts, and its timeline (alert groups, analyses, verdicts, resolution) in order,
//! each analysis linking to its report page.

use aegis_core::alert::Status;
use aegis_core::incident::{Happening, Incident};
use aegis_core::report::Clock;
use aegis_i18n::{Lang, t};
use maud::{DOCTYPE, html};

use crate::page::{SLOTS, head, sentence, verdict_label};

/// The page of `incident`, its times in `clock`'s zone and its words in `lang` (an
/// incident has no question: the reader's `Accept-Language` says); each analysis links
/// to the read API's address of its report (`/api/ops/analyses/<id>`).
pub fn render(incident: &Incident, clock: Clock, lang: Lang) -> String {
    let counts = incident.counts();
    let status = if incident.is_resolved() {
        Status::Resolved
    } else {
        Status::Firing
    };
    let separator = t!(lang, "list-separator");
    let services = incident
        .services
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(&separator);
    let analysis = |request_id: &str| {
        html! { a href=(format!("/api/ops/analyses/{request_id}")) { code { (request_id) } } }
    };
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(&t!(lang, "incident-page-title", id = incident.id.as_str())))
            body {
                header {
                    h1 { (t!(lang, "incident-page-heading", headline = incident.headline())) }
                    p.meta {
                        span { (sentence(&t!(lang, "page-id", id = SLOTS[0]), &[html! { code { (incident.id) } }])) }
                        span { (status.word(lang)) }
                        span { (t!(lang, "incident-page-severity", severity = incident.severity().word(lang))) }
                        span { (t!(lang, "incident-page-since", at = clock.date_time(incident.since()))) }
                        @if let Some(resolved) = incident.resolved_at {
                            span { (t!(lang, "incident-page-resolved-at", at = clock.date_time(resolved))) }
                        }
                    }
                    p {
                        (t!(
                            lang,
                            "incident-page-counts",
                            firing = counts.firing,
                            resolved = counts.resolved,
                            groups = incident.groups.len(),
                            services = services.as_str()
                        ))
                    }
                }
                h2 { (t!(lang, "incident-page-timeline")) }
                table.timeline {
                    tr { th { (t!(lang, "incident-page-when")) } th { (t!(lang, "incident-page-what")) } }
                    @for moment in &incident.timeline {
                        tr {
                            td { (clock.date_time(moment.at)) }
                            td {
                                @match &moment.what {
                                    Happening::Alerts { status, alertname, count, new_services, .. } => {
                                        (sentence(
                                            &t!(lang, "incident-page-alerts-arrived", name = SLOTS[0], status = status.word(lang), count = *count),
                                            &[html! { strong { (alertname) } }],
                                        ))
                                        @if !new_services.is_empty() {
                                            " " (t!(lang, "incident-page-new-services", services = new_services.join(&separator)))
                                        }
                                    }
                                    Happening::AnalysisRequested { generation, .. } => {
                                        (t!(lang, "incident-page-requested", generation = *generation))
                                    }
                                    Happening::AnalysisDone { request_id, top, failure } => {
                                        @match (top, failure) {
                                            (Some(top), _) => (sentence(
                                                &t!(lang, "incident-page-done-top", id = SLOTS[0], top = SLOTS[1]),
                                                &[analysis(request_id), html! { strong { (top) } }],
                                            )),
                                            (None, Some(f)) => (sentence(
                                                &t!(lang, "incident-page-done-failed", id = SLOTS[0], reason = SLOTS[1]),
                                                &[analysis(request_id), html! { (f) }],
                                            )),
                                            (None, None) => (sentence(
                                                &t!(lang, "incident-page-done-unclear", id = SLOTS[0]),
                                                &[analysis(request_id)],
                                            )),
                                        }
                                    }
                                    Happening::Verdict { report_id, verdict } => {
                                        @let (label, wrong) = verdict_label(verdict, lang);
                                        (sentence(
                                            &t!(lang, "incident-page-verdict", id = SLOTS[0], verdict = SLOTS[1]),
                                            &[html! { code { (report_id) } }, html! { span.verdict.wrong[wrong] { (label) } }],
                                        ))
                                    }
                                    Happening::Resolved => { strong { (t!(lang, "incident-page-resolved")) } }
                                }
                            }
                        }
                    }
                }
                h2 { (t!(lang, "incident-page-alerts")) }
                table.alerts {
                    tr {
                        th { (t!(lang, "incident-page-col-alert")) } th { (t!(lang, "incident-page-col-severity")) }
                        th { (t!(lang, "incident-page-col-status")) } th { (t!(lang, "incident-page-col-where")) }
                        th { (t!(lang, "incident-page-col-started")) }
                    }
                    @for alert in incident.alerts.values() {
                        tr {
                            td { strong { (alert.name) } @if !alert.summary.is_empty() { br; (alert.summary) } }
                            td { (alert.severity.word(lang)) }
                            td { (alert.status.word(lang)) }
                            td { (alert.namespace.as_deref().unwrap_or("")) " " (alert.service.as_deref().unwrap_or("")) }
                            td { (clock.date_time(alert.starts_at)) }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::alert::Notification;
    use chrono::{DateTime, Utc};

    /// An incident opened by one CartDown alert, analysed (cart most likely) and judged.
    fn incident(summary: &str) -> Incident {
        let at: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let n: Notification = serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": "g", "status": "firing", "receiver": "aegis",
            "alerts": [{"status": "firing", "labels": {"alertname": "CartDown", "service": "cart"},
                        "annotations": {"summary": summary},
                        "startsAt": "2026-12-07T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a"}],
        }))
        .unwrap();
        let mut incident = Incident::new("inc-20261207T100000Z-0badcafe".into(), at, None);
        incident.absorb(&n, at);
        incident.timeline.push(aegis_core::incident::Moment {
            at,
            what: Happening::AnalysisDone {
                request_id: "r1".into(),
                top: Some("cart".into()),
                failure: None,
            },
        });
        incident.timeline.push(aegis_core::incident::Moment {
            at,
            what: Happening::Verdict {
                report_id: "r1".into(),
                verdict: "wrong cause".into(),
            },
        });
        incident.timeline.push(aegis_core::incident::Moment {
            at,
            what: Happening::Resolved,
        });
        incident
    }

    #[test]
    fn the_page_lists_the_timeline_in_order_and_escapes_what_alerts_say() {
        let page = render(&incident("<script>x</script>"), Clock::default(), Lang::En);
        assert!(page.contains("Incident: CartDown"));
        let group = page.find("alert group").unwrap();
        let done = page.find("most likely").unwrap();
        assert!(group < done, "in order");
        assert!(page.contains("/api/ops/analyses/r1"));
        assert!(!page.contains("<script>x"), "escaped");
    }

    #[test]
    fn a_chinese_reader_s_page_reads_in_chinese() {
        let page = render(&incident("购物车服务不可用"), Clock::default(), Lang::ZhCn);
        assert!(page.contains(r#"<html lang="zh-CN">"#));
        for part in [
            "<title>事件 inc-20261207T100000Z-0badcafe</title>",
            "<h1>事件：CartDown</h1>",
            "告警中",
            "级别 未定级",
            "1 条告警中 · 0 条已恢复 · 1 个告警分组 · 服务：cart",
            "<h2>时间线</h2>",
            "告警分组 <strong>CartDown</strong> 告警中（1 条告警）",
            r#"分析 <a href="/api/ops/analyses/r1"><code>r1</code></a> 完成：最可能是 <strong>cart</strong>"#,
            r#"对 <code>r1</code> 的反馈：<span class="verdict wrong">原因不对</span>"#,
            "所有告警均已恢复",
            "<h2>告警</h2>",
        ] {
            assert!(page.contains(part), "{part} missing in {page}");
        }
        let text = crate::page::tests::visible(&page);
        let english = crate::page::tests::english_in(&text, &["incident-page-", "page-id"]);
        assert!(
            english.is_empty(),
            "English in the Chinese page: {english:?}\n{text}"
        );
    }
}
