//! Log compaction: lines become templates (numbers, hex ids, IPs, UUIDs and timestamps
//! masked; a JSON line's message and error, not the line) with counts, first and last
//! seen and one example each; errors first. Severity and the message of a structured
//! line are read as the engine reads them ([`logline`]); the masks differ on purpose
//! (`<uuid>`, `<ip>` are for a reader).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::{Captures, Regex};

use super::format;
use super::tokens::Budget;
use crate::logline;
pub use crate::logline::Severity;
use crate::loki::Stream;

/// One template: the lines of one service that differ only in masked values.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The service (the service label of the stream).
    pub service: String,
    /// The line with variable parts masked (`<num>`, `<hex>`, `<uuid>`, `<ip>`, `<ts>`).
    pub pattern: String,
    /// The worst severity seen among its lines.
    pub severity: Severity,
    /// How many lines.
    pub count: usize,
    /// First seen, unix nanoseconds.
    pub first_ns: i64,
    /// Last seen, unix nanoseconds.
    pub last_ns: i64,
    /// One line as written.
    pub example: String,
}

// One pass over each line; the alternation is tried left to right, so the specific
// shapes (UUID, timestamp, IP) win over the generic ones (hex, number).
static MASK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)",
        r"|(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)",
        r"|(?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b)",
        r"|(?P<hex>\b(?:0x)?[0-9a-fA-F]{8,}\b)",
        r"|(?P<num>\d+(?:\.\d+)?)",
    ))
    .expect("the mask pattern is valid")
});

/// `line` with its variable parts masked.
pub fn mask(line: &str) -> Cow<'_, str> {
    MASK.replace_all(line, |c: &Captures<'_>| {
        if c.name("uuid").is_some() {
            "<uuid>".to_string()
        } else if c.name("ts").is_some() {
            "<ts>".to_string()
        } else if c.name("ip").is_some() {
            "<ip>".to_string()
        } else if let Some(hex) = c.name("hex") {
            // A word of hex letters only ("deadbeef", "accede") is a word, not an id.
            if hex.as_str().bytes().any(|b| b.is_ascii_digit()) {
                "<hex>".to_string()
            } else {
                hex.as_str().to_string()
            }
        } else {
            "<num>".to_string()
        }
    })
}

/// Groups the lines of `streams` into templates per service, errors first, then by
/// count. `service_label` names the stream label holding the service.
pub fn templates(streams: &[Stream], service_label: &str) -> Vec<Template> {
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut out: Vec<Template> = Vec::new();
    for stream in streams {
        let service = [
            service_label,
            "service",
            "service_name",
            "app",
            "job",
            "container",
        ]
        .iter()
        .find_map(|k| stream.labels.get(*k))
        .cloned()
        .unwrap_or_else(|| "-".to_string());
        // A `level` label (Loki's detected level, a promtail stage) says it outright.
        let level = stream
            .labels
            .get("level")
            .and_then(|l| Severity::from_level(l));
        for (ts, line) in &stream.entries {
            // Long lines are templated on their head: stack traces differ in the tail.
            // A structured line on what it says, whatever order its fields come in.
            let head = format::one_line(line, 300);
            let pattern = match logline::message(line) {
                Some(text) => mask(&format::one_line(&text, 300)).into_owned(),
                None => mask(&head).into_owned(),
            };
            let key = (service.clone(), pattern);
            let sev = level.unwrap_or_else(|| logline::severity(line));
            match index.get(&key) {
                Some(&i) => {
                    let t = &mut out[i];
                    t.count += 1;
                    t.first_ns = t.first_ns.min(*ts);
                    t.last_ns = t.last_ns.max(*ts);
                    t.severity = t.severity.max(sev);
                }
                None => {
                    index.insert(key.clone(), out.len());
                    out.push(Template {
                        service: key.0,
                        pattern: key.1,
                        severity: sev,
                        count: 1,
                        first_ns: *ts,
                        last_ns: *ts,
                        example: head,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.count.cmp(&a.count))
            .then(a.first_ns.cmp(&b.first_ns))
    });
    out
}

/// Compact text of a log query within `budget` tokens. `line_cap` is the limit the
/// query ran with: when the lines reached it, the output says the counts are partial.
pub fn render(
    query: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    streams: &[Stream],
    service_label: &str,
    line_cap: usize,
    budget: usize,
) -> String {
    let lines: usize = streams.iter().map(|s| s.entries.len()).sum();
    let templates = templates(streams, service_label);
    let errors = templates
        .iter()
        .filter(|t| t.severity == Severity::Error)
        .count();
    let long = end - start > chrono::Duration::hours(24);
    let mut out = Budget::new(budget);
    out.force(&format!(
        "logs: {}\nrange: {} .. {}; {} lines in {} streams -> {} templates ({} error templates)",
        format::one_line(query, 400),
        start.to_rfc3339(),
        end.to_rfc3339(),
        lines,
        streams.len(),
        templates.len(),
        errors,
    ));
    if lines >= line_cap {
        out.force(&format!(
            "note: the line cap ({line_cap}) was reached, counts cover only those lines: narrow the selector or add filters (|= \"error\") or a shorter range"
        ));
    }
    if templates.is_empty() {
        out.force("no lines: nothing matched in this range (check labels with loki_labels)");
    }
    for t in &templates {
        let tag = match t.severity {
            Severity::Error => "ERROR",
            Severity::Warn => "WARN",
            Severity::Info => "INFO",
        };
        let seen = if t.count == 1 {
            format::time(format::from_nanos(t.first_ns), long)
        } else {
            format!(
                "{}..{}",
                format::time(format::from_nanos(t.first_ns), long),
                format::time(format::from_nanos(t.last_ns), long)
            )
        };
        let pattern = format::one_line(&t.pattern, 160);
        let line = if t.count == 1 || pattern == format::one_line(&t.example, 160) {
            format!(
                "[{tag}] x{} {} {seen} | {}",
                t.count,
                t.service,
                format::one_line(&t.example, 200)
            )
        } else {
            format!(
                "[{tag}] x{} {} {seen} | {} | e.g. {}",
                t.count,
                t.service,
                pattern,
                format::one_line(&t.example, 160)
            )
        };
        out.push(&line);
    }
    let skipped = out.skipped();
    if skipped > 0 {
        let skipped_lines: usize = templates[templates.len() - skipped..]
            .iter()
            .map(|t| t.count)
            .sum();
        out.force(&format!(
            "... {skipped} more templates omitted ({skipped_lines} lines, rarer or less severe): narrow the selector or add |= filters"
        ));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn variable_parts_are_masked() {
        assert_eq!(
            mask("user 42 from 10.1.2.3:8080 req 3f2a9c1d-0b1e-4c2d-9f3a-1b2c3d4e5f60 took 12.5ms"),
            "user <num> from <ip> req <uuid> took <num>ms"
        );
        assert_eq!(
            mask("2023-01-29T08:43:04.123Z trace=b0103bb0aa12 at 16:42:22.382"),
            "<ts> trace=<hex> at <ts>"
        );
        assert_eq!(mask("deadbeefcafe stays"), "deadbeefcafe stays");
    }

    #[test]
    fn lines_group_into_templates_errors_first() {
        let stream = |app: &str, lines: Vec<(i64, String)>| Stream {
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            entries: lines,
        };
        let streams = vec![
            stream(
                "api",
                (0..50)
                    .map(|i| (i, format!("GET /item/{i} 200 in {i}ms")))
                    .collect(),
            ),
            stream(
                "db",
                (0..3)
                    .map(|i| {
                        (
                            100 + i,
                            format!("ERROR connection to 10.0.0.{i}:5432 refused"),
                        )
                    })
                    .collect(),
            ),
        ];
        let t = templates(&streams, "app");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].service, "db");
        assert_eq!(t[0].severity, Severity::Error);
        assert_eq!(t[0].count, 3);
        assert_eq!((t[0].first_ns, t[0].last_ns), (100, 102));
        assert_eq!(t[1].count, 50);
        assert_eq!(t[1].pattern, "GET /item/<num> <num> in <num>ms");
    }

    #[test]
    fn structured_lines_group_by_message_and_levels_are_believed() {
        let stream = Stream {
            labels: BTreeMap::from([("app".to_string(), "frontend".to_string())]),
            entries: vec![
                (
                    1,
                    r#"{"msg":"request complete","session":"0f82","took":12}"#.into(),
                ),
                (
                    2,
                    r#"{"took":7,"msg":"request complete","session":"a15d"}"#.into(),
                ),
                (
                    3,
                    "16:42:22.382 INFO  c.s.Finder#5 failed to find, using the default".into(),
                ),
                (
                    4,
                    r#"{"level":"error","msg":"charge failed","error":"connection refused"}"#
                        .into(),
                ),
            ],
        };
        let t = templates(&[stream], "app");
        let summary: Vec<_> = t
            .iter()
            .map(|t| (t.severity, t.count, t.pattern.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (Severity::Error, 1, "charge failed connection refused"),
                (Severity::Info, 2, "request complete"),
                (
                    Severity::Info,
                    1,
                    "<ts> INFO  c.s.Finder#<num> failed to find, using the default"
                ),
            ]
        );
    }
}
