//! Log lines to templates and severities, so lines that differ only in ids, numbers
//! and timestamps count as one kind of event.

use std::sync::LazyLock;

use regex::Regex;

/// How severe a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Debug or info, or no level at all.
    Normal,
    /// A warning.
    Warning,
    /// An error, exception, fatal or panic.
    Error,
}

static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)"(?:severity|level|lvl)"\s*:\s*"(\w+)"|\b(?:level|lvl)=(\w+)|\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|PANIC)\b"#,
    )
    .expect("a valid constant regex")
});

static ERROR_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(exception\b|\berror\b|\bfatal\b|\bpanic|\btraceback\b|\bfailed\b|\bfailure\b)",
    )
    .expect("a valid constant regex")
});

static TRACE_IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(trace_?id|span_?id)\b[\s:=]+\S+").expect("a valid constant regex")
});

/// The severity of a line: its declared level if it has one near the start (JSON
/// `severity`/`level`, `level=`, or a bare `ERROR`), else whether it mentions an error.
pub fn severity(line: &str) -> Severity {
    let head = head(line, 240);
    if let Some(c) = LEVEL.captures(head) {
        let level = c
            .iter()
            .skip(1)
            .flatten()
            .next()
            .map(|m| m.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        return match level.as_str() {
            "warn" | "warning" => Severity::Warning,
            "error" | "err" | "severe" | "fatal" | "critical" | "crit" | "panic" | "alert"
            | "emerg" => Severity::Error,
            _ => Severity::Normal,
        };
    }
    if ERROR_WORD.is_match(head) {
        Severity::Error
    } else {
        Severity::Normal
    }
}

/// The line with its variable parts masked: trace and span ids dropped, every token
/// holding a digit or looking like a hex id becomes `*`; cut to 160 characters. A
/// structured (JSON) line is read for what it says ([`structured`]), so that the
/// order of its fields and the ids and times in them do not make one event many,
/// nor glue a message's last word to the next field.
pub fn template(line: &str) -> String {
    match structured(line) {
        Some(text) => mask(&text),
        None => mask(line),
    }
}

/// Fields that hold a structured line's message: Go's zap and logrus, pino, bunyan,
/// Python's structlog (`event`), Docker's JSON log driver (`log`).
const MESSAGE_FIELDS: [&str; 4] = ["message", "msg", "event", "log"];

/// Fields that hold the error a structured line reports.
const ERROR_FIELDS: [&str; 3] = ["error", "err", "exception"];

/// What a JSON object line says: its message field, and its error field after it
/// when it has one; `None` for a line that is not a JSON object with a message.
fn structured(line: &str) -> Option<String> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
    let text = |names: &[&str]| {
        names.iter().find_map(|name| match fields.get(*name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
    };
    let message = text(&MESSAGE_FIELDS)?;
    Some(match text(&ERROR_FIELDS) {
        Some(error) => format!("{message} {error}"),
        None => message,
    })
}

fn mask(line: &str) -> String {
    let line = TRACE_IDS.replace_all(line, "");
    let mut out = String::with_capacity(line.len().min(200));
    for token in line.split_whitespace() {
        if out.len() >= 160 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let variable = token.chars().any(|c| c.is_ascii_digit())
            || (token.len() >= 16 && token.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        if variable {
            out.push('*');
        } else {
            out.push_str(token);
        }
    }
    out
}

fn head(line: &str, max: usize) -> &str {
    if line.len() <= max {
        return line;
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_levels_win_over_words() {
        assert_eq!(
            severity("16:42:22.382 INFO  t.s.TravelServiceImpl#532 failed to find"),
            Severity::Normal
        );
        assert_eq!(
            severity(r#"{"message":"x","severity":"error"}"#),
            Severity::Error
        );
        assert_eq!(severity("level=warn msg=slow"), Severity::Warning);
        assert_eq!(
            severity("java.lang.NullPointerException at"),
            Severity::Error
        );
        assert_eq!(severity("GET / 200"), Severity::Normal);
    }

    #[test]
    fn a_structured_line_is_read_for_its_message_and_error() {
        let started = template(
            r#"{"http.req.id":"fc488aaa-165f-4927","message":"TraceID: fe39 SpanID: 105c Request started","session":"0f82"}"#,
        );
        let complete = template(
            r#"{"http.req.id":"35f06401-fb3a-426e","message":"TraceID: d7b7 SpanID: 048c request complete","session":"a15d"}"#,
        );
        // Glued to the next field, both last words were masked: one template for two
        // events that a failing request tells apart.
        assert_eq!(started, "Request started");
        assert_eq!(complete, "request complete");
        // The order of the fields and their other values do not matter.
        assert_eq!(
            template(
                r#"{"severity":"info","msg":"Request started","timestamp":"2022-08-22T05:18:16Z"}"#
            ),
            started
        );
        assert_eq!(
            template(
                r#"{"level":"error","msg":"failed to charge card","error":"rpc error: code = Unavailable desc = connection refused 10.0.3.7:50051"}"#
            ),
            "failed to charge card rpc error: code = Unavailable desc = connection refused *"
        );
        // Not an object with a message: templated as text.
        assert_eq!(template(r#"{"count": 3}"#), "{\"count\": *");
        assert_eq!(template("{broken json 42"), "{broken json *");
    }

    #[test]
    fn templates_mask_ids_and_numbers() {
        let a = template("08:43:05.1 ERROR c.Foo#12 TraceID: abc SpanID: def [order 42 not found]");
        let b =
            template("08:44:09.9 ERROR c.Foo#12 TraceID: 123 SpanID: 456 [order 977 not found]");
        assert_eq!(a, b);
        assert!(a.contains("not found"));
    }
}
