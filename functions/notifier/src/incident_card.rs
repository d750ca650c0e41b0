//! The incident card: the thread's root. Posted as the opening group's alert card
//! with the incident's line; updated in place (Feishu's message-card update) as groups
//! join and resolve and analyses finish: status, severity, services, alerts firing
//! and resolved, since when, the latest analysis' first candidate.

use aegis_core::alert::{Notification, Severity, Status};
use aegis_core::incident::Incident;
use aegis_feishu::{Card, Element, Template, escape_markdown as esc};
use chrono::{DateTime, Utc};

use crate::alert_card::{self, Style, clip, human};

/// Alerts listed on the card; the thread has the rest.
const LISTED: usize = 12;

/// The card first posted for `incident`, opened by the group `n`: `n`'s alert card
/// with the incident's line above its footer.
pub fn opening(n: &Notification, incident: &Incident, style: &Style, now: DateTime<Utc>) -> Card {
    let mut card = alert_card::render(n, style, now);
    let line = Element::Note(format!(
        "incident {} · later alerts of it go into this thread",
        esc(&incident.id)
    ));
    let at = card.elements.len().saturating_sub(1);
    card.elements.insert(at, line);
    card
}

/// The card as the incident now stands; with `public_base` (`AEGIS_PUBLIC_BASE_URL`)
/// it links to the incident's timeline page.
pub fn current(
    incident: &Incident,
    style: &Style,
    public_base: Option<&str>,
    now: DateTime<Utc>,
) -> Card {
    let counts = incident.counts();
    let severity = incident.severity();
    let since = incident.since();
    let (title, template) = match incident.resolved_at {
        Some(resolved) => (
            format!(
                "[RESOLVED] {} · resolved after {}",
                incident.headline(),
                human(resolved - since)
            ),
            Template::Green,
        ),
        None => (
            format!(
                "[FIRING] {} · {} firing",
                incident.headline(),
                counts.firing
            ),
            match severity {
                Severity::Critical | Severity::Error => Template::Red,
                _ => Template::Orange,
            },
        ),
    };
    let mut card = Card::new(title, template)
        .subtitle(format!("incident {} · severity {severity}", incident.id));
    let zone = |t: DateTime<Utc>| {
        t.with_timezone(&style.timezone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    let status = match incident.resolved_at {
        Some(resolved) => format!(
            "**resolved** at {} after {}",
            zone(resolved),
            human(resolved - since)
        ),
        None => format!("**firing** since {} ({})", zone(since), human(now - since)),
    };
    let services: Vec<String> = incident.services.iter().map(|s| esc(s)).collect();
    let mut lines = vec![
        status,
        format!(
            "alerts: {} firing · {} resolved · {} alert groups",
            counts.firing,
            counts.resolved,
            incident.groups.len()
        ),
    ];
    if !services.is_empty() {
        lines.push(format!("services: {}", clip(&services.join(", "), 400)));
    }
    if let Some(analysis) = incident.latest_analysis() {
        lines.push(match (&analysis.top, &analysis.failure, analysis.done_at) {
            (Some(top), _, _) => format!(
                "latest analysis (#{}): most likely **{}**, details in the thread",
                analysis.generation,
                esc(top)
            ),
            (None, Some(_), _) => format!(
                "latest analysis (#{}) failed, see the thread",
                analysis.generation
            ),
            (None, None, Some(_)) => format!(
                "latest analysis (#{}) found no clear cause",
                analysis.generation
            ),
            (None, None, None) => format!("analysis #{} running…", analysis.generation),
        });
    }
    card = card.markdown(lines.join("\n"));
    let mut alerts: Vec<_> = incident.alerts.values().collect();
    alerts.sort_by_key(|a| {
        (
            std::cmp::Reverse(a.status == Status::Firing),
            std::cmp::Reverse(a.severity),
            a.starts_at,
        )
    });
    let listed: Vec<String> = alerts
        .iter()
        .take(LISTED)
        .map(|a| {
            let place = [a.namespace.as_deref(), a.service.as_deref()]
                .into_iter()
                .flatten()
                .map(esc)
                .collect::<Vec<_>>()
                .join("/");
            format!(
                "- **{}** · {} · {}{}",
                esc(&a.name),
                a.severity,
                a.status.as_str(),
                if place.is_empty() {
                    String::new()
                } else {
                    format!(" · {place}")
                }
            )
        })
        .collect();
    if !listed.is_empty() {
        card = card.hr().markdown(listed.join("\n"));
    }
    if alerts.len() > LISTED {
        card = card.markdown(format!("… and {} more", alerts.len() - LISTED));
    }
    let mut note = format!("incident {}", esc(&incident.id));
    if let Some(base) = public_base {
        note.push_str(&format!(
            " · [timeline]({}/api/ops/incidents/{})",
            base.trim_end_matches('/'),
            incident.id
        ));
    }
    card.note(note)
}

/// What an earlier result card of the incident becomes once a newer analysis is in
/// the thread.
pub fn superseded(generation: u32, top: Option<&str>) -> Card {
    let text = match top {
        Some(top) => format!(
            "Analysis #{generation} named **{}** first; a newer analysis of the grown incident is below.",
            esc(top)
        ),
        None => format!(
            "Analysis #{generation} is superseded; a newer analysis of the grown incident is below."
        ),
    };
    Card::new(
        format!("Superseded: analysis #{generation}"),
        Template::Grey,
    )
    .markdown(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_card::tests::{group, now, style};

    fn incident(status: &str) -> Incident {
        let mut incident = Incident::new("inc-20261125T100000Z-abcd0123".into(), now(), None);
        incident.absorb(&group(2, "firing"), now());
        if status == "resolved" {
            incident.absorb(&group(2, "resolved"), now());
        }
        incident
    }

    #[test]
    fn the_opening_card_is_the_group_s_card_with_the_incident_line() {
        let n = group(2, "firing");
        let card = opening(&n, &incident("firing"), &style(), now());
        assert_eq!(card.title, "[FIRING] PodCrashLooping (2)");
        assert!(card.text().contains("<at id=all></at>"));
        assert!(
            card.text()
                .contains("incident inc-20261125T100000Z-abcd0123")
        );
    }

    #[test]
    fn the_current_card_counts_alerts_and_says_when_all_resolved() {
        let firing = current(&incident("firing"), &style(), None, now());
        assert_eq!(firing.template, Template::Red);
        assert!(
            firing
                .title
                .starts_with("[FIRING] PodCrashLooping · 2 firing"),
            "{}",
            firing.title
        );
        assert!(
            firing
                .text()
                .contains("2 firing · 0 resolved · 1 alert groups")
        );
        assert!(!firing.text().contains("<at"), "an update mentions nobody");
        let resolved = current(
            &incident("resolved"),
            &style(),
            Some("https://aegis.example/"),
            now(),
        );
        assert!(
            resolved.text().contains(
                "[timeline](https://aegis.example/api/ops/incidents/inc-20261125T100000Z-abcd0123)"
            ),
            "{}",
            resolved.text()
        );
        assert!(
            !firing.text().contains("[timeline]"),
            "no link without a public base"
        );
        assert_eq!(resolved.template, Template::Green);
        assert!(
            resolved
                .title
                .starts_with("[RESOLVED] PodCrashLooping · resolved after 30m"),
            "{}",
            resolved.title
        );
        assert!(resolved.text().contains("0 firing · 2 resolved"));
    }
}
