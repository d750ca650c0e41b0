//! The one clock people read: every time shown in a card, a page, a Markdown report or
//! a chat reply is in the configured zone (`AEGIS_TIMEZONE`), with the zone named.
//! Times on the wire stay UTC (RFC 3339).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats times in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock(pub Tz);

impl Default for Clock {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl Clock {
    /// The clock of a zone name such as `Asia/Shanghai`; UTC for a name that is not
    /// an IANA zone (a report written before reports named their zone).
    pub fn named(name: &str) -> Self {
        Self(name.parse().unwrap_or(Tz::UTC))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// `10:43:12 CST`.
    pub fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0).format("%H:%M:%S %Z").to_string()
    }

    /// `2026-01-29 10:43:12 CST`.
    pub fn date_time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// [`Clock::time`] of unix seconds (`?` when out of range).
    pub fn time_of_unix(&self, unix: f64) -> String {
        Utc.timestamp_millis_opt((unix * 1000.0) as i64)
            .single()
            .map_or_else(|| "?".into(), |t| self.time(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_the_zone_and_name_it() {
        let t = Utc.with_ymd_and_hms(2026, 1, 29, 18, 30, 48).unwrap();
        let shanghai = Clock::named("Asia/Shanghai");
        assert_eq!(shanghai.time(t), "02:30:48 CST");
        assert_eq!(shanghai.date_time(t), "2026-01-30 02:30:48 CST");
        assert_eq!(Clock::named("nowhere").time(t), "18:30:48 UTC");
        assert_eq!(
            Clock::default().time_of_unix(t.timestamp() as f64),
            "18:30:48 UTC"
        );
    }
}
