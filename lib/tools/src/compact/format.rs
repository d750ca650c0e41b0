//! Number, time and label formatting shared by the compactors: short, unambiguous text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// A number in at most four significant digits: `0.0123`, `41.5`, `1.23e6`, `NaN`.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        // 1.50e6 -> 1.5e6
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m)),
            None => s,
        };
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A time of day (UTC) when the window is shorter than a day, else month-day and time.
pub fn time(t: DateTime<Utc>, long_window: bool) -> String {
    if long_window {
        t.format("%m-%dT%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

/// Unix seconds as a [`DateTime`], or the epoch for an impossible value.
pub fn from_secs(secs: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).unwrap_or_default()
}

/// Unix nanoseconds as a [`DateTime`].
pub fn from_nanos(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// `{a="1", b="2"}` without the labels in `skip`.
pub fn labels(labels: &BTreeMap<String, String>, skip: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !skip.contains_key(*k))
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The labels every set shares with the same value (shown once, in a header).
pub fn common<'a>(
    mut sets: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(first) = sets.next() else {
        return BTreeMap::new();
    };
    let mut common = first.clone();
    for set in sets {
        common.retain(|k, v| set.get(k) == Some(v));
        if common.is_empty() {
            break;
        }
    }
    common
}

/// `text` on one line, cut to `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::text::shorten(flat.trim(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(41.5), "41.5");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(0.012346), "0.01235");
        assert_eq!(num(1_500_000.0), "1.5e6");
        assert_eq!(num(0.00001), "1e-5");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(-3.0), "-3");
    }

    #[test]
    fn common_labels_are_found() {
        let a = BTreeMap::from([
            ("ns".to_string(), "x".to_string()),
            ("svc".into(), "a".into()),
        ]);
        let b = BTreeMap::from([
            ("ns".to_string(), "x".to_string()),
            ("svc".into(), "b".into()),
        ]);
        let c = common([&a, &b].into_iter());
        assert_eq!(c.len(), 1);
        assert_eq!(labels(&a, &c), "{svc=\"a\"}");
    }
}
