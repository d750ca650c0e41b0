//! The limits every call is held to, and the small types that carry what a limit cut.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::Config;
use super::error::Error;

/// Points per series a range query aims for when the caller gives no step.
pub const TARGET_POINTS: i64 = 300;

/// The bounds of one call, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Timeout of one call.
    pub timeout: Duration,
    /// Longest range one call may query.
    pub max_range: Duration,
    /// Most series returned before asking to narrow.
    pub max_series: usize,
    /// Most log lines read per call.
    pub max_log_lines: usize,
    /// Most traces read per call.
    pub max_traces: usize,
    /// Most bytes read per call.
    pub max_bytes: u64,
}

impl From<&Config> for Bounds {
    fn from(c: &Config) -> Self {
        Self {
            timeout: c.timeout,
            max_range: c.max_range,
            max_series: c.max_series.max(1),
            max_log_lines: c.max_log_lines.max(1),
            max_traces: c.max_traces.max(1),
            max_bytes: c.max_bytes,
        }
    }
}

impl Bounds {
    /// Refuses a range that ends before it starts or is longer than `max_range`.
    pub fn check_range(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), Error> {
        if end < start {
            return Err(Error::Invalid(format!(
                "end ({}) is before start ({})",
                end.to_rfc3339(),
                start.to_rfc3339()
            )));
        }
        let requested = (end - start).num_seconds();
        if requested as u128 > self.max_range.as_secs() as u128 {
            return Err(Error::RangeTooLong {
                requested,
                max: self.max_range.as_secs(),
            });
        }
        Ok(())
    }
}

/// The step that gives at most about [`TARGET_POINTS`] points over `start..end`: whole
/// seconds, at least one.
pub fn auto_step(start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    let span = (end - start).num_seconds().max(0);
    let step = (span + TARGET_POINTS - 1) / TARGET_POINTS;
    Duration::from_secs(step.max(1) as u64)
}

/// A list cut at a cap, with how many items the cap left out.
///
/// Dereferences to the kept items, so it reads like a slice; `omitted` is what the
/// model must hear about ("N more series: narrow with topk or by").
#[derive(Debug, Clone, PartialEq)]
pub struct Capped<T> {
    /// The items kept, in the backend's order.
    pub items: Vec<T>,
    /// How many more the backend returned.
    pub omitted: usize,
}

impl<T> Capped<T> {
    /// Keeps the first `cap` of `items`.
    pub fn new(mut items: Vec<T>, cap: usize) -> Self {
        let omitted = items.len().saturating_sub(cap);
        items.truncate(cap);
        Self { items, omitted }
    }

    /// The note to show when something was left out, e.g. "12 more series: narrow with
    /// topk or by"; `None` when nothing was.
    pub fn note(&self) -> Option<String> {
        (self.omitted > 0).then(|| {
            format!(
                "{} more series: narrow with topk or by (or a more selective selector)",
                self.omitted
            )
        })
    }
}

impl<T> std::ops::Deref for Capped<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Capped<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Capped<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn step_keeps_points_near_the_target() {
        let start = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        for minutes in [1, 15, 60, 24 * 60, 7 * 24 * 60] {
            let end = start + chrono::Duration::minutes(minutes);
            let step = auto_step(start, end).as_secs() as i64;
            let points = (end - start).num_seconds() / step + 1;
            assert!(points <= TARGET_POINTS + 1, "{minutes}m: {points} points");
        }
        assert_eq!(auto_step(start, start).as_secs(), 1);
    }

    #[test]
    fn cap_counts_what_it_left_out() {
        let capped = Capped::new((0..10).collect::<Vec<_>>(), 4);
        assert_eq!(&capped[..], &[0, 1, 2, 3]);
        assert_eq!(capped.omitted, 6);
        assert!(
            capped
                .note()
                .unwrap()
                .starts_with("6 more series: narrow with topk or by")
        );
        assert_eq!(Capped::new(vec![1], 4).note(), None);
    }

    #[test]
    fn long_and_reversed_ranges_are_refused() {
        let bounds =
            Bounds::from(&Config::from_env(&aegis_core::config::Env::new(&|_| None)).unwrap());
        let start = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert!(matches!(
            bounds.check_range(start, start + chrono::Duration::days(2)),
            Err(Error::RangeTooLong { .. })
        ));
        assert!(matches!(
            bounds.check_range(start, start - chrono::Duration::seconds(1)),
            Err(Error::Invalid(_))
        ));
        bounds
            .check_range(start, start + chrono::Duration::hours(1))
            .unwrap();
    }
}
