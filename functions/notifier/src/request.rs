//! The automatic analysis of an incident: the first when a severe firing group opens
//! or joins it, a re-run when it grew by services the last one did not cover.

use aegis_core::alert::Notification;
use aegis_core::events::{AnalysisRequested, Origin, ReplyTarget};
use aegis_core::incident::{AnalysisRef, Incident};
use aegis_core::request::Request;
use aegis_i18n::{Lang, t};
use chrono::{DateTime, Utc};

use crate::alert_card::clip;

/// The request for the incident's analysis `analysis`, answered in the incident's
/// thread: every alert of the incident (as one group) over the incident's range at
/// `now`, naming the services the analysis covers.
pub fn for_incident(
    incident: &Incident,
    analysis: &AnalysisRef,
    now: DateTime<Utc>,
    lang: Lang,
) -> AnalysisRequested {
    let n = incident.as_notification();
    let services: Vec<&str> = analysis.services.iter().map(String::as_str).collect();
    let description = clip(
        &format!(
            "{}\n{}",
            if services.is_empty() {
                t!(
                    lang,
                    "incident-question-no-services",
                    id = incident.id.as_str(),
                    generation = analysis.generation
                )
            } else {
                t!(
                    lang,
                    "incident-question",
                    id = incident.id.as_str(),
                    generation = analysis.generation,
                    services = aegis_i18n::list(lang, &services)
                )
            },
            describe(&n, lang)
        ),
        3990,
    );
    AnalysisRequested {
        request_id: analysis.request_id.clone(),
        request: Request {
            description,
            time_range: incident.analysis_range(now),
            model: None,
            session_id: None,
            alert: Some(n),
            language: Some(lang),
        },
        origin: Origin::Alert,
        reply_to: ReplyTarget {
            chat_id: incident.chat.clone(),
            message_id: incident.card.clone(),
            alert_event_id: None,
            user_open_id: None,
            incident_id: Some(incident.id.clone()),
        },
    }
}

/// The question the analysis answers, in words: what fires, where, and what the
/// alerts say (at most 4000 characters).
fn describe(n: &Notification, lang: Lang) -> String {
    let mut text = t!(
        lang,
        "alert-question",
        name = n.alertname(),
        count = n.alerts.len(),
        severity = n.highest_severity().word(lang)
    );
    for alert in n.alerts.iter().take(10) {
        let place: Vec<String> = ["namespace", "service", "pod", "instance"]
            .iter()
            .filter_map(|k| alert.labels.get(*k).map(|v| format!("{k}={v}")))
            .collect();
        let says = alert
            .annotations
            .get("summary")
            .or_else(|| alert.annotations.get("description"))
            .map(String::as_str)
            .unwrap_or("");
        text.push_str(&format!("\n- {} {}", place.join(" "), says));
    }
    clip(&text, 3990)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn incident(now: DateTime<Utc>, alerts: usize) -> Incident {
        let mut incident = Incident::new(
            "inc-20261125T100000Z-00000001".into(),
            now,
            Some("oc_1".into()),
        );
        incident.absorb(&crate::alert_card::tests::group(alerts, "firing"), now);
        incident.card = Some("om_card".into());
        incident
    }

    fn analysis(services: &[&str]) -> AnalysisRef {
        AnalysisRef {
            request_id: "r1".into(),
            generation: 1,
            requested_at: Utc::now(),
            services: services.iter().map(|s| s.to_string()).collect(),
            report_id: None,
            top: None,
            message: None,
            done_at: None,
            failure: None,
        }
    }

    #[test]
    fn the_incident_s_request_reads_from_before_its_first_alert_and_answers_in_its_thread() {
        let now: DateTime<Utc> = "2026-11-25T10:12:00Z".parse().unwrap();
        let r = for_incident(&incident(now, 2), &analysis(&["cart"]), now, Lang::En);
        assert_eq!(
            r.request.time_range.start,
            "2026-11-25T09:45:00Z".parse::<DateTime<Utc>>().unwrap(),
            "15 minutes before the alerts began"
        );
        assert_eq!(r.request.time_range.end, now);
        assert_eq!(r.request_id, "r1");
        assert_eq!(r.reply_to.message_id.as_deref(), Some("om_card"));
        assert_eq!(
            r.reply_to.incident_id.as_deref(),
            Some("inc-20261125T100000Z-00000001")
        );
        assert!(r.request.description.contains("PodCrashLooping"));
        assert!(r.request.description.contains("over services cart"));
        assert_eq!(r.request.alert.map(|n| n.alerts.len()), Some(2));
    }

    #[test]
    fn old_incidents_are_analysed_over_six_hours_at_most() {
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let r = for_incident(&incident(now, 1), &analysis(&[]), now, Lang::En);
        assert_eq!(r.request.time_range.duration(), Duration::hours(6));
    }
}
