//! The HTTP request of `POST /api/ops/analyze` (and `/stream`), compatible with the
//! original service: `description` (1..4000 characters), `time_range` {start, end}
//! (optional, default the last 15 minutes), `session_id`, `model`, and `language`
//! (`en`, `zh-CN`; else the `Accept-Language` header's, else English).
//!
//! Times are RFC 3339 (`2026-01-29T08:40:00Z`, `...+08:00`), Unix seconds (or
//! milliseconds), or naive (`2026-01-29 16:40:00`, `2026-01-29T16:40`): naive times
//! are in `AEGIS_TIMEZONE`, default `Asia/Shanghai` (UTC+8) like the original service.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use aegis_core::request::Invalid;
use aegis_i18n::Lang;

use aegis_analysis::Analyzer;
use aegis_core::report::TimeRange;
use aegis_core::request::Request;

/// Default range when none is given, in minutes.
pub const DEFAULT_MINUTES: i64 = 15;

/// The body of `POST /api/ops/analyze` and `POST /api/ops/analyze/stream` (the original
/// service's request). Times are RFC 3339, Unix seconds or milliseconds, or naive
/// (`2026-01-29 16:40:00`, read in `AEGIS_TIMEZONE`, default UTC+8).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AnalyzeRequest {
    /// The question or symptom, 1..4000 characters.
    description: String,
    /// The range to analyse; default the last 15 minutes.
    #[serde(default)]
    time_range: Option<RequestRange>,
    /// Echoed back.
    #[serde(default)]
    session_id: Option<String>,
    /// `qwen`, `glm`, `deepseek`, `doubao`, or a configured alias; default `DEFAULT_MODEL`.
    #[serde(default)]
    model: Option<String>,
    /// The answer's language, `en` or `zh-CN`; default the `Accept-Language` header's
    /// choice among those, else `en`.
    #[serde(default)]
    language: Option<String>,
}

/// A requested range.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RequestRange {
    /// Start.
    start: RequestTime,
    /// End, after start.
    end: RequestTime,
}

/// A requested time: RFC 3339, a naive local time, or Unix seconds or milliseconds.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RequestTime {
    /// RFC 3339 (`2026-01-29T08:40:00Z`), naive (`2026-01-29 16:40:00`) or digits.
    Text(String),
    /// Unix seconds, or milliseconds when over 10^12.
    Number(f64),
}

/// The body of every 4xx answer to an analysis request.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in words.
    pub error: String,
    /// The field at fault (`description`, `time_range.start`, ...), if one is.
    pub field: Option<String>,
}

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// 400: the body is not JSON.
    #[error("malformed JSON body: {0}")]
    Malformed(String),
    /// 422: a field is missing or invalid.
    #[error("{field}: {problem}")]
    Field {
        /// The field (`description`, `time_range.start`, ...).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// 400 for an empty or inverted range, 422 for a bad description: what
    /// [`Request::validate`] found.
    #[error("{field}: {0}", field = .0.field())]
    Invalid(#[from] Invalid),
    /// 400: the model alias is not configured.
    #[error(transparent)]
    UnknownModel(#[from] aegis_analysis::UnknownModel),
    /// 400: the range is longer than the backends may be asked for, or lies in the
    /// future; the message names the limit.
    #[error("time_range: {0}")]
    Range(String),
}

impl RequestError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Invalid(Invalid::EmptyRange { .. }) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Malformed(_) | Self::UnknownModel(_) | Self::Range(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let field = match &self {
            Self::Field { field, .. } => Some(field.clone()),
            Self::Invalid(invalid) => Some(invalid.field().into()),
            Self::UnknownModel(_) => Some("model".into()),
            Self::Range(_) => Some("time_range".into()),
            Self::Malformed(_) => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            field,
        };
        (self.status(), Json(body)).into_response()
    }
}

/// The language of the answer to `request`: its own `language`, else the one an
/// `Accept-Language` header prefers among those Aegis speaks, else English (what
/// callers from before languages existed get).
pub fn answer_language(request: &Request, accept_language: Option<&str>) -> Lang {
    request
        .language
        .or_else(|| accept_language.and_then(Lang::from_accept_language))
        .unwrap_or_default()
}

/// Parses and validates a request body; `now` is when the request arrived.
pub fn parse(
    body: &[u8],
    analyzer: &Analyzer,
    now: DateTime<Utc>,
) -> Result<Request, RequestError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let body: AnalyzeRequest = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return RequestError::Malformed(inner.to_string());
        }
        let message = inner.to_string();
        // A missing field is reported at its parent; name the field itself.
        let field = match message.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.split('`').next().unwrap_or_default();
                if path == "." {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                }
            }
            None if path == "." => "body".to_string(),
            None => path,
        };
        let problem = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string();
        RequestError::Field { field, problem }
    })?;
    let tz = analyzer.settings().analysis.timezone;
    let time_range = match body.time_range {
        None => TimeRange::last(now, DEFAULT_MINUTES),
        Some(r) => {
            let start = time(&r.start, tz)
                .ok_or_else(|| RequestError::field("time_range.start", TIME_FORMATS))?;
            let end = time(&r.end, tz)
                .ok_or_else(|| RequestError::field("time_range.end", TIME_FORMATS))?;
            TimeRange { start, end }
        }
    };
    let request = Request {
        description: body.description.trim().to_string(),
        time_range,
        model: body
            .model
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| !m.is_empty()),
        session_id: body.session_id,
        alert: None,
        language: match body.language.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(tag) => Some(
                tag.parse()
                    .map_err(|why: String| RequestError::field("language", why))?,
            ),
        },
    };
    request.validate()?;
    check_range(
        &request.time_range,
        analyzer.settings().tools.max_range,
        now,
    )?;
    analyzer.provider_for(&request)?;
    Ok(request)
}

/// How far past the arrival a range may end (clocks differ by a little).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// A range the backends can answer: at most `max` long (`AEGIS_TOOL_MAX_RANGE`), not
/// ending after `now` (give or take [`CLOCK_SKEW`]). Refused before any work, where a
/// stored report would only have said so.
fn check_range(
    range: &TimeRange,
    max: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    let length = range.duration();
    if length.to_std().is_ok_and(|length| length > max) {
        return Err(RequestError::Range(format!(
            "the range is {} long; at most {} is read (AEGIS_TOOL_MAX_RANGE)",
            words(length.num_seconds()),
            words(i64::try_from(max.as_secs()).unwrap_or(i64::MAX)),
        )));
    }
    if range.end > now + CLOCK_SKEW {
        return Err(RequestError::Range(format!(
            "the range ends in the future ({}, now is {}); nothing is recorded there yet",
            range.end.to_rfc3339(),
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )));
    }
    Ok(())
}

/// A length in seconds as a person writes it: `90m`, `36h`, `400d`.
fn words(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 && s >= 86_400 * 2 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 && s >= 3_600 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

const TIME_FORMATS: &str = "expected an RFC 3339 time (2026-01-29T08:40:00Z), a naive time \
    (2026-01-29 16:40:00, in AEGIS_TIMEZONE) or Unix seconds";

fn time(raw: &RequestTime, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    match raw {
        RequestTime::Number(n) if n.is_finite() && *n >= 0.0 => {
            // Values this large are milliseconds (year 33658 in seconds).
            let secs = if *n > 1e12 { n / 1000.0 } else { *n };
            DateTime::from_timestamp(secs.trunc() as i64, (secs.fract() * 1e9) as u32)
        }
        RequestTime::Number(_) => None,
        RequestTime::Text(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(&s.replacen(' ', "T", 1)) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(secs) = s.parse::<f64>() {
                return time(&RequestTime::Number(secs), tz);
            }
            let naive = [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
            tz.from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_longer_than_the_tools_read_is_refused_naming_the_limit() {
        let now = DateTime::parse_from_rfc3339("2026-01-29T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let long = TimeRange {
            start: DateTime::from_timestamp(0, 0).unwrap(),
            end: now,
        };
        let err = check_range(&long, std::time::Duration::from_secs(86_400), now).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let text = err.to_string();
        assert!(
            text.contains("AEGIS_TOOL_MAX_RANGE") && text.contains("24h"),
            "{text}"
        );
        let day = TimeRange::last(now, 24 * 60);
        assert!(check_range(&day, std::time::Duration::from_secs(86_400), now).is_ok());
    }

    #[test]
    fn a_range_in_the_future_is_refused() {
        let now = DateTime::parse_from_rfc3339("2026-01-29T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ahead = TimeRange {
            start: now + chrono::Duration::hours(1),
            end: now + chrono::Duration::hours(2),
        };
        let err = check_range(&ahead, std::time::Duration::from_secs(86_400), now).unwrap_err();
        assert!(err.to_string().contains("in the future"), "{err}");
        // A range ending a few seconds after arrival (clocks differ) is fine.
        let skewed = TimeRange {
            start: now - chrono::Duration::minutes(15),
            end: now + chrono::Duration::seconds(5),
        };
        assert!(check_range(&skewed, std::time::Duration::from_secs(86_400), now).is_ok());
    }
    use std::sync::Arc;

    /// An analyzer with no tools and no engine: what parsing reads of it.
    pub(super) fn analyzer() -> Analyzer {
        Analyzer::new(
            aegis_analysis::Settings::for_test(),
            Arc::new(aegis_analysis::NoTools),
            Arc::new(aegis_analysis::NoRanker {
                reason: "test".into(),
            }),
        )
    }

    /// The fixed "now" of the tests.
    pub(super) fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-29T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn original_request_with_naive_times_in_shanghai() {
        let body = br#"{"description": "checkout is slow", "time_range": {"start": "2026-01-29 16:40:00", "end": "2026-01-29T17:00:00+08:00"}, "session_id": "s1"}"#;
        let r = parse(body, &analyzer(), now()).unwrap();
        assert_eq!(r.time_range.start.to_rfc3339(), "2026-01-29T08:40:00+00:00");
        assert_eq!(r.time_range.end.to_rfc3339(), "2026-01-29T09:00:00+00:00");
        assert_eq!(r.session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn default_range_is_last_15_minutes() {
        let r = parse(br#"{"description": "x"}"#, &analyzer(), now()).unwrap();
        assert_eq!(r.time_range, TimeRange::last(now(), 15));
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], StatusCode, &str); 8] = [
            (b"{}", StatusCode::UNPROCESSABLE_ENTITY, "description"),
            (
                br#"{"description": 3}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "description",
            ),
            (
                br#"{"description": "  "}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "description",
            ),
            (
                br#"{"description": "x", "time_range": {"start": "soon", "end": 1}}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "time_range.start",
            ),
            (
                br#"{"description": "x", "time_range": {"start": 1}}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "time_range.end",
            ),
            (
                br#"{"description": "x", "time_range": {"start": 20, "end": 10}}"#,
                StatusCode::BAD_REQUEST,
                "time_range",
            ),
            (
                br#"{"description": "x", "model": "gpt-9"}"#,
                StatusCode::BAD_REQUEST,
                "qwen",
            ),
            (
                br#"{"description": "x", "language": "fr"}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "en, zh-CN",
            ),
        ];
        for (body, status, needle) in cases {
            let e = parse(body, &analyzer(), now()).unwrap_err();
            assert_eq!(e.status(), status, "{e}");
            assert!(
                e.to_string().contains(needle),
                "{e} should mention {needle}"
            );
        }
        let long = format!(r#"{{"description": "{}"}}"#, "x".repeat(4001));
        assert!(
            parse(long.as_bytes(), &analyzer(), now())
                .unwrap_err()
                .to_string()
                .contains("4000")
        );
        assert_eq!(
            parse(b"{", &analyzer(), now()).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn the_answer_s_language_is_the_field_s_then_the_header_s_then_english() {
        let with = |body: &[u8], header: Option<&str>| {
            answer_language(&parse(body, &analyzer(), now()).unwrap(), header)
        };
        let plain = br#"{"description": "x"}"#;
        assert_eq!(with(plain, None), Lang::En);
        assert_eq!(with(plain, Some("zh-CN,zh;q=0.9")), Lang::ZhCn);
        assert_eq!(with(plain, Some("fr-FR")), Lang::En);
        let zh = br#"{"description": "x", "language": "zh-Hans"}"#;
        assert_eq!(with(zh, Some("en")), Lang::ZhCn);
        assert_eq!(
            with(br#"{"description": "x", "language": " "}"#, Some("zh")),
            Lang::ZhCn
        );
    }
}
