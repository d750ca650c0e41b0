//! The automatic analysis of a severe firing alert group.

use aegis_core::alert::Notification;
use aegis_core::events::{AnalysisRequested, Origin, ReplyTarget, derive_id};
use aegis_core::report::TimeRange;
use aegis_core::request::Request;
use chrono::{DateTime, Duration, Utc};

use crate::alert_card::clip;

/// Minutes of "before" included ahead of the earliest alert, so the analysis sees the
/// baseline the anomaly departs from (the same 15 minutes as a chat question's default).
const LEAD_MINUTES: i64 = 15;
/// The longest range analysed: an alert firing for days is analysed over its last six
/// hours, which holds the current state and stays within the tools' budgets.
const MAX_HOURS: i64 = 6;

/// The request for the group behind `alert_event_id`, answered under the card.
///
/// `request_id` is derived from the alert event id, so a redelivered alert asks once;
/// the range runs from 15 minutes before the earliest `startsAt` to `now`, at most six
/// hours and at least the last 15 minutes.
pub fn for_alert(
    n: &Notification,
    alert_event_id: &str,
    chat_id: Option<&str>,
    card_message_id: &str,
    now: DateTime<Utc>,
) -> AnalysisRequested {
    let earliest = n.earliest_start().unwrap_or(now);
    let start = (earliest - Duration::minutes(LEAD_MINUTES))
        .min(now - Duration::minutes(LEAD_MINUTES))
        .max(now - Duration::hours(MAX_HOURS));
    AnalysisRequested {
        request_id: derive_id(&[alert_event_id, "analysis"]),
        request: Request {
            description: describe(n),
            time_range: TimeRange { start, end: now },
            model: None,
            session_id: None,
            alert: Some(n.clone()),
        },
        origin: Origin::Alert,
        reply_to: ReplyTarget {
            chat_id: chat_id.map(String::from),
            message_id: Some(card_message_id.to_string()),
            alert_event_id: Some(alert_event_id.to_string()),
            user_open_id: None,
        },
    }
}

/// The question the analysis answers, in words: what fires, where, and what the
/// alerts say (at most 4000 characters).
fn describe(n: &Notification) -> String {
    let mut text = format!(
        "Alert {} is firing ({} alerts, severity {}). Find the root cause.",
        n.alertname(),
        n.alerts.len(),
        n.highest_severity()
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

    #[test]
    fn range_starts_before_the_alert_and_ids_derive_from_the_event() {
        let n = crate::alert_card::tests::group(2, "firing");
        let now: DateTime<Utc> = "2026-11-25T10:12:00Z".parse().unwrap();
        let r = for_alert(&n, "ev1", Some("oc_1"), "om_card", now);
        assert_eq!(
            r.request.time_range.start,
            "2026-11-25T09:45:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(r.request.time_range.end, now);
        assert_eq!(
            r.request_id,
            for_alert(&n, "ev1", None, "om_x", now).request_id
        );
        assert_ne!(
            r.request_id,
            for_alert(&n, "ev2", None, "om_x", now).request_id
        );
        assert_eq!(r.reply_to.message_id.as_deref(), Some("om_card"));
        assert_eq!(r.reply_to.alert_event_id.as_deref(), Some("ev1"));
        assert!(r.request.description.contains("PodCrashLooping"));
        assert!(r.request.alert.is_some());
    }

    #[test]
    fn old_alerts_are_analysed_over_six_hours_at_most() {
        let n = crate::alert_card::tests::group(1, "firing");
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let r = for_alert(&n, "ev1", None, "om", now);
        assert_eq!(r.request.time_range.duration(), Duration::hours(6));
    }
}
