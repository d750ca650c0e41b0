//! Turning caller-supplied ids into object names that are safe as file names and S3 keys,
//! and the reverse-timestamp names of the report index.

use chrono::{DateTime, Utc};

/// Longest id kept as it is; longer ones are hashed.
const MAX_PLAIN: usize = 128;

/// `true` when `id` is usable as it is: 1 to 128 characters of `[A-Za-z0-9._-]`, starting
/// with a letter or digit (so never `.`, `..`, a hidden temp file or a hashed name).
pub fn is_plain(id: &str) -> bool {
    id.len() <= MAX_PLAIN
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The object name of `id`: the id itself when [`is_plain`], else `_` and a hash of it.
/// No path traversal can survive (`/`, `..` and NUL are never kept), the same id always
/// maps to the same name, and a hashed name cannot collide with a plain one (those never
/// start with `_`).
pub fn object_name(id: &str) -> String {
    if is_plain(id) {
        id.to_string()
    } else {
        format!("_{}", aegis_core::events::derive_id(&[id]))
    }
}

/// Digits of an index name's time part: microseconds fit in 17 digits until year 5138.
const REVERSE_DIGITS: usize = 17;
const REVERSE_BASE: i64 = 99_999_999_999_999_999;

/// The index name of a report stored at `at`: a reverse timestamp, so that a plain
/// lexicographic listing (a folder sorted by name, S3's ListObjectsV2) is newest first.
pub fn index_name(at: DateTime<Utc>, id: &str) -> String {
    let micros = at.timestamp_micros().clamp(0, REVERSE_BASE);
    format!(
        "{:0width$}-{}",
        REVERSE_BASE - micros,
        object_name(id),
        width = REVERSE_DIGITS
    )
}

/// The time encoded in an index name, or `None` for a name not made by [`index_name`].
pub fn index_time(name: &str) -> Option<DateTime<Utc>> {
    let digits = name.get(..REVERSE_DIGITS)?;
    if name.as_bytes().get(REVERSE_DIGITS) != Some(&b'-') {
        return None;
    }
    let reverse: i64 = digits.parse().ok()?;
    DateTime::from_timestamp_micros(REVERSE_BASE.checked_sub(reverse)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept() {
        for id in ["abc", "0f3a9c", "report-1.v2_x", "A"] {
            assert_eq!(object_name(id), id);
        }
    }

    #[test]
    fn traversal_and_odd_ids_are_hashed() {
        for id in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "a/b",
            "/abs",
            "a\0b",
            ".hidden",
            "_x",
            "spa ce",
            "ünï",
            &"x".repeat(129),
        ] {
            let name = object_name(id);
            assert!(name.starts_with('_'), "{id:?} -> {name}");
            assert_eq!(name.len(), 33);
            assert!(name[1..].chars().all(|c| c.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn hashing_is_stable_and_distinct() {
        assert_eq!(object_name("a/b"), object_name("a/b"));
        assert_ne!(object_name("a/b"), object_name("a/c"));
        assert_ne!(object_name("_x"), "_x");
    }

    #[test]
    fn index_names_sort_newest_first_and_round_trip() {
        let older = DateTime::from_timestamp_micros(1_700_000_000_000_001).expect("valid time");
        let newer = DateTime::from_timestamp_micros(1_700_000_000_000_002).expect("valid time");
        let (a, b) = (index_name(older, "x"), index_name(newer, "x"));
        assert!(b < a, "{b} should sort before {a}");
        assert_eq!(index_time(&a), Some(older));
        assert_eq!(index_time(&b), Some(newer));
        assert_eq!(index_time("junk"), None);
        assert_eq!(index_time(".tmp-123"), None);
    }
}
