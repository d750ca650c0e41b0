//! Reading one log line: how severe it is, and what a structured (JSON) line says.
//! Shared by the compaction the model reads and the statistical engine, so both call
//! the same line an error and read the same message out of it.

use std::sync::LazyLock;

use regex::Regex;

/// How severe a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Debug or info, or no level and no alarming word.
    Info,
    /// A warning.
    Warn,
    /// An error, exception, fatal or panic.
    Error,
}

impl Severity {
    /// A declared level's severity (`error`, `WARN`, `crit`, ...); `None` for a word
    /// that is not a level.
    pub fn from_level(level: &str) -> Option<Self> {
        Some(match level.to_ascii_lowercase().as_str() {
            "trace" | "debug" | "info" | "notice" | "information" => Self::Info,
            "warn" | "warning" => Self::Warn,
            "error" | "err" | "severe" | "fatal" | "critical" | "crit" | "panic" | "alert"
            | "emerg" => Self::Error,
            _ => return None,
        })
    }
}

static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)"(?:severity|level|lvl)"\s*:\s*"(\w+)"|\b(?:level|lvl)=(\w+)|\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|PANIC)\b"#,
    )
    .expect("a valid constant regex")
});

static ERROR_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(exception\b|\berrors?\b|\berr\b|\bfatal\b|\bpanic|\btraceback\b|\bfail(?:ed|ure|s)\b|\btime(?:out|d out)\b|\brefused\b|\bunavailable\b)",
    )
    .expect("a valid constant regex")
});

/// How far into a line its level is looked for: a level is declared at the start,
/// and a long line's tail (a stack trace, a payload) says nothing about it.
const HEAD: usize = 240;

/// The severity of a line: its declared level if it has one near the start (JSON
/// `severity`/`level`, `level=`, or a bare `ERROR`), else whether it names an error.
/// A declared level wins: "INFO ... failed to find" is a normal line.
pub fn severity(line: &str) -> Severity {
    let head = head(line, HEAD);
    if let Some(level) = LEVEL
        .captures(head)
        .and_then(|c| c.iter().skip(1).flatten().next())
    {
        return Severity::from_level(level.as_str()).unwrap_or(Severity::Info);
    }
    if ERROR_WORD.is_match(head) {
        Severity::Error
    } else {
        Severity::Info
    }
}

/// Fields that hold a structured line's message: Go's zap and logrus, pino, bunyan,
/// Python's structlog (`event`), Docker's JSON log driver (`log`).
const MESSAGE_FIELDS: [&str; 4] = ["message", "msg", "event", "log"];

/// Fields that hold the error a structured line reports.
const ERROR_FIELDS: [&str; 3] = ["error", "err", "exception"];

/// What a JSON object line says: its message field, and its error field after it
/// when it has one; `None` for a line that is not a JSON object with a message.
/// Templating that text rather than the line keeps the order of the fields and the
/// ids and times in them from making one event many, and a message's last word from
/// being glued to the next field.
pub fn message(line: &str) -> Option<String> {
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

/// At most `max` bytes of `line`, cut at a character boundary.
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
            Severity::Info
        );
        assert_eq!(
            severity(r#"{"message":"x","severity":"error"}"#),
            Severity::Error
        );
        assert_eq!(severity("level=warn msg=slow"), Severity::Warn);
        assert_eq!(
            severity("java.lang.NullPointerException at"),
            Severity::Error
        );
        assert_eq!(severity("GET / 200"), Severity::Info);
        assert_eq!(Severity::from_level("CRIT"), Some(Severity::Error));
        assert_eq!(Severity::from_level("verbose"), None);
    }

    #[test]
    fn a_structured_line_is_read_for_its_message_and_error() {
        assert_eq!(
            message(r#"{"severity":"info","msg":"Request started","ts":"2022-08-22T05:18:16Z"}"#)
                .as_deref(),
            Some("Request started")
        );
        assert_eq!(
            message(
                r#"{"level":"error","msg":"failed to charge card","error":"connection refused"}"#
            )
            .as_deref(),
            Some("failed to charge card connection refused")
        );
        assert_eq!(message(r#"{"count": 3}"#), None, "no message field");
        assert_eq!(message("{broken json 42"), None);
        assert_eq!(message("plain text"), None);
    }
}
