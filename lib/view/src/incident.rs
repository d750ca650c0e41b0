//! The incident page: one self-contained HTML document with the incident's state, its
//! alerts, and its timeline (alert groups, analyses, verdicts, resolution) in order,
//! each analysis linking to its report page.

use aegis_core::incident::{Happening, Incident};
use aegis_core::report::Clock;
use maud::{DOCTYPE, html};

use crate::page::head;

/// The page of `incident`, its times in `clock`'s zone; each analysis links to the
/// read API's address of its report (`/api/ops/analyses/<id>`).
pub fn render(incident: &Incident, clock: Clock) -> String {
    let counts = incident.counts();
    let status = if incident.is_resolved() {
        "resolved"
    } else {
        "firing"
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("Incident {}", incident.id)))
            body {
                header {
                    h1 { "Incident: " (incident.headline()) }
                    p.meta {
                        span { "id " code { (incident.id) } }
                        span { (status) }
                        span { "severity " (incident.severity()) }
                        span { "since " (clock.date_time(incident.since())) }
                        @if let Some(resolved) = incident.resolved_at {
                            span { "resolved " (clock.date_time(resolved)) }
                        }
                    }
                    p {
                        (counts.firing) " firing · " (counts.resolved) " resolved · "
                        (incident.groups.len()) " alert groups · services: "
                        (incident.services.iter().cloned().collect::<Vec<_>>().join(", "))
                    }
                }
                h2 { "Timeline" }
                table.timeline {
                    tr { th { "when" } th { "what" } }
                    @for moment in &incident.timeline {
                        tr {
                            td { (clock.date_time(moment.at)) }
                            td {
                                @match &moment.what {
                                    Happening::Alerts { status, alertname, count, new_services, .. } => {
                                        "alert group " strong { (alertname) } " " (status.as_str())
                                        " (" (count) " alerts)"
                                        @if !new_services.is_empty() {
                                            " · new services: " (new_services.join(", "))
                                        }
                                    }
                                    Happening::AnalysisRequested { generation, .. } => {
                                        "analysis #" (generation) " asked for"
                                    }
                                    Happening::AnalysisDone { request_id, top, failure } => {
                                        "analysis "
                                        a href=(format!("/api/ops/analyses/{request_id}")) { code { (request_id) } }
                                        @match (top, failure) {
                                            (Some(top), _) => { " finished: most likely " strong { (top) } }
                                            (None, Some(f)) => { " failed: " (f) }
                                            (None, None) => { " finished with no clear cause" }
                                        }
                                    }
                                    Happening::Verdict { report_id, verdict } => {
                                        "verdict on " code { (report_id) } ": "
                                        span.verdict.wrong[verdict == "wrong cause"] { (verdict) }
                                    }
                                    Happening::Resolved => { strong { "every alert resolved" } }
                                }
                            }
                        }
                    }
                }
                h2 { "Alerts" }
                table.alerts {
                    tr { th { "alert" } th { "severity" } th { "status" } th { "where" } th { "started" } }
                    @for alert in incident.alerts.values() {
                        tr {
                            td { strong { (alert.name) } @if !alert.summary.is_empty() { br; (alert.summary) } }
                            td { (alert.severity) }
                            td { (alert.status.as_str()) }
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

    #[test]
    fn the_page_lists_the_timeline_in_order_and_escapes_what_alerts_say() {
        let at: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let n: Notification = serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": "g", "status": "firing", "receiver": "aegis",
            "alerts": [{"status": "firing", "labels": {"alertname": "CartDown", "service": "cart"},
                        "annotations": {"summary": "<script>x</script>"},
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
        let page = render(&incident, Clock::default());
        assert!(page.contains("Incident: CartDown"));
        let group = page.find("alert group").unwrap();
        let done = page.find("most likely").unwrap();
        assert!(group < done, "in order");
        assert!(page.contains("/api/ops/analyses/r1"));
        assert!(!page.contains("<script>x"), "escaped");
    }
}
