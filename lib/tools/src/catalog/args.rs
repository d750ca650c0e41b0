//! Time arguments as a model writes them, resolved against the analysis window.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::Error;

/// The time range a tool uses when the model gives no `start`/`end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// The range being analysed.
    Fixed {
        /// Its start.
        start: DateTime<Utc>,
        /// Its end.
        end: DateTime<Utc>,
    },
    /// The last `.0` before the call.
    Trailing(chrono::Duration),
}

impl Window {
    /// `start..end` from the model's arguments: each may be missing (the window's),
    /// RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC), unix seconds, `now` or `now-15m`. A
    /// start without an end runs to the window's end; an end without a start keeps the
    /// window's length.
    pub fn resolve(
        &self,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
        let now = Utc::now();
        let (ws, we) = match *self {
            Self::Fixed { start, end } => (start, end),
            Self::Trailing(length) => (now - length, now),
        };
        let start = start.map(|s| parse_time(s, now, "start")).transpose()?;
        let end = end.map(|e| parse_time(e, now, "end")).transpose()?;
        let (start, end) = match (start, end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, we.max(s)),
            (None, Some(e)) => (e - (we - ws), e),
            (None, None) => (ws, we),
        };
        if end < start {
            return Err(Error::Invalid(format!(
                "end {} is before start {}",
                end.to_rfc3339(),
                start.to_rfc3339()
            )));
        }
        Ok((start, end))
    }

    /// One instant: the argument, else the window's end.
    pub fn instant(&self, time: Option<&str>) -> Result<DateTime<Utc>, Error> {
        let now = Utc::now();
        match (time, self) {
            (Some(t), _) => parse_time(t, now, "time"),
            (None, Self::Fixed { end, .. }) => Ok(*end),
            (None, Self::Trailing(_)) => Ok(now),
        }
    }
}

/// Parses a time as a model writes it (see [`Window::resolve`]).
pub fn parse_time(v: &str, now: DateTime<Utc>, what: &str) -> Result<DateTime<Utc>, Error> {
    let v = v.trim();
    let bad = || {
        Error::Invalid(format!(
            "{what} {v:?} is not a time: use RFC 3339 (2024-05-01T08:30:00Z), unix seconds, or now-15m"
        ))
    };
    if v.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(ago) = v.strip_prefix("now-").or_else(|| v.strip_prefix('-')) {
        return Ok(
            now - chrono::Duration::from_std(duration(ago.trim(), what)?).map_err(|_| bad())?
        );
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(n) = v.parse::<f64>() {
        // Milliseconds are a common slip; no sane seconds value is that large.
        let secs = if n.abs() > 1e11 { n / 1000.0 } else { n };
        return DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).ok_or_else(bad);
    }
    Err(bad())
}

/// A duration as PromQL writes it (`30s`, `5m`, `1h30m`) or plain seconds.
pub fn duration(v: &str, what: &str) -> Result<std::time::Duration, Error> {
    promql_parser::util::parse_duration(v.trim()).map_err(|e| {
        Error::Invalid(format!(
            "{what} {v:?} is not a duration such as 30s, 5m or 1h: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_in_every_accepted_shape() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let at = |v: &str| parse_time(v, now, "t").unwrap();
        assert_eq!(at("now"), now);
        assert_eq!(at("now-15m"), now - chrono::Duration::minutes(15));
        assert_eq!(
            at("2024-05-01T08:30:00Z"),
            Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap()
        );
        assert_eq!(
            at("2024-05-01T16:30:00+08:00"),
            Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap()
        );
        assert_eq!(
            at("2024-05-01 08:30:00"),
            Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap()
        );
        assert_eq!(
            at("1714552200"),
            Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap()
        );
        assert_eq!(
            at("1714552200000"),
            Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap()
        );
        let err = parse_time("yesterday", now, "start")
            .unwrap_err()
            .to_string();
        assert!(err.contains("start") && err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn missing_ends_come_from_the_window() {
        let s = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
        let e = Utc.with_ymd_and_hms(2024, 5, 1, 8, 15, 0).unwrap();
        let w = Window::Fixed { start: s, end: e };
        assert_eq!(w.resolve(None, None).unwrap(), (s, e));
        let later = "2024-05-01T09:00:00Z";
        let (rs, re) = w.resolve(None, Some(later)).unwrap();
        assert_eq!(re - rs, chrono::Duration::minutes(15));
        assert!(
            w.resolve(Some(later), Some("2024-05-01T08:00:00Z"))
                .is_err()
        );
    }
}
