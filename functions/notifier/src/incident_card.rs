//! The incident card: the thread's root. Posted as the opening group's alert card
//! with the incident's line; updated in place (Feishu's message-card update) as groups
//! join and resolve and analyses finish: status, severity, services, alerts firing
//! and resolved, since when, the latest analysis' first candidate.

use aegis_core::alert::{Notification, Severity, Status};
use aegis_core::incident::Incident;
use aegis_feishu::{Card, Element, Template, escape_markdown as esc};
use chrono::{DateTime, Utc};

use aegis_i18n::{duration, t};

use crate::alert_card::{self, Style, clip};

/// Alerts listed on the card; the thread has the rest.
const LISTED: usize = 12;

/// The card first posted for `incident`, opened by the group `n`: `n`'s alert card
/// with the incident's line above its footer.
pub fn opening(n: &Notification, incident: &Incident, style: &Style, now: DateTime<Utc>) -> Card {
    let mut card = alert_card::render(n, style, now);
    let line = Element::Note(t!(
        style.lang,
        "incident-opening-line",
        id = esc(&incident.id)
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
    let lang = style.lang;
    let human = |d| duration(lang, d);
    let counts = incident.counts();
    let severity = incident.severity();
    let since = incident.since();
    let (title, template) = match incident.resolved_at {
        Some(resolved) => (
            t!(
                lang,
                "incident-title-resolved",
                headline = incident.headline(),
                duration = human(resolved - since)
            ),
            Template::Green,
        ),
        None => (
            t!(
                lang,
                "incident-title-firing",
                headline = incident.headline(),
                firing = counts.firing
            ),
            match severity {
                Severity::Critical | Severity::Error => Template::Red,
                _ => Template::Orange,
            },
        ),
    };
    let mut card = Card::new(title, template).subtitle(t!(
        lang,
        "incident-subtitle",
        id = incident.id.as_str(),
        severity = severity.word(lang)
    ));
    let zone = |t: DateTime<Utc>| {
        t.with_timezone(&style.timezone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    let status = match incident.resolved_at {
        Some(resolved) => t!(
            lang,
            "incident-status-resolved",
            at = zone(resolved),
            duration = human(resolved - since)
        ),
        None => t!(
            lang,
            "incident-status-firing",
            since = zone(since),
            duration = human(now - since)
        ),
    };
    let services: Vec<String> = incident.services.iter().map(|s| esc(s)).collect();
    let mut lines = vec![
        status,
        t!(
            lang,
            "incident-alerts",
            firing = counts.firing,
            resolved = counts.resolved,
            groups = incident.groups.len()
        ),
    ];
    if !services.is_empty() {
        lines.push(t!(
            lang,
            "incident-services",
            services = clip(&services.join(", "), 400)
        ));
    }
    if let Some(analysis) = incident.latest_analysis() {
        let generation = analysis.generation;
        lines.push(match (&analysis.top, &analysis.failure, analysis.done_at) {
            (Some(top), _, _) => t!(
                lang,
                "incident-analysis-top",
                generation = generation,
                top = esc(top)
            ),
            (None, Some(_), _) => t!(lang, "incident-analysis-failed", generation = generation),
            (None, None, Some(_)) => {
                t!(lang, "incident-analysis-unclear", generation = generation)
            }
            (None, None, None) => t!(lang, "incident-analysis-running", generation = generation),
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
                a.severity.word(lang),
                a.status.word(lang),
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
        card = card.markdown(t!(lang, "alert-more", count = alerts.len() - LISTED));
    }
    let mut note = t!(lang, "incident-note", id = esc(&incident.id));
    if let Some(base) = public_base {
        note.push_str(&format!(
            " · [{}]({}/api/ops/incidents/{})",
            t!(lang, "incident-timeline"),
            base.trim_end_matches('/'),
            incident.id
        ));
    }
    card.note(note)
}

/// What an earlier result card of the incident becomes once a newer analysis is in
/// the thread.
pub fn superseded(generation: u32, top: Option<&str>, lang: aegis_i18n::Lang) -> Card {
    let text = match top {
        Some(top) => t!(
            lang,
            "incident-superseded-top",
            generation = generation,
            top = esc(top)
        ),
        None => t!(lang, "incident-superseded", generation = generation),
    };
    Card::new(
        t!(lang, "incident-superseded-title", generation = generation),
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
                .contains("2 firing · 0 resolved · 1 alert group")
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
                .starts_with("[RESOLVED] PodCrashLooping · resolved after 30 min"),
            "{}",
            resolved.title
        );
        assert!(resolved.text().contains("0 firing · 2 resolved"));
    }

    #[test]
    fn a_chinese_chat_reads_the_incident_in_chinese() {
        let zh = style().in_lang(aegis_i18n::Lang::ZhCn);
        let firing = current(
            &incident("firing"),
            &zh,
            Some("https://aegis.example"),
            now(),
        );
        assert!(
            firing
                .title
                .starts_with("[告警中] PodCrashLooping · 2 条告警中"),
            "{}",
            firing.title
        );
        let text = firing.text();
        for needle in [
            "**告警中**，开始于",
            "2 条告警中 · 0 条已恢复 · 1 个告警分组",
            "[时间线](",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        let resolved = current(&incident("resolved"), &zh, None, now());
        assert!(
            resolved.title.contains("持续 30 分钟后恢复"),
            "{}",
            resolved.title
        );
        let superseded = superseded(1, Some("cart"), aegis_i18n::Lang::ZhCn);
        assert_eq!(superseded.title, "已被取代：分析 #1");
    }
}
