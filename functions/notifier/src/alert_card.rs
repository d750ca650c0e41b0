//! The alert card: one card per notification, coloured by status and severity, every
//! alert with its place, text, start and links, cut to Feishu's 30 KB limit.

use aegis_core::alert::{Alert, Notification, Severity, Status};
use aegis_feishu::{CARD_LIMIT, Card, Element, Template, escape_markdown as esc};
use aegis_i18n::{Lang, duration, t};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Room kept below the limit for the "and N more" line and the request envelope.
const RESERVE: usize = 1024;

/// How cards show times, in which language, and whether firing cards mention everyone.
#[derive(Debug, Clone)]
pub struct Style {
    /// Zone for start times.
    pub timezone: Tz,
    /// `<at id=all></at>` on firing cards.
    pub mention_all: bool,
    /// The chat's language.
    pub lang: Lang,
}

impl Style {
    /// This style in `lang`.
    pub fn in_lang(&self, lang: Lang) -> Self {
        Self {
            lang,
            ..self.clone()
        }
    }
}

/// Renders the card for `n` as of `now`.
pub fn render(n: &Notification, style: &Style, now: DateTime<Utc>) -> Card {
    let severity = n.highest_severity();
    let firing = n.status == Status::Firing;
    let lang = style.lang;
    let template = match (firing, severity) {
        (false, _) => Template::Green,
        (true, Severity::Critical | Severity::Error) => Template::Red,
        (true, _) => Template::Orange,
    };
    let (name, count) = (n.alertname(), n.alerts.len());
    let title = if firing {
        t!(lang, "alert-title-firing", name = name, count = count)
    } else {
        t!(lang, "alert-title-resolved", name = name, count = count)
    };
    let mut card = Card::new(title, template).subtitle(t!(
        lang,
        "alert-subtitle",
        severity = severity.word(lang),
        receiver = n.receiver.as_str()
    ));
    if firing && style.mention_all {
        card = card.markdown("<at id=all></at>");
    }
    let footer = footer(n, lang);
    let mut size = card.encoded_len() + footer.encoded_len();

    let mut alerts: Vec<&Alert> = n.alerts.iter().collect();
    // Firing first, then the worst, then the oldest (a stable sort, keys read once).
    alerts.sort_by_cached_key(|a| {
        (
            std::cmp::Reverse(a.status == Status::Firing),
            std::cmp::Reverse(a.severity()),
            a.starts_at,
        )
    });
    let mut shown = 0;
    for alert in &alerts {
        let element = Element::Markdown(alert_text(alert, style, now));
        let cost = element.encoded_len() + Element::Hr.encoded_len();
        if size + cost > CARD_LIMIT - RESERVE {
            break;
        }
        size += cost;
        if shown > 0 {
            card.elements.push(Element::Hr);
        }
        card.elements.push(element);
        shown += 1;
    }
    let more = (alerts.len() - shown) as u64 + n.truncated_alerts;
    if more > 0 {
        card = card.markdown(t!(lang, "alert-more", count = more));
    }
    card.elements.push(footer);
    card
}

/// One alert's markdown, written into one string (this runs for up to every alert of
/// a group, so it avoids a string per line).
fn alert_text(alert: &Alert, style: &Style, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let name = alert
        .labels
        .get("alertname")
        .map(String::as_str)
        .unwrap_or("alert");
    let mut out = String::with_capacity(256);
    // Writing to a String cannot fail.
    let lang = style.lang;
    let _ = write!(
        out,
        "**{}** · {} · {}",
        esc(name),
        alert.severity().word(lang),
        alert.status.word(lang)
    );
    let mut first = true;
    for key in ["namespace", "pod", "instance", "service", "job"] {
        if let Some(value) = alert.labels.get(key) {
            out.push_str(if first { "\n" } else { " · " });
            first = false;
            let _ = write!(out, "{key}: {}", esc(value));
        }
    }
    for key in ["summary", "description"] {
        if let Some(text) = alert.annotations.get(key).filter(|t| !t.trim().is_empty()) {
            out.push('\n');
            out.push_str(&esc(&clip(text, 600)));
        }
    }
    let started = alert
        .starts_at
        .with_timezone(&style.timezone)
        .format("%Y-%m-%d %H:%M:%S %Z");
    let started = started.to_string();
    out.push('\n');
    out.push_str(&match alert.resolved_at() {
        Some(ended) => t!(
            lang,
            "alert-started-resolved",
            started = started,
            duration = duration(lang, ended - alert.starts_at)
        ),
        None => t!(
            lang,
            "alert-started-firing",
            started = started,
            duration = duration(lang, now - alert.starts_at)
        ),
    });
    if is_link(&alert.generator_url) {
        let _ = write!(out, "\n[Prometheus]({})", alert.generator_url);
    }
    out
}

fn footer(n: &Notification, lang: Lang) -> Element {
    let mut parts = Vec::new();
    if is_link(&n.external_url) {
        parts.push(format!("[Alertmanager]({})", n.external_url));
    }
    parts.push(t!(lang, "alert-group", key = esc(&clip(&n.group_key, 120))));
    Element::Note(parts.join(" · "))
}

/// Only http(s) links become links; anything else could be a markdown trick.
fn is_link(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains([' ', ')', '(', '\n'])
}

/// At most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn group(n: usize, status: &str) -> Notification {
        let alerts: Vec<_> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "status": status,
                    "labels": {"alertname": "PodCrashLooping", "severity": if i == 0 {"critical"} else {"warning"},
                               "namespace": "shop", "pod": format!("cart-{i}"), "instance": "10.0.0.1:8080"},
                    "annotations": {"summary": format!("cart-{i} restarts"), "description": "The container keeps restarting after OOM."},
                    "startsAt": "2026-11-25T10:00:00Z",
                    "endsAt": if status == "resolved" {"2026-11-25T10:30:00Z"} else {"0001-01-01T00:00:00Z"},
                    "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                    "fingerprint": format!("fp{i}")
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "version": "4", "groupKey": "{}:{alertname=\"PodCrashLooping\"}", "truncatedAlerts": 0,
            "status": status, "receiver": "aegis", "groupLabels": {}, "commonLabels": {"alertname": "PodCrashLooping"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts
        }))
        .unwrap()
    }

    pub(crate) fn style() -> Style {
        Style {
            timezone: chrono_tz::Asia::Shanghai,
            mention_all: true,
            lang: Lang::En,
        }
    }

    pub(crate) fn now() -> DateTime<Utc> {
        "2026-11-25T10:12:00Z".parse().unwrap()
    }

    #[test]
    fn firing_card_is_red_mentions_all_and_shows_everything() {
        let card = render(&group(2, "firing"), &style(), now());
        assert_eq!(card.template, Template::Red);
        assert_eq!(card.title, "[FIRING] PodCrashLooping (2)");
        let text = card.text();
        assert!(text.starts_with("<at id=all></at>"));
        for needle in [
            "namespace: shop",
            "pod: cart-0",
            "instance: 10.0.0.1:8080",
            "cart-0 restarts",
            "keeps restarting",
            "2026-11-25 18:00:00 CST",
            "firing for 12 min",
            "[Prometheus](http://prometheus:9090/graph?g0.expr=up)",
            "[Alertmanager](http://alertmanager:9093)",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn warning_card_is_orange_and_resolved_green_without_mention() {
        let mut warn = group(1, "firing");
        warn.alerts[0]
            .labels
            .insert("severity".into(), "warning".into());
        assert_eq!(render(&warn, &style(), now()).template, Template::Orange);
        let resolved = render(&group(2, "resolved"), &style(), now());
        assert_eq!(resolved.template, Template::Green);
        assert!(!resolved.text().contains("<at"));
        assert!(resolved.text().contains("resolved after 30 min"));
    }

    #[test]
    fn mention_can_be_turned_off() {
        let mut s = style();
        s.mention_all = false;
        assert!(
            !render(&group(1, "firing"), &s, now())
                .text()
                .contains("<at")
        );
    }

    #[test]
    fn large_group_fits_the_limit_and_says_how_many_more() {
        let card = render(&group(400, "firing"), &style(), now());
        assert!(card.encoded_len() <= CARD_LIMIT, "{}", card.encoded_len());
        let text = card.text();
        let shown = text.matches("restarts\n").count();
        assert!(shown > 10 && shown < 400, "{shown}");
        assert!(
            text.contains(&format!("… and {} more", 400 - shown)),
            "{text}"
        );
        assert!(aegis_feishu::Outgoing::Card(card).content().is_ok());
    }

    #[test]
    fn label_values_cannot_inject_markdown() {
        let mut n = group(1, "firing");
        n.alerts[0]
            .labels
            .insert("pod".into(), "<at id=all></at>".into());
        let mut s = style();
        s.mention_all = false;
        assert!(!render(&n, &s, now()).text().contains("<at"));
    }

    #[test]
    fn a_chinese_chat_reads_the_card_in_chinese() {
        let zh = style().in_lang(Lang::ZhCn);
        let card = render(&group(2, "firing"), &zh, now());
        assert_eq!(card.title, "[告警中] PodCrashLooping（2）");
        let text = card.text();
        for needle in ["严重 · 告警中", "已持续 12 分钟", "分组 "] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        for english in ["firing", "started", "severity", "group "] {
            assert!(!text.contains(english), "{english} in {text}");
        }
        let resolved = render(&group(1, "resolved"), &zh, now()).text();
        assert!(resolved.contains("30 分钟后恢复"), "{resolved}");
    }
}
