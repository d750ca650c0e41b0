use std::str::FromStr;
use std::time::Duration;

use super::{Secret, VARIABLES};

/// A configuration error: one line naming the variable and what is expected.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid configuration: {name}: {problem}")]
pub struct Error {
    /// The variable at fault.
    pub name: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

impl Error {
    /// An error about `name`.
    pub fn new(name: &str, problem: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            problem: problem.into().replace('\n', " "),
        }
    }
}

/// Typed access to configuration variables through a lookup function.
///
/// Empty values count as unset, so `FOO=` in a ConfigMap means "default".
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    /// Reads variables through `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The raw value, trimmed; `None` when unset or empty.
    pub fn string(&self, name: &str) -> Option<String> {
        debug_assert!(
            VARIABLES.iter().any(|v| v.name == name),
            "{name} is read but not declared in config::VARIABLES"
        );
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The value, or `default`.
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.string(name).unwrap_or_else(|| default.to_string())
    }

    /// The first of several names that is set: a new name and the original service's.
    pub fn first(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.string(n))
    }

    /// The value of every variable declared secret in [`VARIABLES`] that is set: what
    /// an analysis keeps out of its prompts and reports, whichever domain reads it.
    pub fn declared_secrets(&self) -> Vec<Secret> {
        VARIABLES
            .iter()
            .filter(|v| v.secret)
            .filter_map(|v| self.secret(v.name))
            .collect()
    }

    /// A secret value.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.string(name).map(Secret::new)
    }

    /// A value parsed with `FromStr`; `expected` says what a valid value looks like.
    pub fn parse<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, Error> {
        match self.string(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::new(name, format!("expected {expected}, got {v:?}"))),
        }
    }

    /// An absolute http(s) URL.
    pub fn url(&self, name: &str) -> Result<Option<url::Url>, Error> {
        let Some(v) = self.string(name) else {
            return Ok(None);
        };
        let url = url::Url::parse(&v)
            .map_err(|e| Error::new(name, format!("expected an absolute http(s) URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::new(
                name,
                format!(
                    "expected an http or https URL, got scheme {:?}",
                    url.scheme()
                ),
            ));
        }
        Ok(Some(url))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        let Some(v) = self.string(name) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(Error::new(
                name,
                format!("expected true or false, got {v:?}"),
            )),
        }
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.string(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A size in bytes: `1048576`, `512KiB`, `1MiB`, `2MB`.
    pub fn bytes(&self, name: &str) -> Result<Option<u64>, Error> {
        let Some(v) = self.string(name) else {
            return Ok(None);
        };
        parse_bytes(&v).map(Some).ok_or_else(|| {
            Error::new(
                name,
                format!("expected a size such as 1048576, 512KiB or 1MiB, got {v:?}"),
            )
        })
    }

    /// A duration: `30s`, `500ms`, `5m`, `1h`, or a plain number of seconds.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, Error> {
        let Some(v) = self.string(name) else {
            return Ok(None);
        };
        parse_duration(&v).map(Some).ok_or_else(|| {
            Error::new(
                name,
                format!("expected a duration such as 30s, 500ms, 5m or 1h, got {v:?}"),
            )
        })
    }
}

/// Parses `1048576`, `512KiB`, `1MiB`, `1GiB`, `2KB`, `2MB`.
pub(crate) fn parse_bytes(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let num: u64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    num.checked_mul(mult)
}

/// Parses `30s`, `500ms`, `5m`, `1h`, `2d`, or a plain number of seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let num: u64 = num.parse().ok()?;
    Some(match unit {
        "" | "s" => Duration::from_secs(num),
        "ms" => Duration::from_millis(num),
        "m" => Duration::from_secs(num.checked_mul(60)?),
        "h" => Duration::from_secs(num.checked_mul(3600)?),
        "d" => Duration::from_secs(num.checked_mul(86_400)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("1MiB"), Some(1 << 20));
        assert_eq!(parse_bytes("2048"), Some(2048));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_duration("soon"), None);
    }
}
